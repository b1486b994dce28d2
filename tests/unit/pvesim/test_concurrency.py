# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The per-node limit of concurrent protected calls is never exceeded; extra calls queue (3.2/3.5)."""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from pvesim.harness import SimProcess
from pvesim_client import Api


def _timed_burst(sim: SimProcess, path: str, count: int) -> tuple[float, list[int]]:
    clients = [Api(sim, "token") for _index in range(count)]
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=count) as pool:
        statuses = list(pool.map(lambda c: c.get(path).status_code, clients))
    return time.monotonic() - started, statuses


def test_protected_calls_queue_per_node() -> None:
    with SimProcess("--protected-concurrency", "2", "--latency-ms", "150", request_log=False) as sim:
        # status/current is protected: 8 calls on pve1 with 2 slots take >= 4 rounds of 150 ms.
        elapsed, statuses = _timed_burst(sim, "/nodes/pve1/lxc/100/status/current", 8)
        assert statuses == [200] * 8
        assert elapsed >= 0.55
        stats = sim.control("GET", "state")["protected"]
        assert stats["pve1"]["max"] == 2 and stats["pve1"]["limit"] == 2 and stats["pve1"]["active"] == 0
        # Unprotected calls are not limited: 8 x /version take about one latency.
        elapsed, statuses = _timed_burst(sim, "/version", 8)
        assert statuses == [200] * 8 and elapsed < 0.5
        # Other nodes have their own slots.
        elapsed, statuses = _timed_burst(sim, "/nodes/pve2/lxc/109/status/current", 2)
        assert statuses == [200, 200] and sim.control("GET", "state")["protected"]["pve2"]["max"] <= 2
