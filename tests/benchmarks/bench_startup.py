# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Module start-up: `ansible localhost -m pveops.proxmox.pve_lxc_info` against `-m ansible.builtin.ping`, same run.

Both are one task on localhost: Ansible's start-up, building and running the module. The
difference is what a task of ours costs on top of Ansible's own: our imports, the AnsiballZ
payload of our module_utils, the login-free token requests (three, no latency: one container's
info with its address). Runs alternate (ping, ours, ping, ...) so that a load change on the
machine hits both; medians of ROUNDS each.
"""
from __future__ import annotations

import os
import pathlib
import sys
import tempfile

from common import Row, measure, median

from collection_tree import ensure_collection_tree
from pvesim.harness import SimProcess

ROUNDS = 10
NAME = "module start-up, one task on localhost"


def _env(sim: SimProcess, workdir: pathlib.Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PVE_", "PROXMOX_", "ANSIBLE_"))}
    env.update({"ANSIBLE_HOME": str(workdir / "home"), "ANSIBLE_LOCALHOST_WARNING": "0", "ANSIBLE_COLLECTIONS_PATH": str(ensure_collection_tree()),
                "ANSIBLE_PYTHON_INTERPRETER": sys.executable, "PVE_URL": sim.url, "PVE_TOKEN_ID": sim.token_id,
                "PVE_TOKEN_SECRET": sim.token_secret, "PVE_CA_PATH": sim.ca_path})
    return env


def run() -> list[Row]:
    """Measure and return the rows."""
    ansible = str(pathlib.Path(sys.executable).parent / "ansible")
    commands = {
        "ping": [ansible, "localhost", "-m", "ansible.builtin.ping"],
        "info": [ansible, "localhost", "-m", "pveops.proxmox.pve_lxc_info", "-a", "vmid=100"],
    }
    seconds: dict[str, list[float]] = {name: [] for name in commands}
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp, SimProcess() as sim:
        workdir = pathlib.Path(tmp)
        env = _env(sim, workdir)
        for _round in range(ROUNDS):
            for name, command in commands.items():
                done = measure(command, env, cwd=workdir, timeout=300)
                if done.rc != 0 or "SUCCESS" not in done.stdout:
                    raise RuntimeError(f"{' '.join(command[1:])} failed: {done.stdout[-1500:]} {done.stderr[-1500:]}")
                seconds[name].append(done.seconds)
    ping, info = median(seconds["ping"]), median(seconds["info"])
    return [
        Row(NAME, f"ansible.builtin.ping, median of {ROUNDS}", ping, None, "(Ansible's own start-up)", "s"),
        Row(NAME, f"pveops.proxmox.pve_lxc_info vmid=100, median of {ROUNDS}", info, None, "(same run)", "s"),
        Row(NAME, "pve_lxc_info over ping: our cost per task", info - ping, None, "(same run)", "s", "<= 0.25 s"),
    ]
