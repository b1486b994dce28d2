# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this plugin util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Ready node shells shared by every task and fork on one controller (what ControlPersist is to SSH).

The first worker that needs a node shell starts a broker: a process of its own (forked, in a new
session) that keeps a bounded pool of node shells per node and runs one request at a time on
each. Workers talk to it over a Unix socket in a private directory (mode 0700, owned by the
user); the broker accepts only peers of the same uid (SO_PEERCRED). One broker serves one
connection identity: its socket is named by a hash of the API URL, the identity, the TLS settings
and the secret, so different credentials never share a shell. The secret reaches the broker in the
forked process's memory, never on disk or on a command line. Without requests for ``idle`` seconds
the broker ends its shells and exits. A worker that cannot reach or start one runs its own node
shell instead.

Frames on the socket: a 4-byte big-endian length, then that many bytes; the first frame of a
request and of an answer is JSON, data frames follow.
"""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import json
import os
import select
import signal
import socket
import struct
import sys
import threading
import time
import typing as t

from ansible_collections.pveops.proxmox.plugins.module_utils._api import ApiClient
from ansible_collections.pveops.proxmox.plugins.module_utils._config import ConnectionConfig
from ansible_collections.pveops.proxmox.plugins.module_utils._errors import PveConnectionError, PveError
from ansible_collections.pveops.proxmox.plugins.module_utils._exec import ExecResult
from ansible_collections.pveops.proxmox.plugins.plugin_utils._lxc_agent import Account, AgentSession

MAX_FRAME = 1024 * 1024 * 1024
START_WAIT = 15.0  # how long a worker waits for a broker it started to listen
ACQUIRE_WAIT = 600.0  # how long a request waits for a free shell of its node
# A pooled shell's request loop leaves by itself after ``idle`` seconds without a request (agent_script);
# one that has waited this close to that is not handed out: its terminal may be gone already.
STALE_MARGIN = 20.0


def broker_key(config: ConnectionConfig) -> str:
    """What identifies one broker: endpoint, identity, TLS settings and the secret (hashed)."""
    secret = config.token_secret if config.uses_token else config.password
    parts = [config.base_url, config.authid, str(config.validate_certs), config.ca_path or "", config.tls_fingerprint or "",
             hashlib.sha256((secret or "").encode("utf-8", "surrogateescape")).hexdigest()]
    if config.uses_token and config.password:
        parts.append(hashlib.sha256(config.password.encode("utf-8", "surrogateescape")).hexdigest())
    return hashlib.sha256("\0".join(parts).encode("utf-8", "surrogateescape")).hexdigest()[:32]


def private_dir(base: str) -> str:
    """The broker directory: created 0700; refused when someone else owns it or others can enter it."""
    os.makedirs(base, mode=0o700, exist_ok=True)
    info = os.lstat(base)
    if info.st_uid != os.getuid() or info.st_mode & 0o077 or not os.path.isdir(base) or os.path.islink(base):
        raise PveError(f"the broker directory {base} must be a directory of this user with mode 0700")
    return base


# ---------------------------------------------------------------------------- framing

def send_frame(sock: socket.socket, data: bytes) -> None:
    """One frame."""
    sock.sendall(struct.pack("!I", len(data)) + data)


def recv_exact(sock: socket.socket, size: int) -> bytes:
    """Exactly ``size`` bytes; EOFError when the peer closed first."""
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(min(size - len(chunks), 1024 * 1024))
        if not chunk:
            raise EOFError("the peer closed the connection")
        chunks += chunk
    return bytes(chunks)


def recv_frame(sock: socket.socket) -> bytes:
    """One frame (bounded)."""
    (size,) = struct.unpack("!I", recv_exact(sock, 4))
    if size > MAX_FRAME:
        raise PveConnectionError(f"a broker frame of {size} bytes is too large")
    return recv_exact(sock, size)


def send_json(sock: socket.socket, value: dict[str, t.Any]) -> None:
    """A JSON frame."""
    send_frame(sock, json.dumps(value).encode())


def recv_json(sock: socket.socket) -> dict[str, t.Any]:
    """A JSON frame."""
    value = json.loads(recv_frame(sock).decode())
    if not isinstance(value, dict):
        raise PveConnectionError("unexpected broker frame")
    return value


# ---------------------------------------------------------------------------- the pool

class ShellPool:
    """Node shells per node, at most ``per_node`` each; a request takes an idle one or opens one."""

    def __init__(self, client: ApiClient, per_node: int, idle: int, spool_dir: str) -> None:
        self.client = client
        self.per_node = per_node
        self.idle = idle
        self.spool_dir = spool_dir
        self.condition = threading.Condition()
        self.idle_shells: dict[str, list[AgentSession]] = {}
        self.counts: dict[str, int] = {}
        self.opened = 0

    def acquire(self, node: str) -> AgentSession:
        """A shell of ``node`` for one request; open one when none is idle and the bound allows."""
        deadline = time.monotonic() + ACQUIRE_WAIT
        found: AgentSession | None = None
        with self.condition:
            stale = self._take_stale(node)
            while True:
                idle = self.idle_shells.setdefault(node, [])
                if idle:
                    found = idle.pop()
                    break
                if self.counts.get(node, 0) < self.per_node:
                    self.counts[node] = self.counts.get(node, 0) + 1
                    break
                if not self.condition.wait(max(0.0, deadline - time.monotonic())) and time.monotonic() >= deadline:
                    raise PveError(f"no shell of node {node} became free within {ACQUIRE_WAIT:g} s")
        for shell in stale:
            shell.close()
        if found is not None:
            return found
        session = AgentSession(self.client, node, self.idle, self.spool_dir)
        try:
            session.open()
        except BaseException:
            self._forget(node)
            raise
        self.opened += 1
        return session

    def release(self, session: AgentSession) -> None:
        """Give a shell back; a broken one is closed and its place freed."""
        if session.broken:
            session.close()
            self._forget(session.node)
            return
        with self.condition:
            self.idle_shells.setdefault(session.node, []).append(session)
            self.condition.notify()

    def _take_stale(self, node: str) -> list[AgentSession]:
        """Under the lock: remove the idle shells of ``node`` whose loop may have left or whose terminal was closed
        while it sat in the pool (pveproxy restarted, the connection dropped); their places are freed."""
        now = time.monotonic()
        idle = self.idle_shells.get(node, [])
        stale = [shell for shell in idle if now - shell.last_used > self.idle - STALE_MARGIN or not shell.usable()]
        if stale:
            idle[:] = [shell for shell in idle if shell not in stale]
            self.counts[node] = max(0, self.counts.get(node, 0) - len(stale))
        return stale

    def _forget(self, node: str) -> None:
        with self.condition:
            self.counts[node] = max(0, self.counts.get(node, 0) - 1)
            self.condition.notify()

    def close(self) -> None:
        """End every idle shell (busy ones end with their request)."""
        with self.condition:
            shells = [shell for shells in self.idle_shells.values() for shell in shells]
            self.idle_shells.clear()
        for shell in shells:
            shell.close()


# ---------------------------------------------------------------------------- the broker process

class Broker:
    """The server: accepts same-uid peers, runs their requests on the pool, exits when idle."""

    def __init__(self, config: ConnectionConfig, path: str, idle: int, per_node: int, spool_dir: str) -> None:
        self.client = ApiClient(config)
        self.path = path
        self.idle = idle
        self.pool = ShellPool(self.client, per_node, idle + 60, spool_dir)
        self.active = 0
        self.last = time.monotonic()
        self.lock = threading.Lock()
        self.server: socket.socket | None = None

    def listen(self) -> None:
        """Bind the socket (replacing a stale one) with owner-only permissions."""
        if os.path.exists(self.path):
            os.unlink(self.path)
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)
        try:
            server.bind(self.path)
        finally:
            os.umask(old)
        server.listen(64)
        server.settimeout(1.0)
        self.server = server

    def serve(self) -> None:
        """Until idle: accept, check the peer, handle each connection in a thread."""
        server = self.server
        if server is None:
            raise PveError("the broker serves only after listen()")
        try:
            while True:
                try:
                    conn, _addr = server.accept()
                except socket.timeout:
                    with self.lock:
                        if self.active == 0 and time.monotonic() - self.last > self.idle:
                            return
                    continue
                uid = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))[1]
                if uid != os.getuid():
                    conn.close()
                    continue
                threading.Thread(target=self._handle, args=(conn,), daemon=True).start()
        finally:
            server.close()
            for leftover in (self.path, self.path[:-len(".sock")] + ".pid"):
                try:
                    os.unlink(leftover)
                except OSError:
                    pass
            self.pool.close()
            self.client.close()

    def _handle(self, conn: socket.socket) -> None:
        with self.lock:
            self.active += 1
        try:
            with conn:
                while True:
                    try:
                        request = recv_json(conn)
                    except (EOFError, OSError, ValueError):
                        return
                    self._answer(conn, request)
        finally:
            with self.lock:
                self.active -= 1
                self.last = time.monotonic()

    def _answer(self, conn: socket.socket, request: dict[str, t.Any]) -> None:
        kind = request.get("kind")
        try:
            if kind == "ping":
                send_json(conn, {"ok": True, "pid": os.getpid(), "opened": self.pool.opened})
                return
            session = self.pool.acquire(str(request["node"]))
            try:
                if kind == "account":
                    account, attach = session.account(int(request["vmid"]), str(request["user"]))
                    send_json(conn, {"ok": True, "account": dataclasses.asdict(account), "attach": attach, "upid": session.upid})
                    return
                stdin = recv_frame(conn) if request.get("stdin") else b""
                send_json(conn, {"accepted": True, "upid": session.upid})
                watcher = _PeerWatch(conn, session)
                try:
                    result, sha = session.run(list(request["command"]), stdin, float(request.get("timeout") or 0),
                                              want_sha=bool(request.get("want_sha")))
                finally:
                    watcher.stop()
            finally:
                self.pool.release(session)
            send_json(conn, {"ok": True, "rc": result.rc, "sha": sha})
            send_frame(conn, result.stdout)
            send_frame(conn, result.stderr)
        except PveError as exc:
            send_json(conn, {"ok": False, "error": str(exc), "kind": type(exc).__name__})


class _PeerWatch:
    """While a request runs, a worker that goes away (Ctrl-C, a crash) ends it: its node shell is closed (the hang-up stops the command)."""

    def __init__(self, conn: socket.socket, session: AgentSession) -> None:
        self.conn = conn
        self.session = session
        self.wake_read, self.wake_write = os.pipe()
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()

    def _watch(self) -> None:
        ready = select.select([self.conn.fileno(), self.wake_read], [], [])[0]
        if self.conn.fileno() in ready and self.wake_read not in ready:
            try:
                gone = self.conn.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
            except BlockingIOError:
                gone = False
            except OSError:
                gone = True
            if gone:
                self.session.abort()

    def stop(self) -> None:
        """The request ended."""
        os.write(self.wake_write, b"x")
        self.thread.join()
        os.close(self.wake_read)
        os.close(self.wake_write)


def start_broker(config: ConnectionConfig, path: str, idle: int, per_node: int, spool_dir: str) -> None:
    """Fork a broker into its own session; returns in the caller once the child has left (the grandchild serves)."""
    pid = os.fork()
    if pid:
        os.waitpid(pid, 0)
        return
    # First child: a new session, then the grandchild serves, so no worker ever waits for it.
    try:
        os.setsid()
        if os.fork():
            os._exit(0)
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C in the controller's terminal is for the workers
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        os.closerange(3, 4096)  # nothing of the worker (its queues, its own connections) stays open here
        broker = Broker(config, path, idle, per_node, spool_dir)
        broker.listen()
        with open(path[:-len(".sock")] + ".pid", "w", encoding="ascii") as pid_file:  # for people (and tests) looking for it
            pid_file.write(f"{os.getpid()}\n")
        broker.serve()
    except BaseException:  # pylint: disable=broad-except
        pass
    os._exit(0)


# ---------------------------------------------------------------------------- the worker side

class BrokerUnavailable(Exception):
    """The broker could not be reached before anything was sent: run locally instead."""


class BrokerClient:
    """A worker's connection to the broker of its identity."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.sock: socket.socket | None = None

    def connect(self) -> None:
        """Connect or raise BrokerUnavailable."""
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(self.path)
            send_json(sock, {"kind": "ping"})
            if not recv_json(sock).get("ok"):
                raise BrokerUnavailable("the broker did not answer")
        except (OSError, EOFError, ValueError, PveConnectionError) as exc:
            sock.close()
            raise BrokerUnavailable(str(exc)) from None
        self.sock = sock

    def close(self) -> None:
        """Disconnect (the broker keeps its shells)."""
        sock, self.sock = self.sock, None
        if sock is not None:
            sock.close()

    def _sock(self) -> socket.socket:
        if self.sock is None:
            self.connect()
        if self.sock is None:  # connect sets it or raises
            raise BrokerUnavailable("not connected")
        return self.sock

    def account(self, node: str, vmid: int, user: str) -> tuple[Account, str, str]:
        """The container check and the user's account, through the broker; BrokerUnavailable when it is gone."""
        try:
            sock = self._sock()
            send_json(sock, {"kind": "account", "node": node, "vmid": vmid, "user": user})
            answer = recv_json(sock)
        except (OSError, EOFError, ValueError) as exc:
            self.close()
            raise BrokerUnavailable(str(exc)) from None
        if not answer.get("ok"):
            raise _error(answer)
        return Account(**answer["account"]), str(answer["attach"]), str(answer.get("upid") or "")

    def run(self, node: str, command: t.Sequence[str], stdin: bytes, timeout: float = 0,
            want_sha: bool = False) -> tuple[ExecResult, str | None, str]:
        """Run a command through the broker: its result, the node's SHA-256 of stdout, and the shell's task id.

        BrokerUnavailable only while nothing has been started on the node; after that a lost
        broker is a PveConnectionError (the command's outcome is unknown).
        """
        try:
            sock = self._sock()
            send_json(sock, {"kind": "run", "node": node, "command": list(command), "stdin": bool(stdin), "timeout": timeout,
                             "want_sha": want_sha})
            if stdin:
                send_frame(sock, stdin)
            answer = recv_json(sock)
        except (OSError, EOFError, ValueError) as exc:
            self.close()
            raise BrokerUnavailable(str(exc)) from None
        if not answer.get("accepted"):
            raise _error(answer)
        upid = str(answer.get("upid") or "")
        try:
            answer = recv_json(sock)
            if not answer.get("ok"):
                raise _error(answer)
            stdout = recv_frame(sock)
            stderr = recv_frame(sock)
        except (OSError, EOFError, ValueError) as exc:
            self.close()
            raise PveConnectionError(f"the broker was lost while the command ran on node {node} ({exc}); exit status unknown") from None
        return ExecResult(rc=int(answer["rc"]), stdout=stdout, stderr=stderr), answer.get("sha"), upid


def _error(answer: dict[str, t.Any]) -> PveError:
    text = str(answer.get("error") or "the broker failed")
    return PveConnectionError(text) if answer.get("kind") in ("PveConnectionError", "PveTimeout") else PveError(text)


def ensure_broker(config: ConnectionConfig, directory: str, idle: int, per_node: int, spool_dir: str) -> BrokerClient:
    """A client of the running broker for ``config``, starting one when there is none; BrokerUnavailable otherwise.

    Starting is serialised by a lock file, so forks that all find no broker start exactly one.
    """
    try:
        base = private_dir(directory)
    except (OSError, PveError) as exc:
        raise BrokerUnavailable(str(exc)) from None
    key = broker_key(config)
    path = os.path.join(base, key + ".sock")
    client = BrokerClient(path)
    try:
        client.connect()
        return client
    except BrokerUnavailable:
        pass
    with open(os.path.join(base, key + ".lock"), "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            client.connect()  # another fork may have started it meanwhile
            return client
        except BrokerUnavailable:
            pass
        sys.stdout.flush()
        sys.stderr.flush()
        start_broker(config, path, idle, per_node, spool_dir)
        deadline = time.monotonic() + START_WAIT
        while time.monotonic() < deadline:
            try:
                client.connect()
                return client
            except BrokerUnavailable:
                time.sleep(0.02)  # the socket appears once the new broker listens
    raise BrokerUnavailable(f"the broker did not start within {START_WAIT:g} s")
