# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Plain request/response objects passed between the HTTP server and the API layer."""
from __future__ import annotations

import io
import json
import socket
from dataclasses import dataclass, field
from email.message import Message
from typing import Any, Callable

from pvesim.errors import BODY_EMPTY, BODY_PLAIN, ApiError

JSON_CT = "application/json;charset=UTF-8"


@dataclass
class HttpRequest:
    """One parsed HTTP request; `path` is percent-decoded like AnyEvent.pm does before routing."""

    method: str
    path: str
    query: str
    headers: Message
    body: bytes
    peer: str
    started: float
    """time.monotonic() when the request line was read (the 3 s 401 delay counts from here, 1.1)."""
    body_complete: bool = True
    """False when the body was larger than the server was willing to read."""
    node: str | None = None
    """The node whose listener received the request (--node-listeners); None = the main listener (the first node)."""

    def header(self, name: str) -> str | None:
        """Case-insensitive header lookup."""
        value = self.headers.get(name)
        return None if value is None else str(value)


TakeOver = Callable[[socket.socket, io.BufferedIOBase, io.BufferedIOBase], None]


@dataclass
class HttpResponse:
    """What the server writes back; the server adds Date/Server/cache headers itself (2.1)."""

    status: int
    reason: str
    body: bytes = b""
    content_type: str | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    always_gzip: bool = False
    """The journal is always gzip-encoded, whatever Accept-Encoding says (3.10)."""
    stream: bool = False
    """Streamed downloads have no Content-Length; the connection closes after the body (3.10)."""
    not_before: float = 0.0
    """time.monotonic() before which the response must not be sent (401 delay, 1.1)."""
    takeover: TakeOver | None = None
    """For a 101 upgrade: called with (socket, rfile, wfile) after the headers were sent."""
    fault: str | None = None
    """An injected fault (faults.py): the request log names it; the server acts on `reset-*` and `truncate`."""


def json_response(payload: Any, status: int = 200, reason: str = "OK") -> HttpResponse:
    """Serialise `payload` compactly like Perl's JSON module (no spaces)."""
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return HttpResponse(status, reason, body, JSON_CT)


def error_response(err: ApiError) -> HttpResponse:
    """Render an ApiError in the body style it asks for (2.1, 1.6)."""
    if err.body == BODY_EMPTY:
        return HttpResponse(err.status, err.reason)
    if err.body == BODY_PLAIN:
        return HttpResponse(err.status, err.reason, err.message.encode("utf-8"))
    payload: dict[str, Any] = {"data": None}
    if err.errors:
        payload["errors"] = err.errors
    payload["message"] = err.message
    return json_response(payload, err.status, err.reason)
