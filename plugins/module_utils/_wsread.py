# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Reading the terminal websocket's server frames in bulk (RFC 6455 §5.2).

websocket-client reads one frame per call with several small socket reads; pveproxy sends one
frame per termproxy read, often a few KiB (pve-protocol.md §4.3), so 50 MB of output means tens
of thousands of frames. After the library's handshake, the terminal reads the socket itself
in large chunks and decodes every complete frame in them. Sending stays with the library
(client frames must be masked).
"""

from __future__ import annotations

import select
import socket
import struct
import typing as t

OPCODE_CONTINUATION = 0x0
OPCODE_TEXT = 0x1
OPCODE_BINARY = 0x2
OPCODE_CLOSE = 0x8
OPCODE_PING = 0x9
OPCODE_PONG = 0xA
READ_SIZE = 256 * 1024


class FrameError(Exception):
    """The byte stream is not a valid sequence of websocket frames."""


def decode_frames(buffer: bytearray) -> tuple[list[tuple[int, bytes]], int]:
    """Every complete frame at the start of ``buffer`` as ``(opcode, payload)`` and the bytes they used."""
    frames: list[tuple[int, bytes]] = []
    position = 0
    size = len(buffer)
    while size - position >= 2:
        first, second = buffer[position], buffer[position + 1]
        if first & 0x70:
            raise FrameError("reserved bits set in a server frame")
        length = second & 0x7F
        header = 2
        if length == 126:
            if size - position < 4:
                break
            length = struct.unpack_from("!H", buffer, position + 2)[0]
            header = 4
        elif length == 127:
            if size - position < 10:
                break
            length = struct.unpack_from("!Q", buffer, position + 2)[0]
            header = 10
        masked = bool(second & 0x80)
        key_start = position + header
        data_start = key_start + (4 if masked else 0)
        end = data_start + length
        if end > size:
            break
        payload = bytes(buffer[data_start:end])
        if masked:  # servers do not mask (§5.1); tolerate it anyway
            key = buffer[key_start:data_start]
            payload = bytes(byte ^ key[index % 4] for index, byte in enumerate(payload))
        frames.append((first & 0x0F, payload))
        position = end
    return frames, position


class FrameReader:
    """Buffers a connected socket and returns decoded frames."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._buffer = bytearray()

    def idle(self) -> bool:
        """Nothing buffered, nothing decrypted but unread, and the socket not readable (no data, no end of stream)."""
        if self._buffer:
            return False
        pending = getattr(self.sock, "pending", None)  # TLS records already decrypted
        if pending is not None and pending():
            return False
        try:
            readable = select.select([self.sock], [], [], 0)[0]
        except (OSError, ValueError):  # closed
            return False
        return not readable

    def read(self, timeout: float) -> list[tuple[int, bytes]] | None:
        """Frames available now, waiting at most ``timeout`` for more bytes; ``None`` at end of stream.

        Raises ``TimeoutError`` when nothing complete arrived within ``timeout``.
        """
        frames, used = decode_frames(self._buffer)
        if frames:
            del self._buffer[:used]
            return frames
        self.sock.settimeout(timeout)
        chunk = self.sock.recv(READ_SIZE)
        if not chunk:
            return None
        self._buffer += chunk
        frames, used = decode_frames(self._buffer)
        del self._buffer[:used]
        if not frames:
            raise TimeoutError("incomplete frame")
        return frames


def payload_bytes(frames: t.Iterable[tuple[int, bytes]]) -> tuple[bytes, bool, list[bytes]]:
    """Data of the data frames, whether a close frame came, and the payloads of pings to answer."""
    data = bytearray()
    closed = False
    pings = []
    for opcode, payload in frames:
        if opcode in (OPCODE_BINARY, OPCODE_TEXT, OPCODE_CONTINUATION):
            data += payload
        elif opcode == OPCODE_CLOSE:
            closed = True
            break
        elif opcode == OPCODE_PING:
            pings.append(payload)
    return bytes(data), closed, pings
