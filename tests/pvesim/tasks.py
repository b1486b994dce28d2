# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Worker tasks: UPIDs, background execution, status and logs (pve-protocol.md 3.7)."""
from __future__ import annotations

import re
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Callable

UPID_RE = re.compile(
    r"UPID:([a-zA-Z0-9](?:[a-zA-Z0-9\-]*[a-zA-Z0-9])?):([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):([0-9A-Fa-f]{8}):([^:\s/]+):([^:\s/]*):([^:\s/]+):"
)
MAX_TASKS_PER_NODE = 5000
"""Finished tasks beyond this are forgotten (oldest first), so memory stays bounded."""


class TaskError(Exception):
    """Raised by a task body: the task ends with `TASK ERROR: <message>`."""


@dataclass
class Task:
    """One worker task; `lines` is the task log without the final `TASK ...` line until it ends."""

    upid: str
    node: str
    pid: int
    pstart: int
    starttime: int
    type: str
    id: str
    authid: str
    lines: list[str] = field(default_factory=list)
    status: str = "running"
    exitstatus: str | None = None
    endtime: int | None = None
    done: threading.Event = field(default_factory=threading.Event)

    @property
    def user(self) -> str:
        """The owning user (a token's user for token-owned tasks, 3.7)."""
        return self.authid.split("!", 1)[0]

    @property
    def tokenid(self) -> str | None:
        """The token name for token-owned tasks."""
        return self.authid.split("!", 1)[1] if "!" in self.authid else None


class TaskContext:
    """What a task body may do: log, warn, sleep (interruptible) and schedule a follow-up."""

    def __init__(self, task: Task, manager: TaskManager) -> None:
        self.task = task
        self._manager = manager
        self.warnings = 0
        self.followup: tuple[float, Callable[[], None]] | None = None

    def log(self, line: str) -> None:
        """Append a line to the task log."""
        with self._manager.lock:
            self.task.lines.append(line)

    def warn(self, line: str) -> None:
        """A `WARN: ...` line; the task then ends with `TASK WARNINGS: <n>`."""
        self.warnings += 1
        self.log(f"WARN: {line}")

    def sleep(self, seconds: float) -> None:
        """Wait, but give up with an error when the simulator is shutting down."""
        if self._manager.stop_event.wait(max(seconds, 0.0)):
            raise TaskError("interrupted by signal")

    def stopping(self) -> bool:
        """True once the simulator shuts down."""
        return self._manager.stop_event.is_set()

    def after(self, delay: float, action: Callable[[], None]) -> None:
        """Run `action` `delay` seconds after the task ended (HA: the guest follows the request later, 3.6)."""
        self.followup = (delay, action)


Body = Callable[[TaskContext], None]
Hook = Callable[[Task, str], None]


class TaskManager:
    """Starts task bodies in their own threads and remembers every task for status/log queries."""

    def __init__(self, stop_event: threading.Event, on_event: Hook | None = None) -> None:
        self.stop_event = stop_event
        self.lock = threading.Lock()
        self._tasks: dict[str, Task] = {}
        self._threads: set[threading.Thread] = set()
        self._on_event = on_event

    @staticmethod
    def make_upid(node: str, pid: int, pstart: int, starttime: int, task_type: str, task_id: str, authid: str) -> str:
        """`UPID:<node>:<pid 8 hex>:<pstart 8 hex>:<start 8 hex>:<type>:<id>:<user>:` with the trailing colon (3.7)."""
        return f"UPID:{node}:{pid:08X}:{pstart:08X}:{starttime:08X}:{task_type}:{task_id}:{authid}:"

    def start(self, node: str, pid: int, pstart: int, task_type: str, task_id: str, authid: str, body: Body) -> Task:
        """Create the task, start its thread and return at once (the API answers with the UPID)."""
        starttime = int(time.time())
        upid = self.make_upid(node, pid, pstart, starttime, task_type, task_id, authid)
        task = Task(upid, node, pid, pstart, starttime, task_type, task_id, authid)
        with self.lock:
            self._tasks[upid] = task
            self._forget_old(node)
        if self._on_event:
            self._on_event(task, "start")
        thread = threading.Thread(target=self._run, args=(task, body), name=f"task-{task_type}-{task_id}", daemon=True)
        with self.lock:
            self._threads.add(thread)
        thread.start()
        return task

    def _forget_old(self, node: str) -> None:
        mine = [t for t in self._tasks.values() if t.node == node and t.status == "stopped"]
        for task in mine[: max(0, len(mine) - MAX_TASKS_PER_NODE)]:
            del self._tasks[task.upid]

    def _run(self, task: Task, body: Body) -> None:
        ctx = TaskContext(task, self)
        try:
            body(ctx)
            final = f"WARNINGS: {ctx.warnings}" if ctx.warnings else "OK"
            line = f"TASK {final}"
        except TaskError as exc:
            # exitstatus is the error text with newlines replaced by spaces (3.7).
            final = " ".join(str(exc).split("\n")).strip()
            line = f"TASK ERROR: {final}"
        except Exception:  # a simulator bug must still end the task, and be visible on stderr
            traceback.print_exc(file=sys.stderr)
            final, line = "internal simulator error", "TASK ERROR: internal simulator error"
        with self.lock:
            task.lines.append(line)
            task.status, task.exitstatus, task.endtime = "stopped", final, int(time.time())
        task.done.set()
        if self._on_event:
            self._on_event(task, "end")
        if ctx.followup and not self.stop_event.wait(ctx.followup[0]):
            ctx.followup[1]()
        with self.lock:
            self._threads.discard(threading.current_thread())

    def get(self, upid: str) -> Task | None:
        """The task with this UPID, if known."""
        with self.lock:
            return self._tasks.get(upid)

    def tasks(self) -> list[Task]:
        """All remembered tasks, newest first."""
        with self.lock:
            return sorted(self._tasks.values(), key=lambda t: (t.starttime, t.pid), reverse=True)

    def append_log(self, task: Task, line: str) -> None:
        """Add a line to a running task's log from outside its body (a terminal session's output to stderr)."""
        with self.lock:
            if task.status == "running":
                task.lines.append(line)

    def log_lines(self, task: Task) -> list[str]:
        """A copy of the log (thread-safe)."""
        with self.lock:
            return list(task.lines)

    def join(self, timeout: float) -> None:
        """Wait (bounded) for task threads after stop_event was set."""
        deadline = time.monotonic() + timeout
        with self.lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
