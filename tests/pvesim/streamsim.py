# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The terminal input path without I/O: client frames -> pveproxy -> localhost socket -> termproxy -> pty.

The same pieces a terminal session uses (pveproxy.TermproxyConnection, termparse.InputParser,
termparse.ShortReads), driven in the order of the session loop, with a pty that takes what the
acceptance policy allows. For property tests of the stream model and for tests of a client's own
message encoding ("does this stream survive termproxy?"), at millions of bytes per second.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator

from pvesim.pveproxy import SOCKET_BYTES, TermproxyConnection
from pvesim.termparse import DataEvent, InputParser, NoteEvent, PtyWrite, ResizeEvent, ShortReads

MAX_ITERATIONS = 50_000_000


@dataclass
class StreamResult:
    """What reached the pty, and what termproxy noted on the way."""

    data: bytes
    notes: list[str] = field(default_factory=list)
    resizes: list[tuple[int, int]] = field(default_factory=list)
    iterations: int = 0
    max_in_flight: int = 0
    """The most bytes the client had sent that termproxy had not read yet."""


def run_input(frames: Iterable[bytes], seed: int | str = 0, budgets: Iterator[int | None] | None = None, window: int | None = None,
              socket_bytes: int = SOCKET_BYTES) -> StreamResult:
    """Send `frames` (websocket payloads, in order) and return what the pty received.

    Per loop iteration the pty takes what `budgets` yields (None = all; default: ShortReads(seed), the
    --termproxy-short-reads policy). `window`: the client sends a frame only while at most this many bytes
    would be in flight (sent but not yet read by termproxy: pveproxy's buffer and the socket), like a
    client paced by acknowledgements; termproxy's own buffer holds up to 4 KiB more. (Not "not yet
    consumed": termproxy keeps a last single byte until a second one comes, process_queue `len < 2`.)
    Ends once everything was sent and termproxy can make no more progress.
    """
    proxy = TermproxyConnection(socket_bytes)
    parser = InputParser()
    short_reads = ShortReads(seed) if budgets is None else None
    pending = iter(frames)
    following: bytes | None = next(pending, None)
    sent = 0
    data = bytearray()
    result = StreamResult(b"")
    for iteration in range(1, MAX_ITERATIONS + 1):
        while following is not None:
            in_flight = proxy.in_flight
            if window is not None and in_flight and in_flight + len(following) > window:
                break
            proxy.push_write(following)
            sent += len(following)
            following = next(pending, None)
        result.max_in_flight = max(result.max_in_flight, proxy.in_flight)
        parser.read_socket(proxy.socket, proxy.drain)
        write, limited = _pty(short_reads, budgets)
        progress = False
        for event in parser.write_to_pty(write):
            if isinstance(event, DataEvent):
                data += event.data
                progress = True
            elif isinstance(event, ResizeEvent):
                result.resizes.append((event.cols, event.rows))
            elif isinstance(event, NoteEvent):
                result.notes.append(event.text)
        result.iterations = iteration
        if following is None and not proxy.in_flight and not progress and not limited():
            break
    result.data = bytes(data)
    return result


def _pty(short_reads: ShortReads | None, budgets: Iterator[int | None] | None) -> tuple[PtyWrite, Callable[[], bool]]:
    """This iteration's pty writer, and whether its limit (not a lack of data) ended the pass."""
    if short_reads is not None:
        short_reads.next_iteration()
        return short_reads.limit(len), lambda: short_reads.exhausted
    assert budgets is not None
    budget = _Budget(next(budgets, None))
    return budget.write, lambda: budget.hit


class _Budget:
    """A pty that takes `left` bytes in this iteration (None: everything)."""

    def __init__(self, left: int | None) -> None:
        self.left = left
        self.hit = False

    def write(self, chunk: bytes) -> int:
        if self.left is None:
            return len(chunk)
        taken = min(len(chunk), self.left)
        self.left -= taken
        self.hit = self.hit or taken < len(chunk)
        return taken
