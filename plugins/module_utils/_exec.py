# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Running commands on a node or in a container through the node terminal (design §4).

Proxmox VE has no exec API for containers; the only path is typing into a ``root@pam`` node
shell and running ``pct exec`` (pve-protocol.md §4–§5). GoDoxy screen-scraped the echo and
got no exit code (§6.2 items 1–2). Here nothing depends on echo, prompt, banner, bracketed
paste or frame boundaries:

1. One fixed line is typed into the login shell: it switches the tty to raw mode without
   echo, prints a readiness nonce in two halves (so the echoed line can never match), and
   replaces the shell with ``sh -c "$(head -c N | base64 -d)"``.
2. After the nonce, the script is sent base64-encoded; ``head -c`` reads exactly its bytes.
   The script reads the user's stdin the same way (base64, exact length), runs the command
   with stdin, stdout and stderr on node-side temp files, and prints the exit code and both
   outputs base64-framed between markers. Nothing the user supplied is ever typed as text
   the node shell parses: argv elements live single-quoted inside the base64 script.
3. The temp directory is removed on every path (normal end, SIGHUP when the connection drops,
   SIGTERM); the client closes the websocket itself after the end marker, so the bytes
   termproxy may lose when a shell exits (§4.4 step 8) are never needed.

Stream mode runs the command with its output on the terminal and hands over lines as they
arrive (CR and ANSI sequences removed) until the command ends or its time is up.
"""

from __future__ import annotations

import base64
import dataclasses
import re
import secrets
import time
import typing as t
import zlib

from ansible_collections.pveops.proxmox.plugins.module_utils._api import ApiClient
from ansible_collections.pveops.proxmox.plugins.module_utils._errors import ConfigError, PveConnectionError, PveError, PveTimeout
from ansible_collections.pveops.proxmox.plugins.module_utils._tasks import Deadline
from ansible_collections.pveops.proxmox.plugins.module_utils._terminal import LOGIN_REQUIRED_MESSAGE, LoginRequired, TerminalSession

# The seed's blocklist for values spliced into fixed command lines (services, files, the
# plain ``cmd`` string), plus what it missed: control characters and newlines (§6.2 item 9).
FORBIDDEN = ("&", "|", "$", ";", "'", '"', "`", "<", ">", "\\", "!")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ANSI = re.compile(rb"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[@-Z\\-_])")
_LOGIN_PROMPT = re.compile(rb"(^|[\r\n])[^\r\n]*login: *$|Password: *$")

SETTLE_QUIET = 0.1  # the banner has been quiet this long: the login shell is reading input
QUIET = 0.3  # output paused this long while we wait for the nonce: look for a login prompt
SETTLE_MAX = 2.0
READY_TIMEOUT = 20.0
KILL_GRACE = 5  # seconds between TERM and KILL when the command's time is up
TRANSFER_MARGIN = 30.0  # time for sending input and fetching output on top of the command's own timeout
COMPRESS_ABOVE = 65536  # bytes of output from which the node gzips it before base64


@dataclasses.dataclass
class ExecResult:
    """The outcome of one command.

    ``skipped_by`` is the index of the guard that made the command not run; ``ran`` is False
    for a skip and for a dry run (check mode).
    """

    rc: int
    stdout: bytes
    stderr: bytes
    timed_out: bool = False
    elapsed: float = 0.0
    ran: bool = True
    skipped_by: int | None = None


@dataclasses.dataclass(frozen=True)
class Guard:
    """A check run before the command (``creates``/``removes``): skip when its exit status says so."""

    argv: tuple[str, ...]
    skip_on_success: bool


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


def sh_quote(value: bytes | str) -> bytes:
    """POSIX single quoting: every byte literal, including newlines and control characters."""
    raw = value.encode("utf-8", "surrogateescape") if isinstance(value, str) else value
    return b"'" + raw.replace(b"'", b"'\\''") + b"'"


def sh_join(argv: t.Sequence[bytes | str]) -> bytes:
    """A single-quoted command line."""
    return b" ".join(sh_quote(arg) for arg in argv)


def container_argv(vmid: int, argv: t.Sequence[str], chdir: str | None = None,
                   environment: t.Mapping[str, str] | None = None) -> list[str]:
    """The node-side argv that runs ``argv`` in container ``vmid`` (``pct exec``, §5).

    ``pct exec`` has no working directory or environment options, so a small ``sh`` inside
    the container changes directory and ``env`` sets variables; both receive the values as
    arguments, never as shell text.
    """
    inner = list(argv)
    if environment:
        inner = ["env"] + [f"{validate_env_name(key)}={value}" for key, value in environment.items()] + inner
    if chdir is not None:
        inner = ["/bin/sh", "-c", 'cd "$1" || exit 1; shift; exec "$@"', "pveops-chdir", chdir] + inner
    return ["pct", "exec", str(int(vmid)), "--"] + inner


# ---------------------------------------------------------------------------- the node-side script

def bootstrap_line(nonce: str, script_length: int) -> bytes:
    """The only line typed as text into the login shell; it carries no user data."""
    return (" stty raw -echo; printf '%%s%%s\\n' 'PVEOPS-RE' 'ADY-%s'; "
            "exec /bin/sh -c \"$(head -c %d | base64 -d)\"\r" % (nonce, script_length)).encode()


# A dropped connection hangs up the pty: the shell gets SIGHUP. A shell waiting for a
# foreground command runs its trap only after that command ends, so commands run in the
# background and the shell waits with `wait`, which a trapped signal interrupts at once
# (POSIX); the trap then ends the command's whole process group and the EXIT trap removes
# the temp directory.
_STOP_TRAP = b"""trap 'trap "" HUP TERM INT; kill -TERM $c 0 2>/dev/null; exit 129' HUP TERM INT"""
# After the end marker the shell stays a little, so that the marker is never among the bytes
# termproxy can lose when a shell exits (pve-protocol.md §4.4 step 8); the client closes first.
_LINGER = b"sleep 5 & c=$!; wait $c; exit 0"
_ENV = b'env -i PATH="$PATH" HOME=/root LANG=C.UTF-8 TERM=dumb'


def capture_script(nonce: str, command: t.Sequence[str], stdin_b64_length: int, timeout: int | None,
                   guards: t.Sequence[Guard] = (), dry_run: bool = False) -> bytes:
    """The script that runs ``command`` with its streams on temp files and reports them framed.

    ``guards`` run first (their output discarded); the first whose exit status asks for it ends
    the script with a SKIP marker. ``dry_run`` stops after the guards (check mode).
    """
    limit = b"timeout -k %d %d " % (KILL_GRACE, timeout) if timeout else b""
    n = nonce.encode()
    finish = b'rm -rf "$d"; printf "\\nPVEOPS-END-%s\\n"; %s' % (n, _LINGER)
    lines = [
        b"umask 077",
        b"c=0",
        b'd=$(mktemp -d "${TMPDIR:-/tmp}/pveops.XXXXXXXXXX") || { printf "\\nPVEOPS-FAIL-%s mktemp\\n"; %s; }' % (n, _LINGER),
        b"trap 'rm -rf \"$d\"' EXIT",
        _STOP_TRAP,
        b'head -c %d | base64 -d > "$d/i"' % stdin_b64_length,
    ]
    for index, guard in enumerate(guards):
        test = b"-eq" if guard.skip_on_success else b"-ne"
        lines += [
            b"%s %s < /dev/null > /dev/null 2>&1 & c=$!; wait $c; g=$?" % (_ENV, sh_join(guard.argv)),
            b'if [ "$g" %s 0 ]; then printf "\\nPVEOPS-SKIP-%s %d\\n"; %s; fi' % (test, n, index, finish),
        ]
    if dry_run:
        lines += [b'printf "\\nPVEOPS-WOULDRUN-%s\\n"' % n, finish]
    lines += [
        b'%s%s %s < "$d/i" > "$d/o" 2> "$d/e" & c=$!' % (limit, _ENV, sh_join(command)),
        b"wait $c; r=$?",
        # Large outputs travel gzip-compressed when the node has gzip: the pty is the narrowest part of the path.
        # Compressed only when a 64 KiB sample shrinks by a quarter: random data would only cost CPU.
        b"z() { if [ \"$(wc -c < \"$1\")\" -gt %d ] && command -v gzip >/dev/null 2>&1 &&"
        b" [ \"$(head -c 65536 \"$1\" | gzip -1 -c | wc -c)\" -lt 49152 ]; then echo z; else echo p; fi; }" % COMPRESS_ABOVE,
        b'zo=$(z "$d/o"); ze=$(z "$d/e")',
        b"out() { if [ \"$2\" = z ]; then gzip -1 -c < \"$1\" | base64; else base64 < \"$1\"; fi; }",
        b'printf "\\nPVEOPS-RESULT-%s %%s %%s %%s %%s %%s\\n" "$r" "$(wc -c < "$d/o")" "$(wc -c < "$d/e")" "$zo" "$ze"' % n,
        b'out "$d/o" "$zo"',
        b'printf "\\nPVEOPS-SEP-%s\\n"' % n,
        b'out "$d/e" "$ze"',
        finish,
        b"",
    ]
    return b"\n".join(lines)


def stream_script(nonce: str, command: t.Sequence[str]) -> bytes:
    """The script that runs ``command`` with its output (both streams) on the terminal, line by line.

    The output goes through ``cat`` so that ``pct exec`` sees a pipe, not a terminal (no
    extra pty in the container, §5); the end marker with the exit code travels the same pipe.
    """
    n = nonce.encode()
    return b"\n".join([
        b"c=0",
        _STOP_TRAP,
        b'printf "PVEOPS-BEGIN-%s\\n"' % n,
        b'( %s SYSTEMD_PAGER= PAGER=cat %s < /dev/null 2>&1; printf "\\nPVEOPS-END-%s %%s\\n" "$?" ) | cat & c=$!' % (
            _ENV, sh_join(command), n),
        b"wait $c",
        _LINGER,
        b"",
    ])


# ---------------------------------------------------------------------------- output parsing

class OutputBuffer:
    """Terminal output with incremental marker search (10 MB of base64 must not be rescanned)."""

    def __init__(self) -> None:
        self.data = bytearray()
        self._searched: dict[bytes, int] = {}

    def feed(self, chunk: bytes) -> None:
        """Append received bytes."""
        self.data += chunk

    def find(self, marker: bytes, start: int = 0) -> int:
        """Index of ``marker`` at or after ``start``, or -1; never looks at the same bytes twice."""
        begin = max(start, self._searched.get(marker, start) - len(marker))
        index = self.data.find(marker, begin)
        if index < 0:
            self._searched[marker] = len(self.data)
        return index

    def line_after(self, index: int) -> tuple[bytes, int] | None:
        """The rest of the line starting at ``index`` and the index after its newline."""
        end = self.data.find(b"\n", index)
        if end < 0:
            return None
        return bytes(self.data[index:end]).rstrip(b"\r"), end + 1


def clean_line(line: bytes) -> str:
    """A terminal line without CR and ANSI/OSC sequences, decoded leniently."""
    return _ANSI.sub(b"", line).replace(b"\r", b"").decode("utf-8", "replace")


def parse_capture(buffer: OutputBuffer, nonce: str) -> ExecResult | None:
    """The result once the end marker has arrived, else ``None``.

    Raises PveError when the node-side script reported a failure or the output is damaged.
    """
    n = nonce.encode()
    fail = buffer.find(b"PVEOPS-FAIL-" + n)
    if fail >= 0:
        found = buffer.line_after(fail)
        reason = found[0].decode(errors="replace") if found else "unknown"
        raise PveError(f"the node could not prepare the command ({reason}); is /tmp writable and are mktemp, head and base64 installed?")
    end = buffer.find(b"PVEOPS-END-" + n)
    if end < 0:
        return None
    skip = buffer.find(b"PVEOPS-SKIP-" + n)
    if skip >= 0:
        found = buffer.line_after(skip)
        index = int(found[0].split()[-1]) if found else 0
        return ExecResult(rc=0, stdout=b"", stderr=b"", ran=False, skipped_by=index)
    if buffer.find(b"PVEOPS-WOULDRUN-" + n) >= 0:
        return ExecResult(rc=0, stdout=b"", stderr=b"", ran=False)
    result = buffer.find(b"PVEOPS-RESULT-" + n)
    sep = buffer.find(b"PVEOPS-SEP-" + n, max(result, 0))
    header = buffer.line_after(result) if result >= 0 else None
    if header is None or sep < 0:
        raise PveError("the command's output from the node is incomplete (markers missing)")
    fields = header[0].split()
    try:
        rc, out_size, err_size = int(fields[1]), int(fields[2]), int(fields[3])
        out_gzip, err_gzip = fields[4] == b"z", fields[5] == b"z"
    except (IndexError, ValueError):
        raise PveError(f"unexpected result line from the node: {header[0][:200]!r}") from None
    stdout = _decode(bytes(buffer.data[header[1]:sep]), out_size, out_gzip, "stdout")
    err_start = buffer.line_after(sep)
    stderr = _decode(bytes(buffer.data[err_start[1] if err_start else sep:end]), err_size, err_gzip, "stderr")
    return ExecResult(rc=rc, stdout=stdout, stderr=stderr)


def _decode(text: bytes, size: int, gzipped: bool, what: str) -> bytes:
    try:
        data = base64.b64decode(b"".join(text.split()), validate=True)
        if gzipped:
            data = zlib.decompress(data, 16 + zlib.MAX_WBITS)
    except (ValueError, zlib.error):
        raise PveError(f"the command's {what} arrived damaged (invalid base64 or gzip data)") from None
    if len(data) != size:
        raise PveError(f"the command's {what} arrived incomplete ({len(data)} of {size} bytes)")
    return data


# ---------------------------------------------------------------------------- sessions

class NodeShell:
    """A node terminal made ready for one script: raw, silent, and proven to execute our input."""

    def __init__(self, client: ApiClient, node: str, deadline: Deadline) -> None:
        self.session = TerminalSession(client, node, deadline)
        self.deadline = deadline
        self.node = node
        self.nonce = secrets.token_hex(12)
        self.buffer = OutputBuffer()
        self.ready_at = 0.0

    def __enter__(self) -> NodeShell:
        self.session.open()
        return self

    def __exit__(self, *exc_info: t.Any) -> None:
        self.session.close()

    def receive(self, deadline: Deadline, what: str) -> bool:
        """Read more output into the buffer; False once the connection closed."""
        chunk = self.session.read(deadline, what)
        if chunk is None:
            return False
        self.buffer.feed(chunk)
        return True

    def send(self, data: bytes) -> None:
        """Send raw input after the script started (the tty is raw: bytes arrive unchanged)."""
        self.session.send(data)

    def start(self, script: bytes) -> None:
        """Type the bootstrap line, wait for the readiness nonce, then send the script."""
        self._settle()
        payload = base64.b64encode(script)
        self.session.send(bootstrap_line(self.nonce, len(payload)))
        ready = b"PVEOPS-READY-" + self.nonce.encode()
        wait = Deadline(min(READY_TIMEOUT, self.deadline.remaining()))
        while self.buffer.find(ready) < 0:
            if not self._receive_or_quiet(wait, "answer from the node shell"):
                raise PveConnectionError(f"the terminal of node {self.node} closed before the shell was ready "
                                         f"(output: {clean_line(bytes(self.buffer.data[-300:]))!r})")
        self.ready_at = time.monotonic()
        # Everything after the nonce line is ours (the tty is raw and silent now): drop banner and echo.
        line = self.buffer.line_after(self.buffer.find(ready))
        rest = bytes(self.buffer.data[line[1]:]) if line else b""
        self.buffer = OutputBuffer()
        self.buffer.feed(rest)
        self.session.send(payload)

    def _receive_or_quiet(self, wait: Deadline, what: str) -> bool:
        """Receive with ``wait``; when the output pauses, check whether it paused at a login prompt.

        Only a pause makes a prompt a prompt: "Last login: …" can end a frame too.
        """
        try:
            return self.receive(Deadline(min(QUIET, wait.remaining())), what)
        except PveTimeout:
            self._check_login_prompt()
            if wait.expired():
                raise PveTimeout(f"no {what} from node {self.node} within {wait.seconds:g} s") from None
            return True

    def _settle(self) -> None:
        """Let the banner finish before typing (bounded), so that ``login`` cannot flush our input.

        Not a correctness condition — the readiness nonce is — only a way to type at the right
        moment: after the first output, a pause of SETTLE_QUIET means the shell waits for input.
        """
        wait = Deadline(min(SETTLE_MAX, self.deadline.remaining()))
        while not wait.expired():
            piece = Deadline(min(SETTLE_QUIET, wait.remaining())) if self.buffer.data else wait
            try:
                if not self.receive(piece, "banner"):
                    raise PveConnectionError(f"the terminal of node {self.node} closed right after opening")
            except PveTimeout:
                if self.buffer.data:
                    self._check_login_prompt()
                    break

    def _check_login_prompt(self) -> None:
        tail = _ANSI.sub(b"", bytes(self.buffer.data[-200:]))
        if _LOGIN_PROMPT.search(tail):
            raise LoginRequired(LOGIN_REQUIRED_MESSAGE + f" (connected as {self.session.user})")


def run_capture(client: ApiClient, node: str, command: t.Sequence[str], stdin: bytes = b"",
                timeout: int | None = None, deadline: Deadline | None = None,
                guards: t.Sequence[Guard] = (), dry_run: bool = False) -> ExecResult:
    """Run ``command`` (a node-side argv) and return its exact stdout, stderr and exit code."""
    if deadline is None:
        deadline = Deadline((timeout or 3600) + TRANSFER_MARGIN)
    stdin_b64 = base64.b64encode(stdin)
    with NodeShell(client, node, deadline) as shell:
        shell.start(capture_script(shell.nonce, command, len(stdin_b64), timeout, guards, dry_run))
        shell.send(stdin_b64)
        while True:
            result = parse_capture(shell.buffer, shell.nonce)
            if result is not None:
                break
            try:
                alive = shell.receive(deadline, "result of the command")
            except PveTimeout:
                raise PveTimeout(f"no result from the command on node {node} within {deadline.seconds:g} s; "
                                 "the connection is closed, which ends the command; exit status unknown") from None
            if not alive:
                raise PveConnectionError(f"the terminal connection to node {node} was lost after {shell.session.age():.1f} s; "
                                         "exit status unknown")
        result.elapsed = time.monotonic() - shell.ready_at
        result.timed_out = timeout is not None and result.rc in (124, 137) and result.elapsed >= timeout
        return result


class _Lines:
    """Stream-mode lines in order, holding blank lines back until it is clear that they are output.

    The script prints a newline before its end marker (so that the marker starts a line);
    when the output ended with its own newline that makes one blank line that is not output.
    """

    def __init__(self, on_line: t.Callable[[str], None] | None) -> None:
        self.lines: list[str] = []
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
        self.lines.append(text)
        if self._on_line is not None:
            self._on_line(text)


def run_stream(client: ApiClient, node: str, command: t.Sequence[str], duration: float,
               on_line: t.Callable[[str], None] | None = None, deadline: Deadline | None = None) -> tuple[list[str], int | None]:
    """Run ``command`` for at most ``duration`` seconds; return its lines and its exit code (None if still running)."""
    if deadline is None:
        deadline = Deadline(duration + TRANSFER_MARGIN)
    lines = _Lines(on_line)
    with NodeShell(client, node, deadline) as shell:
        shell.start(stream_script(shell.nonce, command))
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
            if window.expired():
                break
            try:
                alive = shell.receive(window, "output")
            except PveTimeout:
                break
            if not alive:
                raise PveConnectionError(f"the terminal connection to node {node} was lost after {shell.session.age():.1f} s")
        if 0 <= position < len(shell.buffer.data):
            rest = clean_line(bytes(shell.buffer.data[position:]))
            if rest.strip():
                lines.add(rest)
    return lines.finish(before_marker=False), None
