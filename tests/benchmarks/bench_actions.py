# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Power actions: pve_lxc_action against community.proxmox's `proxmox` module, start/stop round trips.

Tasks last 1 s in the simulator. Besides the wall time of each `ansible` run, the request log
tells how long after its task ended each module asked its last question — the time the module
made the play wait for nothing (target: at most 0.25 s).
"""
from __future__ import annotations

import os
import pathlib
import sys
import tempfile
import typing as t

from common import PEER_NAME, PEER_VENV, Row, ensure_peer_venv, measure, median, with_peer

from collection_tree import ensure_collection_tree
from pvesim.harness import SimProcess

TASK_LENGTHS = (1.0, 1.5)  # 1 s as the issue asks; 1.5 s because a 1 s task flatters a peer that sleeps 1 s between polls
ROUNDS = 5
VMID = 102
NAME = "start/stop round trip, {} s tasks"


def _tail_after_task(requests: list[dict[str, t.Any]], task_seconds: float) -> float | None:
    """Seconds between the end of the action's task and the module's last request."""
    posts = [entry for entry in requests if entry["method"] == "POST" and "/status/" in entry["path"]]
    if not posts:
        return None
    task_end = posts[0]["ts"] + task_seconds
    last = max(entry["ts"] + entry["ms"] / 1000 for entry in requests)
    return max(0.0, last - task_end)


def _round_trips(sim: SimProcess, command: t.Callable[[str], list[str]], env: dict[str, str], workdir: pathlib.Path,
                 task_seconds: float) -> dict[str, list[float]]:
    walls: list[float] = []
    tails: list[float] = []
    for _round in range(ROUNDS):
        for state in ("start", "stop"):
            sim.mark()
            run = measure(command(state), env, cwd=workdir, timeout=300)
            if run.rc != 0:
                raise RuntimeError(f"{state} failed: {run.stdout[-1500:]} {run.stderr[-1500:]}")
            walls.append(run.seconds)
            tail = _tail_after_task(sim.requests(), task_seconds)
            if tail is not None:
                tails.append(tail)
    return {"walls": walls, "tails": tails}


def _base_env(workdir: pathlib.Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PVE_", "PROXMOX_", "ANSIBLE_"))}
    env.update({"ANSIBLE_HOME": str(workdir / "home"), "ANSIBLE_LOCALHOST_WARNING": "0"})
    return env


def _one_length(task_seconds: float) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="bench-actions-") as tmp, SimProcess("--task-seconds", str(task_seconds)) as sim:
        workdir = pathlib.Path(tmp)
        ours_env = _base_env(workdir)
        ours_env.update({"ANSIBLE_COLLECTIONS_PATH": str(ensure_collection_tree()), "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
                         "PVE_URL": sim.url, "PVE_TOKEN_ID": sim.token_id, "PVE_TOKEN_SECRET": sim.token_secret, "PVE_CA_PATH": sim.ca_path})
        ansible = str(pathlib.Path(sys.executable).parent / "ansible")

        def ours(state: str) -> list[str]:
            return [ansible, "localhost", "-m", "pveops.proxmox.pve_lxc_action", "-a", f"vmid={VMID} action={state}"]

        ours_result = _round_trips(sim, ours, ours_env, workdir, task_seconds)
        peer_result = None
        if ensure_peer_venv() is not None:
            user, _sep, token = sim.token_id.partition("!")
            address, port = sim.url.split("//", 1)[1].rsplit(":", 1)
            peer_env = with_peer(_base_env(workdir))
            peer_env.update({"ANSIBLE_PYTHON_INTERPRETER": str(PEER_VENV / "bin" / "python"), "REQUESTS_CA_BUNDLE": sim.ca_path})
            peer_ansible = str(PEER_VENV / "bin" / "ansible")

            def peer(state: str) -> list[str]:
                args = (f"vmid={VMID} state={'started' if state == 'start' else 'stopped'} force=true api_host={address} api_port={port} "
                        f"api_user={user} api_token_id={token} api_token_secret={sim.token_secret} validate_certs=true")
                return [peer_ansible, "localhost", "-m", "community.proxmox.proxmox", "-a", args]

            try:
                peer_result = _round_trips(sim, peer, peer_env, workdir, task_seconds)
            except RuntimeError as exc:
                print(f"benchmarks: community.proxmox.proxmox failed: {exc}", file=sys.stderr)
    peer_name = f"{PEER_NAME} proxmox module"
    name = NAME.format(f"{task_seconds:g}")
    return [
        Row(name, "one action, median wall time of `ansible`", median(ours_result["walls"]), peer_result and median(peer_result["walls"]),
            peer_name, "s"),
        Row(name, f"{ROUNDS} start + {ROUNDS} stop, total", sum(ours_result["walls"]), peer_result and sum(peer_result["walls"]), peer_name, "s"),
        Row(name, "waited after the task ended, median", median(ours_result["tails"]), peer_result and median(peer_result["tails"]),
            peer_name, "s", "<= 0.25 s"),
        Row(name, "waited after the task ended, worst", max(ours_result["tails"]), peer_result and max(peer_result["tails"]), peer_name, "s"),
    ]


def run() -> list[Row]:
    """Measure and return the rows."""
    return [row for length in TASK_LENGTHS for row in _one_length(length)]
