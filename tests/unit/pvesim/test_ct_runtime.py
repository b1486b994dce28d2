# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A running container is one set of namespaces: its init, what survives a `pct exec`, what a stop kills (ctruntime.py)."""
from __future__ import annotations

import fcntl
import os
import pty
import select
import signal
import subprocess
import termios
import time
from pathlib import Path
from typing import Iterator

import pytest

from pvesim.harness import SimProcess
from pvesim_client import Api
from term_client import NEEDS_BWRAP

pytestmark = NEEDS_BWRAP


@pytest.fixture(scope="module")
def own_sim() -> Iterator[SimProcess]:
    """A simulator of its own: these tests stop and start containers."""
    with SimProcess("--task-seconds", "0.2", request_log=False) as process:
        yield process


def tool(sim: SimProcess, name: str, *args: str, node: str = "pve1", stdin: bytes = b"", timeout: float = 30) -> subprocess.CompletedProcess[bytes]:
    """Run a node tool as the node shell would."""
    return subprocess.run([str(sim.node_tool(node, name)), *args], input=stdin, capture_output=True, timeout=timeout, check=False)


def init_pid(sim: SimProcess, vmid: int, node: str = "pve1") -> int:
    """The container's init on the machine (lxc-info -p -H; starts it if needed)."""
    result = tool(sim, "lxc-info", "-n", str(vmid), "-p", "-H", node=node)
    assert result.returncode == 0, result.stderr
    return int(result.stdout)


def alive(pid: int) -> bool:
    """True while `pid` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_gone(pid: int, timeout: float = 10) -> bool:
    """Bounded wait for a process to disappear (the kernel reaps a killed namespace asynchronously)."""
    deadline = time.monotonic() + timeout
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    return not alive(pid)


def started_attach(sim: SimProcess, vmid: int, script: str) -> subprocess.Popen[bytes]:
    """`pct exec <vmid> -- sh -c <script>` that prints `ready` first; returns once it did."""
    proc = subprocess.Popen([str(sim.node_tool("pve1", "pct")), "exec", str(vmid), "--", "sh", "-c", f"echo ready; {script}"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
    return proc


def test_background_processes_outlive_the_exec_and_belong_to_the_container(sim: SimProcess) -> None:
    result = tool(sim, "pct", "exec", "100", "--", "sh", "-c", "sleep 300 >/dev/null 2>&1 & echo $!")
    assert result.returncode == 0, result.stderr
    pid_inside = result.stdout.decode().strip()
    listing = tool(sim, "pct", "exec", "100", "--", "ps", "-o", "pid=,ppid=,args=", "-p", pid_inside)
    pid, ppid, args = listing.stdout.decode().split(None, 2)
    assert (pid, ppid, args.strip()) == (pid_inside, "1", "sleep 300")  # reparented to the container's init
    assert tool(sim, "pct", "exec", "100", "--", "pgrep", "-x", "sleep").returncode == 0
    assert tool(sim, "pct", "exec", "101", "--", "pgrep", "-x", "sleep").returncode == 1  # another container, another namespace
    tool(sim, "pct", "exec", "100", "--", "kill", pid_inside)


def test_the_init_is_pid_1_and_every_attach_joins_it(sim: SimProcess) -> None:
    first = init_pid(sim, 101)
    stat = tool(sim, "pct", "exec", "101", "--", "cat", "/proc/1/comm")
    assert stat.stdout == b"init\n"
    assert init_pid(sim, 101) == first
    inside = os.readlink(f"/proc/{first}/ns/pid")
    attached = tool(sim, "pct", "exec", "101", "--", "readlink", "/proc/self/ns/pid")
    assert attached.stdout.decode().strip() == inside


@pytest.mark.parametrize("action, status", [("stop", 128 + signal.SIGKILL), ("shutdown", 128 + signal.SIGTERM)])
def test_stopping_kills_everything_in_the_container(own_sim: SimProcess, action: str, status: int) -> None:
    api = Api(own_sim, "ticket")
    init = init_pid(own_sim, 101)
    tool(own_sim, "pct", "exec", "101", "--", "sh", "-c", "setsid sleep 300 >/dev/null 2>&1 < /dev/null &")
    running = started_attach(own_sim, 101, "exec sleep 300")
    try:
        api.wait_task(api.action("pve1", 101, action))
        # lxc-attach reports the killed command as WTERMSIG + 128 (lxc_attach.c 446-449); pct exec'd it.
        assert running.wait(10) == status
    finally:
        running.kill()
        running.wait(5)
        if running.stdout is not None:
            running.stdout.close()
    assert wait_gone(init)
    assert tool(own_sim, "lxc-info", "-n", "101", "-s", "-p").stdout == b"State:          STOPPED\n"
    refused = tool(own_sim, "lxc-attach", "-n", "101", "--", "true")
    assert refused.returncode == 1 and b"Failed to get init pid" in refused.stderr
    api.wait_task(api.action("pve1", 101, "start"))
    fresh = tool(own_sim, "pct", "exec", "101", "--", "pgrep", "-x", "sleep")
    assert fresh.returncode == 1  # a new container: nothing of the old one is left
    assert init_pid(own_sim, 101) != init


def test_reboot_gives_a_new_init(own_sim: SimProcess) -> None:
    api = Api(own_sim, "ticket")
    before = init_pid(own_sim, 100)
    api.wait_task(api.action("pve1", 100, "reboot"))
    assert wait_gone(before)
    assert init_pid(own_sim, 100) != before


def test_a_control_patch_to_stopped_kills_the_init_too(own_sim: SimProcess) -> None:
    pid = init_pid(own_sim, 111)
    own_sim.control("POST", "guests/111", {"status": "stopped"})
    assert wait_gone(pid)
    own_sim.control("POST", "guests/111", {"status": "running"})


def test_attached_command_keeps_the_callers_session_and_terminal(sim: SimProcess, tmp_path: Path) -> None:
    """No setsid and no new pty when fds 0-2 are not terminals (lxc_attach.c 293-305, 400-401): /dev/tty is the caller's."""
    master, slave = pty.openpty()
    out = tmp_path / "out"
    script = f"exec {sim.node_tool('pve1', 'pct')} exec 101 -- sh -c 'echo via-dev-tty > /dev/tty; ps -o sid= -p $$; tty || true' < /dev/null > {out} 2>&1"
    proc = subprocess.Popen(["/bin/sh", "-c", script], stdin=slave, stdout=slave, stderr=slave, start_new_session=True, preexec_fn=_take_terminal)
    os.close(slave)
    try:
        assert proc.wait(30) == 0
        seen = b""
        while select.select([master], [], [], 0.5)[0]:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    finally:
        os.close(master)
    assert b"via-dev-tty" in seen  # the container reached the node shell's terminal
    sid, tty_line = out.read_text().splitlines()
    assert sid.strip() == "0"  # the session leader is outside the container's pid namespace
    assert tty_line == "not a tty"


def test_inherited_descriptors_stay_open(sim: SimProcess) -> None:
    read_end, write_end = os.pipe()
    try:
        proc = subprocess.run([str(sim.node_tool("pve1", "pct")), "exec", "101", "--", "bash", "-c", f"echo through-fd >&{write_end}"],
                              pass_fds=(write_end,), capture_output=True, timeout=30, check=False)
        os.close(write_end)
        assert proc.returncode == 0, proc.stderr
        assert os.read(read_end, 100) == b"through-fd\n"
    finally:
        os.close(read_end)


def test_a_terminal_gives_the_command_a_new_pty_in_the_container(sim: SimProcess) -> None:
    """With a terminal on fd 0-2, lxc-attach makes a new pty (container devpts) the command's controlling terminal."""
    pid, master = pty.fork()
    if pid == 0:  # pragma: no cover - the child execs
        os.execv(str(sim.node_tool("pve1", "lxc-attach")), ["lxc-attach", "-n", "101", "--clear-env", "--", "sh", "-c", "tty; ps -o sid= -p $$"])
    seen = b""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if not select.select([master], [], [], 1)[0]:
            continue
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    os.close(master)
    _pid, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    tty_name, sid = seen.decode().split()[:2]
    assert tty_name.startswith("/dev/pts/") and int(sid) > 0  # its own session, inside the container


def test_simulator_shutdown_leaves_no_process_behind() -> None:
    sim = SimProcess(request_log=False)
    sim.start()
    try:
        init = init_pid(sim, 101)
        tool(sim, "pct", "exec", "101", "--", "sh", "-c", "setsid sleep 300 >/dev/null 2>&1 < /dev/null &")
        namespace = os.readlink(f"/proc/{init}/ns/pid")
        members = [p for p in os.listdir("/proc") if p.isdigit() and _namespace(p) == namespace]
        assert len(members) >= 2
        running = started_attach(sim, 101, "exec sleep 300")
        state_dir = str(sim.state_dir)
    finally:
        sim.stop()
    assert running.wait(10) == 128 + signal.SIGKILL
    if running.stdout is not None:
        running.stdout.close()
    assert all(wait_gone(int(p)) for p in members)
    leftovers = [p for p in os.listdir("/proc") if p.isdigit() and state_dir in _cmdline(p)]
    assert not leftovers


def _take_terminal() -> None:
    """In the child: make fd 0 (a pty) the controlling terminal of the new session, as a node shell has it."""
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def _namespace(pid: str) -> str:
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return ""


def _cmdline(pid: str) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read().decode("utf-8", "replace")
    except OSError:
        return ""


def test_a_killed_simulator_takes_its_containers_along() -> None:
    """bubblewrap's --die-with-parent, from the runtime's long-lived thread: SIGKILL to the simulator ends every init."""
    sim = SimProcess(request_log=False)
    sim.start()
    try:
        init = init_pid(sim, 101)
        os.kill(sim.pid, signal.SIGKILL)
        assert wait_gone(init)
    finally:
        sim.stop()
