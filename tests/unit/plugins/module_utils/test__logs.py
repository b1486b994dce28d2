# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Log sources behind the terminal and /syslog: command lines, cursors, marker lines, merging."""
from __future__ import annotations

import datetime
import typing as t

from ansible_collections.pveops.proxmox.plugins.module_utils._journal import encode_units_cursor
from ansible_collections.pveops.proxmox.plugins.module_utils._logs import journalctl_argv, newest_cursor, split_cursor, syslog_services

OLD = "s=" + "a" * 32 + ";i=10;t=100"
NEW = "s=" + "a" * 32 + ";i=1f;t=50"


def test_journalctl_with_a_cursor_has_no_line_count() -> None:
    # journalctl -n N after a cursor means the first N: the newest are kept by the caller instead.
    assert journalctl_argv(5, ["pveproxy"], None, None, OLD, False) == [
        "journalctl", "--no-pager", "-o", "short", "--show-cursor", "--after-cursor", OLD, "-u", "pveproxy"]
    assert journalctl_argv(5, [], 100, 200, None, True) == [
        "journalctl", "--no-pager", "-o", "short", "--show-cursor", "-n", "5", "--since", "@100", "--until", "@200", "-f"]


def test_split_cursor_drops_markers() -> None:
    assert split_cursor(["-- No entries --", f"-- cursor: {OLD}"]) == ([], OLD)
    assert split_cursor(["a", "-- Boot " + "0" * 32 + " --", "b"]) == (["a", "b"], None)


def test_newest_of_per_unit_cursors() -> None:
    assert newest_cursor(encode_units_cursor({"a": OLD, "b": NEW})) == NEW  # by sequence number
    assert newest_cursor(OLD) == OLD


class Syslog:
    """/syslog answers per service; records the parameters."""

    def __init__(self, lines: dict[str, list[str]]) -> None:
        self.lines = lines
        self.calls: list[dict[str, t.Any]] = []

    def request(self, method: str, path: str, params: t.Any = None, envelope: bool = False) -> t.Any:
        self.calls.append(dict(params))
        texts = self.lines[params["service"]]
        start, limit = params["start"], params["limit"]
        return {"data": [{"n": i + 1, "t": text} for i, text in enumerate(texts)][start:start + limit], "total": len(texts)}


def test_syslog_drops_markers_and_merges_by_real_times() -> None:
    client = Syslog({
        "a": ["Dec 31 23:59:59 pve pa[1]: 1", "-- Boot " + "1" * 32 + " --", "Jan  1 00:00:02 pve pa[1]: 3"],
        "b": ["-- No entries --"],
        "c": ["Jan  1 00:00:01 pve pc[1]: 2"],
    })
    lines = syslog_services(client, "pve", ["a", "b", "c"], 10, "2025-12-31 00:00:00", None,  # type: ignore[arg-type]
                            datetime.datetime(2026, 1, 1, 0, 1))
    assert [line.rsplit(": ", 1)[1] for line in lines] == ["1", "2", "3"]
    assert all(call["since"] == "2025-12-31 00:00:00" for call in client.calls)
    assert syslog_services(client, "pve", ["a"], 0, None, None, datetime.datetime.now()) == []  # type: ignore[arg-type]
