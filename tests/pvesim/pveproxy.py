# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""pveproxy's two buffers in a terminal session, as pure data structures (pve-fidelity-audit.md S2, S3, #1, #15).

pveproxy's `websocket_proxy` (pve-http-server src/PVE/APIServer/AnyEvent.pm:536-732) connects two
AnyEvent::Handles and never stops reading either side ("todo: use stop_read/start_read if write
buffer grows to much", :703):

* toward termproxy (`proxyhdl`, :584-605): every client text/binary frame payload is
  `push_write`n as it is (:674-675), so payloads run together into one byte stream. The handle
  writes what the localhost TCP socket takes; the rest waits in its write buffer.
  `wbuf_max => $max_payload_size * 5` (640 KiB, :587) is checked by AnyEvent::Handle only in
  `_drain_wbuf` when no write was pending, right after the immediate write attempt
  (libanyevent-perl 7.170 AnyEvent/Handle.pm:941-978: the check sits inside `if (!$self->{_ww} ...)`);
  once a write is pending, further push_writes append unchecked. Since one payload is at most
  128 KiB, the limit cannot fire here: the buffer grows without bound while termproxy lags.
* toward the client (`hdl`, created at :1975-1979): no `wbuf_max`, `linger => 0`. When termproxy's
  socket ends, `client_do_disconnect` (:137-180) shuts the client down and the handle is destroyed;
  with linger 0, `DESTROY` drops whatever the kernel had not accepted yet (Handle.pm:2277-2303).
"""
from __future__ import annotations

from collections import deque

MAX_PAYLOAD = 128 * 1024
"""`$max_payload_size` (AnyEvent.pm:544)."""
WBUF_MAX = 5 * MAX_PAYLOAD
"""proxyhdl's `wbuf_max` (AnyEvent.pm:587)."""
SOCKET_BYTES = 131072
"""Default capacity of the pveproxy->termproxy localhost connection (send plus receive buffer)."""


class WriteBufferFull(Exception):
    """AnyEvent::Handle's fatal `ENOSPC` error ("No space left on device")."""


class TermproxyConnection:
    """pveproxy's handle toward termproxy: its write buffer and the localhost socket under it.

    `socket` is what the kernel holds between the two processes (termproxy reads from its front);
    `wbuf` is what pveproxy could not write yet.
    """

    def __init__(self, capacity: int = SOCKET_BYTES, wbuf_max: int = WBUF_MAX) -> None:
        if capacity < 1:
            raise ValueError(f"socket capacity must be at least 1 byte, got {capacity}")
        self.capacity = capacity
        self.wbuf_max = wbuf_max
        self.wbuf = bytearray()
        self.socket = bytearray()
        self.pushed = 0
        """Payload bytes received from the client so far."""

    def push_write(self, payload: bytes) -> None:
        """`push_write` + `_drain_wbuf`: written at once if nothing is pending, and only then checked against wbuf_max."""
        self.pushed += len(payload)
        idle = not self.wbuf
        self.wbuf += payload
        if idle:
            self.drain()
            if len(self.wbuf) > self.wbuf_max:
                raise WriteBufferFull("No space left on device")

    def drain(self) -> int:
        """The write watcher: move what fits from the write buffer into the socket; returns the count."""
        count = min(len(self.wbuf), self.capacity - len(self.socket))
        if count > 0:
            self.socket += self.wbuf[:count]
            del self.wbuf[:count]
            return count
        return 0

    def drop_pending(self) -> int:
        """The handle is destroyed after a shutdown: the unwritten buffer is lost (what is in the socket still arrives)."""
        count = len(self.wbuf)
        self.wbuf.clear()
        return count

    @property
    def in_flight(self) -> int:
        """Bytes pveproxy received from the client that termproxy has not read yet."""
        return len(self.wbuf) + len(self.socket)


class ClientQueue:
    """pveproxy's client handle write buffer: unbounded, read from the front in slices, dropped at disconnect."""

    def __init__(self) -> None:
        self._chunks: deque[bytes] = deque()
        self._offset = 0
        self.size = 0

    def push(self, data: bytes) -> None:
        """Append bytes (a whole websocket frame)."""
        if data:
            self._chunks.append(data)
            self.size += len(data)

    def peek(self, limit: int) -> bytes:
        """Up to `limit` bytes from the front, without removing them."""
        parts: list[bytes] = []
        wanted = limit
        offset = self._offset
        for chunk in self._chunks:
            piece = chunk[offset:offset + wanted]
            parts.append(piece)
            wanted -= len(piece)
            offset = 0
            if wanted <= 0:
                break
        return b"".join(parts)

    def consume(self, count: int) -> None:
        """Remove `count` bytes from the front (what the socket accepted)."""
        self.size -= count
        while count > 0:
            head = self._chunks[0]
            rest = len(head) - self._offset
            if count < rest:
                self._offset += count
                return
            count -= rest
            self._chunks.popleft()
            self._offset = 0

    def discard(self) -> int:
        """linger 0: everything not yet accepted by the socket is gone; returns the byte count."""
        count = self.size
        self._chunks.clear()
        self._offset = 0
        self.size = 0
        return count

    def __bool__(self) -> bool:
        return self.size > 0
