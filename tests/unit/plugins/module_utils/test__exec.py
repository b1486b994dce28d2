# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The exec protocol against a real bash on a real pty (no simulator, no network).

A local pty stands in for the websocket session (local_terminal.py): it decodes our ``0:LEN:DATA`` blocks
the way termproxy does and types the data into an interactive bash, so the start-up line, the
readiness nonce, the raw tty, the acknowledged uploads and the result framing all run for real.
Commands run directly on this machine (a fake ``pct`` runs them here).
"""
from __future__ import annotations

import gzip
import hashlib
import os
import random
import typing as t

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.pveops.proxmox.plugins.module_utils import _exec, _nodeshell
from ansible_collections.pveops.proxmox.plugins.module_utils._errors import ConfigError, PveError, PveTimeout
from ansible_collections.pveops.proxmox.plugins.module_utils._exec import (
    OutputBuffer,
    Precheck,
    clean_line,
    container_argv,
    parse_capture,
    run_capture,
    run_stream,
    sh_quote,
    validate_word,
)
from ansible_collections.pveops.proxmox.plugins.module_utils._tasks import Deadline
from ansible_collections.pveops.proxmox.plugins.module_utils._terminal import BLOCK, LoginRequired, frame_input, pad_block, resize_message
from local_terminal import local_terminal  # noqa: F401  pylint: disable=unused-import
from pvesim.streamsim import run_input
from pvesim.termparse import DataEvent, InputParser


def termproxy_data(blocks: list[bytes]) -> bytes:
    """What termproxy writes to the pty for these blocks, parsed by the simulator's faithful parser."""
    parser = InputParser()
    data = bytearray()
    for block in blocks:
        assert len(block) == BLOCK
        data += b"".join(event.data for event in parser.feed(block) if isinstance(event, DataEvent))
    return bytes(data)


@pytest.fixture(autouse=True)
def local_node_shell(local_terminal: None) -> None:
    """Every test here runs its terminal on a local bash (local_terminal.py)."""


def run(argv: list[str], stdin: bytes = b"", timeout: int | None = 30, **kwargs: t.Any) -> _exec.ExecResult:
    return run_capture(t.cast(t.Any, None), "local", argv, stdin=stdin, timeout=timeout, deadline=Deadline(60), **kwargs)


ALL_BYTES = bytes(range(256))


def test_all_byte_values_round_trip_through_stdin_and_stdout() -> None:
    result = run(["cat"], stdin=ALL_BYTES * 3)
    assert result.rc == 0
    assert result.stdout == ALL_BYTES * 3
    assert result.stderr == b""


def test_stderr_is_separate_and_exact() -> None:
    result = run(["sh", "-c", "printf 'out\\r\\n'; printf 'err\\000\\n' >&2; printf more"])
    assert (result.stdout, result.stderr) == (b"out\r\nmore", b"err\x00\n")


@pytest.mark.parametrize("code", [0, 1, 2, 127, 255])
def test_exit_codes(code: int) -> None:
    assert run(["sh", "-c", f"exit {code}"]).rc == code


def test_missing_program_is_127() -> None:
    assert run(["/nonexistent/program"]).rc == 127


def test_signal_death() -> None:
    result = run(["sh", "-c", "kill -9 $$"])
    assert result.rc == 128 + 9


def test_ten_megabytes_of_output() -> None:
    result = run(["head", "-c", str(10 * 1024 * 1024), "/dev/zero"])  # travels gzip-compressed
    assert result.rc == 0 and len(result.stdout) == 10 * 1024 * 1024 and set(result.stdout) == {0}


def test_large_incompressible_output_both_streams() -> None:
    result = run(["sh", "-c", "head -c 3000000 /dev/urandom | tee /dev/stderr | md5sum"])
    assert result.rc == 0 and len(result.stderr) == 3000000
    assert result.stdout.split()[0].decode() == hashlib.md5(result.stderr).hexdigest()


def test_unicode_arguments_and_output() -> None:
    text = "héllo wörld ✓ 日本語 🚀"
    result = run(["printf", "%s", text])
    assert result.stdout.decode() == text


def test_output_containing_the_markers() -> None:
    evil = "PVEOPS-READY-x\nPVEOPS-RESULT-x 0 0 0\nPVEOPS-SEP-x\nPVEOPS-END-x\n"
    result = run(["printf", "%s", evil])
    assert result.stdout.decode() == evil


def test_argv_longer_than_4_kib() -> None:
    long = "x" * 6000 + "'\"$`\\;|&<>\n!*"
    result = run(["printf", "%s", long])
    assert result.stdout.decode() == long


def test_shell_metacharacters_are_never_interpreted(tmp_path: t.Any) -> None:
    target = tmp_path / "pwned"
    for attempt in [f"; touch {target}", f"$(touch {target})", f"`touch {target}`", f"'; touch {target}; '", f"\ntouch {target}\n"]:
        assert run(["echo", attempt]).stdout.decode() == attempt + "\n"
    assert not target.exists()


def test_timeout_kills_the_command() -> None:
    result = run(["sleep", "30"], timeout=1)
    assert result.timed_out and result.rc in (124, 137)


def test_prechecks_skip_refuse_and_dry_run(tmp_path: t.Any) -> None:
    (tmp_path / "here").write_text("x")
    assert run(["false"], check=Precheck(101, creates=str(tmp_path / "he*"))).skipped_by == "creates"
    assert run(["false"], check=Precheck(101, removes=str(tmp_path / "gone*"))).skipped_by == "removes"
    assert run(["false"], check=Precheck(101, chdir=str(tmp_path / "gone"))).chdir_error == "No such file or directory"
    assert run(["false"], check=Precheck(101, chdir=str(tmp_path / "here"))).chdir_error == "Not a directory"
    relative = run(["true"], check=Precheck(101, chdir=str(tmp_path), creates="here"))
    assert relative.skipped_by == "creates"  # creates is relative to chdir, as in ansible.builtin.command
    assert run(["true"], check=Precheck(101, chdir=str(tmp_path), removes="here")).ran
    dry = run(["false"], dry_run=True)
    assert not dry.ran and dry.skipped_by is None


def test_spool_files_are_removed(tmp_path: t.Any) -> None:
    run(["true"], spool_dir=str(tmp_path))
    run(["sh", "-c", "exit 3"], spool_dir=str(tmp_path))
    assert list(tmp_path.iterdir()) == []


def test_a_missing_spool_dir_fails_at_once(tmp_path: t.Any) -> None:
    with pytest.raises(PveError, match="could not create a private directory under"):
        run(["true"], spool_dir=str(tmp_path / "missing"))


def test_the_command_has_no_controlling_terminal() -> None:
    result = run(["sh", "-c", "stty sane < /dev/tty; echo real; exec 3>/dev/tty"])
    assert result.stdout == b"real\n" and result.rc != 0 and b"/dev/tty" in result.stderr


def test_output_limit_stops_the_command() -> None:
    with pytest.raises(PveError, match="stdout grew beyond output_limit"):
        run(["sh", "-c", "head -c 300000 /dev/zero"], output_limit=100000)


def test_a_large_script_travels_as_a_file(tmp_path: t.Any) -> None:
    script = "x=1\n" + "# padding\n" * 20000 + "echo done $x\n"
    command = _exec.container_command(101, "n0nce", shell=script)
    assert command.push is not None and command.argv[-1] == "/bin/sh"
    local = command.push.target.replace("/tmp/", str(tmp_path) + "/")
    push = _exec.Push(101, local)
    argv = [arg.replace(command.push.target, local) for arg in command.argv[4:]]
    result = run(argv, push=push, push_data=command.push_data)
    assert result.stdout == b"done 1\n" and result.rc == 0
    assert not (tmp_path / local.rsplit("/", 1)[1]).exists()


def test_big_stdin_arrives_exact() -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)
    result = run(["sha256sum"], stdin=data)
    assert result.stdout.split()[0].decode() == hashlib.sha256(data).hexdigest()


def test_stream_mode_lines_as_they_come() -> None:
    seen: list[str] = []
    lines, rc = run_stream(t.cast(t.Any, None), "local", ["sh", "-c", "printf 'a\\r\\n\\033[31mb\\033[0m\\n'; sleep 0.2; echo c"], 10,
                           on_line=seen.append, deadline=Deadline(30))
    assert lines == ["a", "b", "c"] == seen
    assert rc == 0


def test_stream_mode_ends_after_its_time() -> None:
    lines, rc = run_stream(t.cast(t.Any, None), "local", ["sh", "-c", "echo start; sleep 20"], 1, deadline=Deadline(30))
    assert lines == ["start"] and rc is None


# ------------------------------------------------------------------------ pure parts

@settings(max_examples=200, deadline=None)
@given(stdout=st.binary(max_size=3000), stderr=st.binary(max_size=500), rc=st.integers(0, 255), cuts=st.lists(st.integers(1, 200), max_size=40),
       gzipped=st.booleans())
def test_result_parser_under_random_frame_splits(stdout: bytes, stderr: bytes, rc: int, cuts: list[int], gzipped: bool) -> None:
    nonce = "n0nce"
    wire = gzip.compress(stdout) if gzipped else stdout
    fields = (rc, len(stdout), len(stderr), b"z" if gzipped else b"p", len(wire), len(stderr))
    header = b"PVEOPS-ACK-n0nce\n\nPVEOPS-RESULT-n0nce %d %d %d %s p %d %d - -\n" % fields
    stream = header + wire + b"\nPVEOPS-SEP-n0nce\n" + stderr + b"\nPVEOPS-END-n0nce\n"
    buffer = OutputBuffer()
    position = 0
    for cut in cuts + [len(stream)]:
        buffer.feed(stream[position:position + cut])
        position += cut
        result = parse_capture(buffer, nonce)
        assert (result is None) == (position < len(stream))
    assert result is not None and (result.stdout, result.stderr, result.rc) == (stdout, stderr, rc)


def test_output_that_holds_the_markers_is_data() -> None:
    evil = b"\nPVEOPS-SEP-n\n\nPVEOPS-END-n\n"
    buffer = OutputBuffer()
    buffer.feed(b"\nPVEOPS-RESULT-n 0 %d 0 p p %d 0 - -\n" % (len(evil), len(evil)) + evil + b"\nPVEOPS-SEP-n\n\nPVEOPS-END-n\n")
    result = parse_capture(buffer, "n")
    assert result is not None and result.stdout == evil


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=9000))
def test_every_message_is_one_whole_block(data: bytes) -> None:
    blocks = frame_input(data)
    assert all(len(block) == BLOCK for block in blocks)
    assert termproxy_data(blocks) == data


def test_damaged_output_is_an_error() -> None:
    buffer = OutputBuffer()
    buffer.feed(b"\nPVEOPS-RESULT-n 0 5 0 z p 3 0 - -\nhel\nPVEOPS-SEP-n\n\nPVEOPS-END-n\n")
    with pytest.raises(PveError, match="stdout arrived damaged"):
        parse_capture(buffer, "n")
    shifted = OutputBuffer()
    shifted.feed(b"\nPVEOPS-RESULT-n 0 4 0 p p 4 0 - -\nhello\nPVEOPS-SEP-n\n\nPVEOPS-END-n\n")
    with pytest.raises(PveError, match="separator is not where the sizes put it"):
        parse_capture(shifted, "n")


@given(st.text())
def test_single_quoting_round_trips_through_sh(text: str) -> None:
    quoted = sh_quote(text)
    assert quoted.startswith(b"'") and quoted.endswith(b"'")
    assert b"'" not in quoted[1:-1].replace(b"'\\''", b"")


@pytest.mark.parametrize("bad", ["a;b", "a|b", "$(x)", "${x}", "`x`", "a'b", 'a"b', "a<b", "a>b", "a&b", "a\\b", "a!b", "a\nb", "a\x07b", "-rf", ""])
def test_validate_word_refuses(bad: str) -> None:
    with pytest.raises(ConfigError, match="services"):
        validate_word(bad, "services")


def test_validate_word_accepts_plain_names() -> None:
    assert validate_word("pveproxy.service", "services") == "pveproxy.service"
    assert validate_word("/var/log/syslog", "files") == "/var/log/syslog"


def test_container_argv_passes_values_as_arguments() -> None:
    argv = container_argv(101, ["ls", "-l"], chdir="/srv/my app", environment={"A": "1; rm -rf /"})
    assert argv[:4] == ["pct", "exec", "101", "--"]
    assert "/srv/my app" in argv and "A=1; rm -rf /" in argv and argv[-2:] == ["ls", "-l"]
    with pytest.raises(ConfigError, match="environment variable name"):
        container_argv(101, ["true"], environment={"BAD-NAME": "x"})


def test_clean_line() -> None:
    assert clean_line(b"\x1b[?2004h\x1b[31mred\x1b[0m\r") == "red"
    assert clean_line(b"\x1b]0;title\x07text") == "text"


def test_options_after_the_program_may_start_with_a_dash() -> None:
    assert validate_word("-e", "cmd", allow_leading_dash=True) == "-e"
    with pytest.raises(ConfigError, match="cmd '-e' starts with '-'"):
        validate_word("-e", "cmd")


class ScriptedSession:
    """A terminal whose output arrives in given pieces (None = a pause)."""

    def __init__(self, pieces: list[bytes | None], after_typing: list[bytes | None]) -> None:
        self.pieces = list(pieces)
        self.after_typing = after_typing
        self.user = "root@pam"
        self.sent: list[bytes] = []

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass

    def age(self) -> float:
        return 0.0

    def read(self, deadline: Deadline, what: str = "output") -> bytes | None:
        if not self.pieces:
            deadline.sleep(deadline.remaining())
            raise PveTimeout(f"no {what}")
        piece = self.pieces.pop(0)
        if piece is None:
            deadline.sleep(deadline.remaining())
            raise PveTimeout(f"no {what}")
        return piece

    def send(self, data: bytes) -> None:
        self.sent.append(data)
        if data.startswith(b" unset HISTFILE; stty raw"):
            nonce = data.split(b"ADY-")[1].split(b"'")[0]
            self.pieces += [piece.replace(b"NONCE", nonce) if piece else piece for piece in self.after_typing]


def scripted_shell(monkeypatch: pytest.MonkeyPatch, session: ScriptedSession) -> _nodeshell.NodeShell:
    monkeypatch.setattr(_nodeshell, "TerminalSession", lambda *_args: session)
    return _nodeshell.NodeShell(t.cast(t.Any, None), "pve1", Deadline(10))


def test_a_frame_ending_in_last_login_is_not_a_login_prompt(monkeypatch: pytest.MonkeyPatch) -> None:
    session = ScriptedSession([b"Linux pve1 6.17\r\n\r\nLast login: ", b"Tue Nov 25 on pts/0\r\n", b"root@pve1:~# "],
                              [b"echo...\r\nPVEOPS-READY-NONCE\n"])
    scripted_shell(monkeypatch, session).open()
    assert len(session.sent) == 1  # the start-up line only


def test_a_real_login_prompt_fails_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    session = ScriptedSession([b"\r\npve1 login: ", None], [])
    with pytest.raises(LoginRequired, match="root@pam password login"):
        scripted_shell(monkeypatch, session).open()
    assert session.sent == []  # nothing typed into the login prompt


def test_a_lost_start_up_line_is_typed_once_more(monkeypatch: pytest.MonkeyPatch) -> None:
    session = ScriptedSession([b"root@pve1:~# "], [None, None, None, None, None, None, None, None])
    shell = scripted_shell(monkeypatch, session)
    session.after_typing = []
    with pytest.raises(PveTimeout, match="did not run our start-up line"):
        shell.open()
    assert len(session.sent) == 2  # typed twice, never more


@settings(max_examples=25, deadline=None)
@given(sizes=st.lists(st.integers(1, 70000), min_size=1, max_size=12), seed=st.integers(0, 2 ** 31))
def test_our_blocks_survive_termproxy_with_short_misaligned_reads(sizes: list[int], seed: int) -> None:
    """Through the simulator's model of pveproxy and termproxy (streamsim): busy-node pty reads, our window in flight."""
    messages = [os.urandom(size) for size in sizes]
    frames = [block for message in messages for block in frame_input(message)]
    result = run_input([resize_message(500, 50)] + frames, seed=seed, window=_nodeshell.WINDOW)
    assert result.data == b"".join(messages)
    assert result.notes == []


def test_headers_of_unequal_width_can_be_cut_by_the_same_model() -> None:
    """Padded blocks with natural headers (``0:5:`` next to ``0:2041:``) lose messages in the same model: the test above can fail."""
    rng = random.Random(7)
    payloads = [os.urandom(rng.choice((1, 9, 99, 999, 2041))) for _index in range(4000)]
    blocks = [pad_block(b"0:%d:" % len(payload) + payload) for payload in payloads]
    assert any(run_input(blocks, seed=seed, window=_nodeshell.WINDOW).data != b"".join(payloads) for seed in range(8))
