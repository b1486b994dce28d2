# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Per-node worker pools: how many API handlers a node runs at the same time.

A real node runs every handler in one of two pre-forked daemons, each with `max_workers => 3`
(pve-manager PVE/Service/pveproxy.pm:32, PVE/Service/pvedaemon.pm:18), and a worker runs one
handler at a time: pveproxy calls `rest_handler` synchronously (pve-http-server
src/PVE/APIServer/AnyEvent.pm:982) and only proxying is asynchronous (`proxy_request`, :734).
So a protected call holds one of pvedaemon's workers on its node (pve-manager PVE/HTTPServer.pm:193
proxies it to localhost:85), an unprotected one a pveproxy worker of the node it runs on (after
`proxyto`, PVE/HTTPServer.pm:176-187); the pveproxy that only forwards a call is not held.
"""
from __future__ import annotations

import contextlib
import threading
from typing import Iterator


class WorkerPool:
    """At most `limit` calls per node at a time; extra calls queue, they never fail.

    Records the highest concurrency seen per node so tests can prove the limit holds (/_sim/state).
    """

    def __init__(self, limit: int, stop_event: threading.Event) -> None:
        self.limit = max(1, limit)
        self._stop = stop_event
        self._lock = threading.Lock()
        # One condition per node (sharing the lock): a release wakes a waiter of its own node, not one
        # of another node that would only go back to sleep.
        self._conds: dict[str, threading.Condition] = {}
        self._active: dict[str, int] = {}
        self._max: dict[str, int] = {}
        self._total: dict[str, int] = {}
        self._queued: dict[str, int] = {}

    @contextlib.contextmanager
    def slot(self, node: str) -> Iterator[None]:
        """Hold one of the node's worker slots for the duration of the `with` block."""
        with self._lock:
            cond = self._conds.setdefault(node, threading.Condition(self._lock))
            self._queued[node] = self._queued.get(node, 0) + 1
            # Bounded: every release notifies, and shutdown ends the wait.
            while self._active.get(node, 0) >= self.limit and not self._stop.is_set():
                cond.wait(0.5)
            self._queued[node] -= 1
            self._active[node] = self._active.get(node, 0) + 1
            self._max[node] = max(self._max.get(node, 0), self._active[node])
            self._total[node] = self._total.get(node, 0) + 1
        try:
            yield
        finally:
            with self._lock:
                self._active[node] -= 1
                cond.notify()

    def snapshot(self) -> dict[str, dict[str, int]]:
        """{node: {"active", "queued", "max", "calls", "limit"}} for /_sim/state."""
        with self._lock:
            return {
                node: {"active": self._active.get(node, 0), "queued": self._queued.get(node, 0), "max": self._max.get(node, 0),
                       "calls": self._total.get(node, 0), "limit": self.limit}
                for node in sorted(set(self._active) | set(self._max))
            }
