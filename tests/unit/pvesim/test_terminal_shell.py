# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The root@pam node shell on a real pty: banner, prompt, environment, resize, input record, lost last bytes (4.4, 4.6)."""
from __future__ import annotations

import base64
import re
import time
import uuid
from pathlib import Path

from pvesim.harness import SimProcess
from pvesim_client import Api
from term_client import NEEDS_BWRAP, Term

PROMPT = b"\x1b[?2004hroot@pve1:~# "


def _run(term: Term, command: str, marker: str) -> str:
    """Type a command that ends by printing `marker` (built so the echo cannot match) and return the output text."""
    start = len(term.output)
    term.type(command + "\r")
    term.read_until(lambda data: marker.encode() in data[start:].replace(command.encode(), b""), 10)
    return term.output[start:].decode("utf-8", "replace")


def test_banner_prompt_and_environment(ticket_api: Api) -> None:
    with Term(ticket_api).connect() as term:
        term.login()
        text = term.read_until(PROMPT).decode()
        assert text.startswith("OKLinux pve1 ")
        assert "Linux pve1 6.17.4-1-pve #1 SMP PREEMPT_DYNAMIC PMX 6.17.4-1 (2025-12-03T15:42Z) x86_64\r\n" in text
        assert "Debian GNU/Linux comes with ABSOLUTELY NO WARRANTY, to the extent\r\npermitted by applicable law.\r\n" in text
        assert re.search(r"Last login: \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \w+ \d{4} on pts/0\r\n", text)
        out = _run(term, "echo \"$PATH|$HOME|$USER|$TERM|$PVESIM_NODE|$(tty)\"; echo EN''D", "END")
        state_dir = str(ticket_api.sim.state_dir)
        path = f"{state_dir}/nodes/pve1/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        assert f"{path}|{state_dir}/nodes/pve1/home|root|xterm-256color|pve1|/dev/pts/" in out
        # readline echo, bracketed paste off when the line is accepted, CRLF from the line discipline, prompt again.
        term.read_until(lambda data: data.endswith(PROMPT), 10)
        start = len(term.output)
        term.type("echo hi\r")
        term.read_until(lambda data: PROMPT in data[start:], 10)
        assert term.output[start:] == b"echo hi\r\n\x1b[?2004l\rhi\r\n" + PROMPT


def test_resize_reaches_the_pty(ticket_api: Api) -> None:
    with Term(ticket_api).connect() as term:
        term.login()
        term.read_until(PROMPT)
        assert "20 80" in _run(term, "stty size; echo DO''NE", "DONE")
        term.resize(200, 50)
        assert "50 200" in _run(term, "stty size; echo DO''NE", "DONE")


@NEEDS_BWRAP
def test_pct_is_on_the_path(ticket_api: Api) -> None:
    with Term(ticket_api).connect() as term:
        term.login()
        term.read_until(PROMPT)
        out = _run(term, "pct exec 101 -- cat /etc/hostname; pct status 102; yes | head -1; echo ${PIPESTATUS[0]}; echo FI''N", "FIN")
        # SIGPIPE is back to its default in the shell (Python ignores it; that must not leak).
        assert "db\r\n" in out and "status: stopped\r\n" in out and "y\r\n141\r\n" in out


def test_shell_input_record(ticket_api: Api) -> None:
    sim = ticket_api.sim
    with Term(ticket_api).connect() as term:
        term.login()
        term.read_until(PROMPT)
        term.type("echo one\r")
        term.type(b"printf '\\xff'; echo two\n")
        term.read_until(b"two\r\n")
    record = [r for r in sim.shell_input() if r["authid"] == "root@pam" and r["kind"] == "shell"][-1]
    assert base64.b64decode(record["input_b64"]) == b"echo one\rprintf '\\xff'; echo two\n"
    assert record["lines"] == ["echo one", "printf '\\xff'; echo two", ""] and record["node"] == "pve1"


def test_other_node_and_upgrade_command(ticket_api: Api) -> None:
    with Term(ticket_api, "/nodes/pve2").connect() as term:
        term.login()
        term.read_until(b"root@pve2:~# ")
        assert "status: running" in _run(term, "pct status 104; echo FI''N", "FIN")
    with Term(ticket_api, data={"cmd": "upgrade"}).connect() as term:
        term.login()
        out = term.read_until(PROMPT).decode()
        assert "Your System is up-to-date" in out and "Last login" not in out


@NEEDS_BWRAP
def test_container_console(ticket_api: Api) -> None:
    # cmode tty (default): the guest's getty login prompt.
    with Term(ticket_api, "/nodes/pve1/lxc/101").connect() as term:
        assert term.info["upid"].split(":")[5:7] == ["vncproxy", "101"]
        term.login()
        assert b"db login: " in term.read_until(b"db login: ")
    # cmode shell: a root shell inside the container (lxc-attach --clear-env).
    assert ticket_api.put("/nodes/pve2/lxc/109/config", data={"cmode": "shell"}).status_code == 200
    with Term(ticket_api, "/nodes/pve2/lxc/109").connect() as term:
        term.login()
        term.read_until(b"root@app:/# ")
        out = _run(term, "cat /etc/hostname; echo $container; echo FI''N", "FIN")
        assert "app\r\nlxc\r\n" in out
    # Stopped: lxc-console fails and the session ends.
    with Term(ticket_api, "/nodes/pve1/lxc/102").connect() as term:
        term.login()
        assert b"102 is not running" in term.read_to_end()


def test_drop_last_bytes() -> None:
    """--drop-last-bytes: what the shell printed right before exiting never arrives (4.4 step 8)."""
    with SimProcess("--drop-last-bytes", "--scenario", "offline-node", request_log=False) as sim:
        api = Api(sim, "ticket")
        with Term(api).connect() as term:
            assert term.login() == b""  # OK always comes alone here
            term.read_until(PROMPT)
            out = _run(term, "printf 'KEPT%s\\n' '-1'; echo FI''N", "FIN")
            assert "KEPT-1" in out
            term.type("printf 'LOST%s\\n' '-2'; exit\r")
            tail = term.read_to_end().decode()
            assert "LOST-2" not in tail and term.closed and not term.close_frame
        # pve3 is offline: its shell would go through ssh, which fails at once.
        with Term(api, "/nodes/pve3").connect() as term:
            term.login()
            term.read_to_end()
        status = api.wait_task(term.upid)
        # Nodes.pm $get_vnc_connection_info + SSHInfo.pm ssh_info_to_command; PVE 9.2: nothing after ssh's `--` for root.
        assert "-- /usr/bin/ssh -e none -o BatchMode=yes -o HostKeyAlias=pve3 -t root@10.0.0.13 --' failed: exit code 1" in status["exitstatus"]


def _processes_with(text: str) -> list[str]:
    """Command lines of running processes that contain `text`."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
            except OSError:
                continue
            if text in cmdline:
                found.append(cmdline)
    return found


@NEEDS_BWRAP
def test_shutdown_ends_every_terminal_process() -> None:
    marker = f"{uuid.uuid4().int % 10**6 + 1000}.25"  # a unique sleep duration to find the processes by
    sim = SimProcess(request_log=False)
    sim.start()
    proc = sim._proc  # pylint: disable=protected-access
    try:
        api = Api(sim, "ticket")
        term = Term(api).connect()
        term.login()
        term.read_until(PROMPT)
        # A background job in its own process group survives the hangup on a real node; and a command in a container.
        term.type(f"(sleep {marker} &) ; pct exec 101 -- sleep {marker} &\r")
        deadline = time.monotonic() + 10
        while len(_processes_with(f"sleep {marker}")) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(_processes_with(f"sleep {marker}")) >= 2
        login = Term(Api(sim, "token")).connect()
        login.login()
        login.read_until(b"login: ")
    finally:
        sim.stop()
    assert proc is not None and proc.returncode == 0
    deadline = time.monotonic() + 5
    while (_processes_with(f"sleep {marker}") or _processes_with(str(sim.state_dir))) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _processes_with(f"sleep {marker}") == [] and _processes_with(str(sim.state_dir)) == []
    assert not sim.state_dir.exists()
