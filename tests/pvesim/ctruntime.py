# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Running containers as one set of namespaces each: their inits, started on first use, killed on stop.

A running container is a long-lived bubblewrap sandbox whose pid 1 is tools/ctinit.py, with the
container's filesystem as `/` (ContainerFs.mounts) and its own pid, ipc and uts namespaces. It is
started lazily, when a node tool (`lxc-attach`, `pct push/pull`, `lxc-info -p`) first asks for it
over the Unix socket `<state>/containers/.runtime.sock` (one JSON line `{"vmid", "node"}`; the answer
`{"pid"}` comes with a pidfd of the init, or `{"error", "message"}`), so scenarios with thousands of
containers cost nothing until a container is used. Tools then join the init's namespaces (setns),
as lxc-attach does: processes they start stay in the container after the tool ends, reparented
to its init.

Stopping a container kills its init, and with it (the kernel's rule for a pid namespace whose init
dies) every process in the container, attached ones included; `shutdown` and `reboot` first send
SIGTERM to everything but the init, like the container's own init would on the way down. The
model decides: a container that is not running, or was restarted, has no init (reconcile()).

Inits are started from the runtime's own long-lived thread, because bubblewrap's --die-with-parent
(PR_SET_PDEATHSIG) fires when the *thread* that started it ends: if the simulator dies, so do they.
Needs root: the attached processes switch users inside the container (lxc-attach -u/-g) and run
setuid programs (sudo), which a bubblewrap user namespace cannot give.
"""
from __future__ import annotations

import json
import os
import select
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from pvesim.ctfs import INIT_PATH, ContainerFs
from pvesim.model import Cluster, Guest

READY_TIMEOUT = 20.0
"""How long a new init may take to report ready (a loaded 2-core machine)."""
KILL_WAIT = 10.0
REQUEST_TIMEOUT = 5.0
MAX_REQUEST = 4096


class Refusal(Exception):
    """No init for this request: `reason` goes to the tool (not-running, no-bwrap, no-root, failed)."""

    def __init__(self, reason: str, message: str = "") -> None:
        super().__init__(message or reason)
        self.reason = reason


@dataclass
class Init:
    """The init of one running container."""

    vmid: int
    node: str
    started_at: float | None
    """The guest's start time when the init was started: a restarted container needs a new one."""
    proc: subprocess.Popen[bytes]
    """The outer bubblewrap process (a child of the simulator)."""
    pid: int
    """The init's pid on the machine (pid 1 inside)."""
    pidfd: int

    def namespace(self) -> str:
        """The init's pid namespace (`pid:[<inode>]`), '' once it is gone."""
        try:
            return os.readlink(f"/proc/{self.pid}/ns/pid")
        except OSError:
            return ""


class ContainerRuntime:
    """The inits of the running containers and the socket the node tools ask for them on."""

    def __init__(self, cluster: Cluster, ctfs: ContainerFs, bwrap: str | None, stop_event: threading.Event) -> None:
        self.cluster = cluster
        self.ctfs = ctfs
        self.bwrap = bwrap
        self.stop_event = stop_event
        self.socket_path = ctfs.runtime_socket
        self._inits: dict[int, Init] = {}
        self._lock = threading.Lock()
        self._server: socket.socket | None = None
        self._thread: threading.Thread | None = None

    # --- the socket ------------------------------------------------------------------------------

    def start(self) -> None:
        """Listen on the socket (owner only) and serve requests in one long-lived thread."""
        self.socket_path.unlink(missing_ok=True)
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(str(self.socket_path))
        os.chmod(self.socket_path, 0o600)
        server.listen(64)
        server.settimeout(0.2)
        self._server = server
        self._thread = threading.Thread(target=self._serve, name="pvesim-ctruntime", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        assert self._server is not None
        while not self.stop_event.is_set():
            try:
                conn, _addr = self._server.accept()
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            with conn:
                try:
                    self._answer(conn)
                except OSError:
                    pass  # the tool went away
                except Exception:  # a simulator bug must not end the thread every later attach needs
                    traceback.print_exc(file=sys.stderr)

    def _answer(self, conn: socket.socket) -> None:
        conn.settimeout(REQUEST_TIMEOUT)
        data = b""
        while b"\n" not in data and len(data) < MAX_REQUEST:
            chunk = conn.recv(MAX_REQUEST)
            if not chunk:
                break
            data += chunk
        try:
            request = json.loads(data.split(b"\n", 1)[0].decode("utf-8"))
            init = self.init_for(int(request["vmid"]), str(request["node"]))
        except (ValueError, KeyError, TypeError):
            conn.sendall(b'{"error": "not-running"}\n')
            return
        except Refusal as refusal:
            conn.sendall(json.dumps({"error": refusal.reason, "message": str(refusal)}).encode("utf-8") + b"\n")
            return
        socket.send_fds(conn, [json.dumps({"pid": init.pid}).encode("utf-8") + b"\n"], [init.pidfd])

    # --- inits -----------------------------------------------------------------------------------

    def init_for(self, vmid: int, node: str) -> Init:
        """The init of running container `vmid` on `node`, started now if it has none; Refusal otherwise."""
        with self._lock:
            with self.cluster.lock:
                guest = self.cluster.guests.get(vmid)
                if guest is None or guest.kind != "lxc" or guest.node != node or not guest.running:
                    raise Refusal("not-running")
                started_at = guest.started_at
                existing = self._inits.get(vmid)
                if existing is not None and existing.started_at == started_at and existing.proc.poll() is None:
                    return existing
                if not self.bwrap or not os.access(self.bwrap, os.X_OK):
                    raise Refusal("no-bwrap")
                if os.geteuid() != 0:
                    raise Refusal("no-root")
                rootfs = self.ctfs.ensure(guest)
                argv = self._argv(guest, rootfs)
            if existing is not None:
                self._kill(existing)
            init = self._spawn(vmid, node, started_at, argv)
            self._inits[vmid] = init
            return init

    def _argv(self, guest: Guest, rootfs: Path) -> list[str]:
        """bubblewrap around tools/ctinit.py: the container's mounts, new pid/ipc/uts namespaces, all capabilities.

        `{info_fd}` is filled in at spawn time.
        """
        assert self.bwrap is not None
        return [self.bwrap, *self.ctfs.mounts(guest, rootfs),
                "--proc", "/proc", "--dev", "/dev", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
                "--hostname", guest.name, "--as-pid-1", "--cap-add", "ALL", "--die-with-parent", "--chdir", "/",
                "--info-fd", "{info_fd}", "--", INIT_PATH]

    def _spawn(self, vmid: int, node: str, started_at: float | None, argv: list[str]) -> Init:
        log_path = self.ctfs.rootfs(vmid).parent / "init.log"
        read_fd, write_fd = os.pipe()
        with open(log_path, "wb") as log:
            # start_new_session keeps the init out of the simulator's session.
            argv = [arg.replace("{info_fd}", str(write_fd)) for arg in argv]
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log, start_new_session=True,
                                    pass_fds=(write_fd,), close_fds=True)
        os.close(write_fd)
        try:
            child = _child_pid(read_fd, READY_TIMEOUT)
            ready = _read_line(proc, READY_TIMEOUT)
            if child is None or not ready.startswith(b"ready"):
                raise Refusal("failed", f"the init of CT {vmid} did not start: {log_path.read_text(errors='replace').strip()[-500:]}")
            pidfd = os.pidfd_open(child)
        except BaseException:
            proc.kill()  # --die-with-parent takes the init with it
            proc.wait(KILL_WAIT)
            raise
        finally:
            if proc.stdout is not None:
                proc.stdout.close()
        return Init(vmid, node, started_at, proc, child, pidfd)

    def members(self, vmid: int) -> list[int]:
        """Pids (on the machine) of every process in the container except its init."""
        with self._lock:
            init = self._inits.get(vmid)
        namespace = init.namespace() if init is not None else ""
        if init is None or not namespace:
            return []
        found = []
        for entry in os.listdir("/proc"):
            if entry.isdigit() and int(entry) != init.pid:
                try:
                    if os.readlink(f"/proc/{entry}/ns/pid") == namespace:
                        found.append(int(entry))
                except OSError:
                    continue
        return found

    def terminate(self, vmid: int) -> int:
        """SIGTERM to every process of the container but its init (a clean shutdown's first step); returns the count."""
        count = 0
        for pid in self.members(vmid):
            try:
                os.kill(pid, signal.SIGTERM)
                count += 1
            except OSError:
                pass
        return count

    def reconcile(self, vmid: int | None = None) -> None:
        """Kill the init of every container (or of `vmid`) that no longer runs, runs elsewhere or was restarted."""
        with self._lock:
            doomed = []
            with self.cluster.lock:
                for init in list(self._inits.values()):
                    if vmid is not None and init.vmid != vmid:
                        continue
                    guest = self.cluster.guests.get(init.vmid)
                    if guest is None or not guest.running or guest.node != init.node or guest.started_at != init.started_at:
                        doomed.append(init)
            for init in doomed:
                self._kill(init)

    def _kill(self, init: Init) -> None:
        """SIGKILL to pid 1: the kernel kills the rest of the namespace; wait until bubblewrap saw it end."""
        self._inits.pop(init.vmid, None)
        try:
            signal.pidfd_send_signal(init.pidfd, signal.SIGKILL)
        except OSError:
            pass
        _end(init.proc)
        os.close(init.pidfd)

    def stop(self) -> None:
        """At shutdown (stop_event set): end the socket thread, kill every init, remove the socket."""
        if self._thread is not None:
            self._thread.join(5.0)
        if self._server is not None:
            self._server.close()
        with self._lock:
            for init in list(self._inits.values()):
                self._kill(init)
        self.socket_path.unlink(missing_ok=True)


def _child_pid(fd: int, timeout: float) -> int | None:
    """bubblewrap's --info-fd JSON (`child-pid`: the init with --as-pid-1); the fd closes once it is written."""
    data = b""
    deadline = time.monotonic() + timeout
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                return None
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            data += chunk
    finally:
        os.close(fd)
    try:
        return int(json.loads(data.decode("utf-8"))["child-pid"])
    except (ValueError, KeyError, TypeError):
        return None


def _read_line(proc: subprocess.Popen[bytes], timeout: float) -> bytes:
    """The init's ready line, or b"" when it does not come in time."""
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    data = b""
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        while b"\n" not in data:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not selector.select(remaining):
                return b""
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:
                return b""
            data += chunk
    return data


def _end(proc: subprocess.Popen[bytes]) -> None:
    """Reap bubblewrap (it exits when its init died); SIGKILL it if it does not."""
    try:
        proc.wait(KILL_WAIT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(KILL_WAIT)
