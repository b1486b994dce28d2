# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""termproxy's input side as a pure byte-stream machine: the auth line, then `0:`/`1:`/`2` messages (4.4).

No I/O here, so property-based tests can drive it with arbitrary splits. The quirks are kept on
purpose because clients must cope with the real program (proxmox/pve-xtermjs termproxy `process_queue`,
`remove_number`, `read_ticket_line`):

* every read is appended to one 4096-byte buffer; a read never takes more than the free space;
* for types 0 and 1 the two bytes `<type>:` are consumed without looking at the second one;
* a number runs to the next `:` anywhere in the buffer; without any `:`, more than 20 bytes are
  discarded in 20-byte steps, 20 or fewer wait for the next read (but the header bytes before the
  number are already gone: **no header state survives a read**, so a split header is misparsed);
* a byte below `'0'` wraps around (Rust release builds), so it is just an unknown type and skipped;
* only the byte count of a data message survives across reads.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

BUFFER_SIZE = 4096
"""termproxy's ByteBuffer capacity: one read never holds more (4.4 step 2 and 5)."""
NUMBER_SCAN = 20
"""Without a `:` in the buffer, a number is discarded in steps of this many bytes."""


class AuthLineError(Exception):
    """The auth line could not be read; the message is termproxy's (the task log shows it)."""


@dataclass(frozen=True)
class DataEvent:
    """Bytes for the pty (the payload of a `0:<len>:` message, possibly a piece of it)."""

    data: bytes


@dataclass(frozen=True)
class ResizeEvent:
    """`1:<cols>:<rows>:` - values already truncated to 16 bits like termproxy's `as u16`."""

    cols: int
    rows: int


@dataclass(frozen=True)
class NoteEvent:
    """A line termproxy writes to stderr (a bad number); it ends up in the task log."""

    text: str


Event = Union[DataEvent, ResizeEvent, NoteEvent]


class AuthLineReader:
    """Collects `<authid>:<ticket>\\n`; bytes after the newline stay as protocol input (4.4 step 2)."""

    def __init__(self) -> None:
        self.buffer = bytearray()

    def feed(self, chunk: bytes) -> tuple[bytes, bytes, bytes] | None:
        """Add one read; returns (authid, ticket, rest) once the line is complete, else None.

        Raises AuthLineError like termproxy: a full buffer without newline is incomplete, a line
        without `:` is invalid. Reads beyond the buffer's free space are not taken (the real
        program reads at most what fits), so a too long line fails before its newline is seen.
        """
        room = BUFFER_SIZE - len(self.buffer)
        self.buffer += chunk[:room]
        newline = self.buffer.find(b"\n")
        if newline < 0:
            if len(self.buffer) >= BUFFER_SIZE:
                raise AuthLineError("failed reading ticket: authentication data is incomplete")
            return None
        line = bytes(self.buffer[:newline])
        rest = bytes(self.buffer[newline + 1:]) + chunk[room:]
        authid, sep, ticket = line.partition(b":")
        if not sep:
            raise AuthLineError("failed reading ticket: authentication data is invalid")
        return authid, ticket, rest


def parse_usize(raw: bytes) -> tuple[int | None, str | None]:
    """Rust `str::from_utf8` + `parse::<usize>()`: (value, None) or (None, termproxy's stderr line)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None, "error decoding number: 'invalid utf-8 sequence'"
    digits = text[1:] if text.startswith("+") else text
    if not text:
        return None, "error parsing number: 'cannot parse integer from empty string'"
    if not digits or not all("0" <= char <= "9" for char in digits):
        return None, "error parsing number: 'invalid digit found in string'"
    value = int(digits)
    if value >= 1 << 64:
        return None, "error parsing number: 'number too large to fit in target type'"
    return value, None


@dataclass
class InputParser:
    """The message parser; feed() it every read of the client byte stream."""

    buffer: bytearray = field(default_factory=bytearray)
    remaining: int = 0
    """Bytes of the current data message still to come (the only state kept across reads)."""

    def feed(self, chunk: bytes) -> list[Event]:
        """Process bytes as termproxy would; a chunk larger than the free buffer space becomes several reads."""
        events: list[Event] = []
        view = memoryview(chunk)
        while True:
            room = BUFFER_SIZE - len(self.buffer)
            piece, view = view[:room], view[room:]
            self.buffer += piece
            self._process(events)
            if not view:
                return events

    def _process(self, events: list[Event]) -> None:
        while self.buffer:
            if self.remaining == 0:
                length = self._process_queue(events)
                if length is None:
                    return
                self.remaining = length
                if length == 0:
                    continue
            take = min(self.remaining, len(self.buffer))
            if take == 0:
                return
            events.append(DataEvent(bytes(self.buffer[:take])))
            del self.buffer[:take]
            self.remaining -= take

    def _process_queue(self, events: list[Event]) -> int | None:
        """`process_queue`: skip control messages; return the length of the next data message, or None."""
        while len(self.buffer) >= 2:
            msgtype = (self.buffer[0] - ord("0")) & 0xFF
            if msgtype == 0:
                del self.buffer[:2]
                length = self._remove_number(events)
                if length is not None:
                    return length
            elif msgtype == 1:
                del self.buffer[:2]
                cols = self._remove_number(events)
                if cols is not None:
                    rows = self._remove_number(events)
                    if rows is not None:
                        events.append(ResizeEvent(cols & 0xFFFF, rows & 0xFFFF))
            else:
                # `2` (keepalive) and any other byte: skipped one at a time.
                del self.buffer[:1]
        return None

    def _remove_number(self, events: list[Event]) -> int | None:
        """`remove_number`: digits up to the next `:`; 20-byte discards while no `:` is there at all."""
        while True:
            colon = self.buffer.find(b":")
            if colon >= 0:
                raw = bytes(self.buffer[:colon])
                del self.buffer[:colon + 1]
                value, problem = parse_usize(raw)
                if problem is not None:
                    events.append(NoteEvent(problem))
                return value
            if len(self.buffer) > NUMBER_SCAN:
                del self.buffer[:NUMBER_SCAN]
                continue
            return None
