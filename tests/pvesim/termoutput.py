# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A terminal session's output side: termproxy -> pveproxy -> the client link (4.3, 4.4 step 8, audit S2, S3, S12).

Output becomes binary frames (`OK` held back up to OK_MERGE_WAIT to share a frame with the first
output; with --drop-last-bytes or `lost-bytes` everything is held DROP_WINDOW, so what the shell
printed just before it exited is lost; an armed ws-drop cuts after its byte budget), queues in
pveproxy's unbounded client queue, and leaves through the link model (rate, receive stalls) into
the client's socket. `discard` is pveproxy's disconnect: what the socket did not accept is gone.
"""
from __future__ import annotations

import random
import socket
import ssl
from typing import Callable

from pvesim import wsframe
from pvesim.link import LinkShaper
from pvesim.pveproxy import ClientQueue
from pvesim.terminals import SessionStats

OK_MERGE_WAIT = 0.3
"""When `OK` is held back to share a frame with the first output, it goes alone after this long."""
DROP_WINDOW = 0.3
"""--drop-last-bytes: output is forwarded only after this long, and lost if the shell exits first."""
SEND_SLICE = 65536
LINK_SLICE = 16384
"""Bytes per send: one TLS record when the link is throttled, so the rate stays smooth."""


class ClientOutput:
    """Frames for the client, pveproxy's queue and the sends; `failed` is called when the socket breaks."""

    def __init__(self, sock: socket.socket, stats: SessionStats, link: LinkShaper, drop_last_bytes: bool, budget: int | None,
                 failed: Callable[[], None]) -> None:
        self.sock = sock
        self.stats = stats
        self.link = link
        self.drop_last_bytes = drop_last_bytes
        self.budget = budget
        """Payload bytes the client may still get before an armed ws-drop (None: no drop armed)."""
        self.cut_at: float | None = None
        """When the budget ran out; the drop follows once the output before it was sent."""
        self.failed = failed
        self.rng = random.Random()
        self.queue = ClientQueue()
        self.inflight: bytes | None = None
        self.ok_pending: bytes | None = None
        self.ok_deadline = 0.0
        self.held: list[bytes] = []
        self.held_since = 0.0
        self.backlogged = False
        """The last flush left bytes behind (socket full or link throttled): pveproxy has a write pending."""
        self.closed = False

    @property
    def pending(self) -> int:
        """Bytes pveproxy still has for the client."""
        return self.queue.size + len(self.inflight or b"")

    # --- producing -----------------------------------------------------------------------------------

    def queue_ok(self, now: float) -> None:
        """termproxy's `OK` after the auth line; in half of the sessions it waits for the first output."""
        if not self.drop_last_bytes and self.rng.random() < 0.5:
            self.ok_pending, self.ok_deadline = b"OK", now + OK_MERGE_WAIT
        else:
            self._queue_data(b"OK", now)

    def output(self, data: bytes, now: float) -> None:
        """What termproxy read off the pty in one go (becomes one frame)."""
        if self.ok_pending is not None:
            data, self.ok_pending = self.ok_pending + data, None
        if self.drop_last_bytes:
            if not self.held:
                self.held_since = now
            self.held.append(data)
        else:
            self._queue_data(data, now)

    def control(self, frame: bytes) -> None:
        """A frame pveproxy itself answers with (a pong)."""
        self._queue(frame)

    def timers(self, now: float) -> None:
        """Release a held `OK` and held output whose time has come."""
        if self.ok_pending is not None and now >= self.ok_deadline:
            self._queue_data(self.ok_pending, now)
            self.ok_pending = None
        if self.held and now >= self.held_since + DROP_WINDOW:
            for data in self.held:
                self._queue_data(data, now)
            self.held.clear()

    def last_output(self, now: float) -> None:
        """termproxy exited on the pty's EIO: held output is lost (read in the same iteration, 4.4 step 8), a held
        `OK` goes; pveproxy writes at once only if no write toward the client was pending (Handle.pm `_drain_wbuf`)."""
        self.held.clear()
        if self.ok_pending is not None:
            self._queue_data(self.ok_pending, now)
            self.ok_pending = None
        if not self.backlogged:
            self.flush(now)

    def _queue_data(self, data: bytes, now: float) -> None:
        """Terminal output as one binary frame; with an armed drop only up to the byte budget (then nothing)."""
        if self.budget is not None:
            if self.cut_at is not None:
                return
            if len(data) >= self.budget:
                data = data[:self.budget]
                self.cut_at = now
            self.budget -= len(data)
            if not data:
                return
        self._queue(wsframe.encode(data))

    def _queue(self, frame: bytes) -> None:
        if not self.closed:
            self.queue.push(frame)

    # --- sending -------------------------------------------------------------------------------------

    def wants_to_send(self, now: float) -> bool:
        """Something is pending and the link would take some of it now (poll for POLLOUT)."""
        if self.closed or not self.pending:
            return False
        return self.inflight is not None or self.link.ready(now, self.queue.size) != 0

    def wait(self, now: float) -> float | None:
        """Seconds until a timer or the link changes what can be done (None: nothing to wait for)."""
        waits = []
        link = self.link.wait(now, bool(self.pending))
        if link is not None:
            waits.append(link)
        if self.ok_pending is not None:
            waits.append(max(0.0, self.ok_deadline - now))
        if self.held:
            waits.append(max(0.0, self.held_since + DROP_WINDOW - now))
        return min(waits) if waits else None

    def flush(self, now: float) -> None:
        """Write what the link allows now; a slice the TLS layer could not take is retried as it is."""
        self._send(now)
        self.backlogged = self.pending > 0

    def _send(self, now: float) -> None:
        while self.pending and not self.closed:
            if self.inflight is None:
                allowed = self.link.ready(now, self.queue.size)
                if allowed == 0:
                    return
                self.inflight = self.queue.peek(SEND_SLICE if allowed is None else min(allowed, LINK_SLICE))
            try:
                sent = self.sock.send(self.inflight)
            except (ssl.SSLWantWriteError, ssl.SSLWantReadError, BlockingIOError):
                return
            except OSError:
                self.failed()
                return
            self.queue.consume(sent)
            self.link.spend(sent)
            self.stats.to_client += sent
            self.inflight = self.inflight[sent:] or None

    def discard(self) -> bool:
        """pveproxy's disconnect (`linger => 0`): drop what the socket has not accepted; True when nothing was
        pending, i.e. a TLS close_notify would still go out (it queues behind pending data, Handle.pm stoptls)."""
        if self.closed:
            return False
        self.closed = True
        clean = not self.pending
        self.stats.discarded += self.pending
        self.queue.discard()
        self.inflight = None
        return clean
