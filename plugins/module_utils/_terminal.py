# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""A node terminal over the API: ``POST …/termproxy``, then the ``vncwebsocket`` (pve-protocol.md §4).

The session authenticates with ``authid:ticket\\n``, treats the first two bytes ``OK`` as the
go-ahead even when output shares their frame (§4.4 step 4), sends the keepalive during long
waits and bounds every wait and every send by the operation's deadline. Frame boundaries carry
no meaning; callers get a byte stream.

Input framing. termproxy does not see websocket frames: pveproxy writes every frame's payload to
one TCP connection, and termproxy reads that stream into a 4096-byte buffer, parsing
``0:LEN:DATA`` messages with a parser that loses a header cut by the end of the buffer (audit #5,
termproxy main.rs ``process_queue``/``remove_number``). So every message after the ticket line is
exactly ``BLOCK`` bytes — the message, padded with ``2`` bytes, which termproxy skips one by one as
keepalives — and every data header has the same width (``0:0042:``; Rust's ``parse`` takes the
leading zeros). Two blocks fill the buffer exactly, so a full buffer ends at the same offset within
a block as it starts; the start is at a block's beginning, past a header, or on the last padding
byte termproxy keeps, and with headers of one width the end is never inside one. (The other half
of the fix, never having more in flight than the localhost connection holds, is the node shell's
acknowledged upload in ``_nodeshell.py``.) This layer knows nothing about commands; ``_exec.py`` does.
"""

from __future__ import annotations

import dataclasses
import socket
import time
import typing as t
from urllib.parse import quote

from ansible_collections.pveops.proxmox.plugins.module_utils._api import ApiClient, api_path
from ansible_collections.pveops.proxmox.plugins.module_utils._config import ConnectionConfig
from ansible_collections.pveops.proxmox.plugins.module_utils._errors import AuthError, PermissionDenied, PveConnectionError, PveError, PveTimeout
from ansible_collections.pveops.proxmox.plugins.module_utils._tasks import Deadline
from ansible_collections.pveops.proxmox.plugins.module_utils._tls import open_socket
from ansible_collections.pveops.proxmox.plugins.module_utils._wsread import FrameError, FrameReader, payload_bytes

try:
    import websocket  # websocket-client

    HAS_WEBSOCKET = True
    WEBSOCKET_IMPORT_ERROR: ImportError | None = None
except ImportError as exc:  # pragma: no cover - exercised only where websocket-client is missing
    HAS_WEBSOCKET = False
    WEBSOCKET_IMPORT_ERROR = exc

BLOCK = 2048
"""Size of every websocket message after the ticket line; termproxy's buffer holds exactly two."""
HEADER = b"0:%04d:"
"""Every data header is this wide (7 bytes), whatever its length."""
DATA_PER_BLOCK = BLOCK - len(HEADER % 0)
"""Payload bytes in a full data block (its header is ``0:2041:``)."""
KEEPALIVE = b"2" * BLOCK
KEEPALIVE_EVERY = 25.0  # the browser client sends "2" every 30 s
READ_SLICE = 0.5  # longest single blocking read; keeps keepalives and deadlines honest
MIN_SEND_TIMEOUT = 1.0


class LoginRequired(PveError):
    """The node offered a ``login:`` prompt instead of a root shell."""


def pad_block(message: bytes) -> bytes:
    """One message padded to exactly BLOCK bytes with ``2`` (skipped by termproxy like a keepalive)."""
    if len(message) > BLOCK:
        raise ValueError(f"a terminal message of {len(message)} bytes does not fit a block of {BLOCK}")
    return message + b"2" * (BLOCK - len(message))


def frame_input(data: bytes) -> list[bytes]:
    """``data`` as ``0:LEN:DATA`` messages, each padded to one block (see the module docstring)."""
    return [pad_block(HEADER % len(data[start:start + DATA_PER_BLOCK]) + data[start:start + DATA_PER_BLOCK])
            for start in range(0, len(data), DATA_PER_BLOCK)]


def resize_message(cols: int, rows: int) -> bytes:
    """``1:COLS:ROWS:`` — columns first (§4.4), padded to one block."""
    return pad_block(b"1:%d:%d:" % (cols, rows))


LOGIN_REQUIRED_MESSAGE = (
    "command execution needs a root@pam password login: Proxmox VE gives a root shell on the node terminal only to a "
    "root@pam ticket; API tokens and every other user get a login: prompt instead (pve-manager's get_shell_command). "
    "Set api_user: root@pam and api_password"
)


def has_root_login(client: ApiClient) -> bool:
    """Whether a root@pam ticket (the only identity that gets a root shell) is configured."""
    return root_login_configured(client.config)


def root_login_configured(config: ConnectionConfig) -> bool:
    """Whether ``config`` has a root@pam password (the only login Proxmox VE gives a root shell on the node terminal)."""
    return config.user == "root@pam" and bool(config.password)


def terminal_client(client: ApiClient) -> ApiClient:
    """The client that opens terminals.

    With both an API token and a root@pam password configured, API calls use the token and
    only terminals log in with the password: the token cannot get a shell (§4.5). That password
    client lives as long as ``client``, so a module run logs in once (audit #20).
    """
    config = client.config
    if config.uses_token and has_root_login(client):
        return client.derived("terminal", dataclasses.replace(config, token_id=None, token_secret=None))
    return client


class TerminalSession:
    """One termproxy session on ``node``; use as a context manager."""

    def __init__(self, client: ApiClient, node: str, deadline: Deadline, cols: int = 500, rows: int = 50) -> None:
        if not HAS_WEBSOCKET:
            raise PveError(f"the Python library 'websocket-client' is required for command execution: {WEBSOCKET_IMPORT_ERROR}")
        self.client = terminal_client(client)
        self.node = node
        self.deadline = deadline
        self.cols = cols
        self.rows = rows
        self.user = ""
        self.upid = ""
        self.opened_at = 0.0
        self._ws: t.Any = None
        self._reader: FrameReader | None = None
        self._last_sent = 0.0
        self._pending = b""  # output that arrived in the frame carrying "OK"

    def __enter__(self) -> TerminalSession:
        self.open()
        return self

    def __exit__(self, *exc_info: t.Any) -> None:
        self.close()

    # ------------------------------------------------------------------ opening

    def open(self) -> None:
        """Create the termproxy, connect the websocket, authenticate and wait for ``OK``.

        On any failure everything opened so far is closed again.
        """
        try:
            self._open()
        except BaseException:
            self.close()
            raise

    def _open(self) -> None:
        answer = self.client.post(api_path("nodes", self.node, "termproxy"), idempotent=True)  # an unused termproxy exits by itself
        if not isinstance(answer, dict) or "ticket" not in answer or "port" not in answer:
            raise PveError(f"termproxy on node {self.node} returned no ticket/port")
        self.user = str(answer.get("user") or self.client.authid)
        self.upid = str(answer.get("upid") or "")
        port = int(answer["port"])  # an integer, or a string on some versions (§2.2)
        ticket = str(answer["ticket"])
        # The VNC ticket lives 40 s and must reach the websocket of the same authid (§4.1, §4.3).
        path = api_path("nodes", self.node, "vncwebsocket")
        url = (self.client.config.base_url.replace("https://", "wss://", 1).replace("http://", "ws://", 1)
               + "/api2/json" + path + f"?port={port}&vncticket={quote(ticket, safe='')}")
        timeout = min(10.0, max(0.5, self.deadline.remaining()))
        sock = open_socket(self.client.config, timeout)
        ws = websocket.WebSocket(skip_utf8_validation=True)
        headers = [f"{key}: {value}" for key, value in self.client.auth_headers().items()]
        try:
            ws.connect(url, header=headers, subprotocols=["binary"], socket=sock, timeout=timeout)
        except websocket.WebSocketBadStatusException as exc:
            sock.close()
            status = int(getattr(exc, "status_code", 0) or 0)
            text = f"websocket upgrade for the terminal of node {self.node} refused with HTTP {status}"
            if status == 401:
                raise AuthError(status, "GET", path, text) from None
            if status == 403:
                raise PermissionDenied(status, "GET", path, text + " (Sys.Console on /nodes/" + self.node + " is needed)") from None
            raise PveConnectionError(text) from None
        except (websocket.WebSocketException, OSError) as exc:
            sock.close()
            raise PveConnectionError(f"websocket to the terminal of node {self.node} failed: {exc}") from None
        self._ws = ws
        self._reader = FrameReader(sock)  # the socket the library now speaks websocket on
        self.opened_at = time.monotonic()
        self._send_raw(f"{self.user}:{ticket}\n".encode())
        received = b""
        while len(received) < 2:
            chunk = self._recv(self.deadline, what="the terminal's OK")
            if chunk is None:
                raise PveConnectionError(f"termproxy on node {self.node} closed the connection instead of answering OK "
                                         "(the VNC ticket was refused or expired)")
            received += chunk
        if received[:2] != b"OK":
            raise PveConnectionError(f"termproxy on node {self.node} answered {received[:40]!r} instead of OK")
        self._pending = received[2:]
        self._send_raw(resize_message(self.cols, self.rows))

    # ------------------------------------------------------------------ traffic

    def _send_raw(self, message: bytes) -> None:
        # A send may wait for the peer as long as the operation may: the socket's timeout was last set
        # by a read, often to a few milliseconds, and a TCP stall longer than that is no failure (audit #2).
        if self._reader is not None:
            self._reader.sock.settimeout(max(MIN_SEND_TIMEOUT, self.deadline.remaining()))
        try:
            self._ws.send_binary(message)
        except (websocket.WebSocketTimeoutException, TimeoutError):
            raise PveTimeout(f"the terminal of node {self.node} took no input for {self.deadline.seconds:g} s") from None
        except (websocket.WebSocketException, OSError) as exc:
            raise PveConnectionError(f"terminal connection to node {self.node} lost after {self.age():.1f} s: {exc}") from None
        self._last_sent = time.monotonic()

    def send(self, data: bytes) -> None:
        """Type ``data`` into the terminal."""
        for message in frame_input(data):
            self._send_raw(message)

    def age(self) -> float:
        """Seconds since the websocket opened."""
        return time.monotonic() - self.opened_at if self.opened_at else 0.0

    def _recv(self, deadline: Deadline, what: str) -> bytes | None:
        """Output that arrived (all complete frames); ``None`` when the peer closed. Raises PveTimeout at the deadline."""
        while True:
            if deadline.expired():
                raise PveTimeout(f"no {what} from node {self.node} within {deadline.seconds:g} s")
            if time.monotonic() - self._last_sent > KEEPALIVE_EVERY:
                self._send_raw(KEEPALIVE)
            reader = self._reader
            if reader is None:
                return None
            try:
                frames = reader.read(max(0.01, min(READ_SLICE, deadline.remaining())))
            except (TimeoutError, socket.timeout):  # the same class only from Python 3.10 on (audit #24)
                continue
            except (ConnectionError, EOFError):
                return None
            except (FrameError, OSError) as exc:
                raise PveConnectionError(f"terminal connection to node {self.node} failed after {self.age():.1f} s: {exc}") from None
            if frames is None:
                return None
            data, closed, pings = payload_bytes(frames)
            for payload in pings:
                self._ws.pong(payload)
            if closed:
                return data or None
            if data:
                return data

    def quiet(self) -> bool:
        """Open, with nothing arrived since the last read: what a terminal whose shell waits for input looks like.

        A terminal closed by the other side while nobody read it (pveproxy restarted, the node rebooted, a
        dropped connection) is readable (its end of stream), so it is not quiet.
        """
        return self._ws is not None and self._reader is not None and not self._pending and self._reader.idle()

    def read(self, deadline: Deadline, what: str = "output") -> bytes | None:
        """Next output bytes (whatever arrived), ``None`` once the connection is closed."""
        if self._pending:
            pending, self._pending = self._pending, b""
            return pending
        return self._recv(deadline, what)

    def close(self) -> None:
        """Close our side: termproxy sees EOF, ends the shell and its task with OK (§4.4 step 8)."""
        ws, self._ws = self._ws, None
        self._reader = None
        if ws is None:
            return
        try:
            ws.send_close()
        except (websocket.WebSocketException, OSError):
            pass
        try:
            ws.shutdown()
        except (websocket.WebSocketException, OSError):
            pass
