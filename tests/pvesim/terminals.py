# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Pending and running terminals: the port table, the VNC tickets and the `vncshell`/`vncproxy` tasks (4.1-4.4).

`POST .../termproxy` allocates a port (5900-5999) and starts the task, which waits for the websocket
like termproxy waits for pveproxy's TCP connection. No real listener exists: the websocket arrives
on the API port (pveproxy proxies it) and claims the terminal by its port. Task endings (4.4):
no websocket within the timeout -> `TASK ERROR: failed waiting for client: timed out`; the client
closed -> `TASK OK`; the shell exited (or auth failed) -> `TASK ERROR: command '<termproxy ...>'
failed: exit code 1`.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from pvesim.errors import die
from pvesim.nodeshell import ShellCommand
from pvesim.ptyproc import kill_session
from pvesim.shellinput import ShellInputLog
from pvesim.tasks import Body, Task, TaskContext, TaskError, TaskManager
from pvesim.tickets import TicketSigner

FIRST_PORT = 5900
LAST_PORT = 5999
START_GRACE = 5.0
DROP_WAIT = 3.0
"""POST /_sim/terminals/drop waits this long at most for the dropped sessions to be gone."""


@dataclass
class Terminal:
    """One termproxy instance."""

    port: int
    path: str
    """ACL path the ticket is bound to: `/nodes/<node>` or `/vms/<vmid>`."""
    node: str
    """The node whose shell (or whose container) this is."""
    authid: str
    ticket: str
    vmid: int | None = None
    command: ShellCommand | None = None
    """Set by the API handler right after open() (the real command line names the port)."""
    task: Task | None = None
    state: str = "waiting"
    """waiting -> connected -> done; waiting -> expired."""
    peer: str = ""
    exit_code: int = 0
    connected: threading.Event = field(default_factory=threading.Event)
    started: threading.Event = field(default_factory=threading.Event)
    """The websocket session runs (set by termsession); a 101 that never reached the client leaves it unset."""
    finished: threading.Event = field(default_factory=threading.Event)
    request_path: str = ""
    """The vncwebsocket request path that claimed it (for the fault record)."""
    drop_requested: threading.Event = field(default_factory=threading.Event)
    """Set by POST /_sim/terminals/drop: the session loses its connection like an injected ws-drop."""


class TerminalRegistry:
    """The port table plus everything needed to end every terminal at shutdown."""

    def __init__(self, tasks: TaskManager, signer: TicketSigner, timeout: float) -> None:
        self.tasks = tasks
        self.signer = signer
        self.timeout = timeout
        self.inputs = ShellInputLog()
        self._lock = threading.Lock()
        self._ports: dict[int, Terminal] = {}
        self._sessions: set[int] = set()

    def open(self, path: str, node: str, authid: str, vmid: int | None = None) -> Terminal:
        """Take the lowest free port (`next_vnc_port`) and mint the VNC ticket bound to authid, path and port."""
        with self._lock:
            port = next((p for p in range(FIRST_PORT, LAST_PORT + 1) if p not in self._ports), None)
            if port is None:
                raise die(f"unable to find free port ({FIRST_PORT}-{LAST_PORT})")
            terminal = Terminal(port, path, node, authid, self.signer.vnc_ticket(authid, path, port), vmid)
            self._ports[port] = terminal
        return terminal

    def release(self, terminal: Terminal) -> None:
        """Free the port (when the session ended or the wait timed out)."""
        with self._lock:
            if self._ports.get(terminal.port) is terminal:
                del self._ports[terminal.port]

    def claim(self, port: int, peer: str) -> Terminal | None:
        """Take a waiting terminal for a websocket (termproxy accepts exactly one connection)."""
        with self._lock:
            terminal = self._ports.get(port)
            if terminal is None or terminal.state != "waiting":
                return None
            terminal.state = "connected"
            terminal.peer = peer
        # termproxy prints the peer on stdout, which the task log shows.
        self.log(terminal, f"client connection: {peer}")
        terminal.connected.set()
        return terminal

    def track_session(self, sid: int) -> None:
        """Remember a pty child's session so shutdown can end what is left of it."""
        with self._lock:
            self._sessions.add(sid)

    def log(self, terminal: Terminal, line: str) -> None:
        """A line in the terminal's task log (termproxy's stdout/stderr end up there)."""
        if terminal.task is not None:
            self.tasks.append_log(terminal.task, line)

    def task_body(self, terminal: Terminal) -> Body:
        """The `vncshell`/`vncproxy` worker: wait for the client, then for the end of the session."""
        def body(ctx: TaskContext) -> None:
            deadline = time.monotonic() + self.timeout
            while not terminal.connected.wait(0.05):
                if ctx.stopping():
                    raise TaskError("interrupted by signal")
                if time.monotonic() >= deadline:
                    with self._lock:
                        if terminal.state == "waiting":
                            terminal.state = "expired"
                            self._ports.pop(terminal.port, None)
                            raise TaskError("failed waiting for client: timed out")
            if not terminal.started.wait(START_GRACE):
                # The 101 never reached the client: termproxy would see its connection close at once.
                self.release(terminal)
                return
            while not terminal.finished.wait(0.1):
                if ctx.stopping():
                    raise TaskError("interrupted by signal")
            if terminal.exit_code:
                real = terminal.command.real if terminal.command else "/usr/bin/termproxy"
                raise TaskError(f"command '{real}' failed: exit code {terminal.exit_code}")
        return body

    def drop_all(self, timeout: float = DROP_WAIT) -> int:
        """Drop every open websocket session now (`ws-drop`); waits (bounded) until they are gone; returns the count."""
        with self._lock:
            live = [t for t in self._ports.values() if t.state == "connected" and not t.finished.is_set()]
        for terminal in live:
            terminal.drop_requested.set()
        deadline = time.monotonic() + timeout
        for terminal in live:
            terminal.finished.wait(max(0.0, deadline - time.monotonic()))
        return len(live)

    def stop(self) -> None:
        """At shutdown: kill whatever is left of every terminal session (background jobs included)."""
        with self._lock:
            sessions = list(self._sessions)
        for sid in sessions:
            kill_session(sid)
