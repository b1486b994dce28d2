# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""`lxc-attach` and `lxc-info` on the node: options, environment, users, exit statuses and errors as lxc has them."""
from __future__ import annotations

import errno
import os
import stat
import subprocess
from pathlib import Path

import pytest

from pvesim.harness import SimProcess
from pvesim.tools import lxc_attach
from term_client import NEEDS_BWRAP

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def attach(sim: SimProcess, *args: str, node: str = "pve1", stdin: bytes = b"", env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run the node's lxc-attach."""
    return subprocess.run([str(sim.node_tool(node, "lxc-attach")), *args], input=stdin, capture_output=True, timeout=30, check=False, env=env)


# --- pure logic -------------------------------------------------------------------------------------

def test_parse_permutes_like_getopt_long() -> None:
    options = lxc_attach.parse(["--clear-env", "-n", "101", "--keep-var", "TERM", "-vA=1", "--set-var=B=2", "-u", "1000", "--gid=1000", "--", "id", "-u"])
    assert (options.name, options.clear_env, options.keep_vars, options.set_vars) == ("101", True, ["TERM"], ["A=1", "B=2"])
    assert (options.uid, options.gid, options.command) == (1000, 1000, ["id", "-u"])
    assert lxc_attach.parse(["101", "--keep-env", "hostname"]).command == ["hostname"]  # name from the first operand
    assert lxc_attach.parse(["--clear", "-n101"]).clear_env  # unique prefixes of long options


@pytest.mark.parametrize("argv, message", [
    ([], "lxc-attach: No container name specified"),
    (["-n", "101", "-u", "root"], "lxc-attach: could not parse command line"),
    (["-n", "101", "-u", "-1"], "lxc-attach: could not parse command line"),
    (["-n", "101", "--frobnicate"], "lxc-attach: unrecognized option '--frobnicate'"),
    (["-n", "101", "-x"], "lxc-attach: invalid option -- 'x'"),
    (["-n", "101", "-s", "PID"], "pvesim: lxc-attach option -s is not simulated"),
])
def test_parse_refusals(argv: list[str], message: str) -> None:
    with pytest.raises(lxc_attach.UsageError) as caught:
        lxc_attach.parse(argv)
    assert str(caught.value).startswith(message) and caught.value.status == 1


def test_environment_rules_of_attach_c() -> None:
    base = {"PATH": "/node/bin", "TERM": "xterm", "HOME": "/root", "X": "1"}
    keep = lxc_attach.environment(lxc_attach.parse(["-n", "1"]), base, [])
    assert keep == dict(base, container="lxc")
    cleared = lxc_attach.environment(lxc_attach.parse(["-n", "1", "--clear-env", "--keep-var", "TERM", "--keep-var", "NOPE"]), base, [])
    assert cleared == {"TERM": "xterm", "PATH": DEFAULT_PATH, "container": "lxc"}
    path_kept = lxc_attach.environment(lxc_attach.parse(["-n", "1", "--clear-env", "--keep-var", "PATH"]), base, [])
    assert path_kept == {"PATH": "/node/bin", "container": "lxc"}
    # container=lxc first, then the config's runtime environment, then -v (which may override both or unset).
    options = lxc_attach.parse(["-n", "1", "--clear-env", "-v", "container=x", "-v", "APP=cli", "-v", "PATH"])
    layered = lxc_attach.environment(options, base, ["APP=conf", "K=v"])
    assert layered == {"container": "x", "APP": "cli", "K": "v"}


def test_execvp_errors(tmp_path: Path) -> None:
    plain = tmp_path / "data"
    plain.write_text("x")
    assert lxc_attach.execvp(str(plain), [str(plain)], {}) == errno.EACCES
    assert lxc_attach.execvp("no-such-program", ["no-such-program"], {"PATH": str(tmp_path)}) == errno.ENOENT
    assert lxc_attach.execvp(str(tmp_path / "x" / "y"), ["y"], {}) == errno.ENOENT


# --- against the simulator -------------------------------------------------------------------------

@NEEDS_BWRAP
def test_statuses(sim: SimProcess) -> None:
    assert attach(sim, "-n", "101", "--", "sh", "-c", "exit 3").returncode == 3
    assert attach(sim, "-n", "101", "--", "sh", "-c", "kill -USR1 $$").returncode == 128 + 10
    missing = attach(sim, "-n", "101", "--", "/nope")
    assert (missing.returncode, missing.stderr) == (
        127, b'lxc-attach: 101: ../src/lxc/attach.c: lxc_attach_run_command: 1841 No such file or directory - Failed to exec "/nope"\n')
    denied = attach(sim, "-n", "101", "--", "/etc/hostname")
    assert denied.returncode == 126 and b"Permission denied - Failed to exec" in denied.stderr
    assert attach(sim, "-n", "101", "-q", "--", "/nope").stderr == b""


@NEEDS_BWRAP
@pytest.mark.parametrize("name", ["102", "104", "999", "db"])
def test_a_container_that_does_not_run_here(sim: SimProcess, name: str) -> None:
    result = attach(sim, "-n", name, "--", "true")
    assert result.returncode == 1
    assert result.stderr.decode().splitlines() == [
        f"lxc-attach: {name}: ../src/lxc/attach.c: get_attach_context: 405 Connection refused - Failed to get init pid",
        f"lxc-attach: {name}: ../src/lxc/attach.c: lxc_attach: 1470 Connection refused - Failed to get attach context",
    ]


@NEEDS_BWRAP
def test_environment_in_the_container(sim: SimProcess) -> None:
    env = {"PATH": "/node/bin:/usr/bin:/bin", "TERM": "dumb", "TMPDIR": "/node/tmp", "PVESIM_NODE": "pve1", "LANG": "C.UTF-8"}
    kept = attach(sim, "-n", "101", "--", "/usr/bin/env", env=env).stdout.decode().split("\n")
    assert sorted(filter(None, kept)) == ["LANG=C.UTF-8", "PATH=/node/bin:/usr/bin:/bin", "TERM=dumb", "container=lxc"]
    cleared = attach(sim, "-n", "101", "--clear-env", "--keep-var", "LANG", "-v", "HOME=/root", "--", "env", env=env).stdout.decode().split()
    assert sorted(cleared) == ["HOME=/root", "LANG=C.UTF-8", f"PATH={DEFAULT_PATH}", "container=lxc"]


@NEEDS_BWRAP
def test_uid_gid_drop_groups_and_take_stdio(sim: SimProcess, tmp_path: Path) -> None:
    assert attach(sim, "-n", "101", "-u", "1000", "-g", "1000", "--", "id").stdout == b"uid=1000(user) gid=1000(user) groups=1000(user)\n"
    assert attach(sim, "-n", "101", "-u", "1000", "--", "id", "-g").stdout == b"0\n"  # -u alone keeps gid 0
    out = tmp_path / "out"
    with open(out, "wb") as handle:
        subprocess.run([str(sim.node_tool("pve1", "lxc-attach")), "-n", "101", "-u", "1001", "-g", "1001", "--", "echo", "hi"],
                       stdout=handle, stdin=subprocess.DEVNULL, timeout=30, check=True)
    info = out.stat()
    # fix_stdio_permissions: stdout is now the user's, mode 0600 (lxc utils.c); /dev/null is left alone.
    assert (out.read_bytes(), info.st_uid, stat.S_IMODE(info.st_mode)) == (b"hi\n", 1001, 0o600)
    assert os.stat("/dev/null").st_uid == 0


@NEEDS_BWRAP
def test_no_command_runs_the_users_shell(sim: SimProcess) -> None:
    root = attach(sim, "-n", "101", "--clear-env", stdin=b"echo $0; id -u\n")
    assert root.stdout == b"/bin/bash\n0\n"
    alpine = attach(sim, "-n", "107", "--clear-env", "-u", "1000", "-g", "1000", node="pve3", stdin=b"echo $0; id -u\n")
    assert alpine.stdout == b"/bin/sh\n1000\n"


@NEEDS_BWRAP
def test_cwd_follows_the_caller_when_the_container_has_it(sim: SimProcess) -> None:
    pct_path = str(sim.node_tool("pve1", "lxc-attach"))
    inside = subprocess.run([pct_path, "-n", "101", "--", "pwd"], cwd="/tmp", capture_output=True, timeout=30, check=True)
    missing = subprocess.run([pct_path, "-n", "101", "--", "pwd"], cwd=str(sim.state_dir), capture_output=True, timeout=30, check=True)
    assert (inside.stdout, missing.stdout) == (b"/tmp\n", b"/\n")


@NEEDS_BWRAP
def test_lxc_info(sim: SimProcess) -> None:
    info = subprocess.run([str(sim.node_tool("pve1", "lxc-info")), "-n", "101"], capture_output=True, timeout=30, check=True).stdout.decode()
    name, state, pid = info.splitlines()
    assert (name, state) == ("Name:           101", "State:          RUNNING") and pid.startswith("PID:            ")
    init = int(pid.split()[1])
    assert os.readlink(f"/proc/{init}/ns/pid") != os.readlink("/proc/self/ns/pid")  # a real process: the container's init
    raw = subprocess.run([str(sim.node_tool("pve1", "lxc-info")), "-n", "101", "-p", "-H"], capture_output=True, timeout=30, check=True)
    assert raw.stdout == f"{init}\n".encode()
    stopped = subprocess.run([str(sim.node_tool("pve1", "lxc-info")), "-n", "102", "-s", "-p"], capture_output=True, timeout=30, check=True)
    assert stopped.stdout == b"State:          STOPPED\n"
    unknown = subprocess.run([str(sim.node_tool("pve1", "lxc-info")), "-n", "104"], capture_output=True, timeout=30, check=False)
    assert (unknown.returncode, unknown.stderr) == (1, b"104 doesn't exist\n")
