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

import itertools
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Mapping

from pvesim.errors import die
from pvesim.journal import NodeJournal
from pvesim.link import LinkShaper
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
HISTORY = 200
"""Ended terminals listed by GET /_sim/terminals besides the live ones."""


@dataclass
class SessionStats:
    """Counters of one websocket session, updated by termsession as bytes move (GET /_sim/terminals)."""

    from_client: int = 0
    """Bytes read from the client's connection (websocket frames, before TLS)."""
    to_client: int = 0
    """Bytes the client's socket accepted (websocket frames)."""
    to_pty: int = 0
    """Terminal input the pty accepted (what /_sim/shell-input records)."""
    from_pty: int = 0
    """Terminal output read from the pty."""
    client_backlog: int = 0
    """pveproxy's queue toward the client (unbounded)."""
    termproxy_backlog: int = 0
    """Client input pveproxy holds for termproxy (its write buffer plus the localhost socket)."""
    discarded: int = 0
    """Output lost when the connection was shut down (pveproxy's client buffer, `linger => 0`)."""


@dataclass
class Terminal:
    """One termproxy instance."""

    id: int
    """The session id (also the id of its /_sim/shell-input record and of its fault records)."""
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
    stats: SessionStats = field(default_factory=SessionStats)
    child_started: bool = False
    """termproxy authenticated the client and started the program on the pty."""
    shell_started: bool = False
    """The ssh hop and login(1) are done: the shell (or login prompt) was exec'd (rootshell.LoginSteps)."""
    link: LinkShaper | None = None
    """The session's client link (set by termsession once the websocket runs)."""
    hangup: str | None = None
    """`nested-login-race` hit this session: "control" (one-shot) or "random"."""
    end: str = ""
    """How the session ended: client-closed, shell-exited, auth-failed, dropped, pveproxy-error, stopped."""
    opened: float = field(default_factory=time.time)
    ended: float | None = None

    def as_json(self) -> dict[str, Any]:
        """The GET /_sim/terminals entry."""
        return {
            "id": self.id, "node": self.node, "path": self.path, "vmid": self.vmid, "port": self.port, "authid": self.authid,
            "kind": self.command.kind if self.command else None, "upid": self.task.upid if self.task else None,
            "state": self.state, "child_started": self.child_started, "shell_started": self.shell_started,
            "ssh_hop": bool(self.command and self.command.ssh_hop), "nested_login": bool(self.command and self.command.nested_login),
            "hangup": self.hangup, "end": self.end or None, "opened": round(self.opened, 6),
            "ended": None if self.ended is None else round(self.ended, 6),
            "bytes_from_client": self.stats.from_client, "bytes_to_client": self.stats.to_client,
            "bytes_to_pty": self.stats.to_pty, "bytes_from_pty": self.stats.from_pty,
            "client_backlog": self.stats.client_backlog, "termproxy_backlog": self.stats.termproxy_backlog,
            "discarded": self.stats.discarded,
            "link": self.link.status(time.monotonic()) if self.link is not None and self.state == "connected" else None,
        }


class TerminalRegistry:
    """The port table plus everything needed to end every terminal at shutdown."""

    def __init__(self, tasks: TaskManager, signer: TicketSigner, timeout: float, journals: Mapping[str, NodeJournal] | None = None) -> None:
        self.tasks = tasks
        self.journals: Mapping[str, NodeJournal] = journals or {}
        """Node journals, for what pveproxy logs to syslog about a session."""
        self.signer = signer
        self.timeout = timeout
        self.inputs = ShellInputLog()
        self._lock = threading.Lock()
        self._ports: dict[int, Terminal] = {}
        self._sessions: set[int] = set()
        self._ids = itertools.count(1)
        self._history: deque[Terminal] = deque(maxlen=HISTORY)

    def open(self, path: str, node: str, authid: str, vmid: int | None = None) -> Terminal:
        """Take the lowest free port (`next_vnc_port`) and mint the VNC ticket bound to authid, path and port."""
        with self._lock:
            port = next((p for p in range(FIRST_PORT, LAST_PORT + 1) if p not in self._ports), None)
            if port is None:
                raise die(f"unable to find free port ({FIRST_PORT}-{LAST_PORT})")
            terminal = Terminal(next(self._ids), port, path, node, authid, self.signer.vnc_ticket(authid, path, port), vmid)
            self._ports[port] = terminal
        return terminal

    def release(self, terminal: Terminal) -> None:
        """Free the port (when the session ended or the wait timed out); the terminal stays listed for a while."""
        with self._lock:
            if self._ports.get(terminal.port) is terminal:
                del self._ports[terminal.port]
                if terminal.ended is None:
                    terminal.ended = time.time()
                self._history.append(terminal)

    def listing(self) -> list[dict[str, Any]]:
        """GET /_sim/terminals: the last ended terminals, then the live ones, oldest first."""
        with self._lock:
            terminals = list(self._history) + list(self._ports.values())
        return [t.as_json() for t in sorted(terminals, key=lambda t: t.id)]

    def claim(self, port: int, peer: str, path: str, host: str) -> Terminal | None:
        """Take a waiting terminal of `path` whose termproxy runs on node `host` (it accepts exactly one connection)."""
        with self._lock:
            terminal = self._ports.get(port)
            if terminal is None or terminal.state != "waiting" or terminal.path != path:
                return None
            if terminal.task is not None and terminal.task.node != host:
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
                            terminal.ended = time.time()
                            self._ports.pop(terminal.port, None)
                            self._history.append(terminal)
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
