# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Time on the node's clock: its zone for ``/syslog``'s ``since``/``until`` strings, and the time of a log line.

``/syslog`` passes ``since``/``until`` to ``journalctl`` as text, which reads them in the **node's** local
time (pve-common Tools.pm ``dump_journal``); journal lines carry ``Mon DD HH:MM:SS`` in that zone and no
year. ``GET /nodes/{node}/time`` (``Sys.Audit``) gives the zone name and the node's clock.
"""

from __future__ import annotations

import datetime
import re
import typing as t

from ansible_collections.pveops.proxmox.plugins.module_utils._api import ApiClient, api_path

try:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError  # Python 3.9+
except ImportError:  # pragma: no cover - Python 3.8 targets use the offset
    ZoneInfo = None  # type: ignore[assignment,misc]
    ZoneInfoNotFoundError = KeyError  # type: ignore[assignment,misc]

_MONTHS = {name: number for number, name in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}
_STAMP = re.compile(r"^([A-Z][a-z]{2}) ([ 0-9]\d) (\d\d):(\d\d):(\d\d) ")
_BOOT_MARKER = re.compile(r"-- Boot [0-9a-f]{32} --")


def is_marker(line: str) -> bool:
    """``-- No entries --``, ``-- Boot <id> --``, ``-- Reboot --``: what the readers print besides entries."""
    return line in ("-- No entries --", "-- Reboot --") or bool(_BOOT_MARKER.fullmatch(line))


class NodeClock:
    """The node's zone and current time, read once (``/nodes/{node}/time``)."""

    def __init__(self, zone: str, now: int, localtime: int) -> None:
        self.zone_name = zone
        self.now = now
        self.offset = localtime - now
        self._zone: datetime.tzinfo | None = None
        if ZoneInfo is not None and zone:
            try:
                self._zone = ZoneInfo(zone)
            except (ZoneInfoNotFoundError, ValueError):
                self._zone = None

    @classmethod
    def read(cls, client: ApiClient, node: str) -> NodeClock:
        """Ask the node."""
        answer = client.get(api_path("nodes", node, "time")) or {}
        now = int(answer.get("time") or 0)
        return cls(str(answer.get("timezone") or ""), now, int(answer.get("localtime") or now))

    def local(self, epoch: float) -> datetime.datetime:
        """``epoch`` as the node's wall clock (naive): with the zone's rules, else with its current offset."""
        if self._zone is not None:
            return datetime.datetime.fromtimestamp(epoch, self._zone).replace(tzinfo=None)
        return datetime.datetime(1970, 1, 1) + datetime.timedelta(seconds=epoch + self.offset)

    def syslog_string(self, epoch: int | None) -> str | None:
        """``YYYY-MM-DD HH:MM:SS`` on the node's clock, as ``/syslog`` (journalctl) reads it."""
        return None if epoch is None else self.local(epoch).strftime("%Y-%m-%d %H:%M:%S")


def line_time(line: str, reference: datetime.datetime) -> datetime.datetime | None:
    """The time of a ``Mon DD HH:MM:SS host ...`` line, with the year that puts it at or before ``reference``
    (a day of slack for clock skew): a ``Dec 31`` line read on ``Jan 1`` is last year's."""
    match = _STAMP.match(line)
    if match is None:
        return None
    month, day = _MONTHS.get(match.group(1)), int(match.group(2))
    if month is None:
        return None
    hour, minute, second = (int(match.group(i)) for i in (3, 4, 5))
    for year in (reference.year, reference.year - 1):
        try:
            moment = datetime.datetime(year, month, day, hour, minute, second)
        except ValueError:  # Feb 29 of a year without it
            continue
        if moment <= reference + datetime.timedelta(days=1):
            return moment
    return None


def merge_by_time(groups: t.Sequence[t.Sequence[str]], reference: datetime.datetime) -> list[str]:
    """Lines of several units, oldest first each, merged by their real times; within a second each unit keeps its
    order, and a line without a time stays right after the one before it."""
    keyed = []
    for group_index, lines in enumerate(groups):
        last = datetime.datetime.min
        for line_index, line in enumerate(lines):
            moment = line_time(line, reference) or last
            last = moment
            keyed.append((moment, group_index, line_index, line))
    keyed.sort(key=lambda item: item[:3])
    return [item[3] for item in keyed]
