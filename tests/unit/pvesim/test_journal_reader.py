# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The journal readers on a journal with known times: mini-journalreader (REST), journalctl (/syslog, node tool), cursors."""
from __future__ import annotations

import pytest

from pvesim.journal import Filters, NodeJournal
from pvesim.tools import journalctl

BOOT = 1_767_200_000.0  # the node booted here; the journal's history starts an hour before NOW
NOW = BOOT + 86400.0


def fresh() -> tuple[NodeJournal, list[str]]:
    """A journal with three marked lines at NOW+6.5, +7.5, +8.5 (the only ones after the background line at NOW+5)."""
    journal = NodeJournal("pveT", BOOT, NOW)
    for offset, text in ((6.5, "one"), (7.5, "two"), (8.5, "three")):
        journal.append("marker", 7, text, ts=NOW + offset)
    by_message = {e.message: e.cursor for e in journal.entries()}
    return journal, [by_message[text] for text in ("one", "two", "three")]


def texts(lines: list[object]) -> list[str]:
    return [str(line).rsplit(": ", 1)[-1] for line in lines[1:-1]]


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """No background lines after the marked ones: the journal's clock stands at NOW + 9."""
    monkeypatch.setattr("pvesim.journal.time.time", lambda: NOW + 9)


def test_start_cursor_entry_comes_first_then_what_follows() -> None:
    journal, (one, two, three) = fresh()
    answer = journal.query(startcursor=one)
    assert answer is not None and answer[0] == one and answer[-1] == three
    assert texts(answer) == ["two", "three"]
    assert journal.query(startcursor=three) == [three, three]  # nothing new: the cursor twice


def test_unknown_but_wellformed_cursor_seeks_to_the_nearest_entry() -> None:
    journal, (one, two, three) = fresh()
    # A cursor of another journal file (another seqnum id and boot): it seeks by its realtime, here between `one` and `two`.
    foreign = f"s={'ab' * 16};i=5;b={'cd' * 16};m=10;t={int((NOW + 7.0) * 1e6):x};x=1"
    answer = journal.query(startcursor=foreign)
    # The nearest entry after it counts as the cursor's own: its cursor first, the entries after it.
    assert answer is not None and answer[0] == two and texts(answer) == ["three"]
    # Only a realtime does the same.
    by_time = journal.query(startcursor=f"t={int((NOW + 7.0) * 1e6):x}")
    assert by_time is not None and by_time[0] == two and texts(by_time) == ["three"]


@pytest.mark.parametrize("bad", ["bogus", "s=bogus;i=1", "i=5", "s=" + "a" * 32, "t=zz", ";t=1", "t=1;;x=2", ""])
def test_invalid_cursor_is_the_readers_error(bad: str) -> None:
    journal, _cursors = fresh()
    assert journalctl.parse_cursor(bad) is None
    if bad:
        assert journal.query(startcursor=bad) is None  # mini-journalreader exits before printing: empty body


def test_until_is_exclusive_and_the_last_cursor_is_the_first_entry_beyond() -> None:
    journal, (one, two, three) = fresh()
    answer = journal.query(since=int(NOW + 6), until=int(NOW + 8))
    assert answer is not None and texts(answer) == ["one", "two"]
    assert answer[0] == one and answer[-1] == three  # the reader stopped *on* `three`


def test_lastentries_and_endcursor() -> None:
    journal, (one, two, three) = fresh()
    assert texts(journal.query(lastentries=2) or []) == ["two", "three"]
    before = journal.query(lastentries=1, endcursor=three)
    assert before is not None and texts(before) == ["two"] and before[-1] == three
    assert journal.query(lastentries=1, startcursor=one) is None  # -n conflicts with -f
    assert journal.query(until=int(NOW + 8), endcursor=one) is None  # -e conflicts with -t


def test_a_full_dump_marks_the_reboot() -> None:
    journal, _cursors = fresh()
    everything = journal.query() or []
    assert everything.count("-- Reboot --") == 1
    assert "reboot: Restarting system" in everything[everything.index("-- Reboot --") - 1]


def test_filters_of_9_2_4() -> None:
    journal, _cursors = fresh()
    journal.append("pveproxy", 1342, "proxy line", ts=NOW + 8.7)
    only_proxy = journal.query(lastentries=3, filters=Filters(unit="pveproxy")) or []
    assert all(" pveproxy[1342]: " in line for line in only_proxy[1:-1]) and only_proxy[-2].endswith("proxy line")
    kernel = journal.query(filters=Filters(kernel=True)) or []
    assert kernel[1:-1] and all(" kernel: " in line or line == "-- Reboot --" for line in kernel[1:-1])
    assert journal.query(filters=Filters(identifier="no-such-*")) == []


def test_syslog_is_journalctl_output() -> None:
    journal, _cursors = fresh()
    lines = journal.syslog()
    boot = [line for line in lines if line.startswith("-- Boot ")]
    assert boot == [f"-- Boot {journal.boot_id} --"]
    assert journal.syslog(service="no-such-unit") == ["-- No entries --"]
    assert [line.rsplit(": ", 1)[-1] for line in journal.syslog(since=NOW + 7.5, until=NOW + 8.5)] == ["two", "three"]  # inclusive


def test_journalctl_cursor_options() -> None:
    journal, (one, two, three) = fresh()
    records = [journal.record(e) for e in journal.entries()]
    lines, selection = journalctl.show(records, journalctl.parse_args(["--after-cursor", one, "--show-cursor", "-n", "1"]), "pveT")
    assert [line.rsplit(": ", 1)[-1] for line in lines[:-1]] == ["two"] and lines[-1] == f"-- cursor: {two}"  # first N after it
    lines, _selection = journalctl.show(records, journalctl.parse_args(["--after-cursor", three, "--show-cursor"]), "pveT")
    assert lines == ["-- No entries --", f"-- cursor: {three}"]
    lines, _selection = journalctl.show(records, journalctl.parse_args(["--cursor", two, "-n", "1"]), "pveT")
    assert [line.rsplit(": ", 1)[-1] for line in lines] == ["two"]
    # journalctl (systemd 257) skips the entry it lands on only when it is the cursor's own.
    foreign = f"t={int((NOW + 7.0) * 1e6):x}"
    lines, _selection = journalctl.show(records, journalctl.parse_args(["--after-cursor", foreign]), "pveT")
    assert [line.rsplit(": ", 1)[-1] for line in lines] == ["two", "three"]
    with pytest.raises(journalctl.UsageError, match="Failed to seek to cursor: Invalid argument"):
        journalctl.select(records, journalctl.parse_args(["--after-cursor", "garbage"]))
    assert selection.position is not None and selection.position["cursor"] == two
