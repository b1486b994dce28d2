# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The node journal over REST: ``GET /nodes/{node}/journal`` (``Sys.Syslog``, works with API tokens; pve-protocol.md §3.10).

The answer is what ``mini-journalreader`` prints: the first and last elements are cursors, the first
being the start cursor's *own* entry when one was given; ``lastentries`` 0 is not passed on by PVE and
would dump the whole journal, so it is never sent. From pve-manager 9.2.4 the ``unit`` filter narrows it
to one systemd unit: several services are then read one request each, with one cursor per unit (a
unit-filtered reader treats the entry it lands on after a cursor as that cursor's own, so only the
unit's own cursor continues it without losing a line). Cursors are checked the way
``sd_journal_seek_cursor`` checks them before anything is sent.
"""

from __future__ import annotations

import base64
import datetime
import json
import re
import typing as t

from ansible_collections.pveops.proxmox.plugins.module_utils._api import ApiClient, api_path
from ansible_collections.pveops.proxmox.plugins.module_utils._errors import ApiError, ConfigError, PveError
from ansible_collections.pveops.proxmox.plugins.module_utils._logtime import is_marker, merge_by_time
from ansible_collections.pveops.proxmox.plugins.module_utils._tasks import Deadline

JOURNAL_POLL = 1.0  # follow mode: how often the REST journal is asked for new entries
UNITS_CURSOR_PREFIX = "pveops-units:"
_ID128 = re.compile(r"[0-9a-fA-F]{32}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_HEX = re.compile(r"\s*[+-]?(?:0[xX])?[0-9a-fA-F]")


class UnitFilterMissing(PveError):
    """The node's journal API has no ``unit`` parameter (pve-manager before 9.2.4; a mixed cluster can have both)."""


def journal_cursor_problem(cursor: str) -> str | None:
    """Why ``sd_journal_seek_cursor()`` would refuse ``cursor`` (EINVAL), or None when it is well formed.

    ``;``-separated ``<letter>=<value>`` words; ``s``/``b`` 128-bit ids, ``i``/``m``/``t``/``x`` hex; it needs
    ``s`` and ``i``, or ``b`` and ``m``, or ``t`` (systemd sd-journal.c).
    """
    if not cursor:
        return "it is empty"
    keys = set()
    for word in cursor.split(";"):
        if len(word) < 2 or word[1] != "=":
            return f"{word!r} is not a <letter>=<value> field"
        key, value = word[0], word[2:]
        if key in "sb" and not _ID128.fullmatch(value):
            return f"{key}= must be a 128-bit id (32 hex digits)"
        if key in "imtx" and not _HEX.match(value):
            return f"{key}= must be a hexadecimal number"
        keys.add(key)
    if not ({"s", "i"} <= keys or {"b", "m"} <= keys or "t" in keys):
        return "it has none of s= with i=, b= with m=, or t="
    return None


def check_cursor(cursor: str, option: str = "cursor") -> str:
    """A cursor the journal readers accept; ConfigError naming the option and the value otherwise."""
    if cursor.startswith(UNITS_CURSOR_PREFIX):
        for unit, value in decode_units_cursor(cursor, option).items():
            check_cursor(value, f"{option} (unit {unit})")
        return cursor
    problem = journal_cursor_problem(cursor)
    if problem is not None:
        raise ConfigError(f"{option} {cursor!r} is not a journal cursor ({problem}); pass the cursor an earlier run returned, "
                          "like s=<id>;i=<hex>;b=<id>;m=<hex>;t=<hex>;x=<hex>")
    return cursor


def encode_units_cursor(cursors: t.Mapping[str, str]) -> str:
    """One cursor per unit, as one opaque string (several services on the journal API)."""
    raw = json.dumps(dict(sorted(cursors.items())), separators=(",", ":")).encode("utf-8")
    return UNITS_CURSOR_PREFIX + base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_units_cursor(cursor: str, option: str = "cursor") -> dict[str, str]:
    """The per-unit cursors of :func:`encode_units_cursor`."""
    body = cursor[len(UNITS_CURSOR_PREFIX):]
    try:
        data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode("utf-8"))
    except ValueError:
        data = None
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise ConfigError(f"{option} {cursor!r} is not a cursor this module returned for several services")
    return dict(data)


def split_journal(data: t.Sequence[t.Any]) -> tuple[list[str], str | None]:
    """Lines and the last cursor of a ``/journal`` answer; the readers' ``-- Reboot --`` lines are left out."""
    items = [str(item) for item in data or []]
    if len(items) < 2:
        return [], items[-1] if items else None
    return [line for line in items[1:-1] if not is_marker(line)], items[-1]


def read_journal(client: ApiClient, node: str, params: t.Mapping[str, t.Any]) -> tuple[list[str], str | None]:
    """One ``/journal`` request; an empty answer means the reader refused (it prints nothing then)."""
    try:
        data = client.get(api_path("nodes", node, "journal"), params)
    except ApiError as exc:
        if exc.status == 400 and "unit" in exc.errors:
            raise UnitFilterMissing(f"the journal API of node {node} has no unit filter (pve-manager before 9.2.4)") from None
        raise
    return split_journal(data or [])


def cap(found: list[str], lines: int | None) -> list[str]:
    """The newest ``lines`` (None: all of them; 0: none)."""
    if lines is None:
        return found
    return found[-lines:] if lines else []


def journal_params(lines: int | None, since: int | None, until: int | None, cursor: str | None) -> dict[str, t.Any]:
    """The reader's range: after ``cursor``, or from ``since``, else the last ``lines`` (never ``lastentries=0``)."""
    params: dict[str, t.Any] = {}
    if cursor:
        params["startcursor"] = cursor
    elif since:
        params["since"] = since
    else:
        # lastentries conflicts with since/startcursor (§3.10); 0 is dropped by PVE and dumps everything.
        params["lastentries"] = max(lines or 0, 1)
    if until:
        params["until"] = until
    return params


def node_journal(client: ApiClient, node: str, lines: int | None, since: int | None = None, until: int | None = None,
                 cursor: str | None = None) -> tuple[list[str], str | None]:
    """The node journal: with ``cursor``/``since`` every newer entry, capped to the last ``lines`` (0: none, None: no cap).

    The cursor returned continues after the newest entry; with ``until`` there is none (the reader's last
    cursor is then the first entry *after* the range, which a continuation would skip).
    """
    found, newest = read_journal(client, node, journal_params(lines, since, until, cursor))
    return cap(found, lines), None if until else (newest or cursor)


def unit_journal(client: ApiClient, node: str, units: t.Sequence[str], lines: int | None, reference: datetime.datetime,
                 since: int | None = None, until: int | None = None, cursor: str | None = None) -> tuple[list[str], str | None]:
    """Several units through the 9.2.4+ ``unit`` filter: one request per unit, merged by time, one cursor per unit."""
    given = decode_units_cursor(cursor) if cursor and cursor.startswith(UNITS_CURSOR_PREFIX) else {}
    groups: list[list[str]] = []
    cursors: dict[str, str] = {}
    for unit in units:
        start = given.get(unit, cursor if cursor and not given else None)
        params = dict(journal_params(lines, since, until, start), unit=unit)
        found, newest = read_journal(client, node, params)
        groups.append(found)
        if newest or start:
            cursors[unit] = t.cast(str, newest or start)
    merged = merge_by_time(groups, reference)
    if until:
        next_cursor = None
    elif len(units) == 1:
        next_cursor = cursors.get(units[0])
    else:
        next_cursor = encode_units_cursor(cursors) if cursors else None
    return cap(merged, lines), next_cursor


Reader = t.Callable[[t.Optional[int], t.Optional[str], bool], t.Tuple[t.List[str], t.Optional[str]]]


def follow_journal(read: Reader, lines: int, seconds: float, cursor: str | None) -> tuple[list[str], str | None]:
    """``read(lines, cursor, first=True)``, then everything new (``read(None, cursor, False)``) for ``seconds`` by
    REST polling (token-friendly)."""
    collected, cursor = read(lines, cursor, True)
    window = Deadline(seconds)
    while not window.expired():
        window.sleep(JOURNAL_POLL)
        new, cursor = read(None, cursor, False) if cursor else read(lines, None, True)
        collected.extend(new)
    return collected, cursor
