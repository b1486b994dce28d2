# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Faults: retries within a bound, no blind replays, dropped terminals, a dying server, and a soak.

The simulator injects faults on request (`POST /_sim/faults`) and records each one, so every
failure seen here can be traced to an injected cause.
"""
from __future__ import annotations

import gc
import json
import os
import pathlib
import signal
import subprocess
import threading
import time
import typing as t

import pytest

from ansible_collections.pveops.proxmox.plugins.module_utils._api import ApiClient
from ansible_collections.pveops.proxmox.plugins.module_utils._cluster import Cluster
from ansible_collections.pveops.proxmox.plugins.module_utils._config import connection_config
from ansible_collections.pveops.proxmox.plugins.module_utils._errors import PveError
from ansible_collections.pveops.proxmox.plugins.module_utils._exec import container_argv, run_capture
from ansible_collections.pveops.proxmox.plugins.module_utils._journal import node_journal
from ansible_collections.pveops.proxmox.plugins.module_utils._lxc import current_status
from ansible_collections.pveops.proxmox.plugins.module_utils._power import run_action
from ansible_collections.pveops.proxmox.plugins.module_utils._tasks import Deadline
from ansible_collections.pveops.proxmox.plugins.plugin_utils._discovery import snapshot
from ansible_commands import BIN
from conftest import Ansible
from polling import wait_for
from pvesim.harness import SimProcess


@pytest.fixture(scope="module")
def sim_args() -> list[str]:
    return ["--task-seconds", "0.2", "--fault-seed", "11", "--slow-ms", "300"]


@pytest.fixture(autouse=True)
def faults_off(sim: SimProcess) -> t.Iterator[None]:
    sim.set_faults(rate=0, match=None)
    sim.faults(clear=True)
    yield
    sim.set_faults(rate=0, match=None)


def posts(sim: SimProcess, fragment: str) -> list[dict[str, t.Any]]:
    return [entry for entry in sim.requests() if entry["method"] == "POST" and fragment in entry["path"]]


def test_idempotent_requests_are_retried_within_a_bound(ansible: Ansible) -> None:
    sim = ansible.sim
    sim.set_faults(rate=0.3, kinds=["500", "reset-before", "truncate"], match="^GET ", seed=3)
    sim.mark()
    run = ansible.module("pve_lxc_info", "", auth="token")
    assert run.rc == 0, run.output
    assert len(run.result["containers"]) == 14
    injected = sim.faults()["injected"]
    assert injected, "no fault was injected"
    # Every faulted GET was asked again (and answered) afterwards.
    answered = {(entry["path"], entry["ts"]) for entry in sim.requests() if entry["status"] == 200}
    for fault in injected:
        assert any(path == fault["path"] and ts > fault["ts"] for path, ts in answered), fault


def test_login_and_termproxy_posts_are_retried_like_gets(sim: SimProcess) -> None:
    """Both POSTs are safe to repeat before their result is used (a login changes nothing, an unused termproxy
    exits by itself). With 30 % faults on them alone, every command still runs; before, about half failed."""
    sim.set_faults(rate=0.3, kinds=["500", "reset-before", "reset-after"], match="^POST /(access/ticket|nodes/[^/]+/termproxy)$", seed=5)
    config = connection_config({"api_url": sim.url, "api_password": sim.password, "ca_path": sim.ca_path})
    for run in range(12):
        with ApiClient(config) as client:
            result = run_capture(client, "pve1", container_argv(101, ["echo", f"run {run}"]), b"", timeout=30, deadline=Deadline(60))
        assert (result.rc, result.stdout) == (0, f"run {run}\n".encode()), run
    sim.set_faults(rate=0)
    faulted = {fault["path"].rsplit("/", 1)[-1] for fault in sim.faults()["injected"]}
    assert faulted == {"ticket", "termproxy"}, "the seed must hit both POSTs"


def test_lost_answer_to_a_post_is_not_replayed(ansible: Ansible) -> None:
    """The start arrived and its task runs, but the answer was lost: the module finds the task instead of starting again."""
    sim = ansible.sim
    sim.set_faults(rate=1.0, kinds=["reset-after"], match="^POST /nodes/[^/]+/lxc/103/status/start$")
    sim.mark()
    run = ansible.module("pve_lxc_action", "vmid=103 action=start", auth="token")
    assert run.rc == 0, run.output
    assert run.result["status"] == "running" and ":vzstart:103:" in run.result["upid"]
    assert len(posts(sim, "/lxc/103/status/start")) == 1
    assert [fault["kind"] for fault in sim.faults()["injected"]] == ["reset-after"]


def test_request_reset_before_it_was_applied_is_sent_again_once(ansible: Ansible) -> None:
    sim = ansible.sim
    sim.set_faults(rate=1.0, kinds=["reset-before"], match="^POST /nodes/[^/]+/lxc/110/status/start$", seed=1)
    sim.mark()
    sim.set_faults(rate=0.5)
    run = ansible.module("pve_lxc_action", "vmid=110 action=start", auth="token")
    faults = sim.faults()["injected"]
    if run.rc == 0:
        # Not applied, no task found: the one retry went through.
        assert run.result["status"] == "running"
        assert len(posts(sim, "/lxc/110/status/start")) == len(faults) + 1 <= 2
    else:
        # Both tries reset: a clear connection error, never a third attempt.
        assert len(posts(sim, "/lxc/110/status/start")) == 2 == len(faults)
        assert "lost the connection" in run.result["msg"]


def started_marker(sim: SimProcess, name: str) -> pathlib.Path:
    """A file the command creates in container 101 once it runs (the test waits for it, not for a timer)."""
    marker = sim.state_dir / "containers" / "101" / "rootfs" / "tmp" / name
    marker.unlink(missing_ok=True)
    return marker


def test_dropped_terminal_fails_clearly_and_cleans_up(ansible: Ansible) -> None:
    sim = ansible.sim
    marker = started_marker(sim, "pveops-drop-started")
    spool = sim.state_dir / "nodes" / "pve1" / "tmp"
    dropped_at: list[float] = []

    def drop_once_running() -> None:
        if wait_for(marker.exists):
            dropped_at.append(time.monotonic())
            sim.control("POST", "terminals/drop", {})

    dropper = threading.Thread(target=drop_once_running)
    dropper.start()
    try:
        run = ansible.module("pve_lxc_exec", json.dumps({"vmid": 101, "shell": f"touch /tmp/{marker.name}; sleep 20; echo never",
                                                         "spool_dir": str(spool)}))
    finally:
        dropper.join()
    assert dropped_at, "the command never started"
    assert run.rc != 0
    message = run.result["msg"]
    assert "terminal connection to node pve1 was lost after" in message and "exit status unknown" in message
    assert time.monotonic() - dropped_at[0] < 15
    assert wait_for(lambda: not any(spool.glob("pveops.*")), 10), "the node-side spool directory was not removed"


@pytest.mark.parametrize("what", ["exec", "action"])
def test_killing_the_server_mid_operation_fails_within_the_bound(ansible: Ansible, what: str) -> None:
    with SimProcess("--task-seconds", "30") as victim:
        env = ansible.env("password")
        env.update({"PVE_URL": victim.url, "PVE_USER": victim.user, "PVE_PASSWORD": victim.password, "PVE_CA_PATH": victim.ca_path})
        marker = started_marker(victim, "pveops-kill-started")
        args = (json.dumps({"vmid": 101, "shell": f"touch /tmp/{marker.name}; sleep 30", "timeout": 60}) if what == "exec"
                else json.dumps({"vmid": 102, "action": "start", "timeout": 60}))
        started: t.Callable[[], bool] = (marker.exists if what == "exec" else lambda: any(
            entry.get("method") == "POST" and str(entry.get("path", "")).endswith("/status/start") for entry in victim.requests()))
        command = [str(BIN / "ansible"), "localhost", "-i", "localhost,", "-c", "local", "-m",
                   f"pveops.proxmox.{'pve_lxc_exec' if what == 'exec' else 'pve_lxc_action'}", "-a", args]
        with subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as process:
            assert wait_for(started), "the operation never started"
            killed_at = time.monotonic()
            os.kill(victim.pid, signal.SIGKILL)
            output, _stderr = process.communicate(timeout=60)
            took = time.monotonic() - killed_at
    assert process.returncode != 0
    assert took < 15, f"the module needed {took:.1f} s after the server died"
    assert "Traceback" not in output
    assert ("was lost after" in output) or ("could not connect to" in output) or ("lost the connection" in output), output[-1500:]


# ------------------------------------------------------------------------------------------ soak

def open_fds() -> list[str]:
    targets = []
    for name in os.listdir("/proc/self/fd"):
        try:
            targets.append(os.readlink(f"/proc/self/fd/{name}"))
        except OSError:  # the descriptor listdir itself used
            pass
    return sorted(targets)


def children() -> set[int]:
    """Process ids whose parent is this process (from /proc)."""
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="utf-8") as handle:
                    fields = handle.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == os.getpid():
                found.add(int(entry))
    return found


class Op(t.NamedTuple):
    name: str
    run: t.Callable[[], t.Any]


def test_soak_with_five_percent_faults(sim: SimProcess) -> None:
    """A few hundred mixed operations with 5 % injected faults: every failure is an injected one, reported
    as a PveError; afterwards no file descriptor, thread or process is left behind."""
    config = connection_config({"api_url": sim.url, "api_token_id": sim.token_id, "api_token_secret": sim.token_secret,
                                "api_user": sim.user, "api_password": sim.password, "ca_path": sim.ca_path})
    baseline_fds, baseline_threads, baseline_children = open_fds(), threading.active_count(), children()
    sim.set_faults(rate=0.05, kinds=["500", "reset-before", "reset-after", "slow", "truncate", "ws-drop", "lost-bytes"], seed=42)

    def action() -> t.Any:
        with ApiClient(config) as client:
            status = str(current_status(client, "pve1", 102).get("status"))
            return run_action(client, "pve1", 102, "start" if status == "stopped" else "stop", status, Deadline(30))

    def exec_() -> t.Any:
        with ApiClient(config) as client:
            result = run_capture(client, "pve1", container_argv(101, ["sh", "-c", "echo soak; head -c 20000 /dev/urandom | wc -c"]),
                                 timeout=30, deadline=Deadline(40))
        assert result.rc == 0 and result.stdout == b"soak\n20000\n", result
        return result

    def stats() -> t.Any:
        with ApiClient(config) as client:
            return client.get("/cluster/resources", {"type": "vm"})

    def logs() -> t.Any:
        with ApiClient(config) as client:
            return node_journal(client, "pve2", 20)

    def inventory() -> t.Any:
        with ApiClient(config) as client:
            return snapshot([client], concurrency=8)

    def info() -> t.Any:
        with ApiClient(config) as client:
            return Cluster(client).guests()

    mix = [Op("action", action)] * 5 + [Op("exec", exec_)] * 5 + [Op("stats", stats)] * 6 + [Op("logs", logs)] * 4 + \
        [Op("inventory", inventory)] * 2 + [Op("info", info)] * 4
    failures: list[tuple[str, float, float, PveError]] = []
    ops = 0
    for round_number in range(10):
        for op in mix:
            started = time.time()
            ops += 1
            try:
                op.run()
            except PveError as exc:
                failures.append((op.name, started, time.time(), exc))
    sim.set_faults(rate=0)
    injected = sim.faults()["injected"]
    assert ops == 260
    assert injected, "the soak injected no fault"
    for name, started, ended, exc in failures:
        during = [fault for fault in injected if started - 0.5 <= fault["ts"] <= ended + 0.5]
        assert during, f"{name} failed without an injected fault: {exc}"
        assert str(exc) and "Traceback" not in str(exc)
    assert len(failures) < ops * 0.2, [str(failure[3]) for failure in failures]
    failures.clear()

    def settled() -> bool:
        gc.collect()  # objects in reference cycles are garbage, not leaks: collect them before counting
        return len(open_fds()) <= len(baseline_fds) and threading.active_count() <= baseline_threads and children() <= baseline_children

    wait_for(settled, 10)  # connections and threads of the last operation wind down
    after = open_fds()
    assert len(after) <= len(baseline_fds), f"file descriptors leaked: {sorted(set(after) - set(baseline_fds))}"
    assert threading.active_count() <= baseline_threads, "threads leaked"
    assert children() <= baseline_children, "child processes left"
