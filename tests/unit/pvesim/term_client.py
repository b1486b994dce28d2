# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A bare websocket-client terminal for the simulator's own tests (not the collection's client)."""
from __future__ import annotations

import os
import re
import shutil
import time
from typing import Any
from urllib.parse import quote

import pytest
import websocket

from pvesim_client import Api


NEEDS_BWRAP = pytest.mark.skipif(shutil.which("bwrap") is None or os.geteuid() != 0,
                                 reason="containers need bubblewrap (apt-get install bubblewrap) and a simulator running as root")
"""For tests that run commands in containers (the simulator refuses to without isolation, and needs root for them)."""


def _satisfied(done: Any, data: bytes) -> bool:
    """`done` is a predicate, a bytes needle or a compiled bytes regex."""
    if isinstance(done, bytes):
        return done in data
    if isinstance(done, re.Pattern):
        return done.search(data) is not None
    return bool(done(data))


class Term:
    """POST termproxy, upgrade, optionally authenticate; then raw reads and writes with deadlines."""

    def __init__(self, api: Api, path: str = "/nodes/pve1", data: dict[str, Any] | None = None) -> None:
        self.api = api
        self.path = path
        response = api.post(f"{path}/termproxy", data=data or {})
        assert response.status_code == 200, (response.status_code, response.reason, response.text)
        self.info: dict[str, Any] = response.json()["data"]
        self.ws: Any = None
        self.output = b""
        self.closed = False
        self.close_frame = False

    @property
    def upid(self) -> str:
        """The vncshell/vncproxy task."""
        return str(self.info["upid"])

    def url(self, ticket: str | None = None, port: int | None = None) -> str:
        """The wss:// vncwebsocket URL (ticket percent-encoded, as the UI does)."""
        base = self.api.url.replace("https://", "wss://")
        port = self.info["port"] if port is None else port
        ticket = self.info["ticket"] if ticket is None else ticket
        return f"{base}/api2/json{self.path}/vncwebsocket?port={port}&vncticket={quote(ticket, safe='')}"

    def auth_headers(self) -> list[str]:
        """The API credentials of the Api client as websocket handshake headers."""
        headers = []
        cookie = self.api.session.cookies.get("PVEAuthCookie")
        if cookie:
            headers.append(f"Cookie: PVEAuthCookie={cookie}")
        if "Authorization" in self.api.session.headers:
            headers.append(f"Authorization: {self.api.session.headers['Authorization']}")
        return headers

    def connect(self, subprotocols: list[str] | None = None, **kwargs: Any) -> Term:
        """Open the websocket (raises WebSocketBadStatusException on a refused upgrade)."""
        ws = websocket.WebSocket(sslopt={"ca_certs": self.api.sim.ca_path}, skip_utf8_validation=True)
        ws.connect(self.url(**kwargs), header=self.auth_headers(), subprotocols=subprotocols or ["binary"], timeout=10)
        self.ws = ws
        return self

    def login(self, authid: str | None = None, ticket: str | None = None) -> bytes:
        """Send the auth line and return what came with or after `OK` within a short wait."""
        self.send_raw(f"{authid or self.info['user']}:{ticket or self.info['ticket']}\n".encode())
        first = self.read_until(lambda data: len(data) >= 2, 10)
        assert first[:2] == b"OK", first[:100]
        return first[2:]

    def send_raw(self, data: bytes) -> None:
        """One binary frame, as is."""
        self.ws.send_binary(data)

    def type(self, data: bytes | str) -> None:
        """Terminal input as one `0:<len>:<data>` message."""
        raw = data.encode() if isinstance(data, str) else data
        self.send_raw(b"0:%d:" % len(raw) + raw)

    def resize(self, cols: int, rows: int) -> None:
        """`1:<cols>:<rows>:`."""
        self.send_raw(b"1:%d:%d:" % (cols, rows))

    def _recv(self, timeout: float) -> bool:
        """One frame into `output`; False on timeout or once closed."""
        if self.closed:
            return False
        self.ws.settimeout(max(timeout, 0.01))
        try:
            opcode, data = self.ws.recv_data(control_frame=True)
        except websocket.WebSocketTimeoutException:
            return False
        except (websocket.WebSocketConnectionClosedException, ConnectionError, OSError):
            self.closed = True
            return False
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            self.close_frame = self.closed = True
            return False
        if opcode == websocket.ABNF.OPCODE_BINARY:
            self.output += data
        return True

    def read_until(self, done: Any, timeout: float = 10.0) -> bytes:
        """Read until `done(output)` (or a bytes/regex pattern found) or the deadline; returns the output so far."""
        deadline = time.monotonic() + timeout
        while not _satisfied(done, self.output) and time.monotonic() < deadline:
            if not self._recv(deadline - time.monotonic()) and self.closed:
                break
        return self.output

    def read_to_end(self, timeout: float = 10.0) -> bytes:
        """Read until the server closes the connection (bounded)."""
        deadline = time.monotonic() + timeout
        while not self.closed and time.monotonic() < deadline:
            self._recv(deadline - time.monotonic())
        return self.output

    def close(self) -> None:
        """Send a Close frame and drop the connection."""
        if self.ws is not None:
            try:
                self.ws.close(timeout=1)
            except (websocket.WebSocketException, OSError):
                pass
            self.ws = None

    def __enter__(self) -> Term:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
