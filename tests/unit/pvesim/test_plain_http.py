# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Plain HTTP on the TLS port: pveproxy's redirect to https (AnyEvent.pm ensure_tls_connection), then a disconnect."""
from __future__ import annotations

import socket
from urllib.parse import urlsplit

import pytest

from pvesim.harness import SimProcess
from pvesim_client import Api


def plain_http(sim: SimProcess, request: bytes) -> bytes:
    """Send ``request`` unencrypted and read until the server closes (bounded by the socket timeout)."""
    parts = urlsplit(sim.url)
    answer = b""
    with socket.create_connection((str(parts.hostname), int(parts.port or 0)), timeout=30) as conn:
        conn.sendall(request)
        for _read in range(1000):
            chunk = conn.recv(65536)
            if not chunk:
                break
            answer += chunk
    return answer


@pytest.mark.parametrize(("method", "status", "reason"), [("GET", 301, "Moved Permanently"), ("POST", 308, "Permanent Redirect")])
def test_plain_request_is_redirected_to_https_and_disconnected(sim: SimProcess, method: str, status: int, reason: str) -> None:
    host = urlsplit(sim.url).netloc
    body = b"username=root%40pam&password=x" if method == "POST" else b""
    request = (f"{method} /api2/json/access/ticket HTTP/1.1\r\nHost: {host}\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body
    answer = plain_http(sim, request)  # returns only because the server disconnects
    head, _sep, content = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    assert lines[0] == f"HTTP/1.1 {status} {reason}"
    assert f"Location: https://{host}/api2/json/access/ticket" in lines
    assert "Connection: close" in lines and content == reason.encode()


def test_https_still_works_next_to_it(sim: SimProcess) -> None:
    assert Api(sim, "token").get("/version").status_code == 200
