# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Exec: our terminal-over-the-API exec against `pct exec` over SSH (community.proxmox's proxmox_pct_remote way).

Both run the simulator's same `pct` in the same isolated container; only the transport differs.
Measured: one command end to end (a fresh login/connection each time, as each Ansible task
makes one), output throughput, and 20 tasks in a row as ansible-playbook runs them.
"""
from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import typing as t

from common import PEER_NAME, PEER_VENV, Row, ensure_peer_venv, measure, median, with_peer
from sshd import NodeSshd

from collection_tree import ensure_collection_tree
from pvesim.harness import SimProcess

HERE = pathlib.Path(__file__).resolve().parent
VMID, NODE = 101, "pve1"
RUNS = 20
OUTPUT = 50 * 1024 * 1024
# Incompressible bytes, and text like a log (the output path compresses what is large).
OUTPUTS = {"random bytes": f"head -c {OUTPUT} /dev/urandom",
           "log-like text": f"yes \"Nov 25 10:00:01 web nginx[1234]: 10.0.0.1 GET /index.html 200\" | head -c {OUTPUT}"}
NAME = "exec over the API"
PEER = "pct exec over SSH (paramiko)"


def _probe(sim: SimProcess, collections: pathlib.Path) -> dict[str, t.Any]:
    """Our exec rows, measured with the collection in ``collections`` (exec_probe.py, a fresh interpreter)."""
    done = subprocess.run([sys.executable, str(HERE / "exec_probe.py"), str(collections), sim.url, sim.password, sim.ca_path, str(RUNS),
                           str(OUTPUT)], capture_output=True, text=True, timeout=1800, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"exec probe of {collections} failed: {done.stdout[-1000:]}{done.stderr[-1500:]}")
    return dict(json.loads(done.stdout))


def _baseline() -> pathlib.Path | None:
    """PVEOPS_BENCH_BASELINE: a checkout of an earlier version of the collection (its repository root), measured in the same run."""
    root = os.environ.get("PVEOPS_BENCH_BASELINE")
    if not root:
        return None
    tree = pathlib.Path(tempfile.mkdtemp(prefix="bench-baseline-")) / "ansible_collections" / "pveops"
    tree.mkdir(parents=True)
    (tree / "proxmox").symlink_to(pathlib.Path(root).resolve(), target_is_directory=True)
    return tree.parent.parent


def _playbook(path: pathlib.Path, tasks: str) -> pathlib.Path:
    path.write_text("---\n- name: Twenty commands\n  hosts: target\n  gather_facts: false\n  tasks:\n" + tasks * RUNS)
    return path


def _ansible_env(workdir: pathlib.Path, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PVE_", "PROXMOX_", "ANSIBLE_"))}
    env.update({"ANSIBLE_HOME": str(workdir / "home"), "ANSIBLE_HOST_KEY_CHECKING": "0", **extra})
    return env


def _ours_playbook(sim: SimProcess, workdir: pathlib.Path) -> float:
    book = _playbook(workdir / "ours.yml", f"    - name: Hostname\n      pveops.proxmox.pve_lxc_exec:\n        vmid: {VMID}\n        cmd: hostname\n")
    env = _ansible_env(workdir, ANSIBLE_COLLECTIONS_PATH=str(ensure_collection_tree()), PVE_URL=sim.url, PVE_USER=sim.user,
                       PVE_PASSWORD=sim.password, PVE_CA_PATH=sim.ca_path, ANSIBLE_PYTHON_INTERPRETER=sys.executable)
    run = measure([str(pathlib.Path(sys.executable).parent / "ansible-playbook"), "-i", "target,", "-c", "local", str(book)], env, cwd=workdir)
    if run.rc != 0:
        raise RuntimeError(run.stdout[-2000:] + run.stderr[-2000:])
    return run.seconds


def _peer_playbook(sshd: NodeSshd, workdir: pathlib.Path) -> float | None:
    book = _playbook(workdir / "peer.yml", "    - name: Hostname\n      ansible.builtin.command: hostname\n      changed_when: false\n")
    inventory = workdir / "peer-hosts.yml"
    inventory.write_text(
        "all:\n  hosts:\n    target:\n      ansible_connection: community.proxmox.proxmox_pct_remote\n"
        f"      ansible_host: 127.0.0.1\n      ansible_port: {sshd.port}\n      ansible_user: root\n"
        f"      ansible_paramiko_private_key_file: {sshd.key}\n      proxmox_vmid: {VMID}\n"
        "      ansible_python_interpreter: /usr/bin/python3\n")
    run = measure([str(PEER_VENV / "bin" / "ansible-playbook"), "-i", str(inventory), str(book)], with_peer(_ansible_env(workdir)), cwd=workdir)
    if run.rc != 0:
        print(f"benchmarks: the proxmox_pct_remote playbook failed: {run.stdout[-1500:]}", file=sys.stderr)
        return None
    return run.seconds


def _peer_direct(sshd: NodeSshd) -> dict[str, t.Any] | None:
    command = [str(PEER_VENV / "bin" / "python"), str(HERE / "peer_ssh_exec.py"), str(sshd.port), str(sshd.key), str(VMID), str(RUNS),
               *OUTPUTS.values()]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        print(f"benchmarks: pct exec over SSH failed: {done.stderr[-1500:]}", file=sys.stderr)
        return None
    return dict(json.loads(done.stdout))


def run() -> list[Row]:
    """Measure and return the rows."""
    peer_ready = ensure_peer_venv() is not None
    baseline_tree = _baseline()
    with tempfile.TemporaryDirectory(prefix="bench-exec-") as tmp, SimProcess() as sim:
        workdir = pathlib.Path(tmp)
        ours = _probe(sim, ensure_collection_tree())
        baseline = None
        if baseline_tree is not None:
            try:
                baseline = _probe(sim, baseline_tree)
            finally:
                shutil.rmtree(baseline_tree, ignore_errors=True)
        singles = ours["singles"]
        throughput = {label: OUTPUT / 1e6 / ours["outputs"][key] for label, key in zip(OUTPUTS, ("random", "text"))}
        ours_book = _ours_playbook(sim, workdir)
        peer_direct = peer_book = None
        peer_note = PEER
        if peer_ready:
            try:
                with NodeSshd(workdir, sim.node_tool(NODE, "pct")) as sshd:
                    peer_direct = _peer_direct(sshd)
                    peer_book = _peer_playbook(sshd, workdir)
            except RuntimeError as exc:
                peer_note = f"not measured: {exc}"
    mib = OUTPUT / 1024 / 1024
    return [
        Row(NAME, "one command, median of 20 (login included)", median(singles), peer_direct and median(peer_direct["singles"]),
            peer_note, "s", "<= 0.5 s"),
        Row(NAME, "20 commands, one after the other", sum(singles), peer_direct and sum(peer_direct["singles"]), peer_note, "s"),
    ] + [
        Row(NAME, f"output throughput, {mib:.0f} MiB of {label}", throughput[label],
            peer_direct and OUTPUT / 1e6 / peer_direct["outputs"][index]["seconds"], peer_note, "MB/s", ">= 20 MB/s", lower_is_better=False)
        for index, label in enumerate(OUTPUTS)
    ] + [
        Row(NAME, "ansible-playbook, 20 command tasks", ours_book, peer_book, f"command module over {PEER_NAME} proxmox_pct_remote" if peer_book
            else peer_note, "s"),
    ] + _baseline_rows(ours, baseline)


def _baseline_rows(ours: dict[str, t.Any], baseline: dict[str, t.Any] | None) -> list[Row]:
    """This tree against the baseline tree (PVEOPS_BENCH_BASELINE), measured on the same simulator in the same run."""
    if baseline is None:
        return []
    note = "baseline tree (PVEOPS_BENCH_BASELINE), same run"
    rows = [Row(NAME, "before/after: one command, median", median(ours["singles"]), median(baseline["singles"]), note, "s",
                "not slower than +10 %")]
    for key, label in (("random", "random bytes"), ("text", "log-like text")):
        rows.append(Row(NAME, f"before/after: 50 MiB of {label}", OUTPUT / 1e6 / ours["outputs"][key], OUTPUT / 1e6 / baseline["outputs"][key],
                        note, "MB/s", "not slower than -10 %", lower_is_better=False))
    return rows
