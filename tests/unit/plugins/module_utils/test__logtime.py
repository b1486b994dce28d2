# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Node time: zones for /syslog's strings, the year of a log line, merging units across month and year ends."""
from __future__ import annotations

import datetime

from ansible_collections.pveops.proxmox.plugins.module_utils._logtime import NodeClock, is_marker, line_time, merge_by_time


def test_syslog_strings_are_in_the_nodes_zone() -> None:
    epoch = 1_767_225_600  # 2026-01-01 00:00:00 UTC
    tokyo = NodeClock("Asia/Tokyo", epoch, epoch + 9 * 3600)
    assert tokyo.syslog_string(epoch) == "2026-01-01 09:00:00"
    # Without a usable zone name, the node's current offset.
    unnamed = NodeClock("Not/AZone", epoch, epoch - 5 * 3600)
    assert unnamed.syslog_string(epoch) == "2025-12-31 19:00:00"
    assert tokyo.syslog_string(None) is None


def test_a_december_line_read_in_january_is_last_years() -> None:
    january = datetime.datetime(2026, 1, 1, 0, 5, 0)
    assert line_time("Dec 31 23:59:58 pve1 cron[1]: x", january) == datetime.datetime(2025, 12, 31, 23, 59, 58)
    assert line_time("Jan  1 00:00:03 pve1 cron[1]: y", january) == datetime.datetime(2026, 1, 1, 0, 0, 3)
    assert line_time("-- No entries --", january) is None


def test_merge_across_the_year_end() -> None:
    january = datetime.datetime(2026, 1, 1, 0, 5, 0)
    proxy = ["Dec 31 23:59:59 pve1 pveproxy[1]: a", "Jan  1 00:00:02 pve1 pveproxy[1]: c"]
    daemon = ["Dec 31 23:58:00 pve1 pvedaemon[2]: first", "Jan  1 00:00:01 pve1 pvedaemon[2]: b"]
    merged = merge_by_time([proxy, daemon], january)
    assert [line.rsplit(": ", 1)[1] for line in merged] == ["first", "a", "b", "c"]  # not "Dec" sorted after "Jan"


def test_markers() -> None:
    assert is_marker("-- No entries --") and is_marker("-- Reboot --") and is_marker("-- Boot " + "ab" * 16 + " --")
    assert not is_marker("Jan  1 00:00:01 pve1 app: -- Boot of something --")
