# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Running commands on a node or in a container through the node terminal (design §4).

Proxmox VE has no exec API for containers; the only path is a ``root@pam`` node shell running
``pct exec`` (pve-protocol.md §4–§5). GoDoxy screen-scraped the echo and got no exit code (§6.2
items 1–2). Here nothing depends on echo, prompt, banner, bracketed paste or frame boundaries:
``_nodeshell.py`` turns the terminal into a channel to one script of ``_nodescript.py``, which
runs the command with its streams on node-side spool files and reports them base64-framed with
the exit code. This module builds the commands (validation, quoting, the container wrappers),
runs them and parses their results.

Capture mode returns exact stdout and stderr and the real exit code; stream mode hands over
lines as they arrive (CR and ANSI sequences removed) until the command ends or its time is up.
"""

from __future__ import annotations

import base64
import dataclasses
import re
import time
import typing as t
import zlib

from ansible_collections.pveops.proxmox.plugins.module_utils._api import ApiClient
from ansible_collections.pveops.proxmox.plugins.module_utils._errors import ConfigError, PveConnectionError, PveError, PveTimeout
from ansible_collections.pveops.proxmox.plugins.module_utils._nodescript import (
    PRECHECK_CHDIR,
    PRECHECK_CREATES,
    Precheck,
    Push,
    capture_script,
    sh_join,
    sh_quote,
    stream_script,
)
from ansible_collections.pveops.proxmox.plugins.module_utils._nodeshell import DEFAULT_SPOOL, PRELUDE_LIMIT, NodeShell, OutputBuffer, clean_line
from ansible_collections.pveops.proxmox.plugins.module_utils._tasks import Deadline

__all__ = [
    "ExecResult", "OutputBuffer", "Precheck", "clean_line", "container_argv", "container_command", "parse_capture", "run_capture",
    "run_stream", "sh_join", "sh_quote", "validate_env_name", "validate_word",
]

# The seed's blocklist for values spliced into fixed command lines (services, files, the
# plain ``cmd`` string), plus what it missed: control characters and newlines (§6.2 item 9).
FORBIDDEN = ("&", "|", "$", ";", "'", '"', "`", "<", ">", "\\", "!")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

TRANSFER_MARGIN = 30.0  # time for sending input and fetching output on top of the command's own timeout
MAX_ARG_STRLEN = 131072
"""Linux's limit for one argument or environment string, its NUL included (fs/exec.c, 32 pages)."""
ARGS_LIMIT = 2 * 1024 * 1024 - 128 * 1024
"""What all arguments and environment strings may take together (ARG_MAX is a quarter of an 8 MiB stack), with room for pct's own."""
SHELL_INLINE_MAX = 64 * 1024
"""``shell`` text above this size is copied into the container as a file instead of passed with ``-c``."""
DEFAULT_OUTPUT_LIMIT = 256 * 1024 * 1024
STREAM_LIMIT = 64 * 1024 * 1024
"""Stream mode keeps at most this many bytes of lines."""


@dataclasses.dataclass
class ExecResult:
    """The outcome of one command.

    ``skipped_by`` names the option that made the command not run (``creates`` or ``removes``);
    ``ran`` is False for a skip and for a dry run (check mode). ``chdir_error`` is set (and the
    command did not run) when the working directory could not be entered.
    """

    rc: int
    stdout: bytes
    stderr: bytes
    timed_out: bool = False
    elapsed: float = 0.0
    ran: bool = True
    skipped_by: str | None = None
    chdir_error: str | None = None


# ---------------------------------------------------------------------------- validation and quoting

def validate_word(value: str, option: str, allow_leading_dash: bool = False) -> str:
    """Reject values that would need a shell to mean what they say.

    Used for values placed into fixed command lines (service names, file names, the words of
    the ``cmd`` string form, where options after the program are allowed to start with ``-``).
    The message names the option and the value.
    """
    if value == "":
        raise ConfigError(f"{option} must not be empty")
    if _CONTROL.search(value):
        raise ConfigError(f"{option} {value!r} contains a control character or newline, which is not allowed")
    bad = sorted({char for char in FORBIDDEN if char in value})
    if bad:
        raise ConfigError(f"{option} {value!r} contains {' '.join(bad)}, which is not allowed here")
    if value.startswith("-") and not allow_leading_dash:
        raise ConfigError(f"{option} {value!r} starts with '-', which the command would take for an option")
    return value


def validate_env_name(name: str) -> str:
    """Environment variable names: letters, digits and underscores, not starting with a digit."""
    if not _ENV_NAME.match(name):
        raise ConfigError(f"environment variable name {name!r} is not valid (letters, digits and '_', not starting with a digit)")
    return name


def _size(value: str) -> int:
    return len(value.encode("utf-8", "surrogateescape"))


def check_arguments(argv: t.Sequence[str], environment: t.Mapping[str, str], option: str = "argv") -> None:
    """Refuse what no program can receive: Linux passes arguments and environment strings through execve.

    One string may have at most MAX_ARG_STRLEN bytes with its NUL, and all of them together about a
    quarter of the stack limit. ansible.builtin.command fails the same way (``Argument list too
    long``); here it fails before anything is sent, and says what to do instead.
    """
    total = 0
    for index, arg in enumerate(argv):
        if "\x00" in arg:
            raise ConfigError(f"{option}[{index}] contains a NUL byte, which no program argument can hold")
        size = _size(arg) + 1
        if size > MAX_ARG_STRLEN:
            raise ConfigError(f"{option}[{index}] is {size - 1} bytes; Linux passes at most {MAX_ARG_STRLEN - 1} bytes in one argument "
                              "(MAX_ARG_STRLEN), so no program can receive it; pass large data with stdin, or use shell")
        total += size
    for name, value in environment.items():
        if "\x00" in value:
            raise ConfigError(f"environment variable {name} contains a NUL byte, which no environment value can hold")
        size = _size(name) + _size(value) + 2
        if size > MAX_ARG_STRLEN:
            raise ConfigError(f"environment variable {name} is {size - 2} bytes; Linux passes at most {MAX_ARG_STRLEN - 1} bytes in one "
                              "environment string (MAX_ARG_STRLEN), so no program can receive it; pass large data with stdin")
        total += size
    if total > ARGS_LIMIT:
        raise ConfigError(f"the command's arguments and environment take {total} bytes; Linux passes at most about {ARGS_LIMIT} "
                          "(a quarter of the stack limit); pass large data with stdin")


def container_argv(vmid: int, argv: t.Sequence[str], chdir: str | None = None,
                   environment: t.Mapping[str, str] | None = None, keep_env: bool = False) -> list[str]:
    """The node-side argv that runs ``argv`` in container ``vmid`` (``pct exec``, §5).

    ``pct exec`` has no working directory or environment options, so a small ``sh`` inside
    the container changes directory and ``env`` sets variables; both receive the values as
    arguments, never as shell text. ``keep_env`` passes ``--keep-env 1`` (Proxmox VE 8.2 and later,
    see _versions.PCT_KEEP_ENV): the node-side environment goes into the container whatever pct's default.
    """
    inner = list(argv)
    if environment:
        inner = ["env"] + [f"{validate_env_name(key)}={value}" for key, value in environment.items()] + inner
    if chdir is not None:
        inner = ["/bin/sh", "-c", 'cd "$1" || exit 1; shift; exec "$@"', "pveops-chdir", chdir] + inner
    return ["pct", "exec", str(int(vmid))] + (["--keep-env", "1"] if keep_env else []) + ["--"] + inner


# A large script travels as a file and is removed once the program ran it.
_RUN_FILE = 'f=$1; shift; "$@" "$f"; r=$?; rm -f "$f"; exit "$r"'


@dataclasses.dataclass(frozen=True)
class ContainerCommand:
    """What to run in a container, ready for run_capture: the node argv, and a file to push first when ``shell`` is large."""

    argv: list[str]
    push: Push | None = None
    push_data: bytes = b""


def container_command(vmid: int, nonce: str, argv: t.Sequence[str] | None = None, shell: str | None = None, executable: str = "/bin/sh",
                      chdir: str | None = None, environment: t.Mapping[str, str] | None = None, keep_env: bool = False) -> ContainerCommand:
    """``argv``, or ``shell`` run by ``executable``, in container ``vmid``; values that are too large are refused or moved.

    ``shell`` text up to SHELL_INLINE_MAX bytes is passed as ``executable -c TEXT``; larger text
    is copied into the container (``pct push``) and run as ``executable FILE``, so a script of any
    size works. Arguments and environment values still go through execve and its limits.
    """
    environment = dict(environment or {})
    if shell is not None and _size(shell) > SHELL_INLINE_MAX:
        check_arguments([executable], environment)
        target = f"/tmp/.pveops-{nonce}.sh"
        inner = ["/bin/sh", "-c", _RUN_FILE, "pveops-script", target, executable]
        return ContainerCommand(container_argv(vmid, inner, chdir, environment, keep_env), Push(vmid, target),
                                shell.encode("utf-8", "surrogateescape"))
    words = [executable, "-c", shell] if shell is not None else list(argv or [])
    check_arguments(words, environment, "shell" if shell is not None else "argv")
    return ContainerCommand(container_argv(vmid, words, chdir, environment, keep_env))


# ---------------------------------------------------------------------------- output parsing

def _line(buffer: OutputBuffer, marker: bytes) -> list[bytes] | None:
    index = buffer.find(marker)
    if index < 0:
        return None
    found = buffer.line_after(index)
    return found[0].split() if found else None


@dataclasses.dataclass(frozen=True)
class ResultHeader:
    """The result line: exit code, the outputs' sizes, whether each travels gzipped, and how many bytes of each follow."""

    rc: int
    out_size: int
    err_size: int
    out_gzip: bool
    err_gzip: bool
    out_sent: int
    err_sent: int
    over: bool
    extra: str
    data_start: int  # index in the buffer where stdout's bytes begin


def result_header(buffer: OutputBuffer, ident: str) -> ResultHeader | None:
    """The result header once it arrived (it precedes the data; nothing after it is searched)."""
    index = buffer.find(b"PVEOPS-RESULT-" + ident.encode())
    if index < 0:
        return None
    found = buffer.line_after(index)
    if found is None:
        return None
    fields = found[0].split()
    try:
        return ResultHeader(int(fields[1]), int(fields[2]), int(fields[3]), fields[4] == b"z", fields[5] == b"z", int(fields[6]),
                            int(fields[7]), fields[8] == b"over", fields[9].decode("ascii", "replace") if len(fields) > 9 else "", found[1])
    except (IndexError, ValueError):
        raise PveError(f"unexpected result line from the node: {found[0][:200]!r}") from None


def result_length(header: ResultHeader, ident: str) -> int:
    """Where the result ends: header, stdout, the separator, stderr and the end marker."""
    return header.data_start + header.out_sent + len(b"\nPVEOPS-SEP-%s\n" % ident.encode()) + header.err_sent + len(
        b"\nPVEOPS-END-%s\n" % ident.encode())


def parse_capture(buffer: OutputBuffer, ident: str, output_limit: int | None = None) -> ExecResult | None:
    """The result once all of it has arrived, else ``None``.

    Raises PveError when the node-side script reported a failure, the output is damaged, or it is
    larger than ``output_limit`` (checked as soon as the result's header arrived, before the data).
    ``ident`` is the run's nonce (or a request's, in the connection plugin's loop).
    """
    n = ident.encode()
    header = result_header(buffer, ident)
    if header is not None:
        if output_limit is not None and (header.over or max(header.out_size, header.err_size) > output_limit):
            stream = "stdout" if header.out_size >= header.err_size else "stderr"
            raise PveError(f"the command's {stream} grew beyond output_limit ({output_limit} bytes): "
                           f"{max(header.out_size, header.err_size)} bytes" + ("; the command was stopped" if header.over else ""))
        if len(buffer.data) < result_length(header, ident):
            return None
        data = buffer.data
        position = header.data_start
        stdout = _unpack(bytes(data[position:position + header.out_sent]), header.out_size, header.out_gzip, "stdout")
        position += header.out_sent
        sep = b"\nPVEOPS-SEP-%s\n" % n
        if bytes(data[position:position + len(sep)]) != sep:
            raise PveError("the command's output from the node is damaged (the separator is not where the sizes put it)")
        position += len(sep)
        stderr = _unpack(bytes(data[position:position + header.err_sent]), header.err_size, header.err_gzip, "stderr")
        position += header.err_sent
        end = b"\nPVEOPS-END-%s\n" % n
        if bytes(data[position:position + len(end)]) != end:
            raise PveError("the command's output from the node is damaged (the end marker is not where the sizes put it)")
        return ExecResult(rc=header.rc, stdout=stdout, stderr=stderr)
    if len(buffer.data) > PRELUDE_LIMIT:
        raise PveError(f"the node printed more than {PRELUDE_LIMIT} bytes before the command's result")
    if buffer.find(b"PVEOPS-END-" + n) < 0:
        return None
    for marker, kind in ((b"PVEOPS-CHECKFAIL-", "the checks before the command (creates, removes, chdir)"),
                         (b"PVEOPS-PUSHFAIL-", "copying the script into the container (pct push)")):
        failed = _line(buffer, marker + n)
        if failed is not None:
            index = buffer.find(marker + n)
            start = buffer.line_after(index)
            until = buffer.find(b"PVEOPS-SEP-" + n, index)
            detail = _unbase64(bytes(buffer.data[start[1] if start else index:until])) if until > 0 else b""
            raise PveError(f"{kind} failed with exit code {failed[-1].decode(errors='replace')}: "
                           f"{detail.decode('utf-8', 'replace').strip()[:500]}")
    skip = _line(buffer, b"PVEOPS-SKIP-" + n)
    if skip is not None:
        option = "creates" if skip[-1] == b"%d" % PRECHECK_CREATES else "removes"
        return ExecResult(rc=0, stdout=b"", stderr=b"", ran=False, skipped_by=option)
    chdir = _line(buffer, b"PVEOPS-CHDIR-" + n)
    if chdir is not None:
        reason = PRECHECK_CHDIR.get(int(chdir[-1]) if chdir[-1].isdigit() else 0, "failed")
        return ExecResult(rc=0, stdout=b"", stderr=b"", ran=False, chdir_error=reason)
    if buffer.find(b"PVEOPS-WOULDRUN-" + n) >= 0:
        return ExecResult(rc=0, stdout=b"", stderr=b"", ran=False)
    raise PveError("the command's output from the node is incomplete (markers missing)")


def _unpack(data: bytes, size: int, gzipped: bool, what: str) -> bytes:
    if gzipped:
        try:
            data = zlib.decompress(data, 16 + zlib.MAX_WBITS)
        except zlib.error:
            raise PveError(f"the command's {what} arrived damaged (invalid gzip data)") from None
    if len(data) != size:
        raise PveError(f"the command's {what} arrived incomplete ({len(data)} of {size} bytes)")
    return data


def _unbase64(text: bytes) -> bytes:
    try:
        return base64.b64decode(b"".join(text.split()), validate=True)
    except ValueError:
        return b"(undecodable)"


# ---------------------------------------------------------------------------- running

def run_capture(client: ApiClient, node: str, command: t.Sequence[str], stdin: bytes = b"",
                timeout: int | None = None, deadline: Deadline | None = None,
                check: Precheck | None = None, dry_run: bool = False, push: Push | None = None, push_data: bytes = b"",
                spool_dir: str = DEFAULT_SPOOL, output_limit: int | None = DEFAULT_OUTPUT_LIMIT,
                shell: NodeShell | None = None) -> ExecResult:
    """Run ``command`` (a node-side argv) and return its exact stdout, stderr and exit code.

    ``shell`` is for tests that bring their own NodeShell; normally one is opened here.
    """
    if deadline is None:
        deadline = Deadline((timeout or 3600) + TRANSFER_MARGIN)
    own = shell is None
    node_shell = shell if shell is not None else NodeShell(client, node, deadline, spool_dir)
    try:
        if own:
            node_shell.open()
        script = capture_script(node_shell.nonce, command, len(base64.b64encode(stdin)), timeout, check, dry_run,
                                push, len(base64.b64encode(push_data)), output_limit)
        node_shell.run(script, ([push_data] if push is not None else []) + [stdin])
        started = time.monotonic()
        while True:
            result = parse_capture(node_shell.buffer, node_shell.nonce, output_limit)
            if result is not None:
                break
            try:
                alive = node_shell.receive(deadline, "result of the command")
            except PveTimeout:
                raise PveTimeout(f"no result from the command on node {node} within {deadline.seconds:g} s; "
                                 "the connection is closed, which ends the command; exit status unknown") from None
            if not alive:
                raise PveConnectionError(f"the terminal connection to node {node} was lost after {node_shell.age():.1f} s; "
                                         "exit status unknown")
        result.elapsed = time.monotonic() - started
        result.timed_out = timeout is not None and result.rc in (124, 137) and result.elapsed >= timeout
        return result
    finally:
        if own:
            node_shell.close()


class _Lines:
    """Stream-mode lines in order, holding blank lines back until it is clear that they are output.

    The script prints a newline before its end marker (so that the marker starts a line);
    when the output ended with its own newline that makes one blank line that is not output.
    """

    def __init__(self, on_line: t.Callable[[str], None] | None) -> None:
        self.lines: list[str] = []
        self.size = 0
        self._blank = 0
        self._on_line = on_line

    def add(self, text: str) -> None:
        """One more complete line."""
        if text == "":
            self._blank += 1
            return
        self._flush()
        self._emit(text)

    def finish(self, before_marker: bool) -> list[str]:
        """All lines; ``before_marker`` drops the blank line the end marker brought."""
        if before_marker and self._blank:
            self._blank -= 1
        self._flush()
        return self.lines

    def _flush(self) -> None:
        while self._blank:
            self._blank -= 1
            self._emit("")

    def _emit(self, text: str) -> None:
        self.size += len(text) + 1
        if self.size > STREAM_LIMIT:
            raise PveError(f"the command printed more than {STREAM_LIMIT} bytes while it was followed; follow for a shorter time")
        self.lines.append(text)
        if self._on_line is not None:
            self._on_line(text)


def run_stream(client: ApiClient, node: str, command: t.Sequence[str], duration: float,
               on_line: t.Callable[[str], None] | None = None, deadline: Deadline | None = None,
               spool_dir: str = DEFAULT_SPOOL) -> tuple[list[str], int | None]:
    """Run ``command`` for at most ``duration`` seconds; return its lines and its exit code (None if still running)."""
    if deadline is None:
        deadline = Deadline(duration + TRANSFER_MARGIN)
    lines = _Lines(on_line)
    with NodeShell(client, node, deadline, spool_dir) as shell:
        shell.open()
        shell.run(stream_script(shell.nonce, command, duration))
        begin = b"PVEOPS-BEGIN-" + shell.nonce.encode()
        end_marker = b"PVEOPS-END-" + shell.nonce.encode()
        position = -1
        window = Deadline(duration)
        while True:
            if position < 0:
                found = shell.buffer.find(begin)
                after = shell.buffer.line_after(found) if found >= 0 else None
                position = after[1] if after else -1
            while position >= 0:
                after = shell.buffer.line_after(position)
                if after is None:
                    break
                raw, position = after
                if raw.startswith(end_marker):
                    fields = raw.split()
                    return lines.finish(before_marker=True), int(fields[1]) if len(fields) > 1 and fields[1].isdigit() else None
                lines.add(clean_line(raw))
            if position >= 0:
                # Consumed lines are not needed again: the buffer holds at most the line in progress.
                del shell.buffer.data[:position]
                shell.buffer = _rebased(shell.buffer)
                position = 0
                if len(shell.buffer.data) > STREAM_LIMIT:
                    raise PveError(f"the command printed a line of more than {STREAM_LIMIT} bytes while it was followed")
            if window.expired():
                break
            try:
                alive = shell.receive(window, "output")
            except PveTimeout:
                break
            if not alive:
                raise PveConnectionError(f"the terminal connection to node {node} was lost after {shell.age():.1f} s")
        if 0 <= position < len(shell.buffer.data):
            rest = clean_line(bytes(shell.buffer.data[position:]))
            if rest.strip():
                lines.add(rest)
    return lines.finish(before_marker=False), None


def _rebased(buffer: OutputBuffer) -> OutputBuffer:
    """A fresh buffer with the same bytes (the marker search positions refer to the old offsets)."""
    fresh = OutputBuffer()
    fresh.feed(bytes(buffer.data))
    return fresh
