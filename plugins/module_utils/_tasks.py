# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Proxmox VE tasks: UPID parsing and waiting for a task to end (pve-protocol.md §3.7).

Polling starts fast (tasks of containers often take well under a second) and backs off to
at most 200 ms, so a module returns soon after its task ends without hammering the API.
``OK`` and ``WARNINGS: n`` are successes, as PVE itself counts them (GoDoxy failed on
warnings, §6.2 item 15); anything else fails at once with the task's error line and the
tail of its log.
"""

from __future__ import annotations

import dataclasses
import re
import time
import typing as t

from ansible_collections.pveops.proxmox.plugins.module_utils._api import ApiClient, api_path
from ansible_collections.pveops.proxmox.plugins.module_utils._errors import ApiError, PveError, PveTimeout, TaskFailed

# UPID:<node>:<pid>:<pstart>:<starttime>:<type>:<id>:<user>: (the trailing colon is part of it)
_UPID = re.compile(
    r"^UPID:(?P<node>[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?):(?P<pid>[0-9A-Fa-f]{8}):(?P<pstart>[0-9A-Fa-f]{8,9}):"
    r"(?P<starttime>[0-9A-Fa-f]{8}):(?P<type>[^:\s/]+):(?P<id>[^:\s/]*):(?P<user>[^:\s/]+):$"
)
_WARNINGS = re.compile(r"^WARNINGS: (\d+)$")

POLL_FIRST = 0.05
POLL_MAX = 0.2  # worst case 200 ms between the end of a task and noticing it
POLL_GROWTH = 1.5
LOG_TAIL_LINES = 20


@dataclasses.dataclass(frozen=True)
class Upid:
    """A parsed task id."""

    text: str
    node: str
    type: str
    id: str
    user: str
    starttime: int


@dataclasses.dataclass(frozen=True)
class TaskResult:
    """How a finished task ended."""

    upid: str
    exitstatus: str
    elapsed: float
    warnings: int


def parse_upid(text: t.Any) -> Upid:
    """Parse and check a UPID strictly (GoDoxy only counted colons, §6.2 item 19)."""
    match = _UPID.match(str(text)) if isinstance(text, str) else None
    if match is None:
        raise PveError(f"the API returned {text!r} where a task id (UPID) was expected")
    return Upid(text=text, node=match.group("node"), type=match.group("type"), id=match.group("id"),
                user=match.group("user"), starttime=int(match.group("starttime"), 16))


def is_success(exitstatus: str) -> bool:
    """``OK`` and ``WARNINGS: n`` are successes (PVE's ``UPID::status_is_error``)."""
    return exitstatus == "OK" or bool(_WARNINGS.match(exitstatus))


def poll_intervals(first: float = POLL_FIRST, maximum: float = POLL_MAX) -> t.Iterator[float]:
    """50 ms, 75 ms, 112 ms, … capped at 200 ms."""
    delay = first
    while True:
        yield delay
        delay = min(maximum, delay * POLL_GROWTH)


class Deadline:
    """A point in time every wait of one operation is bounded by."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.start = time.monotonic()
        self.end = self.start + seconds

    def remaining(self) -> float:
        """Seconds left (never negative)."""
        return max(0.0, self.end - time.monotonic())

    def expired(self) -> bool:
        """Whether the deadline has passed."""
        return time.monotonic() >= self.end

    def elapsed(self) -> float:
        """Seconds since the deadline was set."""
        return time.monotonic() - self.start

    def sleep(self, seconds: float) -> None:
        """Sleep, but never past the deadline."""
        time.sleep(min(seconds, self.remaining()))


def task_status(client: ApiClient, upid: Upid) -> dict[str, t.Any]:
    """``GET /nodes/{node}/tasks/{upid}/status`` — asked of the UPID's node, where the task file is."""
    return t.cast(dict, client.get(api_path("nodes", upid.node, "tasks", upid.text, "status")) or {})


def task_log_tail(client: ApiClient, upid: Upid, lines: int = LOG_TAIL_LINES) -> list[str]:
    """The last ``lines`` lines of a task log (two requests: the total, then the tail)."""
    path = api_path("nodes", upid.node, "tasks", upid.text, "log")
    try:
        first = client.request("GET", path, params={"start": 0, "limit": 1}, envelope=True)
        total = int(first.get("total") or 0)
        start = max(0, total - lines)
        body = client.request("GET", path, params={"start": start, "limit": lines}, envelope=True)
    except ApiError:
        return []
    return [str(entry.get("t", "")) for entry in body.get("data") or [] if isinstance(entry, dict)]


def wait_task(client: ApiClient, upid: Upid, deadline: Deadline,
              on_poll: t.Callable[[dict[str, t.Any]], bool] | None = None) -> TaskResult | None:
    """Wait until the task stops; raise TaskFailed unless it ended OK or with warnings.

    ``on_poll`` is called with each running status; returning True ends the wait early with
    ``None`` (resume's task keeps running while the container runs). Raises PveTimeout at the
    deadline with the UPID.
    """
    for delay in poll_intervals():
        try:
            status = task_status(client, upid)
        except PveTimeout:
            # The operation's time limit cut the request short (ApiClient.set_deadline): the task is still running as far as known.
            raise PveTimeout(f"task {upid.text} still running after {deadline.seconds:g} s (timeout)", upid=upid.text) from None
        if status.get("status") == "stopped":
            exitstatus = str(status.get("exitstatus") or "unexpected status")
            if not is_success(exitstatus):
                log = task_log_tail(client, upid)
                context = [line for line in log if line and not line.startswith("TASK ")][-3:]
                message = f"task {upid.type} {upid.id} failed: {exitstatus}"
                if context:
                    message += " (task log: " + " | ".join(context) + ")"
                raise TaskFailed(message, upid.text, exitstatus, log)
            match = _WARNINGS.match(exitstatus)
            return TaskResult(upid.text, exitstatus, deadline.elapsed(), int(match.group(1)) if match else 0)
        if on_poll is not None and on_poll(status):
            return None
        if deadline.expired():
            raise PveTimeout(f"task {upid.text} still running after {deadline.seconds:g} s (timeout)", upid=upid.text)
        deadline.sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover
