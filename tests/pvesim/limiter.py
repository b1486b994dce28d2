# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Per-node limit of concurrent "protected" calls (they run in pvedaemon, which has 3 workers, 3.2/3.5)."""
from __future__ import annotations

import contextlib
import threading
from typing import Iterator


class ProtectedLimiter:
    """At most `limit` protected calls per node at a time; extra calls queue, they never fail.

    Records the highest concurrency seen per node so tests can prove the limit holds (/_sim/state).
    """

    def __init__(self, limit: int, stop_event: threading.Event) -> None:
        self.limit = max(1, limit)
        self._stop = stop_event
        self._cond = threading.Condition()
        self._active: dict[str, int] = {}
        self._max: dict[str, int] = {}
        self._total: dict[str, int] = {}

    @contextlib.contextmanager
    def slot(self, node: str) -> Iterator[None]:
        """Hold one of the node's worker slots for the duration of the `with` block."""
        with self._cond:
            # Bounded: every release notifies, and shutdown ends the wait.
            while self._active.get(node, 0) >= self.limit and not self._stop.is_set():
                self._cond.wait(0.5)
            self._active[node] = self._active.get(node, 0) + 1
            self._max[node] = max(self._max.get(node, 0), self._active[node])
            self._total[node] = self._total.get(node, 0) + 1
        try:
            yield
        finally:
            with self._cond:
                self._active[node] -= 1
                self._cond.notify()

    def snapshot(self) -> dict[str, dict[str, int]]:
        """{node: {"active", "max", "calls", "limit"}} for /_sim/state."""
        with self._cond:
            return {
                node: {"active": self._active.get(node, 0), "max": self._max.get(node, 0), "calls": self._total.get(node, 0), "limit": self.limit}
                for node in sorted(set(self._active) | set(self._max))
            }
