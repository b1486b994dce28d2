# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""A node terminal made into a reliable channel to one script (the client half of ``_nodescript.py``).

Opening: the terminal, a bounded wait for the banner to settle, the typed start-up line, the
readiness nonce. A start-up line that got lost (``login`` flushes what was typed before its
prompt, audit #17) is typed once more after a quiet pause; a terminal that hangs up before it was
ready (the nested-login race on PVE 9.0–9.1, audit #4) is opened once more. Neither is ever
repeated once anything beyond the start-up line was sent.

Uploading: the loader, the script and the input files travel as base64 in CHUNK-byte pieces the
node acknowledges; the client never has more than WINDOW bytes unacknowledged, which keeps
pveproxy's localhost connection to termproxy from filling up (a full one splits writes anywhere,
and termproxy's parser loses a header cut that way, audit #5 #15). Each wait for progress has
its own short timeout, so a script that never starts fails in seconds with what the shell
printed (audit #6), not after the command's timeout.

Receiving is bounded: nothing but markers is expected before the result, so more than
PRELUDE_LIMIT bytes there is an error, and the result's size is known from its header.
"""

from __future__ import annotations

import base64
import dataclasses
import re
import secrets
import time
import typing as t

from ansible_collections.pveops.proxmox.plugins.module_utils._api import ApiClient
from ansible_collections.pveops.proxmox.plugins.module_utils._errors import PveConnectionError, PveError, PveTimeout
from ansible_collections.pveops.proxmox.plugins.module_utils._nodescript import CHUNK, go_record, loader, startup_line
from ansible_collections.pveops.proxmox.plugins.module_utils._tasks import Deadline
from ansible_collections.pveops.proxmox.plugins.module_utils._terminal import LOGIN_REQUIRED_MESSAGE, LoginRequired, TerminalSession

_ANSI = re.compile(rb"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[@-Z\\-_])")
_LOGIN_PROMPT = re.compile(rb"(^|[\r\n])[^\r\n]*login: *$|Password: *$")

SETTLE_QUIET = 0.1  # the banner has been quiet this long: the login shell is reading input
SETTLE_MAX = 2.0
QUIET = 0.3  # output paused this long while we wait for the nonce: look for a login prompt
RETYPE_AFTER = 2.0  # no nonce and a quiet terminal this long after typing: type the start-up line once more
READY_TIMEOUT = 20.0
START_TIMEOUT = 30.0  # each step of the upload, and the STARTED report after it
# Unacknowledged bytes in flight at most. They sit in pveproxy's localhost connection to termproxy, which must never fill:
# a full one makes pveproxy's writes partial and termproxy could then read a cut header. A fresh Linux loopback
# connection takes about 4 MB before a writer blocks (measured: tcp_wmem 16384/4194304, 64 KiB segments), so 256 KiB
# leaves a wide margin; throughput is WINDOW per round trip of an acknowledgement.
WINDOW = 4 * CHUNK
PRELUDE_LIMIT = 1024 * 1024
DEFAULT_SPOOL = "/var/tmp"


def clean_line(line: bytes) -> str:
    """A terminal line without CR and ANSI/OSC sequences, decoded leniently."""
    return _ANSI.sub(b"", line).replace(b"\r", b"").decode("utf-8", "replace")


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

    def count(self, marker: bytes, start: int) -> tuple[int, int]:
        """How many times ``marker`` occurs from ``start`` on, and the index after the last one."""
        found = 0
        position = start
        while True:
            index = self.data.find(marker, position)
            if index < 0:
                return found, position
            found += 1
            position = index + len(marker)

    def line_after(self, index: int) -> tuple[bytes, int] | None:
        """The rest of the line starting at ``index`` and the index after its newline."""
        end = self.data.find(b"\n", index)
        if end < 0:
            return None
        return bytes(self.data[index:end]).rstrip(b"\r"), end + 1

    def tail(self, size: int = 300) -> str:
        """The last bytes, cleaned for a message."""
        return clean_line(bytes(self.data[-size:]))


class NodeShell:
    """A node terminal running one script of ours; use as a context manager."""

    def __init__(self, client: ApiClient, node: str, deadline: Deadline, spool_dir: str = DEFAULT_SPOOL) -> None:
        self.client = client
        self.node = node
        self.deadline = deadline
        self.spool_dir = spool_dir
        self.nonce = secrets.token_hex(12)
        self.buffer = OutputBuffer()
        self.session: TerminalSession | None = None
        self.ready_at = 0.0
        self._sent = 0  # bytes sent since the readiness nonce
        self._acked = 0  # bytes the node has confirmed reading
        self._ack_points: list[int] = []  # where each expected acknowledgement confirms up to
        self._ack_scan = 0
        self._acks = 0

    def __enter__(self) -> NodeShell:
        return self

    def __exit__(self, *exc_info: t.Any) -> None:
        self.close()

    def _session(self) -> TerminalSession:
        if self.session is None:
            raise PveConnectionError(f"the terminal of node {self.node} is not open")
        return self.session

    def age(self) -> float:
        """Seconds since the terminal opened."""
        return self.session.age() if self.session is not None else 0.0

    # ------------------------------------------------------------------ opening

    def open(self) -> None:
        """Open the terminal and make the shell ready: raw, silent, and proven to run what we type.

        With an address for the node in ``node_urls`` the terminal opens on the node itself (its shell
        is local there, no SSH hop); when that address cannot be reached, through ``api_url``.
        """
        config = getattr(self.client, "config", None)  # (unit tests drive a terminal without an API client)
        url = config.node_url(self.node) if config is not None else None
        if config is not None and url and url != config.base_url:
            direct = self.client.derived(f"node:{self.node}", dataclasses.replace(config, base_url=url, node_urls=()))
            try:
                self._open_through(direct)
                return
            except PveConnectionError as exc:
                if self.ready_at or self.deadline.expired():
                    raise
                self.client.warnings.append(f"node {self.node}: its own API at {url} could not be used ({exc}); "
                                            f"the terminal went through {config.base_url} instead")
                self.buffer = OutputBuffer()
        self._open_through(self.client)

    def _open_through(self, client: ApiClient) -> None:
        for attempt in (1, 2):
            self.session = TerminalSession(client, self.node, self.deadline)
            self.session.open()
            try:
                self._become_ready()
                return
            except _EarlyHangup as hangup:
                self.session.close()
                self.session = None
                if attempt == 2:
                    raise PveConnectionError(str(hangup)) from None
                self.buffer = OutputBuffer()

    def _become_ready(self) -> None:
        self._settle()
        wait = Deadline(min(READY_TIMEOUT, self.deadline.remaining()))
        ready = b"PVEOPS-READY-" + self.nonce.encode()
        typed_at = time.monotonic()
        retyped = False
        line = startup_line(self.nonce, len(self._loader()))
        self._session().send(line)
        last_output = time.monotonic()
        while self.buffer.find(ready) < 0:
            before = len(self.buffer.data)
            if not self._receive_or_quiet(wait):
                raise _EarlyHangup(f"the terminal of node {self.node} closed before the shell was ready "
                                   f"(output: {self.buffer.tail()!r})")
            now = time.monotonic()
            if len(self.buffer.data) > before:
                last_output = now
            elif not retyped and now - max(typed_at, last_output) >= RETYPE_AFTER:
                # login may have flushed what was typed before its prompt; a second line is harmless
                # when the first one was only slow (its discard loop reads it as a stray line).
                self._session().send(line)
                retyped = True
            if wait.expired():
                raise PveTimeout(f"the root shell of node {self.node} did not run our start-up line within {wait.seconds:g} s "
                                 f"(a shell other than sh, bash, dash or zsh as root's login shell?); it printed: {self.buffer.tail()!r}")
            if len(self.buffer.data) > PRELUDE_LIMIT:
                raise PveError(f"the terminal of node {self.node} printed more than {PRELUDE_LIMIT} bytes before the shell was ready")
        self.ready_at = time.monotonic()
        # Everything after the nonce line is ours (the tty is raw and silent now): drop banner and echo.
        found = self.buffer.line_after(self.buffer.find(ready))
        rest = bytes(self.buffer.data[found[1]:]) if found else b""
        self.buffer = OutputBuffer()
        self.buffer.feed(rest)

    def _loader(self) -> bytes:
        return base64.b64encode(loader(self.nonce, self.spool_dir))

    def _settle(self) -> None:
        """Let the banner finish before typing (bounded), so that ``login`` is less likely to flush our line.

        Not a correctness condition — the readiness nonce is — only a way to type at the right
        moment: after the first output, a pause of SETTLE_QUIET means the shell waits for input.
        """
        wait = Deadline(min(SETTLE_MAX, self.deadline.remaining()))
        while not wait.expired():
            piece = Deadline(min(SETTLE_QUIET, wait.remaining())) if self.buffer.data else wait
            try:
                if not self._receive(piece, "banner"):
                    raise _EarlyHangup(f"the terminal of node {self.node} closed right after opening")
            except PveTimeout:
                if self.buffer.data:
                    self._check_login_prompt()
                    break

    def _receive_or_quiet(self, wait: Deadline) -> bool:
        """Receive for a moment; when the output pauses, check whether it paused at a login prompt.

        Only a pause makes a prompt a prompt: "Last login: …" can end a frame too.
        """
        try:
            return self._receive(Deadline(max(0.01, min(QUIET, wait.remaining()))), "answer from the node shell")
        except PveTimeout:
            self._check_login_prompt()
            return True

    def _check_login_prompt(self) -> None:
        tail = _ANSI.sub(b"", bytes(self.buffer.data[-200:]))
        if _LOGIN_PROMPT.search(tail):
            raise LoginRequired(LOGIN_REQUIRED_MESSAGE + f" (connected as {self._session().user})")

    # ------------------------------------------------------------------ running a script

    def run(self, script: bytes, files: t.Sequence[bytes] = ()) -> None:
        """Send the loader, ``script`` and the input ``files`` (read by the script's ``rx`` calls in this order).

        Returns once the node reported STARTED: it has everything it needs.
        """
        encoded = base64.b64encode(script)
        self.send(go_record(self.nonce) + self._loader())
        self.wait_for(b"PVEOPS-LOADED-" + self.nonce.encode(), "the loader's start (the root shell did not run it)")
        self.send(b"%d\n" % len(encoded))
        for blob in (encoded,) + tuple(base64.b64encode(data) for data in files):
            self.upload(blob)
        self.wait_for(b"PVEOPS-STARTED-" + self.nonce.encode(), "the script's start")

    def send(self, data: bytes) -> None:
        """Send bytes the running script reads as they are (they count as in flight until the next acknowledgement)."""
        self._session().send(data)
        self._sent += len(data)

    def upload(self, blob: bytes) -> None:
        """One ``rx`` on the node: CHUNK-byte pieces of base64, each acknowledged, at most WINDOW unacknowledged."""
        for start in range(0, len(blob), CHUNK):
            piece = blob[start:start + CHUNK]
            while self._sent - self._acked + len(piece) > WINDOW:
                self._wait_for_ack()
            self.send(piece)
            self._ack_points.append(self._sent)

    def _wait_for_ack(self) -> None:
        wait = Deadline(min(START_TIMEOUT, self.deadline.remaining()))
        while not self._take_acks():
            self._check_failure()
            if wait.expired():
                raise PveTimeout(f"node {self.node} stopped taking the script's input: no acknowledgement within {wait.seconds:g} s "
                                 f"({self._acks} of {len(self._ack_points)} chunks confirmed); it printed: {self.buffer.tail()!r}")
            if not self._receive(Deadline(max(0.01, min(READ_PIECE, wait.remaining()))), "acknowledgement", quiet_ok=True):
                raise PveConnectionError(f"the terminal of node {self.node} closed while the script was sent "
                                         f"(after {self.age():.1f} s); it printed: {self.buffer.tail()!r}")

    def drop_through(self, marker: bytes) -> None:
        """Forget the output up to the end of the line with ``marker``, which says the node has read all input so far.

        (The request loop prints it when it waits for the next request: acknowledgements before it need not be counted.)
        """
        self._acks = len(self._ack_points)
        self._acked = self._sent
        index = self.buffer.find(marker)
        found = self.buffer.line_after(index) if index >= 0 else None
        rest = bytes(self.buffer.data[found[1]:]) if found else b""
        self.buffer = OutputBuffer()
        self.buffer.feed(rest)
        self._ack_scan = 0

    def _take_acks(self) -> bool:
        """Count new acknowledgements; True when at least one came."""
        found, self._ack_scan = self.buffer.count(b"PVEOPS-ACK-" + self.nonce.encode(), self._ack_scan)
        if not found:
            return False
        self._acks += found
        if self._acks > len(self._ack_points):
            raise PveError(f"node {self.node} acknowledged more input than was sent")
        self._acked = self._ack_points[self._acks - 1]
        return True

    def wait_for(self, marker: bytes, what: str, seconds: float = START_TIMEOUT) -> int:
        """Wait (at most ``seconds``) until ``marker`` arrived; returns its index."""
        wait = Deadline(min(seconds, self.deadline.remaining()))
        while True:
            index = self.buffer.find(marker)
            if index >= 0:
                return index
            self._check_failure()
            if wait.expired():
                raise PveTimeout(f"no sign of {what} on node {self.node} within {wait.seconds:g} s; it printed: {self.buffer.tail()!r}")
            if not self._receive(Deadline(max(0.01, min(READ_PIECE, wait.remaining()))), what, quiet_ok=True):
                raise PveConnectionError(f"the terminal of node {self.node} closed before {what} (after {self.age():.1f} s); "
                                         f"it printed: {self.buffer.tail()!r}")

    def _check_failure(self) -> None:
        """A failure the loader or the script reported."""
        index = self.buffer.find(b"PVEOPS-FAIL-" + self.nonce.encode())
        if index < 0:
            return
        found = self.buffer.line_after(index)
        if found is None:
            return
        reason = found[0].split()[-1].decode("ascii", "replace")
        if reason == "spool":
            raise PveError(f"node {self.node} could not create a private directory under {self.spool_dir} "
                           "(does it exist and is it writable? see the spool_dir option)")
        raise PveError(f"node {self.node} could not receive the {reason} (is base64 installed there?); it printed: {self.buffer.tail()!r}")

    # ------------------------------------------------------------------ traffic

    def _receive(self, deadline: Deadline, what: str, quiet_ok: bool = False) -> bool:
        """Read more output into the buffer; False once the connection closed.

        With ``quiet_ok`` a quiet moment is no error (the caller's own deadline decides).
        """
        try:
            chunk = self._session().read(deadline, what)
        except PveTimeout:
            if quiet_ok:
                return True
            raise
        if chunk is None:
            return False
        self.buffer.feed(chunk)
        return True

    def receive(self, deadline: Deadline, what: str) -> bool:
        """Read more output into the buffer (raises PveTimeout at ``deadline``); False once the connection closed."""
        return self._receive(deadline, what)

    def close(self) -> None:
        """Tell the node shell we are done (it has been waiting for us), then close the terminal."""
        session, self.session = self.session, None
        if session is None:
            return
        try:
            if self.ready_at:
                session.send(b"A")
        except PveError:
            pass
        session.close()


READ_PIECE = 0.5


class _EarlyHangup(PveConnectionError):
    """The terminal closed before anything but the start-up line was sent: safe to open another one."""
