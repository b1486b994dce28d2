# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""HTTPS server: HTTP/1.1 keep-alive, request reading and response writing like pveproxy (2.1)."""
from __future__ import annotations

import gzip
import re
import socket
import ssl
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import unquote, urlsplit

from pvesim.faults import RESETS
from pvesim.httpmsg import HttpRequest, HttpResponse

SERVER_NAME = "pve-api-daemon/3.0"
IDLE_TIMEOUT = 30.0
"""Idle keep-alive connections are closed after this many seconds."""
HANDSHAKE_TIMEOUT = 10.0
DRAIN_LIMIT = 8 * 1024 * 1024
"""Bodies up to this size are read (even when refused) so the client sees the answer, not a reset."""
GZIP_MIN = 1024
TLS_HANDSHAKE = b"\x16"
"""The first byte of a TLS ClientHello record."""
"""pveproxy compresses bodies over 1 KiB when the client accepts gzip (2.1)."""

Dispatch = Callable[[HttpRequest], HttpResponse]


class ApiServer(ThreadingHTTPServer):
    """TLS is negotiated in the connection's own thread, so a slow client never blocks accept()."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = socket.SOMAXCONN  # benchmarks open many connections at once

    def __init__(self, host: str, port: int, tls: ssl.SSLContext, dispatch: Dispatch, stop_event: threading.Event,
                 node: str | None = None) -> None:
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.node = node
        """The node that answers on this listener (None: the main listener, the first node)."""
        self.tls = tls
        self.dispatch = dispatch
        self.stop_event = stop_event
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._conn_threads: set[threading.Thread] = set()
        super().__init__((host, port), RequestHandler)

    def process_request(self, request: Any, client_address: Any) -> None:
        """One thread per connection, tracked so stop() can end and join them."""
        thread = threading.Thread(target=self._serve_connection, args=(request, client_address), name="pvesim-conn", daemon=True)
        with self._lock:
            self._conn_threads.add(thread)
        thread.start()

    def _serve_connection(self, request: socket.socket, client_address: Any) -> None:
        try:
            request.settimeout(HANDSHAKE_TIMEOUT)
            # Like pveproxy: no Nagle delay on small responses.
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            first = request.recv(1, socket.MSG_PEEK)
            if first and first != TLS_HANDSHAKE:
                self._redirect_plain_http(request, client_address)
                return
            conn = self.tls.wrap_socket(request, server_side=True)
        except (OSError, ValueError):
            request.close()
            self._forget(None)
            return
        with self._lock:
            self._connections.add(conn)
        try:
            RequestHandler(conn, client_address, self)
        except (OSError, ValueError):
            pass  # client went away; nothing to answer
        finally:
            self._forget(conn)
            conn.close()

    def _redirect_plain_http(self, request: socket.socket, client_address: Any) -> None:
        """Plain HTTP on the TLS port: answer it with a redirect to https, then disconnect, as pveproxy does.

        pveproxy reads with `tls_autostart`, which starts TLS only when the first bytes are a
        handshake (AnyEvent.pm accept_connections); a plain request is read and then answered by
        `ensure_tls_connection` (AnyEvent.pm:1502-1535): 301 for GET/HEAD, 308 otherwise, with
        `Location: https://<Host><uri>`, before authentication, and the client is disconnected.
        """
        try:
            PlainHttpRedirect(request, client_address, self)
        except (OSError, ValueError):
            pass
        finally:
            self._forget(None)
            request.close()

    def _forget(self, conn: socket.socket | None) -> None:
        with self._lock:
            if conn is not None:
                self._connections.discard(conn)
            self._conn_threads.discard(threading.current_thread())

    def stop(self, timeout: float = 5.0) -> None:
        """Stop accepting, cut open connections, wait (bounded) for their threads."""
        self.shutdown()
        self.server_close()
        with self._lock:
            connections = list(self._connections)
            threads = list(self._conn_threads)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        deadline = time.monotonic() + timeout
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))


class RequestHandler(BaseHTTPRequestHandler):
    """Reads one request at a time from a keep-alive connection and hands it to the dispatcher."""

    protocol_version = "HTTP/1.1"
    timeout = IDLE_TIMEOUT
    server: ApiServer

    def version_string(self) -> str:
        """The `Server` header value of PVE's API daemons."""
        return SERVER_NAME

    def log_message(self, *args: Any) -> None:
        """Quiet: diagnostics only on request (the request log is separate)."""

    def handle_one_request(self) -> None:
        """Read the request line, headers and body; dispatch; write the answer."""
        try:
            self.raw_requestline = self.rfile.readline(65537)
        except (OSError, ValueError):
            self.close_connection = True
            return
        if not self.raw_requestline:
            self.close_connection = True
            return
        started = time.monotonic()
        if len(self.raw_requestline) > 65536:
            self.send_error(414)
            return
        if not self.parse_request():
            return
        self._serve(started)

    def _serve(self, started: float) -> None:
        transfer = self.headers.get("Transfer-Encoding")
        if transfer:
            text = "chunked transfer encoding not supported" if transfer.lower() == "chunked" else f"Unknown transfer encoding '{transfer}'"
            self.close_connection = True
            self._write(HttpResponse(501, text, text.encode()), None)
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0:
            self.close_connection = True
            self._write(HttpResponse(400, "bad request", b"bad request"), None)
            return
        body, complete = b"", True
        if length > DRAIN_LIMIT:
            complete = False
            self.close_connection = True
        elif length:
            body = self.rfile.read(length)
        target = urlsplit(self.path)
        req = HttpRequest(
            method=self.command, path=unquote(target.path), query=target.query, headers=self.headers,
            body=body, peer=str(self.client_address[0]), started=started, body_complete=complete, node=self.server.node,
        )
        self._write(self.server.dispatch(req), req)

    def _write(self, resp: HttpResponse, req: HttpRequest | None) -> None:
        wait = resp.not_before - time.monotonic()
        if wait > 0:
            self.server.stop_event.wait(wait)
        if resp.fault in RESETS:
            # Injected: the connection dies without a byte of answer (the request may have run, faults.py).
            self._lose_connection(reset=True)
            return
        body = resp.body
        encoding = "gzip" if resp.always_gzip else None
        accepts = req is not None and "gzip" in (req.header("Accept-Encoding") or "")
        if encoding is None and accepts and len(body) > GZIP_MIN and not resp.stream:
            body, encoding = gzip.compress(body), "gzip"
        # Keep-alive only for successes; the real server always closes after status >= 400 (2.1).
        keep = not self.close_connection and resp.status < 400 and not resp.stream and resp.takeover is None
        date = self.date_time_string()
        headers = [("Server", SERVER_NAME), ("Date", date), ("Expires", date), ("Cache-Control", "max-age=0"), ("Pragma", "no-cache")]
        if resp.takeover is not None:
            # pveproxy's 101 carries only the websocket headers (AnyEvent.pm `websocket_proxy`, 4.3).
            headers = []
        headers += resp.headers
        if resp.content_type:
            headers.append(("Content-Type", resp.content_type))
        if encoding:
            headers.append(("Content-Encoding", encoding))
        if body and not resp.stream:
            headers.append(("Content-Length", str(len(body))))
        if resp.takeover is None:
            headers.append(("Connection", "Keep-Alive" if keep else "close"))
        head = [f"{self.protocol_version} {resp.status} {_reason(resp.reason)}"] + [f"{name}: {value}" for name, value in headers]
        # Headers and body leave in one write (no extra round trip for small answers).
        payload = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1", "replace")
        if resp.fault == "truncate":
            # Injected: the headers (with the full Content-Length), half the body, then the connection is gone.
            # Without a body there is nothing to cut, so the header block itself is cut.
            sent = body if self.command != "HEAD" else b""
            payload = payload + sent[:len(sent) // 2] if sent else payload[:len(payload) // 2]
            self.wfile.write(payload)
            self._lose_connection(reset=False)
            return
        if body and self.command != "HEAD":
            payload += body
        self.wfile.write(payload)
        self.wfile.flush()
        if not keep:
            self.close_connection = True
        if resp.takeover is not None:
            # Extension point for the websocket/terminal part: the handler owns the socket from here on.
            resp.takeover(self.connection, self.rfile, self.wfile)

    def _lose_connection(self, reset: bool) -> None:
        """End the connection the way a crash or a network failure does: no TLS close_notify.

        reset: an abortive close (SO_LINGER 0: the kernel sends a TCP RST when the socket is closed);
        otherwise a plain TCP shutdown (FIN) after what was written, which therefore still arrives.
        """
        self.close_connection = True
        try:
            if reset:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            else:
                self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class PlainHttpRedirect(BaseHTTPRequestHandler):
    """Answers one plain-HTTP request on the TLS port with pveproxy's redirect (see ApiServer._redirect_plain_http)."""

    protocol_version = "HTTP/1.1"
    timeout = HANDSHAKE_TIMEOUT
    server: ApiServer

    def version_string(self) -> str:
        """The `Server` header value of PVE's API daemons."""
        return SERVER_NAME

    def log_message(self, *args: Any) -> None:
        """Quiet, like RequestHandler."""

    def handle_one_request(self) -> None:
        """Read the request (its body too, as pveproxy buffers it), answer 301/308, close."""
        self.close_connection = True
        self.raw_requestline = self.rfile.readline(65537)
        if not self.raw_requestline or not self.parse_request():
            return
        self.close_connection = True  # parse_request() keeps HTTP/1.1 connections open; this one is answered once
        host = self.headers.get("Host")
        if not host:
            # ensure_tls_connection dies before answering: "Header field 'Host' not found in request".
            return
        try:
            length = min(int(self.headers.get("Content-Length") or 0), DRAIN_LIMIT)
        except ValueError:
            length = 0
        if length > 0:
            self.rfile.read(length)
        status, reason = (301, "Moved Permanently") if self.command in ("GET", "HEAD") else (308, "Permanent Redirect")
        location = "https://" + re.sub(r"^https?://", "", str(host)) + self.path
        body = reason.encode()  # error() writes the message as the body
        date = self.date_time_string()
        head = [f"{self.protocol_version} {status} {reason}", f"Location: {location}", f"Date: {date}", f"Expires: {date}",
                "Cache-Control: max-age=0", "Pragma: no-cache", f"Server: {SERVER_NAME}", f"Content-Length: {len(body)}",
                "Connection: close"]
        self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1", "replace") + (body if self.command != "HEAD" else b""))
        self.wfile.flush()


def _reason(text: str) -> str:
    """First line only, no CR/LF, latin-1 safe (the server refuses CR/LF in reason phrases, 2.1)."""
    line = (text.splitlines() or [""])[0]
    return line.encode("latin-1", "replace").decode("latin-1")
