# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Playbooks in containers: the pve_lxc connection against proxmox_pct_remote and the SSH floor, in one run.

Measured with the same 10-task playbook (setup, ping, command, shell, copy, template, file, stat,
lineinfile, fetch) over 10 containers of the fleet scenario with `-f 5`:

* ours with the broker (node shells shared across tasks and forks) and without it (a terminal per task);
* community.proxmox 2.0.0's `proxmox_pct_remote`: SSH (paramiko) to the node, `pct exec` per command —
  one sshd per simulated node on 127.0.0.1, running the simulator's same `pct`;
* the floor: the playbook over `ssh` to 127.0.0.1 with ControlPersist and pipelining (what a
  container with its own sshd and key would give).

Plus copy and fetch of a 50 MiB file (random and text) and the median of a `ping` task, and the
playbook once more, ours with the broker against the peer, with a start-up cost for every `pct` call
(PCT_STARTUP_MS, an estimate of the real Perl program's).
"""
from __future__ import annotations

import collections
import json
import os
import pathlib
import shutil
import sys
import tempfile
import typing as t

from common import PEER_NAME, PEER_VENV, Row, ensure_peer_venv, measure, median, with_peer
from sshd import NodeSshd

from collection_tree import ensure_collection_tree
from pvesim.harness import SimProcess

HERE = pathlib.Path(__file__).resolve().parent
CALLBACKS = HERE / "callback_plugins"
NAME = "connection: playbooks in containers"
HOSTS = {f"ct{vmid}": (vmid, f"pve{index % 3 + 1}") for index, vmid in enumerate(range(121, 131))}
FORKS = 5
# An estimate, not a measurement: `pct` is a Perl program that loads PVE::LXC and the cluster modules
# before it does anything; a few hundred milliseconds per call on a real node. The simulator's pct
# costs nothing by default; the second run sets this cost for every pct call (--pct-startup-ms).
PCT_STARTUP_MS = 400
BIG = 50 * 1024 * 1024
TEN_TASKS = """---
- name: Ten tasks
  hosts: all
  gather_facts: false
  vars:
    base: "/tmp/pveops-bench-{{ inventory_hostname }}"
  tasks:
    - name: Setup
      ansible.builtin.setup:
    - name: Ping
      ansible.builtin.ping:
    - name: Command
      ansible.builtin.command: id -u
      changed_when: false
    - name: Shell
      ansible.builtin.shell: echo one; echo two >&2
      changed_when: false
    - name: Copy
      ansible.builtin.copy:
        content: "benchmark {{ inventory_hostname }}\\n"
        dest: "{{ base }}-copy.txt"
        mode: "0644"
    - name: Template
      ansible.builtin.template:
        src: TEMPLATE
        dest: "{{ base }}-template.txt"
        mode: "0644"
    - name: File
      ansible.builtin.file:
        path: "{{ base }}-dir"
        state: directory
        mode: "0755"
    - name: Stat
      ansible.builtin.stat:
        path: "{{ base }}-copy.txt"
    - name: Lineinfile
      ansible.builtin.lineinfile:
        path: "{{ base }}-copy.txt"
        line: second
    - name: Fetch
      ansible.builtin.fetch:
        src: "{{ base }}-copy.txt"
        dest: FETCHED/
"""
TRANSFER = """---
- name: Copy and fetch a big file
  hosts: all
  gather_facts: false
  tasks:
    - name: Copy random
      ansible.builtin.copy: {src: SOURCE/random.bin, dest: /tmp/pveops-bench-random.bin, mode: "0600"}
    - name: Fetch random
      ansible.builtin.fetch: {src: /tmp/pveops-bench-random.bin, dest: FETCHED/, flat: false}
    - name: Copy text
      ansible.builtin.copy: {src: SOURCE/text.log, dest: /tmp/pveops-bench-text.log, mode: "0600"}
    - name: Fetch text
      ansible.builtin.fetch: {src: /tmp/pveops-bench-text.log, dest: FETCHED/, flat: false}
    - name: Clean up
      ansible.builtin.file: {path: "{{ item }}", state: absent}
      loop: [/tmp/pveops-bench-random.bin, /tmp/pveops-bench-text.log]
"""
PINGS = "---\n- name: Pings\n  hosts: all\n  gather_facts: false\n  tasks:\n" + "    - name: Ping\n      ansible.builtin.ping:\n" * 20


class Runner:
    """Runs one playbook flavour and collects wall time and per-task durations."""

    def __init__(self, workdir: pathlib.Path) -> None:
        self.workdir = workdir
        self.count = 0

    def play(self, playbook: str, inventory: dict[str, t.Any], env: dict[str, str], ansible_playbook: str) -> tuple[float, list[dict[str, t.Any]]]:
        self.count += 1
        run_dir = self.workdir / f"run-{self.count}"
        (run_dir / "fetched").mkdir(parents=True)
        (run_dir / "template.j2").write_text("host {{ inventory_hostname }}\n")
        book = run_dir / "play.yml"
        book.write_text(playbook.replace("TEMPLATE", str(run_dir / "template.j2")).replace("FETCHED", str(run_dir / "fetched"))
                        .replace("SOURCE", str(self.workdir)))
        hosts = run_dir / "hosts.json"
        hosts.write_text(json.dumps({"all": {"hosts": inventory}}))
        times = run_dir / "times.jsonl"
        full = dict(env, PVEOPS_TASK_TIMES=str(times), ANSIBLE_CALLBACK_PLUGINS=str(CALLBACKS), ANSIBLE_CALLBACKS_ENABLED="task_timer",
                    ANSIBLE_HOME=str(run_dir / "home"), ANSIBLE_HOST_KEY_CHECKING="0", ANSIBLE_RETRY_FILES_ENABLED="0",
                    ANSIBLE_PYTHON_INTERPRETER="/usr/bin/python3")
        run = measure([ansible_playbook, "-i", str(hosts), "-f", str(FORKS), str(book)], full, cwd=run_dir, timeout=1800)
        if run.rc != 0:
            raise RuntimeError(f"{book} failed: {run.stdout[-2500:]}{run.stderr[-1500:]}")
        entries = [json.loads(line) for line in times.read_text().splitlines()] if times.exists() else []
        return run.seconds, entries


def _base_env() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if not key.startswith(("PVE_", "PROXMOX_", "ANSIBLE_"))}


def _task_median(entries: list[dict[str, t.Any]], name: str | None = None) -> float:
    return median([entry["seconds"] for entry in entries if name is None or entry["task"] == name])


def _terminals_per_node(sim: SimProcess) -> float:
    """The most terminals (``POST /nodes/<node>/termproxy``) one node was asked for since the last mark."""
    per_node: collections.Counter[str] = collections.Counter()
    for entry in sim.requests():
        parts = str(entry.get("path", "")).split("/")
        if entry.get("method") == "POST" and parts[-1:] == ["termproxy"] and "nodes" in parts:
            per_node[parts[parts.index("nodes") + 1]] += 1
    return max(per_node.values()) if per_node else 0.0


def _ours(sim: SimProcess, runner: Runner, broker: bool, extras: bool = True) -> dict[str, t.Any]:
    env = _base_env()
    env.update({"ANSIBLE_COLLECTIONS_PATH": str(ensure_collection_tree()), "PVE_URL": sim.url, "PVE_USER": sim.user,
                "PVE_PASSWORD": sim.password, "PVE_CA_PATH": sim.ca_path, "PVE_BROKER_DIR": str(runner.workdir / "broker"),
                "PVE_BROKER_IDLE_TIMEOUT": "30" if broker else "0"})
    inventory = {name: {"ansible_connection": "pveops.proxmox.pve_lxc", "pve_vmid": vmid, "pve_node": node}
                 for name, (vmid, node) in HOSTS.items()}
    playbook = str(pathlib.Path(sys.executable).parent / "ansible-playbook")
    sim.mark()
    wall, entries = runner.play(TEN_TASKS, inventory, env, playbook)
    result: dict[str, t.Any] = {"wall": wall, "task": _task_median(entries), "terminals": _terminals_per_node(sim)}
    if broker and extras:
        one = {"ct121": inventory["ct121"]}
        _wall, pings = runner.play(PINGS, one, env, playbook)
        result["ping"] = _task_median(pings)
        _wall, transfers = runner.play(TRANSFER, one, env, playbook)
        result["transfer"] = {entry["task"]: BIG / 1e6 / entry["seconds"] for entry in transfers if entry["task"] != "Clean up"}
    for pid_file in (runner.workdir / "broker").glob("*.pid"):
        try:
            os.kill(int(pid_file.read_text()), 15)
        except (OSError, ValueError):
            pass
    return result


def _peer(sim: SimProcess, runner: Runner, extras: bool = True) -> dict[str, t.Any] | None:
    if ensure_peer_venv() is None:
        return None
    servers = []
    try:
        ports = {}
        for node in ("pve1", "pve2", "pve3"):
            server = NodeSshd(runner.workdir / f"sshd-{node}", sim.node_tool(node, "pct")).__enter__()
            servers.append(server)
            ports[node] = server
        inventory = {name: {"ansible_connection": "community.proxmox.proxmox_pct_remote", "ansible_host": "127.0.0.1",
                            "ansible_port": ports[node].port, "ansible_user": "root", "ansible_paramiko_private_key_file": str(ports[node].key),
                            "proxmox_vmid": vmid} for name, (vmid, node) in HOSTS.items()}
        env = with_peer(_base_env())
        env["ANSIBLE_PARAMIKO_HOST_KEY_AUTO_ADD"] = "1"
        playbook = str(PEER_VENV / "bin" / "ansible-playbook")
        wall, entries = runner.play(TEN_TASKS, inventory, env, playbook)
        if not extras:
            return {"wall": wall, "task": _task_median(entries)}
        one = {"ct121": inventory["ct121"]}
        _wall, pings = runner.play(PINGS, one, env, playbook)
        _wall, transfers = runner.play(TRANSFER, one, env, playbook)
        return {"wall": wall, "task": _task_median(entries), "ping": _task_median(pings),
                "transfer": {entry["task"]: BIG / 1e6 / entry["seconds"] for entry in transfers if entry["task"] != "Clean up"}}
    except RuntimeError as exc:
        print(f"benchmarks: proxmox_pct_remote failed: {exc}", file=sys.stderr)
        return None
    finally:
        for server in servers:
            server.__exit__()


def _floor(runner: Runner) -> dict[str, t.Any] | None:
    try:
        with NodeSshd(runner.workdir / "sshd-floor", None) as server:
            inventory = {name: {"ansible_connection": "ssh", "ansible_host": "127.0.0.1", "ansible_port": server.port, "ansible_user": "root",
                                "ansible_ssh_private_key_file": str(server.key),
                                "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"}
                         for name in HOSTS}
            env = _base_env()
            env.update({"ANSIBLE_PIPELINING": "1", "ANSIBLE_SSH_ARGS": "-o ControlMaster=auto -o ControlPersist=60s"})
            playbook = str(pathlib.Path(sys.executable).parent / "ansible-playbook")
            wall, entries = runner.play(TEN_TASKS, inventory, env, playbook)
            one = {"ct121": inventory["ct121"]}
            _wall, pings = runner.play(PINGS, one, env, playbook)
            _wall, transfers = runner.play(TRANSFER, one, env, playbook)
    except RuntimeError as exc:
        print(f"benchmarks: the ssh floor failed: {exc}", file=sys.stderr)
        return None
    finally:
        for leftover in pathlib.Path("/tmp").glob("pveops-bench-*"):
            if leftover.is_dir():
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                leftover.unlink(missing_ok=True)
    return {"wall": wall, "task": _task_median(entries), "ping": _task_median(pings),
            "transfer": {entry["task"]: BIG / 1e6 / entry["seconds"] for entry in transfers if entry["task"] != "Clean up"}}


def run() -> list[Row]:
    """Measure and return the rows."""
    with tempfile.TemporaryDirectory(prefix="bench-connection-") as tmp, SimProcess("--scenario", "fleet") as sim:
        workdir = pathlib.Path(tmp)
        (workdir / "random.bin").write_bytes(os.urandom(BIG))
        line = b"Nov 25 10:00:01 web nginx[1234]: 10.0.0.1 GET /index.html 200\n"
        (workdir / "text.log").write_bytes((line * (BIG // len(line) + 1))[:BIG])
        runner = Runner(workdir)
        with_broker = _ours(sim, runner, broker=True)
        without = _ours(sim, runner, broker=False)
        peer = _peer(sim, runner)
        floor = _floor(runner)
    with tempfile.TemporaryDirectory(prefix="bench-connection-pct-") as tmp, \
            SimProcess("--scenario", "fleet", "--pct-startup-ms", str(PCT_STARTUP_MS)) as sim:
        runner = Runner(pathlib.Path(tmp))
        costly = _ours(sim, runner, broker=True, extras=False)
        costly_peer = _peer(sim, runner, extras=False)
    peer_note = f"{PEER_NAME} proxmox_pct_remote (SSH + pct exec)"
    floor_note = "ssh to 127.0.0.1, ControlPersist + pipelining (floor)"
    rows = [
        Row(NAME, "10 tasks x 10 containers, -f 5: wall time, ours with the broker", with_broker["wall"], peer and peer["wall"], peer_note, "s",
            ">= 5x"),
        Row(NAME, "same, ours with the broker vs the SSH floor", with_broker["wall"], floor and floor["wall"], floor_note, "s", "<= 1.5x the floor"),
        Row(NAME, f"same, pct start-up {PCT_STARTUP_MS} ms (an estimate): ours with the broker", costly["wall"],
            costly_peer and costly_peer["wall"], peer_note, "s", ">= 5x"),
        Row(NAME, f"per-task median, pct start-up {PCT_STARTUP_MS} ms (an estimate)", costly["task"], costly_peer and costly_peer["task"],
            peer_note, "s"),
        Row(NAME, "same, ours without the broker (a terminal per task)", without["wall"], peer and peer["wall"], peer_note, "s"),
        Row(NAME, "per-task median (host x task), ours with the broker", with_broker["task"], peer and peer["task"], peer_note, "s"),
        Row(NAME, "per-task median, ours with the broker vs the floor", with_broker["task"], floor and floor["task"], floor_note, "s"),
        Row(NAME, "terminals opened per node, with the broker", with_broker["terminals"], without["terminals"],
            "ours without the broker", "count"),
        Row(NAME, "ping task median, with the broker", with_broker["ping"], floor and floor["ping"], floor_note, "s",
            "<= floor + 0.15 s"),
        Row(NAME, "ping task median, with the broker vs proxmox_pct_remote", with_broker["ping"], peer and peer["ping"], peer_note, "s"),
    ]
    for task in ("Copy random", "Fetch random", "Copy text", "Fetch text"):
        target = ">= 20 MB/s" if "text" in task else ""
        rows.append(Row(NAME, f"{task.lower()} 50 MiB", with_broker["transfer"].get(task), peer and peer["transfer"].get(task), peer_note,
                        "MB/s", target, lower_is_better=False))
        rows.append(Row(NAME, f"{task.lower()} 50 MiB vs the floor", with_broker["transfer"].get(task), floor and floor["transfer"].get(task),
                        floor_note, "MB/s", lower_is_better=False))
    return rows
