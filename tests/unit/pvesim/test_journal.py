# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Node journal: cursors, ranges, gzip, accumulation (pve-protocol.md 3.10)."""
from __future__ import annotations

import re
import time

from pvesim_client import Api

CURSOR = re.compile(r"s=[0-9a-f]{32};i=[0-9a-f]+;b=[0-9a-f]{32};m=[0-9a-f]+;t=[0-9a-f]+;x=[0-9a-f]{16}")
LINE = re.compile(r"[A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d pve1 [^:\[]+(?:\[\d+\])?: .*")


def test_lastentries_shape_and_gzip(api: Api) -> None:
    response = api.get("/nodes/pve1/journal", lastentries=5)
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "gzip" and response.headers["Content-Type"] == "application/json"
    data = response.json()["data"]
    assert len(data) == 7
    assert CURSOR.fullmatch(data[0]) and CURSOR.fullmatch(data[-1])
    assert all(LINE.fullmatch(line) for line in data[1:-1])


def test_gzip_even_without_accept_encoding(api: Api) -> None:
    response = api.session.get(api.base + "/nodes/pve1/journal", params={"lastentries": 1}, headers={"Accept-Encoding": "identity"},
                               stream=True, timeout=30)
    assert response.headers["Content-Encoding"] == "gzip"
    assert response.raw.read(2, decode_content=False) == b"\x1f\x8b"
    response.close()


def test_startcursor_polling(api: Api) -> None:
    last = api.data("/nodes/pve2/journal", lastentries=1)[-1]
    # Nothing new: [cursor, cursor]. A background line can appear every 5 s, so allow a retry.
    for _attempt in range(3):
        newer = api.data("/nodes/pve2/journal", startcursor=last)
        if len(newer) == 2:
            break
        last = newer[-1]
    assert newer == [last, last]
    api.sim.control("POST", "journal/pve2", {"identifier": "myapp", "pid": 42, "lines": ["hello one", "hello two"]})
    newer = api.data("/nodes/pve2/journal", startcursor=last)
    assert newer[-3].endswith("myapp[42]: hello one") and newer[-2].endswith("myapp[42]: hello two")
    # mini-journalreader prints the start cursor's own entry's cursor first, then what came after it.
    assert newer[0] == last and CURSOR.fullmatch(newer[-1]) and newer[-1] != last


def test_endcursor_pages_backwards(api: Api) -> None:
    page = api.data("/nodes/pve3/journal", lastentries=4)
    older = api.data("/nodes/pve3/journal", lastentries=4, endcursor=page[0])
    # The four entries before the end cursor's own one; the reader stops *on* that entry, so its cursor comes last.
    assert len(older) == 6 and older[-2] != page[1] and older[-1] == page[0]
    # Cursors are stable: asking again for the same range gives the same cursors.
    assert api.data("/nodes/pve3/journal", lastentries=4, endcursor=page[0])[0] == older[0]


def test_since_until_and_conflicts(api: Api) -> None:
    now = int(time.time())
    recent = api.data("/nodes/pve1/journal", since=now - 120)
    everything = api.data("/nodes/pve1/journal")
    # An hour of history (one line per 30 s) exists, so the last two minutes are a strict subset.
    assert 3 <= len(recent) - 2 < len(everything) - 2
    assert api.data("/nodes/pve1/journal", since=now + 3600, until=now + 7200) == []
    conflict = api.get("/nodes/pve1/journal", lastentries=3, since=now - 60)
    assert conflict.status_code == 200 and conflict.content == b""


def test_tasks_are_logged_by_pvedaemon(ticket_api: Api) -> None:
    upid = ticket_api.action("pve1", 102, "start")
    ticket_api.wait_task(upid)
    lines = ticket_api.data("/nodes/pve1/journal", lastentries=50)
    assert any(re.search(r"pvedaemon\[\d+\]: <root@pam> starting task " + re.escape(upid) + "$", line) for line in lines)
    assert any(re.search(r"pvedaemon\[\d+\]: <root@pam> end task " + re.escape(upid) + " OK$", line) for line in lines)
    ticket_api.wait_task(ticket_api.action("pve1", 102, "stop"))
