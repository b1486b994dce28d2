# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Logs behind the terminal: container journals and messages, the node `journalctl`, and `GET /syslog` (3.10, 3.11)."""
from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import time

import pytest

from pvesim.harness import SimProcess
from pvesim.tools import journalctl
from pvesim_client import Api
from term_client import NEEDS_BWRAP

SHORT = re.compile(r"[A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d (\S+) ([^:\[]+)(?:\[\d+\])?: .*")


def run(sim: SimProcess, tool: str, *args: str, node: str = "pve1", timeout: float = 30) -> subprocess.CompletedProcess[bytes]:
    """An installed node tool, as the node shell runs it."""
    return subprocess.run([str(sim.node_tool(node, tool)), *args], capture_output=True, timeout=timeout, check=False)


@NEEDS_BWRAP
def test_container_journal_follow_sees_new_lines(sim: SimProcess) -> None:
    # Read until the running container has logged two new lines (bounded), then end the follow.
    command = [str(sim.node_tool("pve1", "pct")), "exec", "100", "--", "journalctl", "--no-pager", "-n", "0", "-f"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True) as follow:
        assert follow.stdout is not None
        lines: list[str] = []
        deadline = time.monotonic() + 60
        while len(lines) < 2 and time.monotonic() < deadline:
            if select.select([follow.stdout], [], [], 1.0)[0]:
                line = follow.stdout.readline().decode()
                if not line:
                    break
                lines.append(line.rstrip("\n"))
        os.killpg(follow.pid, signal.SIGTERM)  # the whole group, as `timeout` and a hang-up do
        follow.wait(30)
    assert len(lines) >= 2, (lines, follow.stderr.read() if follow.stderr else b"")
    assert all(SHORT.fullmatch(line) and SHORT.fullmatch(line).group(1) == "web" for line in lines)  # type: ignore[union-attr]


@NEEDS_BWRAP
def test_container_journal_units_and_cursors(sim: SimProcess) -> None:
    pct = str(sim.node_tool("pve1", "pct"))
    first = subprocess.run([pct, "exec", "101", "--", "journalctl", "--no-pager", "-u", "pvesim-app", "-n", "3", "--show-cursor"],
                           capture_output=True, timeout=30, check=True).stdout.decode().splitlines()
    assert first[-1].startswith("-- cursor: s=") and all("pvesim-app" in line or "systemd" in line for line in first[:-1])
    cursor = first[-1][len("-- cursor: "):]
    newer: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # until the running container has logged more after the cursor
        newer = subprocess.run([pct, "exec", "101", "--", "journalctl", "--no-pager", "--after-cursor", cursor, "--show-cursor"],
                               capture_output=True, timeout=30, check=True).stdout.decode().splitlines()
        if len(newer) >= 3:
            break
        time.sleep(0.2)
    assert len(newer) >= 3 and newer[-1] != first[-1] and first[-2] not in newer


@NEEDS_BWRAP
def test_alpine_has_messages_and_no_journal(sim: SimProcess) -> None:
    result = subprocess.run([str(sim.node_tool("pve3", "pct")), "exec", "107", "--", "sh", "-c",
                             "test -e /usr/local/bin/journalctl || echo none; tail -n 2 /var/log/messages"], capture_output=True, timeout=30, check=True)
    lines = result.stdout.decode().splitlines()
    assert lines[0] == "none" and all(re.match(r"\w{3} [ \d]\d [\d:]{8} alpine \w+\.\w+ \S+: ", line) for line in lines[1:])


def test_node_journalctl_agrees_with_the_rest_journal(sim: SimProcess, api: Api) -> None:
    api.sim.control("POST", "journal/pve1", {"identifier": "pveproxy", "pid": 1342, "lines": ["agree one", "agree two"]})
    for _attempt in range(5):
        rest = api.data("/nodes/pve1/journal", lastentries=2)
        shell = run(sim, "journalctl", "--no-pager", "-o", "short", "-n", "2", "--show-cursor").stdout.decode().splitlines()
        if rest[-1] == shell[-1][len("-- cursor: "):]:
            break
        time.sleep(0.3)  # a background line came in between
    assert shell[:2] == rest[1:3] and shell[-1] == "-- cursor: " + rest[-1]
    units = run(sim, "journalctl", "--no-pager", "-u", "pveproxy", "-n", "5").stdout.decode().splitlines()
    assert units and all(" pveproxy[" in line for line in units)
    follow = subprocess.run(["timeout", "0.7", str(sim.node_tool("pve1", "journalctl")), "-f", "-n", "1", "-u", "pvesim-follow"],
                            capture_output=True, timeout=30, check=False)
    assert follow.stdout == b""  # no entry of that unit: nothing, and no "-- No entries --" with -f
    assert run(sim, "journalctl", "-u", "nothing-here").stdout == b"-- No entries --\n"
    bad = run(sim, "journalctl", "--no-pager", "--after-cursor", "not-a-cursor", "-n", "3")
    # journalctl's real answer to a cursor it cannot parse, not the whole journal.
    assert (bad.returncode, bad.stdout, bad.stderr) == (1, b"", b"Failed to seek to cursor: Invalid argument\n")


def test_syslog(api: Api, ro_api: Api) -> None:
    api.sim.control("POST", "journal/pve2", {"identifier": "probe-syslog", "pid": 7, "lines": ["syslog probe"]})
    first = api.get("/nodes/pve2/syslog", limit=1).json()
    assert first["total"] > 100 and first["data"][0]["n"] == 1  # oldest first
    total = first["total"]
    tail = api.get("/nodes/pve2/syslog", start=total - 1, limit=5).json()
    assert tail["data"] and tail["data"][0]["n"] == total
    mine = api.get("/nodes/pve2/syslog", service="probe-syslog").json()
    assert mine["total"] == 1 and mine["data"][0]["t"].endswith("probe-syslog[7]: syslog probe")
    proxy = api.data("/nodes/pve2/syslog", service="pveproxy", limit=0)
    # systemd's own lines about the unit belong to it too (journalctl -u matches UNIT= as well).
    assert len(proxy) <= 50 and all(" pveproxy[" in entry["t"] or "pveproxy.service" in entry["t"] or entry["t"].startswith("-- Boot ")
                                    for entry in proxy)
    # journalctl's own line for an empty match (pve-common dump_journal's "no content" only when it prints nothing at all).
    assert api.get("/nodes/pve2/syslog", service="none-such").json() == {"data": [{"n": 1, "t": "-- No entries --"}], "total": 1}
    today = time.strftime("%Y-%m-%d")
    assert api.get("/nodes/pve2/syslog", since="2999-01-01").json()["data"] == [{"n": 1, "t": "-- No entries --"}]
    boots = [entry["t"] for entry in api.data("/nodes/pve2/syslog", limit=20) if entry["t"].startswith("-- Boot ")]
    assert len(boots) == 1 and re.fullmatch(r"-- Boot [0-9a-f]{32} --", boots[0])
    assert api.get("/nodes/pve2/syslog", since=today, until="2999-01-01 00:00").json()["total"] > 0
    bad = api.get("/nodes/pve2/syslog", since="yesterday")
    assert bad.status_code == 400 and bad.json()["errors"] == {"since": "value does not match the regex pattern"}
    assert ro_api.get("/nodes/pve2/syslog").status_code == 200  # Sys.Syslog is enough


@pytest.mark.parametrize("argv, expected", [
    (["--no-pager", "-n", "5", "-u", "a", "-u", "b.service"], {"lines": 5, "units": ["a", "b.service"]}),
    (["-n5", "--lines=7"], {"lines": 7}),
    (["-n"], {"lines": 10}),
    (["-f", "--show-cursor", "--after-cursor", "s=x;i=5"], {"follow": True, "show_cursor": True, "after_cursor": "s=x;i=5"}),
    (["--since", "@100", "--until=@200", "-o", "cat"], {"since": 100.0, "until": 200.0, "output": "cat"}),
])
def test_journalctl_options(argv: list[str], expected: dict[str, object]) -> None:
    opts = journalctl.parse_args(argv)
    assert {key: getattr(opts, key) for key in expected} == expected


def test_journalctl_selection() -> None:
    seqnum = "a" * 32
    entries = [{"seq": i, "cursor": f"s={seqnum};i={i:x};t={int((1000.0 + i) * 1e6):x}", "ts": 1000.0 + i, "unit": unit, "ident": "x",
                "pid": None, "message": str(i)}
               for i, unit in enumerate(["a.service", "b.service", "a.service", None, "pve-container@101.service"], 1)]

    def pick(*argv: str) -> list[int]:
        return [e["seq"] for e in journalctl.select(entries, journalctl.parse_args(list(argv))).shown]

    assert pick("-u", "a") == [1, 3]
    assert pick("-u", "pve-container@*") == [5]
    # With a cursor, -n counts from it (the first N after it); without, from the end.
    assert pick("--after-cursor", f"s={seqnum};i=2", "-n", "2") == [3, 4]
    assert pick("-n", "2") == [4, 5]
    assert pick("--since", "@1003") == [3, 4, 5]
    assert pick("--until", "@1003") == [1, 2, 3]  # inclusive
    with pytest.raises(journalctl.UsageError):
        journalctl.parse_args(["--bogus"])
