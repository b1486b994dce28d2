# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every formatter against hand-computed values (the seed's rules)."""
from __future__ import annotations

import pytest

from ansible_collections.pveops.proxmox.plugins.module_utils._stats import (
    container_sample,
    format_iec,
    format_percent,
    format_uptime,
    node_sample,
    rates,
    table,
)

GIB = 1024 ** 3


@pytest.mark.parametrize(("value", "text"), [
    (0, "0B"), (1, "1B"), (1023, "1023B"), (1024, "1KiB"), (1536, "1.5KiB"), (1024 * 1024, "1MiB"),
    (int(1.5 * GIB), "1.5GiB"), (10 * GIB, "10GiB"), (int(9.6 * GIB), "9.6GiB"), (20 * GIB, "20GiB"),
    (1024 ** 4, "1TiB"), (1024 ** 6, "1EiB"), (1024 ** 7, "1024EiB"),
    # The seed divides before rounding: just below the next unit prints 1024 of the smaller one.
    (1024 * 1024 - 1, "1024KiB"),
])
def test_iec(value: int, text: str) -> None:
    assert format_iec(value) == text


def test_percent() -> None:
    assert format_percent(0, 0) == "0.00%"
    assert format_percent(1, 3) == "33.33%"
    assert format_percent(int(9.6 * GIB), 20 * GIB) == "48.00%"


@pytest.mark.parametrize(("seconds", "text"), [
    (0, "0s"), (59, "59s"), (60, "1m"), (3599, "59m"), (3600, "1h0m"), (3 * 3600 + 5 * 60 + 7, "3h5m"),
    (86400, "1d0h0m"), (2 * 86400 + 3 * 3600 + 5 * 60, "2d3h5m"),
])
def test_uptime(seconds: int, text: str) -> None:
    assert format_uptime(seconds) == text


def test_container_line_like_the_seed() -> None:
    entry = {"status": "running", "cpu": 0.311, "mem": int(9.6 * GIB), "maxmem": 20 * GIB, "netin": int(4.7 * GIB),
             "netout": int(3.3 * GIB), "diskread": 25 * GIB, "diskwrite": 36 * GIB}
    sample = container_sample(entry)
    assert sample["line"] == "running|31.1%|9.6GiB/20GiB|48.00%|4.7GiB/3.3GiB|25GiB/36GiB"
    assert (sample["cpu_percent"], sample["mem_percent"], sample["mem_limit"]) == (31.1, 48.0, 20 * GIB)


def test_stopped_container_with_zero_limit() -> None:
    assert container_sample({"status": "stopped"})["line"] == "stopped|0.0%|0B/0B|0.00%|0B/0B|0B/0B"


def test_rates_between_first_and_last() -> None:
    base = {"status": "running", "cpu_percent": 10.0, "net_in": 1000, "net_out": 0, "block_read": 0, "block_write": 2048}
    samples = [dict(base, time=100.0), dict(base, time=102.0, cpu_percent=20.0, net_in=3048), dict(base, time=104.0, cpu_percent=30.0,
                                                                                                   net_in=5096, block_write=0)]
    result = rates(samples)
    assert result is not None
    assert result["seconds"] == 4.0 and result["cpu_percent"] == 20.0
    assert result["net_in_per_second"] == 1024.0 and result["net_out_per_second"] == 0.0
    assert result["block_write_per_second"] is None  # the counter went down: a restart
    assert result["line"] == "running|20.0%|1KiB/s in/0B/s out|0B/s read/? written"
    assert rates(samples[:1]) is None


def test_node_stats_like_the_seed() -> None:
    status = {"cpu": 0.032, "uptime": 12 * 86400 + 3 * 3600 + 4 * 60, "loadavg": ["0.12", "0.20", "0.25"],
              "kversion": "Linux 6.17.4-1-pve #1 SMP PREEMPT_DYNAMIC PMX 6.17.4-1 (2025-12-03T15:42Z)",
              "pveversion": "pve-manager/9.2.11/14a22df35955d97d", "cpuinfo": {"model": "AMD EPYC 7302P 16-Core Processor", "cpus": 32},
              "memory": {"used": 8 * GIB, "total": 64 * GIB}, "rootfs": {"used": 0, "total": 0}}
    stats = node_sample(status)
    assert {key: value for key, value in stats.items() if key != "raw"} == {
        "kernel_version": "6.17.4-1-pve", "pve_version": "pve-manager/9.2.11/14a22df35955d97d", "cpu_usage": "3.2%",
        "cpu_model": "AMD EPYC 7302P 16-Core Processor", "mem_usage": "8GiB", "mem_total": "64GiB", "mem_pct": "12.50%",
        "rootfs_usage": "0B", "rootfs_total": "0B", "rootfs_pct": "0.00%", "uptime": "12d3h4m",
        "load_avg_1m": "0.12", "load_avg_5m": "0.20", "load_avg_15m": "0.25"}
    assert stats["raw"]["loadavg"] == [0.12, 0.2, 0.25] and stats["raw"]["cpus"] == 32


def test_table() -> None:
    rows = [dict(container_sample({"status": "running", "cpu": 0.5, "mem": 1024, "maxmem": 2048}), vmid=100, name="web")]
    lines = table(rows)
    assert lines[0].split() == ["CT", "ID", "NAME", "STATUS", "CPU", "%", "MEM", "USAGE", "/", "LIMIT", "MEM", "%", "NET", "I/O", "BLOCK", "I/O"]
    assert lines[1].split() == ["100", "web", "running", "50.0%", "1KiB", "/", "2KiB", "50.00%", "0B", "/", "0B", "0B", "/", "0B"]
