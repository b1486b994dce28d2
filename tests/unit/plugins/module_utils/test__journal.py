# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The REST journal: cursor checks, the reader's range, per-unit cursors, marker lines."""
from __future__ import annotations

import datetime
import typing as t

import pytest

from ansible_collections.pveops.proxmox.plugins.module_utils._errors import ApiError, ConfigError
from ansible_collections.pveops.proxmox.plugins.module_utils._journal import (
    UnitFilterMissing,
    check_cursor,
    decode_units_cursor,
    encode_units_cursor,
    journal_cursor_problem,
    journal_params,
    node_journal,
    split_journal,
    unit_journal,
)

CURSOR = "s=6f1d7c3a2b9e4f0a8c5d1e2f3a4b5c6d;i=1a2b;b=0f1e2d3c4b5a69788796a5b4c3d2e1f0;m=3b9aca00;t=6412f6e1c2a80;x=9f8e7d6c5b4a3921"


class FakeClient:
    """Answers GET /nodes/{node}/journal from a script, recording the parameters."""

    def __init__(self, answers: t.Sequence[t.Any]) -> None:
        self.answers = list(answers)
        self.calls: list[dict[str, t.Any]] = []

    def get(self, path: str, params: t.Any = None) -> t.Any:
        self.calls.append(dict(params or {}, path=path))
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer


@pytest.mark.parametrize("cursor", [CURSOR, "t=5", "b=" + "a" * 32 + ";m=1", "s=" + "1" * 32 + ";i=0;z=anything"])
def test_wellformed_cursors(cursor: str) -> None:
    assert journal_cursor_problem(cursor) is None and check_cursor(cursor) == cursor


@pytest.mark.parametrize(("cursor", "problem"), [
    ("not-a-cursor", "'not-a-cursor' is not a <letter>=<value> field"),
    ("s=xyz;i=1", "s= must be a 128-bit id"),
    ("i=5", "it has none of s= with i="),
    ("t=zz", "t= must be a hexadecimal number"),
    (CURSOR + ";", "'' is not a <letter>=<value> field"),
])
def test_malformed_cursors_are_named(cursor: str, problem: str) -> None:
    with pytest.raises(ConfigError) as info:
        check_cursor(cursor)
    assert str(info.value).startswith(f"cursor {cursor!r} is not a journal cursor ({problem}")


def test_units_cursor_round_trip() -> None:
    packed = encode_units_cursor({"pveproxy": CURSOR, "pvedaemon": "t=5"})
    assert packed.startswith("pveops-units:") and check_cursor(packed) == packed
    assert decode_units_cursor(packed) == {"pvedaemon": "t=5", "pveproxy": CURSOR}
    with pytest.raises(ConfigError, match="is not a cursor this module returned for several services"):
        check_cursor("pveops-units:!!!")


def test_lastentries_is_never_zero() -> None:
    assert journal_params(0, None, None, None) == {"lastentries": 1}
    assert journal_params(5, None, 99, None) == {"lastentries": 5, "until": 99}
    assert journal_params(5, 10, None, None) == {"since": 10}
    assert journal_params(5, 10, None, CURSOR) == {"startcursor": CURSOR}


def test_lines_zero_returns_only_the_cursor() -> None:
    client = FakeClient([["c1", "line", "c2"]])
    assert node_journal(client, "pve1", 0) == ([], "c2")  # type: ignore[arg-type]
    assert client.calls[0]["lastentries"] == 1


def test_until_returns_no_cursor() -> None:
    # The reader's last cursor is then the first entry after the range, which a continuation would skip.
    client = FakeClient([["c1", "a", "b", "beyond"]])
    assert node_journal(client, "pve1", 10, since=1, until=2) == (["a", "b"], None)  # type: ignore[arg-type]


def test_markers_are_not_lines() -> None:
    assert split_journal(["c1", "old", "-- Reboot --", "new", "c2"]) == (["old", "new"], "c2")
    assert split_journal([]) == ([], None)
    assert split_journal(["only"]) == ([], "only")


def test_units_are_read_one_request_each_and_continue_per_unit() -> None:
    reference = datetime.datetime(2026, 8, 20, 12, 0, 0)
    client = FakeClient([
        ["p0", "Aug 20 11:00:02 pve1 pveproxy[1]: second", "p1"],
        ["d0", "Aug 20 11:00:01 pve1 pvedaemon[2]: first", "Aug 20 11:00:03 pve1 pvedaemon[2]: third", "d1"],
    ])
    lines, cursor = unit_journal(client, "pve1", ["pveproxy", "pvedaemon"], 10, reference)  # type: ignore[arg-type]
    assert [line.rsplit(": ", 1)[1] for line in lines] == ["first", "second", "third"]
    assert [call["unit"] for call in client.calls] == ["pveproxy", "pvedaemon"]
    assert cursor is not None and decode_units_cursor(cursor) == {"pveproxy": "p1", "pvedaemon": "d1"}
    again = FakeClient([["p1", "p1"], ["d1", "Aug 20 11:00:09 pve1 pvedaemon[2]: fourth", "d2"]])
    lines, cursor = unit_journal(again, "pve1", ["pveproxy", "pvedaemon"], 10, reference, cursor=cursor)  # type: ignore[arg-type]
    assert [call["startcursor"] for call in again.calls] == ["p1", "d1"]
    assert [line.rsplit(": ", 1)[1] for line in lines] == ["fourth"]
    assert cursor is not None and decode_units_cursor(cursor) == {"pveproxy": "p1", "pvedaemon": "d2"}
    single = FakeClient([["p1", "Aug 20 11:00:10 pve1 pveproxy[1]: x", "p2"]])
    assert unit_journal(single, "pve1", ["pveproxy"], 10, reference, cursor="p1")[1] == "p2"  # type: ignore[arg-type]


def test_a_node_without_the_unit_filter_is_recognised() -> None:
    refusal = ApiError(400, "GET", "/nodes/pve1/journal", "Parameter verification failed.",
                       {"unit": "property is not defined in schema and the schema does not allow additional properties"})
    with pytest.raises(UnitFilterMissing):
        unit_journal(FakeClient([refusal]), "pve1", ["pveproxy"], 5, datetime.datetime.now())  # type: ignore[arg-type]
