# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The terminal chain over the wire: one input byte stream, output dropped at the shell's exit, a slow or stalling link,
the session listing (audit S1-S3, S12; README "The terminal chain")."""
from __future__ import annotations

import base64
import os
import time
from typing import Any, Callable, Iterator

import pytest
import websocket

from pvesim.cli import build_parser, options_from_args
from pvesim.harness import SimError, SimProcess
from pvesim.link import LinkSettings
from pvesim_client import Api
from term_client import Term

PROMPT = b"\x1b[?2004hroot@pve1:~# "
RAW_CAT = "stty raw -echo; printf 'RE''ADY\\n'; exec cat > /dev/null\r"
"""Leaves the shell for a `cat` on the raw tty: every byte that reaches the pty is just recorded."""


def _wait_for(probe: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    """Poll a control endpoint until `probe` returns something truthy (bounded)."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def _session(sim: SimProcess, term: Term) -> dict[str, Any]:
    entries = [t for t in sim.terminals() if t["upid"] == term.upid]
    assert len(entries) == 1, entries
    entry: dict[str, Any] = entries[0]
    return entry


def _pty_input(sim: SimProcess, session: int) -> bytes:
    records = sim.control("GET", f"/_sim/shell-input?session={session}")
    assert isinstance(records, list) and len(records) == 1
    return base64.b64decode(records[0]["input_b64"])


def _raw_cat(term: Term) -> None:
    term.login()
    term.read_until(PROMPT)
    term.type(RAW_CAT)
    term.read_until(b"READY\n")  # raw: no output processing, no CR


@pytest.fixture(scope="module")
def csim() -> Iterator[SimProcess]:
    """A private simulator: link settings are changed here."""
    with SimProcess("--task-seconds", "0.2") as process:
        yield process


@pytest.fixture()
def root(csim: SimProcess) -> Iterator[Api]:
    """root@pam on the private simulator; the link is back to normal afterwards."""
    yield Api(csim, "ticket")
    csim.set_faults(link_rate=0, link_stall_ms=0, link_stall_every_ms=1000, link_stall_side="both")


# --- A1: one byte stream toward termproxy --------------------------------------------------------------


def test_a_header_cut_by_termproxys_full_buffer_is_lost(csim: SimProcess, root: Api) -> None:
    first, second = b"x" * 4085, b"y" * 100
    with Term(root).connect() as term:
        _raw_cat(term)
        session = _session(csim, term)["id"]
        typed = _pty_input(csim, session)
        # One frame: termproxy's first read takes 4096 bytes and ends after `0:10` of the second header.
        term.send_raw(b"0:%d:" % len(first) + first + b"0:%d:" % len(second) + second + b"0:3:END")
        term.send_raw(b"0:3:FIN")
        received = _wait_for(lambda: (data := _pty_input(csim, session)).endswith(b"FIN") and data, "FIN at the pty")
        upid = term.upid
    # The second message and the one behind it were misparsed (main.rs process_queue/remove_number).
    assert received == typed + first + b"FIN"
    assert "error parsing number: 'invalid digit found in string'" in root.log(upid)


def test_short_reads_keep_fixed_blocks_byte_exact() -> None:
    blocks, payload = [], b""
    for index in range(20):  # 40 KiB in flight at most
        data = os.urandom(1000 + index * 50)
        raw = b"0:%04d:" % len(data) + data
        blocks.append(raw + b"2" * (2048 - len(raw)))
        payload += data
    with SimProcess("--termproxy-short-reads", "--fault-seed", "7", request_log=False) as sim:
        api = Api(sim, "ticket")
        with Term(api).connect() as term:
            _raw_cat(term)
            session = _session(sim, term)["id"]
            typed = _pty_input(sim, session)
            for raw in blocks:
                term.send_raw(raw)
            received = _wait_for(lambda: len(data := _pty_input(sim, session)) >= len(typed) + len(payload) and data, "the blocks at the pty")
        assert received == typed + payload


# --- A2: pveproxy toward the client ---------------------------------------------------------------------


def test_output_not_yet_sent_is_dropped_when_the_shell_exits(csim: SimProcess, root: Api) -> None:
    csim.set_faults(link_rate=100_000)
    with Term(root).connect() as term:
        term.login()
        term.read_until(PROMPT, 30)
        start = len(term.output)
        term.type("head -c 3000000 /dev/zero | tr '\\0' '\\130'; exit\r")  # \130: X
        term.read_to_end(60)
        assert term.closed and not term.close_frame
        received = term.output[start:].count(b"X")
    entry = _session(csim, term)
    # 3 MB left the shell at once; at 100 kB/s the client had a fraction when pveproxy dropped the rest.
    assert entry["end"] == "shell-exited" and entry["bytes_from_pty"] >= 3_000_000
    assert received < 1_500_000 and entry["discarded"] >= 1_000_000
    assert root.log(term.upid)[-2] == "error reading from pty: Input/output error (os error 5)"


def test_output_is_queued_without_limit_while_the_client_is_slow(csim: SimProcess, root: Api) -> None:
    csim.set_faults(link_rate=50_000)
    with Term(root).connect() as term:
        term.login()
        term.read_until(PROMPT, 30)
        term.type("head -c 4000000 /dev/zero | tr '\\0' z; echo; echo DO''NE\r")
        # pveproxy never stops reading termproxy: the whole output is read off the pty and waits in its queue.
        entry = _wait_for(lambda: (e := _session(csim, term))["bytes_from_pty"] >= 4_000_000 and e, "the output in pveproxy's queue")
        assert entry["client_backlog"] >= 2_000_000


# --- A3: a slow or stalling link ------------------------------------------------------------------------


def test_link_rate_throttles_the_output(csim: SimProcess, root: Api) -> None:
    assert csim.set_faults(link_rate=1_000_000)["link_rate"] == 1_000_000
    with Term(root).connect() as term:
        term.login()
        term.read_until(PROMPT, 30)
        start = len(term.output)
        began = time.monotonic()
        term.type("head -c 2000000 /dev/zero | tr '\\0' '\\131'; echo; echo DO''NE\r")  # \131: Y
        term.read_until(b"DONE\r\n", 120)
        elapsed = time.monotonic() - began
        assert term.output[start:].count(b"Y") == 2_000_000
    # 2 MB at 1 MB/s: not faster than the rate allows (sanity bound only; a loaded machine is slower).
    assert elapsed >= 1.5


def test_a_send_side_stall_blocks_a_big_send(csim: SimProcess, root: Api) -> None:
    csim.set_faults(link_stall_ms=6000, link_stall_every_ms=8000, link_stall_side="send")
    with Term(root).connect() as term:
        term.login()
        term.read_until(PROMPT, 30)
        _wait_for(lambda: (link := _session(csim, term)["link"]) and link["stalled"] == "send" and link["stall_left_ms"] > 4000,
                  "a send stall with 4 s left", 30)
        before = _session(csim, term)["bytes_from_client"]
        term.ws.sock.settimeout(0.5)
        frame = b"0:65529:" + b"q" * 65529
        sent = 0
        with pytest.raises(websocket.WebSocketTimeoutException):
            for _index in range(320):  # 20 MiB: far more than the socket buffers hold
                term.ws.send_binary(frame)
                sent += len(frame)
        # The simulator read nothing meanwhile; the client got the buffers' worth out, then its send blocked.
        assert sent < 20 * 1024 * 1024 and _session(csim, term)["bytes_from_client"] == before


def test_link_settings_are_checked(csim: SimProcess) -> None:
    with pytest.raises(SimError, match="link_stall_ms .* must be shorter than link_stall_every_ms"):
        csim.set_faults(link_stall_ms=2000, link_stall_every_ms=1000)
    with pytest.raises(SimError, match="link_stall_side must be one of recv, send, both, got 'up'"):
        csim.set_faults(link_stall_side="up")
    assert csim.faults()["link_stall_side"] == "both"


# --- A7: what tests can wait on -------------------------------------------------------------------------


def test_terminals_listing_and_the_input_record(csim: SimProcess, root: Api) -> None:
    term = Term(root)
    waiting = _session(csim, term)
    assert waiting["state"] == "waiting" and not waiting["child_started"] and waiting["kind"] == "shell"
    with term.connect():
        term.login()
        term.read_until(PROMPT, 30)
        entry = _wait_for(lambda: (e := _session(csim, term))["shell_started"] and e, "shell_started")
        assert entry["state"] == "connected" and entry["node"] == "pve1" and entry["authid"] == "root@pam"
        assert entry["bytes_to_client"] >= len(term.output) and entry["bytes_from_client"] > 0
        term.type("echo MARK''ER\r")
        # The record grows as the pty takes input: a test can wait until its marker was typed.
        _wait_for(lambda: b"echo MARK''ER" in _pty_input(csim, entry["id"]), "the marker at the pty")
    ended = _wait_for(lambda: (e := _session(csim, term))["state"] == "done" and e, "the end of the session")
    assert ended["end"] == "client-closed" and ended["ended"] >= ended["opened"]
    with pytest.raises(SimError, match="session must be a session id"):
        csim.control("GET", "/_sim/shell-input?session=x")


def test_chain_options_from_the_command_line() -> None:
    args = build_parser().parse_args([
        "serve", "--termproxy-socket-bytes", "8192", "--termproxy-short-reads", "--link-rate", "1000000", "--link-stall-ms", "200",
        "--link-stall-every-ms", "1000", "--link-stall-side", "send", "--login-flush-input", "--ssh-latency-ms", "50",
        "--nested-login-race", "0.5", "--node-listeners",
    ])
    options = options_from_args(args)
    assert (options.termproxy_socket_bytes, options.termproxy_short_reads, options.login_flush_input) == (8192, True, True)
    assert options.link == LinkSettings(rate=1_000_000, stall_ms=200.0, stall_every_ms=1000.0, stall_side="send")
    assert (options.ssh_latency_ms, options.nested_login_race, options.node_listeners) == (50.0, 0.5, True)
    for bad in (["--link-stall-ms", "1000"], ["--termproxy-socket-bytes", "0"], ["--link-rate", "-5"], ["--nested-login-race", "2"]):
        with pytest.raises(SystemExit) as exited:
            options_from_args(build_parser().parse_args(["serve", *bad]))
        assert exited.value.code == 2
