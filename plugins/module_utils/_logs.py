# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Logs of nodes and containers: the node journal over REST, everything else through the terminal.

The node journal is plain REST (``GET /nodes/{node}/journal``, ``Sys.Syslog``, works with API
tokens; pve-protocol.md §3.10) with cursors for continuation; GoDoxy needlessly used the shell
for it (§6.2 item 4). Unit filters are exact with ``journalctl -u`` through the terminal
(``root@pam``) or, with a token, through ``GET /nodes/{node}/syslog?service=`` (§3.11, one
unit per request, no cursor). Files and container logs need the terminal.
"""

from __future__ import annotations

import typing as t

from ansible_collections.pveops.proxmox.plugins.module_utils._api import ApiClient, api_path
from ansible_collections.pveops.proxmox.plugins.module_utils._errors import ConfigError, PveError
from ansible_collections.pveops.proxmox.plugins.module_utils._exec import container_argv, run_capture, run_stream, validate_word
from ansible_collections.pveops.proxmox.plugins.module_utils._tasks import Deadline

JOURNAL_POLL = 1.0  # follow mode: how often the REST journal is asked for new entries

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


def split_journal(data: t.Sequence[t.Any]) -> tuple[list[str], str | None]:
    """Lines and the newest cursor of a ``/journal`` answer (first and last elements are cursors)."""
    items = [str(item) for item in data or []]
    if len(items) < 2:
        return [], None
    return items[1:-1], items[-1]


def node_journal(client: ApiClient, node: str, lines: int, since: int | None = None, until: int | None = None,
                 cursor: str | None = None) -> tuple[list[str], str | None]:
    """The node journal over REST. With ``cursor``/``since`` every newer entry comes, capped to the last ``lines``."""
    params: dict[str, t.Any] = {}
    if cursor:
        params["startcursor"] = cursor
    elif since is not None:
        params["since"] = since
    else:
        params["lastentries"] = lines  # conflicts with since/startcursor (§3.10)
    if until is not None:
        params["until"] = until
    entries, newest = split_journal(client.get(api_path("nodes", node, "journal"), params) or [])
    return entries[-lines:] if lines else entries, newest or cursor


def follow_node_journal(client: ApiClient, node: str, lines: int, seconds: float, cursor: str | None = None,
                        since: int | None = None) -> tuple[list[str], str | None]:
    """The last ``lines`` entries (after ``cursor`` or ``since``), then everything new for ``seconds`` (REST polling, token-friendly)."""
    collected, cursor = node_journal(client, node, lines, since=since, cursor=cursor)
    window = Deadline(seconds)
    while not window.expired():
        window.sleep(JOURNAL_POLL)
        new, cursor = node_journal(client, node, 0, cursor=cursor)
        collected.extend(new)
    return collected, cursor


def syslog_services(client: ApiClient, node: str, services: t.Sequence[str], lines: int, since: str | None = None,
                    until: str | None = None) -> list[str]:
    """The last ``lines`` entries of each unit through ``/syslog`` (token-friendly), merged by time stamp."""
    path = api_path("nodes", node, "syslog")
    merged: list[tuple[int, str]] = []
    order = 0
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
        for entry in body.get("data") or []:
            text = str(entry.get("t", "")) if isinstance(entry, dict) else str(entry)
            if text and text != "no content":
                merged.append((order, text))
                order += 1
    # "Mon DD HH:MM:SS" sorts correctly within a month; keep the per-unit order otherwise.
    merged.sort(key=lambda item: (item[1][:15], item[0]))
    return [text for _order, text in merged][-lines:] if lines else [text for _order, text in merged]


def journalctl_argv(lines: int, services: t.Sequence[str], since: int | None, until: int | None,
                    cursor: str | None, follow: bool) -> list[str]:
    """A journalctl command line; every value is its own argument."""
    argv = ["journalctl", "--no-pager", "-o", "short", "--show-cursor"]
    if cursor:
        argv += ["--after-cursor", cursor]
    elif since is None:
        argv += ["-n", str(lines)]
    if since is not None and not cursor:
        argv += ["--since", f"@{since}"]
    if until is not None:
        argv += ["--until", f"@{until}"]
    for service in services:
        argv += ["-u", service]
    if follow:
        argv.append("-f")
    return argv


def split_cursor(lines: t.Sequence[str]) -> tuple[list[str], str | None]:
    """Remove journalctl's ``-- cursor: …`` trailer and return it."""
    result = list(lines)
    cursor = None
    while result and result[-1].startswith("-- cursor: "):
        cursor = result.pop()[len("-- cursor: "):].strip()
    return result, cursor


def terminal_lines(client: ApiClient, node: str, argv: t.Sequence[str], follow: float, deadline: Deadline) -> list[str]:
    """Run a read-only node command through the terminal and return its output lines."""
    if follow > 0:
        lines, _rc = run_stream(client, node, argv, follow, deadline=deadline)
        return lines
    result = run_capture(client, node, argv, timeout=int(deadline.remaining()) or 1, deadline=deadline)
    if result.rc != 0:
        message = result.stderr.decode("utf-8", "replace").strip() or result.stdout.decode("utf-8", "replace").strip()
        raise PveError(f"{argv[0]} on node {node} failed with exit code {result.rc}: {message[:500]}")
    return result.stdout.decode("utf-8", "replace").splitlines()


def tail_argv(files: t.Sequence[str], lines: int, follow: bool) -> list[str]:
    """``tail`` of several files without headers; ``--`` keeps every path an operand."""
    return ["tail", "-q", "-n", str(lines)] + (["-F"] if follow else []) + ["--"] + list(files)


def container_logs(client: ApiClient, node: str, vmid: int, lines: int, services: t.Sequence[str], files: t.Sequence[str],
                   follow: float, deadline: Deadline) -> tuple[list[str], str]:
    """Logs inside a container: files with tail, else its journal (or /var/log/messages without systemd)."""
    if files:
        argv = container_argv(vmid, tail_argv(files, lines, follow > 0))
        return terminal_lines(client, node, argv, follow, deadline), SOURCE_TAIL
    unit_args: list[str] = []
    for service in services:
        unit_args += ["-u", service]
    if follow > 0:
        argv = container_argv(vmid, ["/bin/sh", "-c", _CONTAINER_JOURNAL_FOLLOW, "pveops-logs", str(lines)] + unit_args)
        return terminal_lines(client, node, argv, follow, deadline), SOURCE_JOURNALCTL
    argv = container_argv(vmid, ["/bin/sh", "-c", _CONTAINER_JOURNAL, "pveops-logs", str(lines)] + unit_args)
    result = run_capture(client, node, argv, timeout=int(deadline.remaining()) or 1, deadline=deadline)
    stderr = result.stderr.decode("utf-8", "replace")
    source = SOURCE_MESSAGES if "pveops-source: messages" in stderr else SOURCE_JOURNALCTL
    if result.rc != 0:
        detail = "\n".join(line for line in stderr.splitlines() if not line.startswith("pveops-source:"))
        raise PveError(f"reading the logs of container {vmid} failed with exit code {result.rc}: {detail.strip()[:500]}")
    if source == SOURCE_MESSAGES and services:
        raise PveError(f"container {vmid} has no systemd journal, so services cannot be filtered; leave services out to read /var/log/messages")
    return result.stdout.decode("utf-8", "replace").splitlines(), source
