# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""root@pam's shell as `/bin/login -f root` starts it: Debian's start-up files, history, login's input flush, other shells (audit S4)."""
from __future__ import annotations

import base64
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest

from pvesim.cli import build_parser
from pvesim.harness import TESTS_DIR, SimError, SimProcess
from pvesim.scenario import ScenarioError, build_cluster
from pvesim_client import Api
from term_client import Term

PROMPT = b"\x1b[?2004hroot@pve1:~# "


def _run(term: Term, command: str, marker: str, timeout: float = 10.0) -> str:
    """Type a command that ends by printing `marker` (built so the echo cannot match) and return the output text."""
    start = len(term.output)
    term.type(command + "\r")
    term.read_until(lambda data: marker.encode() in data[start:].replace(command.encode(), b""), timeout)
    return term.output[start:].decode("utf-8", "replace")


def test_a_login_bash_with_debians_files(ticket_api: Api) -> None:
    sim = ticket_api.sim
    node_dir = sim.state_dir / "nodes" / "pve1"
    with Term(ticket_api).connect() as term:
        term.login()
        term.read_until(PROMPT)
        out = _run(term, "echo \"$0|$(shopt login_shell)|$(shopt checkwinsize)|$PS1|$(mesg)\"; echo DO''NE", "DONE")
        # -bash, a login shell; /etc/bash.bashrc's checkwinsize and prompt; ~/.profile's `mesg n`.
        assert "-bash|login_shell    \ton|checkwinsize   \ton|${debian_chroot:+($debian_chroot)}root@pve1:\\w# |is n\r\n" in out
    profile = (node_dir / "etc" / "profile").read_text(encoding="utf-8")
    assert f". {node_dir}/etc/bash.bashrc" in profile and f'PATH="{node_dir}/bin:/usr/local/sbin:' in profile
    assert (node_dir / "home" / ".profile").read_text(encoding="utf-8").endswith("mesg n 2> /dev/null || true\n")
    original = Path(__file__).resolve().parents[2] / "pvesim" / "nodefiles" / "root-bashrc"
    assert (node_dir / "home" / ".bashrc").read_bytes() == original.read_bytes()


def test_history_lands_in_the_node_home_when_bash_execs(ticket_api: Api) -> None:
    history = ticket_api.sim.state_dir / "nodes" / "pve1" / "home" / ".bash_history"
    with Term(ticket_api).connect() as term:
        term.login()
        term.read_until(PROMPT)
        _run(term, "echo HIST-ONE-$((6*7))", "HIST-ONE-42")
        # Like a client's bootstrap: a leading space does not keep it out (no HISTCONTROL for root), and
        # bash writes its history before `exec` replaces it (exec.def: maybe_save_shell_history).
        term.type(" stty -echo; exec /bin/sh -c 'echo BYE-$((2+3)); exit 0'\r")
        term.read_to_end(20)
        assert b"BYE-5" in term.output
    lines = history.read_text(encoding="utf-8").splitlines()
    assert "echo HIST-ONE-$((6*7))" in lines and " stty -echo; exec /bin/sh -c 'echo BYE-$((2+3)); exit 0'" in lines


def _early(sim: SimProcess) -> tuple[str, bytes]:
    """Auth line and a command in one frame, before OK: the command reaches the pty before login set up the tty."""
    api = Api(sim, "ticket")
    with Term(api).connect() as term:
        command = b"echo EAR''LY-$((1+1))\r"
        term.send_raw(f"{term.info['user']}:{term.info['ticket']}\n".encode() + b"0:%d:" % len(command) + command)
        term.read_until(b"root@pve1:~# ", 10)
        _run(term, "echo LA''TE-$((2+2))", "LATE-4")
        session = next(t["id"] for t in sim.terminals() if t["upid"] == term.upid)
    records = [r for r in sim.shell_input() if r["id"] == session]
    return term.output.decode("utf-8", "replace"), base64.b64decode(records[0]["input_b64"])


def test_login_flushes_what_was_typed_before_it_set_up_the_tty() -> None:
    with SimProcess("--login-flush-input", request_log=False) as sim:
        output, pty_input = _early(sim)
    # The pty got it (its line discipline echoed it at once, as a node's does), login's TCSAFLUSH threw it away.
    assert pty_input.startswith(b"echo EAR''LY-$((1+1))\r")
    assert "EARLY-2" not in output and "LATE-4" in output


def test_without_the_flush_typed_ahead_input_runs(sim: SimProcess) -> None:
    output, _input = _early(sim)
    assert "EARLY-2" in output and "LATE-4" in output


# --- other root shells --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shells() -> Iterator[SimProcess]:
    """pve1 restricted bash, pve2 dash, pve3 the rejecting shell; no ssh delay (the other nodes' shells go through ssh)."""
    with SimProcess("--root-shell", "bash", "--root-shell", "pve1=rbash", "--root-shell", "pve2=dash", "--root-shell", "pve3=reject",
                    "--ssh-latency-ms", "0", request_log=False) as process:
        yield process


def test_rbash_refuses_exec_and_redirections(shells: SimProcess) -> None:
    with Term(Api(shells, "ticket")).connect() as term:
        term.login()
        term.read_until(PROMPT)
        out = _run(term, "echo hi > /dev/null; echo RE''DIR", "REDIR")
        assert "-bash: /dev/null: restricted: cannot redirect output" in out
        # A client's bootstrap: stty and printf run, exec does not; the shell stays at its prompt.
        out = _run(term, "stty -echo; printf 'RE%s\\n' ADY; exec /bin/sh -c 'echo STAR''TED'", "READY")
        term.read_until(b"exec: restricted", 10)
        assert "STARTED" not in term.output.decode("utf-8", "replace")
        assert b"-bash: exec: restricted" in term.output


def test_dash_as_root_shell(shells: SimProcess) -> None:
    with Term(Api(shells, "ticket"), "/nodes/pve2").connect() as term:
        term.login()
        term.read_until(b"Last login: ")
        term.read_until(lambda data: data.endswith(b"# "), 10)
        out = _run(term, "echo \"$0|$PS1|$PATH|${BASH-none}\"; echo DO''NE", "DONE")
        assert f"dash|# |{shells.state_dir}/nodes/pve2/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin|none" in out


def test_the_rejecting_shell(shells: SimProcess) -> None:
    with Term(Api(shells, "ticket"), "/nodes/pve3").connect() as term:
        term.login()
        term.read_until(b"pve3# ", 10)
        start = len(term.output)
        term.type(" stty raw -echo; printf 'PVEOPS-RE%s' ADY; exec /bin/sh -c \"$(head -c 10 | base64 -d)\"\r")
        term.read_until(lambda data: b"Command not found.\r\npve3# " in data[start:], 10)
        assert b"stty: Command not found.\r\n" in term.output[start:] and b"PVEOPS-READY" not in term.output
        term.type("exit\r")
        term.read_to_end(10)
        assert term.closed


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")
def test_zsh_as_root_shell() -> None:
    with SimProcess("--root-shell", "zsh", request_log=False) as sim:
        with Term(Api(sim, "ticket")).connect() as term:
            term.login()
            term.read_until(b"Last login: ")
            out = _run(term, "echo \"$0 $ZSH_NAME\"; echo DO''NE", "DONE", 20)
            assert "-zsh zsh" in out


@pytest.mark.skipif(shutil.which("zsh") is not None, reason="zsh is installed")
def test_zsh_needs_zsh() -> None:
    sim = SimProcess("--root-shell", "pve2=zsh", request_log=False)
    with pytest.raises(SimError, match="root shell zsh of node pve2: zsh is not installed on this machine"):
        sim.start()


def test_root_shell_option_errors() -> None:
    parser = build_parser()
    for bad, message in (("fish", "unknown shell 'fish'; known: bash, dash, zsh, rbash, reject"), ("=bash", "empty node name")):
        result = subprocess.run([sys.executable, "-m", "pvesim", "serve", "--port", "0", "--root-shell", bad], capture_output=True,
                                text=True, timeout=60, env={"PYTHONPATH": str(TESTS_DIR), "PATH": "/usr/bin:/bin"}, check=False)
        assert result.returncode == 2 and message in result.stderr
    assert parser.parse_args(["serve", "--root-shell", "pve2=dash", "--root-shell", "reject"]).root_shell == [("pve2", "dash"), (None, "reject")]
    with pytest.raises(SimError, match="--root-shell pve9=dash: no node 'pve9' in the scenario"):
        SimProcess("--root-shell", "pve9=dash", request_log=False).start()
    document = {"nodes": [{"name": "pve1", "root_shell": "csh"}]}
    with pytest.raises(ScenarioError, match="node pve1: root_shell must be one of bash, dash, zsh, rbash, reject, got 'csh'"):
        build_cluster(document, 0.0)
