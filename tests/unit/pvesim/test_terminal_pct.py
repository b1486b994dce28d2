# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The node's `pct` run directly (exec in bubblewrap, push/pull, status), and the container filesystems (5)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from pvesim import tools
from pvesim.harness import SimProcess
from pvesim_client import Api
from term_client import NEEDS_BWRAP


def pct(sim: SimProcess, *args: str, node: str = "pve1", stdin: bytes = b"", timeout: float = 30) -> subprocess.CompletedProcess[bytes]:
    """Run the installed pct of `node` like the node shell would."""
    return subprocess.run([str(sim.node_tool(node, "pct")), *args], input=stdin, capture_output=True, timeout=timeout, check=False)


@NEEDS_BWRAP
@pytest.mark.parametrize("argv, rc", [
    (["true"], 0),
    (["false"], 1),
    (["sh", "-c", "exit 2"], 2),
    (["sh", "-c", "exit 127"], 127),
    (["sh", "-c", "kill -TERM $$"], 143),
    (["sh", "-c", "kill -KILL $$"], 137),
])
def test_exit_codes(sim: SimProcess, argv: list[str], rc: int) -> None:
    assert pct(sim, "exec", "101", "--", *argv).returncode == rc


@NEEDS_BWRAP
def test_command_not_found_and_not_executable(sim: SimProcess) -> None:
    result = pct(sim, "exec", "101", "--", "no-such-program")
    assert result.returncode == 127
    assert result.stderr.decode().endswith('No such file or directory - Failed to exec "no-such-program"\n')
    assert pct(sim, "exec", "101", "--", "/etc/hostname").returncode == 126


def test_refusals(sim: SimProcess) -> None:
    wrong_node = pct(sim, "exec", "104", "--", "true")
    assert (wrong_node.returncode, wrong_node.stderr) == (2, b"Configuration file 'nodes/pve1/lxc/104.conf' does not exist\n")
    unknown = pct(sim, "status", "999")
    assert (unknown.returncode, unknown.stderr) == (2, b"Configuration file 'nodes/pve1/lxc/999.conf' does not exist\n")
    stopped = pct(sim, "exec", "102", "--", "true")
    assert (stopped.returncode, stopped.stderr) == (255, b"container '102' not running!\n")
    missing = pct(sim, "exec", "101")
    assert (missing.returncode, missing.stderr) == (255, b"missing command\n")
    option = pct(sim, "exec", "101", "ls", "-l")
    assert option.returncode == 255 and option.stderr.startswith(b"Unknown option: l\n")


@NEEDS_BWRAP
def test_exact_bytes_through_stdin_and_stdout(sim: SimProcess) -> None:
    data = bytes(range(256)) * 64
    result = pct(sim, "exec", "101", "--", "sh", "-c", "cat; printf 'e\\000rr' >&2", stdin=data)
    assert result.returncode == 0 and result.stdout == data and result.stderr == b"e\x00rr"


@NEEDS_BWRAP
def test_sandbox_is_the_container(sim: SimProcess) -> None:
    result = pct(sim, "exec", "100", "--", "sh", "-c", "hostname; cat /etc/hostname; . /etc/os-release; echo $ID; echo $$; echo /home/*; echo hi > /tmp/mark")
    assert result.returncode == 0, result.stderr
    hostname, etc_hostname, os_id, pid, home = result.stdout.decode().split("\n")[:5]
    assert (hostname, etc_hostname, os_id, home) == ("web", "web", "debian", "/home/ops /home/user")
    assert int(pid) < 10  # a pid namespace of its own
    assert pct(sim, "exec", "100", "--", "cat", "/tmp/mark").stdout == b"hi\n"
    assert pct(sim, "exec", "101", "--", "cat", "/tmp/mark").returncode == 1  # not visible in another container
    assert (sim.state_dir / "containers" / "100" / "rootfs" / "tmp" / "mark").read_text() == "hi\n"
    alpine = pct(sim, "exec", "107", "--", "sh", "-c", ". /etc/os-release; echo $ID; test -d /run/systemd/system || echo nosystemd", node="pve3")
    assert alpine.stdout == b"alpine\nnosystemd\n"


@NEEDS_BWRAP
def test_environment(sim: SimProcess) -> None:
    env = dict(os.environ, SSL_CERT_FILE="/x", SSL_CERT_DIR="/y", MARKER="kept", TMPDIR="/node/tmp", PVESIM_NODE="pve1")
    kept = subprocess.run([str(sim.node_tool("pve1", "pct")), "exec", "101", "--", "env"], env=env, capture_output=True, check=True)
    lines = kept.stdout.decode().splitlines()
    assert "MARKER=kept" in lines and not any(line.startswith(("SSL_CERT_FILE=", "SSL_CERT_DIR=", "TMPDIR=", "PVESIM_")) for line in lines)
    cleared = subprocess.run([str(sim.node_tool("pve1", "pct")), "exec", "101", "--keep-env", "0", "--", "env"], env=env, capture_output=True, check=True)
    # attach.c 803-876: nothing but the default PATH and container=lxc (no PWD: nothing execs through a shell).
    assert sorted(cleared.stdout.decode().split()) == ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "container=lxc"]


@NEEDS_BWRAP
def test_signals_reach_the_command_through_its_process_group_only(sim: SimProcess) -> None:
    """lxc-attach forwards nothing (lxc_attach.c): SIGTERM ends it and leaves the command running; a group kill (timeout) reaches both."""
    script = "trap 'echo trapped > /tmp/signal-$1; exit 7' TERM; echo ready; while :; do sleep 0.05; done"
    lone = subprocess.Popen([str(sim.node_tool("pve1", "pct")), "exec", "101", "--", "sh", "-c", script, "sh", "lone"],
                            stdout=subprocess.PIPE, start_new_session=True)
    group = subprocess.Popen([str(sim.node_tool("pve1", "pct")), "exec", "101", "--", "sh", "-c", script, "sh", "group"],
                             stdout=subprocess.PIPE, start_new_session=True)
    try:
        for proc in (lone, group):
            assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
        lone.send_signal(signal.SIGTERM)
        assert lone.wait(10) == -signal.SIGTERM  # lxc-attach itself died of it
        still = pct(sim, "exec", "101", "--", "sh", "-c", "test ! -e /tmp/signal-lone && pgrep -f 'sh -c trap.* lone' >/dev/null")
        assert still.returncode == 0, "the command must outlive lxc-attach"
        os.killpg(group.pid, signal.SIGTERM)
        assert group.wait(10) == -signal.SIGTERM  # lxc-attach is in the group too and dies of it first
        trapped = pct(sim, "exec", "101", "--", "timeout", "10", "sh", "-c", "until [ -s /tmp/signal-group ]; do sleep 0.05; done; cat /tmp/signal-group")
        assert trapped.stdout == b"trapped\n"
    finally:
        pct(sim, "exec", "101", "--", "pkill", "-f", "sh -c trap")
        for proc in (lone, group):
            proc.kill()
            proc.wait(5)
            if proc.stdout is not None:
                proc.stdout.close()


def test_push_pull_status_list_config(sim: SimProcess, tmp_path: Path) -> None:
    source = tmp_path / "in.bin"
    source.write_bytes(bytes(range(256)))
    assert pct(sim, "push", "101", str(source), "/root/in.bin", "--perms", "0600").returncode == 0
    inside = sim.state_dir / "containers" / "101" / "rootfs" / "root" / "in.bin"
    assert inside.read_bytes() == bytes(range(256)) and inside.stat().st_mode & 0o777 == 0o600
    target = tmp_path / "out.bin"
    assert pct(sim, "pull", "101", "/root/in.bin", str(target)).returncode == 0
    assert target.read_bytes() == bytes(range(256))
    # /usr is the machine's, read-only.
    assert pct(sim, "push", "101", str(source), "/usr/bin/x").returncode == 255
    assert pct(sim, "pull", "101", "/nope", str(target)).stderr == b"failed to open /nope: No such file or directory\n"
    assert pct(sim, "status", "101").stdout == b"status: running\n"
    listing = pct(sim, "list").stdout.decode().splitlines()
    assert listing[0].split() == ["VMID", "Status", "Lock", "Name"] and any(line.split()[:2] == ["102", "stopped"] for line in listing)
    assert b"hostname: db\n" in pct(sim, "config", "101").stdout


@NEEDS_BWRAP
def test_state_files_follow_the_model(sim: SimProcess, ticket_api: Api) -> None:
    state = json.loads((sim.state_dir / "containers" / "110.json").read_text())
    assert state["node"] == "pve3" and state["status"] == "stopped"
    ticket_api.wait_task(ticket_api.action("pve3", 110, "start"))
    assert pct(sim, "status", "110", node="pve3").stdout == b"status: running\n"
    assert pct(sim, "exec", "110", "--", "cat", "/etc/hostname", node="pve3").stdout == b"app\n"
    ticket_api.wait_task(ticket_api.action("pve3", 110, "stop"))
    assert pct(sim, "status", "110", node="pve3").stdout == b"status: stopped\n"


def test_missing_bubblewrap_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "100.json").write_text(json.dumps({"vmid": 100, "node": "pve1", "status": "running", "rootfs": str(tmp_path / "rootfs")}))
    script = tools.install("pct", tmp_path / "pct", os.environ.get("PYTHON", "/usr/bin/python3"), {"node": "pve1", "containers": str(tmp_path), "bwrap": None})
    result = subprocess.run([str(script), "exec", "100", "--", "true"], capture_output=True, check=False, timeout=30)
    assert (result.returncode, result.stderr) == (255, b"pvesim: bubblewrap is required for pct exec; apt-get install bubblewrap\n")


@NEEDS_BWRAP
def test_big_scenarios_create_filesystems_on_first_use() -> None:
    with SimProcess("--nodes", "2", "--containers-per-node", "40", request_log=False) as sim:
        running = [g for g in sim.control("GET", "state")["guests"] if g["type"] == "lxc" and g["status"] == "running"]
        guest = running[0]
        rootfs = sim.state_dir / "containers" / str(guest["vmid"]) / "rootfs"
        assert not rootfs.exists()
        result = pct(sim, "exec", str(guest["vmid"]), "--", "cat", "/etc/hostname", node=guest["node"])
        assert result.stdout.decode().strip() == guest["name"] and rootfs.is_dir()
        deadline = time.monotonic() + 5
        journal = rootfs / "var" / "log" / ("journal.jsonl" if guest["systemd"] else "messages")
        while time.monotonic() < deadline and not journal.read_text():
            time.sleep(0.1)
        assert journal.read_text()  # the ticker writes its log once it exists
