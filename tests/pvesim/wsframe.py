# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""RFC 6455 framing as pveproxy's `websocket_proxy` does it (pve-protocol.md 4.3); pure, no I/O.

Server frames are binary (0x82), unfragmented and unmasked. Client frames must be masked, final and
without RSV bits, at most 128 KiB; anything else ends the connection (the proxy dies on it).
"""
from __future__ import annotations

import base64
import hashlib
import struct
from dataclasses import dataclass

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
MAX_PAYLOAD = 128 * 1024
"""pveproxy refuses larger client frames (4.3)."""

OP_CONTINUATION = 0x0
OP_TEXT = 0x1
OP_BINARY = 0x2
OP_CLOSE = 0x8
OP_PING = 0x9
OP_PONG = 0xA


class FrameError(Exception):
    """A client frame the proxy does not accept: the connection is dropped."""


@dataclass(frozen=True)
class Frame:
    """One decoded client frame (payload already unmasked)."""

    opcode: int
    payload: bytes


def accept_key(key: str) -> str:
    """`Sec-WebSocket-Accept` for a `Sec-WebSocket-Key`."""
    digest = hashlib.sha1((key.strip() + GUID).encode("latin-1")).digest()
    return base64.b64encode(digest).decode("ascii")


def encode(payload: bytes, opcode: int = OP_BINARY) -> bytes:
    """A final, unmasked server frame (binary unless told otherwise, e.g. pong)."""
    size = len(payload)
    if size < 126:
        head = struct.pack("!BB", 0x80 | opcode, size)
    elif size < 1 << 16:
        head = struct.pack("!BBH", 0x80 | opcode, 126, size)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 127, size)
    return head + payload


def _unmask(data: bytes, key: bytes) -> bytes:
    # XOR with the 4-byte key repeated; int arithmetic keeps it fast for 128 KiB payloads.
    if not data:
        return b""
    repeated = (key * (len(data) // 4 + 1))[:len(data)]
    value = int.from_bytes(data, "big") ^ int.from_bytes(repeated, "big")
    return value.to_bytes(len(data), "big")


class FrameReader:
    """Incremental client-frame decoder: feed() bytes as they arrive, get complete frames back."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[Frame]:
        """Decode every complete frame in the stream so far; raises FrameError on a forbidden frame."""
        self._buffer += data
        frames: list[Frame] = []
        while True:
            frame = self._next()
            if frame is None:
                return frames
            frames.append(frame)

    def _next(self) -> Frame | None:
        buf = self._buffer
        if len(buf) < 2:
            return None
        first, second = buf[0], buf[1]
        fin, rsv, opcode = first & 0x80, first & 0x70, first & 0x0F
        if rsv:
            raise FrameError("websocket frame with RSV bits set")
        if not fin or opcode == OP_CONTINUATION:
            raise FrameError("fragmented websocket frames are not supported")
        if opcode not in (OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG):
            raise FrameError(f"websocket frame with unknown opcode {opcode}")
        if not second & 0x80:
            raise FrameError("received unmasked websocket frame from client")
        size = second & 0x7F
        offset = 2
        if size == 126:
            if len(buf) < 4:
                return None
            size = struct.unpack_from("!H", buf, 2)[0]
            offset = 4
        elif size == 127:
            if len(buf) < 10:
                return None
            size = struct.unpack_from("!Q", buf, 2)[0]
            offset = 10
        if size > MAX_PAYLOAD:
            raise FrameError(f"websocket frame too large ({size} bytes)")
        if len(buf) < offset + 4 + size:
            return None
        key = bytes(buf[offset:offset + 4])
        payload = _unmask(bytes(buf[offset + 4:offset + 4 + size]), key)
        del buf[:offset + 4 + size]
        return Frame(opcode, payload)
