# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Logs of nodes and containers: which source serves a request, and the sources behind the terminal and ``/syslog``.

The node journal is plain REST (``_journal.py``; GoDoxy needlessly used the shell for it, §6.2 item 4).
Unit filters (``services``): the journal API's ``unit`` filter from pve-manager 9.2.4 (exact, cursors,
any identity with ``Sys.Syslog``); before that ``journalctl -u`` through the node terminal for a root@pam
login, else ``GET /nodes/{node}/syslog?service=`` (§3.11: one unit per request, no cursor). Files and
container logs need the terminal. The readers' own marker lines (``-- No entries --``, ``-- Boot <id> --``,
``-- Reboot --``) are never returned as log lines.
"""

from __future__ import annotations

import dataclasses
import datetime
import typing as t

from ansible_collections.pveops.proxmox.plugins.module_utils._api import ApiClient, api_path
from ansible_collections.pveops.proxmox.plugins.module_utils._errors import ConfigError, PermissionDenied, PveError
from ansible_collections.pveops.proxmox.plugins.module_utils._exec import TRANSFER_MARGIN, ExecResult, container_argv, run_capture, run_stream, validate_word
from ansible_collections.pveops.proxmox.plugins.module_utils._journal import (
    UNITS_CURSOR_PREFIX,
    UnitFilterMissing,
    decode_units_cursor,
    follow_journal,
    node_journal,
    unit_journal,
)
from ansible_collections.pveops.proxmox.plugins.module_utils._logtime import NodeClock, is_marker, merge_by_time
from ansible_collections.pveops.proxmox.plugins.module_utils._tasks import Deadline
from ansible_collections.pveops.proxmox.plugins.module_utils._terminal import LOGIN_REQUIRED_MESSAGE, has_root_login
from ansible_collections.pveops.proxmox.plugins.module_utils._versions import JOURNAL_UNIT_FILTER, describe, supports

SYSLOG_WINDOW = 86400  # /syslog without since: only the last day (every request re-reads the unit's history, §3.11)

SOURCE_JOURNAL_API = "journal-api"
SOURCE_SYSLOG_API = "syslog-api"
SOURCE_JOURNALCTL = "journalctl"
SOURCE_MESSAGES = "/var/log/messages"
SOURCE_TAIL = "tail"

SOURCE_NOTES = {
    SOURCE_JOURNAL_API: "the node's systemd journal through GET /nodes/{node}/journal",
    SOURCE_SYSLOG_API: ("the node's journal through GET /nodes/{node}/syslog, one request per service with its exact unit filter; "
                        "the lines of several services are merged by their time stamps and no cursor is available"),
    SOURCE_JOURNALCTL: "journalctl run through the node terminal (root@pam), with exact -u unit filters",
    SOURCE_MESSAGES: "the container has no systemd journal; /var/log/messages was read instead",
    SOURCE_TAIL: "tail of the given files through the node terminal (root@pam)",
}
UNIT_FILTER_NOTE = ("the node's systemd journal through GET /nodes/{node}/journal with its unit filter (pve-manager 9.2.4+), "
                    "one request per service, merged by time, with a cursor")

# Inside a container: journalctl when there is one, else /var/log/messages (the seed's fallback).
# Arguments: the line count, then journalctl options; the source goes to stderr.
_CONTAINER_JOURNAL = (
    'n="$1"; shift; '
    'if command -v journalctl >/dev/null 2>&1 && [ -d /run/systemd/system -o -d /var/log/journal -o -d /run/log/journal ]; then '
    'echo "pveops-source: journalctl" >&2; exec journalctl --no-pager -o short -n "$n" "$@"; '
    'else echo "pveops-source: messages" >&2; exec tail -n "$n" /var/log/messages; fi'
)
_CONTAINER_JOURNAL_FOLLOW = (
    'n="$1"; shift; '
    'if command -v journalctl >/dev/null 2>&1 && [ -d /run/systemd/system -o -d /var/log/journal -o -d /run/log/journal ]; then '
    'exec journalctl --no-pager -o short -n "$n" -f "$@"; else exec tail -n "$n" -F /var/log/messages; fi'
)


@dataclasses.dataclass
class NodeLogs:
    """What was read from a node, from where, and how to continue."""

    lines: list[str]
    source: str
    note: str
    cursor: str | None = None
    warnings: list[str] = dataclasses.field(default_factory=list)


def validate_services(services: t.Sequence[str]) -> list[str]:
    """Unit names: the seed's character rules plus control characters and a leading ``-``."""
    return [validate_word(str(service), "services") for service in services]


def validate_files(files: t.Sequence[str]) -> list[str]:
    """File paths: the same rules, and absolute."""
    result = []
    for path in files:
        validate_word(str(path), "files")
        if not str(path).startswith("/"):
            raise ConfigError(f"files {path!r} is not an absolute path")
        result.append(str(path))
    return result


def cap(found: list[str], lines: int) -> list[str]:
    """The newest ``lines`` of ``found`` (0: none)."""
    return found[-lines:] if lines else []


# ------------------------------------------------------------------------------- the node: which source

def node_logs(client: ApiClient, node: str, lines: int, services: t.Sequence[str], files: t.Sequence[str], since: int | None,
              until: int | None, cursor: str | None, follow: float, deadline: Deadline) -> NodeLogs:
    """Read a node's logs from the best source the connection and the node's release allow."""
    if files:
        require_root_login(client)
        return NodeLogs(terminal_lines(client, node, tail_argv(files, lines, follow > 0), follow, deadline), SOURCE_TAIL, SOURCE_NOTES[SOURCE_TAIL])
    if not services:
        if follow > 0:
            def read(count: int | None, position: str | None, first: bool) -> tuple[list[str], str | None]:
                return node_journal(client, node, count, since=since if first else None, cursor=position)
            found, cursor = follow_journal(read, lines, follow, cursor)
        else:
            found, cursor = node_journal(client, node, lines, since=since, until=until, cursor=cursor)
        return NodeLogs(found, SOURCE_JOURNAL_API, SOURCE_NOTES[SOURCE_JOURNAL_API], cursor)
    if supports(client, JOURNAL_UNIT_FILTER):
        try:
            return _unit_filter_logs(client, node, lines, services, since, until, cursor, follow)
        except UnitFilterMissing:
            pass  # a node of an older release in a mixed cluster
    if has_root_login(client):
        return _journalctl_logs(client, node, lines, services, since, until, cursor, follow, deadline)
    if follow > 0:
        raise PveError(LOGIN_REQUIRED_MESSAGE.replace("command execution", "following services on this node")
                       + f"; its journal API has no unit filter before Proxmox VE 9.2.4 (the API answers {describe(client)})")
    return _syslog_logs(client, node, lines, services, since, until, cursor)


def require_root_login(client: ApiClient) -> None:
    """Files and container logs need the node terminal, which gives a root shell only to a root@pam ticket."""
    if not has_root_login(client):
        raise PveError(LOGIN_REQUIRED_MESSAGE.replace("command execution", "this log source"))


def _unit_filter_logs(client: ApiClient, node: str, lines: int, services: t.Sequence[str], since: int | None, until: int | None,
                      cursor: str | None, follow: float) -> NodeLogs:
    reference = _node_now(client, node)
    if follow > 0:
        def read(count: int | None, position: str | None, first: bool) -> tuple[list[str], str | None]:
            return unit_journal(client, node, services, count, reference, since=since if first else None, cursor=position)
        found, cursor = follow_journal(read, lines, follow, cursor)
    else:
        found, cursor = unit_journal(client, node, services, lines, reference, since=since, until=until, cursor=cursor)
    return NodeLogs(found, SOURCE_JOURNAL_API, UNIT_FILTER_NOTE, cursor)


def _node_now(client: ApiClient, node: str) -> datetime.datetime:
    """The node's wall clock (to give journal lines their year); the controller's when /time is not allowed."""
    try:
        clock = NodeClock.read(client, node)
    except PermissionDenied:
        return datetime.datetime.now()
    return clock.local(clock.now)


# ------------------------------------------------------------------------------- journalctl (root@pam)

def journalctl_argv(lines: int, services: t.Sequence[str], since: int | None, until: int | None,
                    cursor: str | None, follow: bool) -> list[str]:
    """A journalctl command line; every value is its own argument.

    With a cursor ``-n N`` would mean the *first* N after it (journalctl-show.c), so it is left out and the
    caller keeps the newest; with ``--since`` it means the last N, as wanted.
    """
    argv = ["journalctl", "--no-pager", "-o", "short", "--show-cursor"]
    if cursor:
        argv += ["--after-cursor", cursor]
    else:
        argv += ["-n", str(lines)]
        if since is not None:
            argv += ["--since", f"@{since}"]
    if until is not None:
        argv += ["--until", f"@{until}"]
    for service in services:
        argv += ["-u", service]
    if follow:
        argv.append("-f")
    return argv


def split_cursor(lines: t.Sequence[str]) -> tuple[list[str], str | None]:
    """Remove journalctl's ``-- cursor: …`` trailer (returned) and its marker lines."""
    result = list(lines)
    cursor = None
    while result and result[-1].startswith("-- cursor: "):
        cursor = result.pop()[len("-- cursor: "):].strip()
    return [line for line in result if not is_marker(line)], cursor


def newest_cursor(cursor: str) -> str:
    """A plain journal cursor for journalctl: of a per-unit cursor (journal API, several services) the newest one."""
    if not cursor.startswith(UNITS_CURSOR_PREFIX):
        return cursor

    def position(value: str) -> tuple[int, int]:
        fields = dict(word.split("=", 1) for word in value.split(";") if "=" in word)
        return int(fields.get("i", "0"), 16), int(fields.get("t", "0"), 16)

    return max(decode_units_cursor(cursor).values(), key=position)


def _journalctl_logs(client: ApiClient, node: str, lines: int, services: t.Sequence[str], since: int | None, until: int | None,
                     cursor: str | None, follow: float, deadline: Deadline) -> NodeLogs:
    start = newest_cursor(cursor) if cursor else None
    raw = terminal_lines(client, node, journalctl_argv(lines, services, since, until, start, follow > 0), follow, deadline)
    found, new_cursor = split_cursor(raw)
    if follow <= 0:
        found = cap(found, lines)
    return NodeLogs(found, SOURCE_JOURNALCTL, SOURCE_NOTES[SOURCE_JOURNALCTL], new_cursor or start)


# ------------------------------------------------------------------------------- /syslog (a token before 9.2.4)

def _syslog_logs(client: ApiClient, node: str, lines: int, services: t.Sequence[str], since: int | None, until: int | None,
                 cursor: str | None) -> NodeLogs:
    warnings = []
    note = (f"{SOURCE_NOTES[SOURCE_SYSLOG_API]}; used because this node's journal API has no unit filter before Proxmox VE 9.2.4 "
            f"(the API answers {describe(client)}) and a root@pam password login is not configured")
    try:
        clock: NodeClock | None = NodeClock.read(client, node)
    except PermissionDenied:
        clock = None
        warnings.append(f"since and until were read in the controller's time zone: GET /nodes/{node}/time needs Sys.Audit")
    if cursor:
        since = _cursor_time(cursor)
        warnings.append("cursor: /syslog has no cursors, so the lines come from the cursor's time on (lines of that same second may repeat) "
                        "and no cursor is returned; a root@pam password login or Proxmox VE 9.2.4+ continues exactly")
        note += "; the cursor was turned into its time"
    elif since is None:
        since = (clock.now if clock else int(datetime.datetime.now().timestamp())) - SYSLOG_WINDOW
        note += "; without since only the last 24 hours are read"
    reference = clock.local(clock.now) if clock else datetime.datetime.now()
    found = syslog_services(client, node, services, lines, _syslog_string(clock, since), _syslog_string(clock, until), reference)
    return NodeLogs(found, SOURCE_SYSLOG_API, note, None, warnings)


def _syslog_string(clock: NodeClock | None, epoch: int | None) -> str | None:
    if epoch is None:
        return None
    if clock is not None:
        return clock.syslog_string(epoch)
    return datetime.datetime.fromtimestamp(epoch).strftime("%Y-%m-%d %H:%M:%S")


def _cursor_time(cursor: str) -> int:
    """The realtime (``t=``, µs) inside a journal cursor, in seconds; of a per-unit cursor the oldest."""
    values = decode_units_cursor(cursor).values() if cursor.startswith(UNITS_CURSOR_PREFIX) else [cursor]
    stamps = []
    for value in values:
        fields = dict(word.split("=", 1) for word in value.split(";") if "=" in word)
        if "t" in fields:
            stamps.append(int(fields["t"], 16) // 1_000_000)
    if not stamps:
        raise ConfigError(f"cursor {cursor!r} has no time (t=), which /syslog would need to continue from it")
    return min(stamps)


def syslog_services(client: ApiClient, node: str, services: t.Sequence[str], lines: int, since: str | None,
                    until: str | None, reference: datetime.datetime) -> list[str]:
    """The last ``lines`` lines of each unit through ``/syslog``, merged by their real times (months and years included)."""
    if not lines:
        return []
    path = api_path("nodes", node, "syslog")
    groups = []
    for service in services:
        base: dict[str, t.Any] = {"service": service}
        if since:
            base["since"] = since
        if until:
            base["until"] = until
        # /syslog counts from the oldest line: ask for the total first, then the tail (§3.11).
        first = client.request("GET", path, params=dict(base, start=0, limit=1), envelope=True)
        total = int(first.get("total") or 0)
        body = client.request("GET", path, params=dict(base, start=max(0, total - lines), limit=lines), envelope=True)
        texts = [str(entry.get("t", "")) if isinstance(entry, dict) else str(entry) for entry in body.get("data") or []]
        # "no content" is dump_journal's line when journalctl printed nothing at all.
        groups.append([text for text in texts if text and text != "no content" and not is_marker(text)])
    return cap(merge_by_time(groups, reference), lines)


# ------------------------------------------------------------------------------- the terminal

def terminal_lines(client: ApiClient, node: str, argv: t.Sequence[str], follow: float, deadline: Deadline) -> list[str]:
    """Run a read-only node command through the terminal and return its output lines."""
    if follow > 0:
        lines, _rc = run_stream(client, node, argv, follow, deadline=deadline)
        return lines
    result = capture(client, node, argv, deadline)
    if result.rc != 0:
        message = result.stderr.decode("utf-8", "replace").strip() or result.stdout.decode("utf-8", "replace").strip()
        raise PveError(f"{argv[0]} on node {node} failed with exit code {result.rc}: {message[:500]}")
    return result.stdout.decode("utf-8", "replace").splitlines()


def capture(client: ApiClient, node: str, argv: t.Sequence[str], deadline: Deadline) -> ExecResult:
    """Run a reading command with what is left of the operation's time (less the margin to fetch its output).

    A command that is still reading when that time is up (``tail`` of a device or a FIFO never ends)
    is stopped on the node and reported as such, not as a bare exit code 137.
    """
    seconds = max(1, int(deadline.remaining() - TRANSFER_MARGIN))
    result = run_capture(client, node, argv, timeout=seconds, deadline=deadline)
    if result.timed_out:
        raise PveError(f"reading the logs on node {node} did not finish within {seconds} s and was stopped; a file that never ends "
                       "(a device, a FIFO) cannot be read with lines, and growing files are read with follow")
    return result


def tail_argv(files: t.Sequence[str], lines: int, follow: bool) -> list[str]:
    """``tail`` of several files without headers; ``--`` keeps every path an operand."""
    return ["tail", "-q", "-n", str(lines)] + (["-F"] if follow else []) + ["--"] + list(files)


def container_logs(client: ApiClient, node: str, vmid: int, lines: int, services: t.Sequence[str], files: t.Sequence[str],
                   follow: float, deadline: Deadline) -> tuple[list[str], str]:
    """Logs inside a container: files with tail, else its journal (or /var/log/messages without systemd)."""
    require_root_login(client)
    if files:
        argv = container_argv(vmid, tail_argv(files, lines, follow > 0))
        return terminal_lines(client, node, argv, follow, deadline), SOURCE_TAIL
    unit_args: list[str] = []
    for service in services:
        unit_args += ["-u", service]
    if follow > 0:
        argv = container_argv(vmid, ["/bin/sh", "-c", _CONTAINER_JOURNAL_FOLLOW, "pveops-logs", str(lines)] + unit_args)
        return [line for line in terminal_lines(client, node, argv, follow, deadline) if not is_marker(line)], SOURCE_JOURNALCTL
    argv = container_argv(vmid, ["/bin/sh", "-c", _CONTAINER_JOURNAL, "pveops-logs", str(lines)] + unit_args)
    result = capture(client, node, argv, deadline)
    stderr = result.stderr.decode("utf-8", "replace")
    source = SOURCE_MESSAGES if "pveops-source: messages" in stderr else SOURCE_JOURNALCTL
    if result.rc != 0:
        detail = "\n".join(line for line in stderr.splitlines() if not line.startswith("pveops-source:"))
        raise PveError(f"reading the logs of container {vmid} failed with exit code {result.rc}: {detail.strip()[:500]}")
    if source == SOURCE_MESSAGES and services:
        raise PveError(f"container {vmid} has no systemd journal, so services cannot be filtered; leave services out to read /var/log/messages")
    return [line for line in result.stdout.decode("utf-8", "replace").splitlines() if not is_marker(line)], source
