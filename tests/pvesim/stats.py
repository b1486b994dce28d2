# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Plausible, moving usage numbers for running guests and nodes (3.3-3.5: integer counters, float cpu)."""
from __future__ import annotations

import math
import random


class Usage:
    """Per-guest usage model, seeded so each guest has its own stable character.

    cpu: a bounded random walk; mem: wobbles around a fixed share of maxmem; net/disk counters:
    rate x uptime, so they only grow while the guest runs and restart from 0 after a start.
    """

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)
        rng = self._rng
        self.cpu_level = rng.uniform(0.005, 0.25)
        self.mem_share = rng.uniform(0.12, 0.6)
        self.disk_share = rng.uniform(0.1, 0.7)
        self.rates = {
            "netin": rng.uniform(2e3, 4e5),
            "netout": rng.uniform(1e3, 2e5),
            "diskread": rng.uniform(5e2, 2e5),
            "diskwrite": rng.uniform(1e3, 3e5),
        }
        self._cpu = self.cpu_level
        self._last = 0.0

    def cpu(self, now: float) -> float:
        """Next value of the random walk, pulled back towards the guest's usual level; in [0.0001, 1]."""
        elapsed = min(max(now - self._last, 0.0), 60.0)
        self._last = now
        step = self._rng.gauss(0.0, 0.02) * math.sqrt(max(elapsed, 0.05))
        self._cpu += step + (self.cpu_level - self._cpu) * min(1.0, 0.1 * elapsed)
        self._cpu = min(max(self._cpu, 0.0001), 1.0)
        return round(self._cpu, 6)

    def mem(self, maxmem: int) -> int:
        """Used memory in bytes, a little noise around the guest's share, always below maxmem."""
        share = self.mem_share * self._rng.uniform(0.97, 1.03)
        return int(min(share, 0.95) * maxmem)

    def disk(self, maxdisk: int) -> int:
        """Used root filesystem bytes."""
        return int(self.disk_share * maxdisk)

    def counters(self, uptime: float) -> dict[str, int]:
        """netin/netout/diskread/diskwrite in bytes since the start (monotonic while running)."""
        base = max(uptime, 0.0)
        return {key: int(rate * base) for key, rate in self.rates.items()}


def load_averages(now: float, seed: int) -> list[str]:
    """Node loadavg as three strings (3.4: regex captures in Perl, GoDoxy needs exactly 3)."""
    wave = 0.5 + 0.5 * math.sin(now / 300.0 + seed)
    one = 0.1 + 1.5 * wave
    return [f"{one:.2f}", f"{one * 0.9 + 0.05:.2f}", f"{one * 0.8 + 0.1:.2f}"]
