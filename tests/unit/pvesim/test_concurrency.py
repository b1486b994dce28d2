# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Per node, 3 pvedaemon workers run protected calls and 3 pveproxy workers the others; extra calls queue (limiter.py)."""
from __future__ import annotations

import threading
import time
import typing as t
from concurrent.futures import ThreadPoolExecutor

import pytest

from pvesim.cli import build_parser
from pvesim.harness import SimProcess
from pvesim.limiter import WorkerPool
from pvesim_client import Api

WAIT = 30.0
"""Upper bound of every wait for another thread (never reached unless something hangs)."""


def _burst(sim: SimProcess, path: str, count: int) -> list[int]:
    clients = [Api(sim, "token") for _index in range(count)]
    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(lambda c: c.get(path).status_code, clients))


def _wait_for(condition: t.Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, "the pool did not reach the expected state"
        time.sleep(0.01)


def test_a_full_node_queues_its_calls_and_leaves_other_nodes_alone() -> None:
    pool = WorkerPool(3, threading.Event())
    release = threading.Event()
    entered: list[str] = []

    def hold(node: str) -> None:
        with pool.slot(node):
            entered.append(node)
            release.wait(WAIT)

    threads = [threading.Thread(target=hold, args=("pve1",)) for _index in range(4)]
    for thread in threads:
        thread.start()
    _wait_for(lambda: pool.snapshot().get("pve1", {}).get("queued") == 1)
    assert pool.snapshot()["pve1"]["active"] == 3 and entered.count("pve1") == 3
    # Another node has its own workers: it gets in while pve1 is full.
    with pool.slot("pve2"):
        assert pool.snapshot()["pve2"]["active"] == 1
    release.set()
    for thread in threads:
        thread.join(WAIT)
    stats = pool.snapshot()["pve1"]
    assert entered.count("pve1") == 4 and stats == {"active": 0, "queued": 0, "max": 3, "calls": 4, "limit": 3}


def test_calls_hold_the_workers_of_the_node_that_runs_them() -> None:
    with SimProcess("--protected-concurrency", "2", "--proxy-workers", "2", "--latency-ms", "300", request_log=False) as sim:
        # status/current is protected: pvedaemon's workers on pve1; pveproxy's are not held.
        assert _burst(sim, "/nodes/pve1/lxc/100/status/current", 6) == [200] * 6
        state = sim.control("GET", "state")
        assert state["protected"]["pve1"]["max"] == 2 and state["protected"]["pve1"]["calls"] == 6
        assert "pve1" not in state["unprotected"]
        # /version is unprotected and runs on the node asked (pve1): pveproxy's workers, never more than 2 at once.
        assert _burst(sim, "/version", 6) == [200] * 6
        stats = sim.control("GET", "state")["unprotected"]["pve1"]
        assert stats["max"] == 2 and stats["calls"] == 6 and stats["active"] == 0
        # A call proxied to pve2 runs in pve2's workers, not in those of the node that forwarded it.
        assert _burst(sim, "/nodes/pve2/lxc/109/config", 2) == [200, 200]
        state = sim.control("GET", "state")
        assert state["unprotected"]["pve2"]["calls"] == 2 and state["unprotected"]["pve1"]["calls"] == 6


@pytest.mark.parametrize("option", ["--proxy-workers", "--protected-concurrency"])
@pytest.mark.parametrize("value", ["0", "-1", "257"])
def test_worker_counts_out_of_range_are_a_usage_error(option: str, value: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        build_parser().parse_args(["serve", option, value])
    assert caught.value.code == 2 and f"{option} must be between 1 and 256, got {value}" in capsys.readouterr().err
