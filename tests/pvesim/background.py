# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The simulator's ticker: keeps the files the node shell reads in step with the model.

Every TICK seconds, bounded and stopped with the simulator: node journals materialise their due
background lines (so their file copies grow for `journalctl -f`), and every running container whose
filesystem exists logs one line (journal or /var/log/messages) so followers inside see new lines.
(Container state files are written on every model change: Services.model_changed.)
"""
from __future__ import annotations

import sys
import threading
import time
import traceback

from pvesim.ctfs import ContainerFs
from pvesim.ctjournal import ContainerLog
from pvesim.journal import NodeJournal
from pvesim.model import Cluster

TICK = 0.5
MAX_LOGGING_CONTAINERS = 200
"""Per tick at most this many containers log a line (round-robin), so huge generated scenarios stay cheap."""


class Ticker:
    """One daemon thread; start() once, stop() joins it (bounded)."""

    def __init__(self, cluster: Cluster, journals: dict[str, NodeJournal], ctfs: ContainerFs, stop_event: threading.Event) -> None:
        self.cluster = cluster
        self.journals = journals
        self.ctfs = ctfs
        self.stop_event = stop_event
        self.logs: dict[int, ContainerLog] = {}
        self._offset = 0
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Run the first tick now (files exist before the ready line), then every TICK seconds."""
        self.tick()
        self._thread = threading.Thread(target=self._loop, name="pvesim-ticker", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self.stop_event.wait(TICK):
            try:
                self.tick()
            except Exception:  # a simulator bug must not end the ticker silently
                traceback.print_exc(file=sys.stderr)

    def tick(self) -> None:
        """One round: journals, state files, container lines."""
        now = time.time()
        for journal in self.journals.values():
            journal.tick(now)
        with self.cluster.lock:
            running = [(g.vmid, g.name, g.started_at or now, g.systemd) for g in self.cluster.guests.values() if g.kind == "lxc" and g.running]
        if len(running) > MAX_LOGGING_CONTAINERS:
            self._offset = (self._offset + MAX_LOGGING_CONTAINERS) % len(running)
            running = (running[self._offset:] + running[:self._offset])[:MAX_LOGGING_CONTAINERS]
        for vmid, hostname, started_at, systemd in running:
            if vmid not in self.logs and not self.ctfs.exists(vmid):
                continue  # not created yet (big scenarios create filesystems on first use)
            log = self.logs.get(vmid)
            if log is None or log.systemd != systemd:
                log = self.logs[vmid] = ContainerLog(vmid, self.ctfs.rootfs(vmid), systemd)
            if log.started_at != started_at:
                log.boot(started_at, hostname)
            log.tick(now, hostname)

    def stop(self, timeout: float = 5.0) -> None:
        """Wait for the thread after stop_event was set."""
        if self._thread is not None:
            self._thread.join(timeout)
