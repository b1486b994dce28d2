# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""termproxy's input side as a pure machine: its 4 KiB `pty_buf`, the auth line, then `0:`/`1:`/`2` messages (4.4).

No I/O here, so property-based tests can drive it with arbitrary inputs. It follows
proxmox/pve-xtermjs termproxy/src/main.rs (2.1.0) line by line, quirks included, because clients
must cope with the real program:

* `pty_buf` is one ByteBuffer of 4096 bytes (`ByteBuffer::new()`, proxmox-io byte_buffer.rs); a
  read takes `min(bytes in the socket, free space)` (`read_from`, main.rs:389-407);
* the auth line is read into the same buffer; the bytes after its newline stay there as protocol
  input (`read_ticket_line`, main.rs:94-148);
* `process_queue` runs only when no data message is in progress (`remaining == 0`, main.rs:447-451);
  for types 0 and 1 it consumes `<type>:` before it knows whether the number is complete (69-80);
* `remove_number` takes the digits up to the next `:` anywhere in the buffer; without any `:` it
  discards 20 bytes while more than 20 are there, else gives up (29-55): **a header that is
  incomplete when `process_queue` runs is lost**, and what follows is parsed as new messages;
* a byte below `'0'` wraps around (u8 subtraction in a release build), so it is an unknown type and
  skipped like the keepalive `2` (82-84);
* data goes to the pty with non-blocking writes; only what the pty accepted is consumed, and only
  the byte count of the current data message (`remaining`) survives between loop iterations (453-468).
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Callable, Union

BUFFER_SIZE = 4096
"""termproxy's ByteBuffer capacity: the buffer never holds more (4.4 steps 2 and 5)."""
NUMBER_SCAN = 20
"""Without a `:` in the buffer, a number is discarded in steps of this many bytes."""

SHORT_READ_MAX = 512
CATCH_UP = 8
"""--termproxy-short-reads: one loop iteration in this many, the pty takes all it can."""

PtyWrite = Callable[[bytes], int]
"""A non-blocking pty write: returns how many bytes the pty accepted (0 = it would block)."""


class AuthLineError(Exception):
    """The auth line could not be read; the message is termproxy's (the task log shows it)."""


@dataclass(frozen=True)
class DataEvent:
    """Bytes the pty accepted (the payload of a `0:<len>:` message, possibly a piece of it)."""

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


def _accept_all(data: bytes) -> int:
    return len(data)


@dataclass
class InputParser:
    """termproxy's `pty_buf` and the code that fills and empties it."""

    buffer: bytearray = field(default_factory=bytearray)
    remaining: int = 0
    """Bytes of the current data message still to come (the only message state kept between iterations)."""

    @property
    def free(self) -> int:
        """Free space: the most the next read can take."""
        return BUFFER_SIZE - len(self.buffer)

    @property
    def full(self) -> bool:
        """`pty_buf.is_full()`: termproxy stops reading its socket."""
        return len(self.buffer) >= BUFFER_SIZE

    def read(self, source: bytearray) -> int:
        """`pty_buf.read_from(socket)`: move `min(len(source), free)` bytes from the front of `source`; returns the count."""
        count = min(len(source), self.free)
        if count:
            self.buffer += source[:count]
            del source[:count]
        return count

    def ticket_line(self) -> tuple[bytes, bytes] | None:
        """`read_ticket_line`'s check after a read: (authid, ticket) once the line is there, else None.

        The line is removed with its newline; what follows stays in the buffer as protocol input.
        Raises AuthLineError like termproxy: a full buffer without newline is incomplete (the real
        message also prints the buffer, i.e. the ticket: left out), a line without `:` is invalid.
        """
        newline = self.buffer.find(b"\n")
        if newline < 0:
            if self.full:
                raise AuthLineError("failed reading ticket: authentication data is incomplete")
            return None
        line = bytes(self.buffer[:newline])
        del self.buffer[:newline + 1]
        authid, sep, ticket = line.partition(b":")
        if not sep:
            raise AuthLineError("failed reading ticket: authentication data is invalid")
        return authid, ticket

    def write_to_pty(self, write: PtyWrite = _accept_all, resize: Callable[[int, int], None] | None = None) -> list[Event]:
        """One pass of the pty write loop (main.rs:446-469) until the buffer is empty, a header is missing or the pty blocks.

        `resize(cols, rows)` is called the moment a resize message is parsed, before any data after it is
        written, as process_queue sets the pty size inline (main.rs:78); the event is also returned.
        """
        events: list[Event] = []
        while self.buffer:
            if self.remaining == 0:
                length = self._process_queue(events, resize)
                if length is None:
                    break
                self.remaining = length
                if length == 0:
                    continue  # `0:0:`: an empty write, then process_queue again
            piece = bytes(self.buffer[:min(self.remaining, len(self.buffer))])
            accepted = write(piece)
            if accepted <= 0:
                break  # WouldBlock: pty_writable = false
            events.append(DataEvent(piece[:accepted]))
            del self.buffer[:accepted]
            self.remaining -= accepted
        return events

    def read_socket(self, socket: bytearray, refill: Callable[[], int] = lambda: 0) -> int:
        """termproxy's read loop (main.rs:389-407): read while the buffer has room and the socket has bytes; `refill`
        lets the writer (pveproxy) put more into the socket meanwhile. Returns the bytes read."""
        total = 0
        while self.free and socket:
            total += self.read(socket)
            refill()
        return total

    def feed(self, chunk: bytes) -> list[Event]:
        """Everything in `chunk` through reads of at most the free space, the pty accepting all (for tests and tools)."""
        source = bytearray(chunk)
        events = self.write_to_pty()
        while source:
            self.read(source)
            events += self.write_to_pty()
        return events

    def _process_queue(self, events: list[Event], resize: Callable[[int, int], None] | None = None) -> int | None:
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
                        if resize is not None:
                            resize(cols & 0xFFFF, rows & 0xFFFF)
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


class ShortReads:
    """`--termproxy-short-reads`: how much the pty takes in one termproxy loop iteration, like on a busy node.

    Mostly a random 1..512 bytes, so termproxy's buffer stays partly full at random offsets and every
    read is limited to a misaligned free space. One iteration in CATCH_UP the reader has caught up
    and the pty takes all it can: with at most 512 bytes per iteration, termproxy would always refill
    its buffer before the write loop reaches the buffer's end, so a header cut there would always be
    completed in time and the quirk of process_queue could never show.
    """

    def __init__(self, seed: int | str) -> None:
        self.rng = random.Random(seed)
        self.left: int | None = None
        self.exhausted = False
        """The last iteration stopped because of the limit (termproxy loops again at once, not waiting for the pty)."""

    def next_iteration(self) -> None:
        """Draw the limit of the next loop iteration."""
        self.left = None if self.rng.randrange(CATCH_UP) == 0 else self.rng.randint(1, SHORT_READ_MAX)
        self.exhausted = False

    def limit(self, write: PtyWrite) -> PtyWrite:
        """`write` limited to what is left of this iteration's allowance."""
        def limited(data: bytes) -> int:
            if self.left is not None:
                data = data[:self.left]
                if not data:
                    self.exhausted = True
                    return 0
            accepted = write(data)
            if self.left is not None:
                self.left -= accepted
            return accepted
        return limited
