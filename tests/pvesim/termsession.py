# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One terminal session after the 101: pveproxy's websocket proxy and termproxy, in a single loop (4.3, 4.4).

Single-threaded and non-blocking over the TLS socket and the pty master. The real chain is
client -> pveproxy -> localhost TCP -> termproxy -> pty and back; the pieces are modelled where
clients can tell the difference (pve-fidelity-audit.md S1-S3, S12):

* client -> termproxy: every text/binary frame payload goes into one byte stream (pveproxy.py,
  `TermproxyConnection`: pveproxy's write buffer over a socket of `--termproxy-socket-bytes`);
  termproxy reads it into its 4 KiB buffer and writes to the pty as main.rs does (termparse.py), so
  a message header cut by a full buffer is lost like on a node. `--termproxy-short-reads` lets the
  pty take only a random 1..512 bytes in most loop iterations (termparse.ShortReads: a busy node), so
  the buffer stays partly full and reads land at misaligned offsets. Nothing stops reading the client.
* termproxy -> client (termoutput.py): output is queued without limit (pveproxy never stops reading
  termproxy). Frames carry what pty reads returned (sizes randomised), `OK` sometimes shares its
  frame with the first output. The queue goes out through the link model (link.py: rate, stalls).
* the program on the pty and the ssh/login steps before it: termchild.py, rootshell.py.
* the end: when the shell exits (pty EIO) termproxy exits 1 and pveproxy's `client_do_disconnect`
  drops everything not yet accepted by the client's socket (`linger => 0`) and shuts the socket
  down (TLS close_notify only when nothing was pending, then TCP FIN); never a Close frame. When
  the client goes (Close frame, EOF, a ws-drop) termproxy gets what is in its socket, then EOF, and
  exits 0 after one more pass (mio reports the hang-up at once, main.rs:367-369).

Injected faults (faults.py): `lost-bytes` is termproxy's last-read loss (4.4 step 8, also
`--drop-last-bytes`), `ws-drop` loses the connection mid-session (no Close frame, no TLS
close_notify), `nested-login-race` ends an ssh-hop session before its shell (rootshell.py).
"""
from __future__ import annotations

import io
import random
import select
import socket
import ssl
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from typing import Callable, NoReturn

from pvesim import wsframe
from pvesim.faults import FaultInjector, SessionFault
from pvesim.link import LinkShaper
from pvesim.pveproxy import TermproxyConnection, WriteBufferFull
from pvesim.shellinput import InputRecord
from pvesim.termchild import ShellChild
from pvesim.termoutput import ClientOutput
from pvesim.termparse import AuthLineError, DataEvent, InputParser, NoteEvent, PtyWrite, ShortReads
from pvesim.terminals import Terminal, TerminalRegistry
from pvesim.tickets import TicketSigner

READ_SIZES = (4096,) * 14 + (1024,) * 3 + (100,) * 2 + (7,)
FRAME_SIZES = (128 * 1024,) * 12 + (4096,) * 4 + (1024, 100, 7)
"""Pty read sizes to choose from: mostly termproxy's 4 KiB, sometimes tiny, so frame boundaries fall anywhere."""
RECV_LIMIT = 256 * 1024
"""Client bytes taken per loop iteration (pveproxy reads greedily; this only keeps the loop turning)."""
SOCKET_BUFFER = 256 * 1024
"""SO_SNDBUF and SO_RCVBUF of a terminal socket (the kernel doubles them for its bookkeeping).

On loopback Linux grows socket buffers up to tcp_wmem/tcp_rmem max (4 and 6 MiB); toward a real,
distant client they stay near the bandwidth-delay product. Bytes the kernel accepted survive a
disconnect, the rest of pveproxy's queue does not, and a client's sends block only when the
simulator's receive buffer is full: with multi-MiB loopback buffers neither would show.
"""
BUDGET_FLUSH = 5.0
"""An armed ws-drop (after N bytes) waits at most this long for those bytes to go out."""
POLL_SLICE = 0.2
INPUT_PASSES = 16
"""termproxy loop iterations that only move input, per turn of the session loop (output waits in the pty meanwhile)."""
LINK_REFRESH = 0.05
"""How often a session rereads the link settings (they can change through POST /_sim/faults)."""
PVEPROXY_PID = 1342
EIO_MESSAGE = "error reading from pty: Input/output error (os error 5)"
AUTH_DENIED = "invalid authentication - 401 permission denied - invalid PVEVNC ticket"


class SessionEnd(Exception):
    """Ends the loop with termproxy's exit code (0: the client went away; 1: auth failed or the shell exited)."""

    def __init__(self, code: int, message: str | None = None, end: str = "") -> None:
        super().__init__(message or "")
        self.code = code
        self.message = message
        self.end = end


@dataclass(frozen=True)
class SessionOptions:
    """The simulator options a session follows."""

    drop_last_bytes: bool = False
    timeout: float = 10.0
    """termproxy's wait for the auth line."""
    socket_bytes: int = 131072
    short_reads: bool = False


class TermSession:
    """One session on the socket pveproxy upgraded; `run` serves it (see make_takeover)."""

    def __init__(self, registry: TerminalRegistry, terminal: Terminal, signer: TicketSigner, stop_event: threading.Event,
                 options: SessionOptions, faults: FaultInjector, fault: SessionFault | None, sock: socket.socket) -> None:
        self.registry = registry
        self.terminal = terminal
        self.signer = signer
        self.stop_event = stop_event
        self.options = options
        self.faults = faults
        self.fault = fault
        self.sock = sock
        now = time.monotonic()
        # The link's stall schedule counts from here (after the 101).
        self.link = LinkShaper(faults.link, now)
        self.link_read = now
        lost_bytes = options.drop_last_bytes or (fault is not None and fault.kind == "lost-bytes")
        self.out = ClientOutput(sock, terminal.stats, self.link, lost_bytes, fault.after_bytes if fault is not None else None,
                                self._disconnect)
        if self.out.budget == 0:
            self.out.cut_at = now
        self.drop_at = now + fault.drop_after if fault is not None and fault.drop_after is not None else None
        """The moment of a random ws-drop."""
        self.dropped = False
        self.rng = random.Random()
        seed = faults.settings()["seed"]
        self.short_reads = ShortReads(f"{seed}:{terminal.id}") if options.short_reads else None
        self.frames = wsframe.FrameReader()
        self.proxy = TermproxyConnection(options.socket_bytes)
        self.parser = InputParser()
        self.authing = True
        self.child: ShellChild | None = None
        self.record: InputRecord | None = None
        self.pty_blocked = False
        self.reading = True
        """pveproxy still reads the client (not after a Close frame or a disconnect)."""
        self.proxy_fin = False
        """pveproxy shuts down its connection to termproxy once its write buffer is empty."""
        self.disconnected = False
        self.close_notify = True

    # --- entry point ---------------------------------------------------------------------------------

    def run(self, rfile: io.BufferedIOBase) -> None:
        """Serve the websocket until either side ends; always release the terminal and end its task."""
        terminal = self.terminal
        terminal.started.set()
        terminal.link = self.link
        code, end = 0, "stopped"
        try:
            self._serve(rfile)
        except SessionEnd as ending:
            code, end = ending.code, ending.end
            if ending.message:
                self.registry.log(terminal, ending.message)
        except Exception:  # a simulator bug: end this session, keep serving others
            traceback.print_exc(file=sys.stderr)
            code, end = 1, "simulator-error"
        finally:
            if self.child is not None:
                self.child.close(self.stop_event.is_set())
            self._disconnect()
            if self.dropped:
                _lose_transport(self.sock)
            else:
                _shutdown_transport(self.sock, self.close_notify)
            terminal.exit_code = code
            terminal.end = "dropped" if self.dropped else end
            terminal.state = "done"
            self._update_stats()
            self.registry.release(terminal)
            terminal.finished.set()

    # --- the loop ----------------------------------------------------------------------------------------

    def _serve(self, rfile: io.BufferedIOBase) -> None:
        self.sock.setblocking(False)
        for option in (socket.SO_SNDBUF, socket.SO_RCVBUF):
            try:
                self.sock.setsockopt(socket.SOL_SOCKET, option, SOCKET_BUFFER)
            except OSError:
                pass
        auth_deadline = time.monotonic() + self.options.timeout
        self._from_client(_drain_buffered(rfile))
        while True:
            if self.stop_event.is_set():
                raise SessionEnd(0, end="stopped")
            now = time.monotonic()
            self._refresh_link(now)
            self._check_drop(now)
            if self.reading and not self.link.stalled("send", now):
                data, eof = self._recv()
                self._from_client(data)
                if eof:
                    self._disconnect()
            self._termproxy()
            if self.authing and time.monotonic() > auth_deadline:
                raise SessionEnd(1, "failed reading ticket: timed out", "auth-failed")
            now = time.monotonic()
            self.out.timers(now)
            self.out.flush(now)
            self._update_stats()
            self._wait()

    def _wait(self) -> None:
        now = time.monotonic()
        poller = select.poll()
        sock_mask = select.POLLIN if self.reading and not self.link.stalled("send", now) else 0
        if self.out.wants_to_send(now):
            sock_mask |= select.POLLOUT
        if sock_mask:
            poller.register(self.sock.fileno(), sock_mask)
        if self.child is not None and self.child.pty.master is not None:
            poller.register(self.child.pty.master, select.POLLIN | (select.POLLOUT if self.pty_blocked else 0))
        if self.child is not None and self.child.started_fd is not None:
            poller.register(self.child.started_fd, select.POLLIN)
        timeout = POLL_SLICE
        for wait in (self.out.wait(now), None if self.drop_at is None else max(0.0, self.drop_at - now)):
            if wait is not None:
                timeout = min(timeout, wait)
        limited = self.short_reads is not None and self.short_reads.exhausted and bool(self.parser.buffer)
        if (self.out.cut_at is not None and not self.out.pending) or limited or (self.proxy.socket and self.parser.free):
            timeout = 0.0  # termproxy's loop has work without waiting (main.rs:356-357)
        if self.proxy_fin and not self.proxy.wbuf:
            timeout = 0.0
        poller.poll(int(timeout * 1000) + (1 if timeout > 0 else 0))

    def _refresh_link(self, now: float) -> None:
        if now - self.link_read >= LINK_REFRESH:
            self.link.update(self.faults.link)
            self.link_read = now

    def _update_stats(self) -> None:
        stats = self.terminal.stats
        stats.client_backlog = self.out.pending
        stats.termproxy_backlog = self.proxy.in_flight

    # --- injected connection loss (ws-drop) --------------------------------------------------------------

    def _check_drop(self, now: float) -> None:
        """Lose the connection when a drop is due: random (drop_at), requested, or the byte budget is spent and sent."""
        if self.dropped:
            return
        requested = self.terminal.drop_requested.is_set()
        due = self.drop_at is not None and now >= self.drop_at
        cut_at = self.out.cut_at
        spent = cut_at is not None and (not self.out.pending or now >= cut_at + BUDGET_FLUSH)
        if not (requested or due or spent):
            return
        if requested:
            # A drop through the control API hits a session whose request was logged long ago: recorded now.
            terminal = self.terminal
            self.faults.record("ws-drop", "GET", terminal.request_path, terminal.authid, session=terminal.id,
                               upid=terminal.task.upid if terminal.task else None, trigger="control")
        # The network loses the client: pveproxy sees the connection end and disconnects both sides (4.4 step 8).
        self.dropped = True
        self._disconnect()

    # --- client -> pveproxy -> termproxy -----------------------------------------------------------------

    def _recv(self) -> tuple[bytes, bool]:
        """What the client sent so far (TLS records may hold more than one poll shows), bounded per call; EOF flag."""
        chunks: list[bytes] = []
        size = 0
        while size < RECV_LIMIT:
            try:
                data = self.sock.recv(65536)
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
                break
            except OSError:
                return b"".join(chunks), True
            if not data:
                return b"".join(chunks), True
            chunks.append(data)
            size += len(data)
        return b"".join(chunks), False

    def _from_client(self, data: bytes) -> None:
        """pveproxy's `hdlreader` (AnyEvent.pm:620-695): data frames to termproxy, ping -> pong, close -> shut down."""
        if not data:
            return
        self.terminal.stats.from_client += len(data)
        try:
            frames = self.frames.feed(data)
        except wsframe.FrameError:
            # pveproxy drops the connection; termproxy sees its TCP connection close.
            self._disconnect()
            return
        for frame in frames:
            if frame.opcode in (wsframe.OP_TEXT, wsframe.OP_BINARY):
                try:
                    self.proxy.push_write(frame.payload)
                except WriteBufferFull as exc:
                    self._pveproxy_error(str(exc))
                    return
            elif frame.opcode == wsframe.OP_PING:
                self.out.control(wsframe.encode(frame.payload, wsframe.OP_PONG))
            elif frame.opcode == wsframe.OP_CLOSE:
                # Both handles get push_shutdown: termproxy still receives what is buffered, then EOF; no Close
                # frame is echoed (4.3, AnyEvent.pm:676-684).
                self.reading = False
                self.proxy_fin = True
                return

    def _pveproxy_error(self, message: str) -> None:
        """A fatal handle error: `log_aborted_request` to syslog, then `client_do_disconnect` (AnyEvent.pm:596-604)."""
        task = self.terminal.task
        journal = self.registry.journals.get(task.node if task else self.terminal.node)
        if journal is not None:
            journal.append("pveproxy", PVEPROXY_PID, f"problem with client {self.terminal.peer.split(':')[0]}; {message}")
        self.registry.log(self.terminal, f"pvesim: pveproxy dropped the connection ({message})")
        self._disconnect()

    def _disconnect(self) -> None:
        """`client_do_disconnect`: no more client I/O, pveproxy's client queue is dropped (linger 0), and what it
        still held for termproxy too; termproxy gets its socket's content, then EOF."""
        if self.disconnected:
            return
        self.disconnected = True
        self.reading = False
        self.proxy_fin = True
        self.proxy.drop_pending()
        self.close_notify = self.out.discard()

    def _termproxy(self) -> None:
        """One iteration of termproxy's main loop (main.rs:355-470): socket -> buffer, auth line, pty out, pty in."""
        self.proxy.drain()
        finished = self.proxy_fin and not self.proxy.wbuf
        got = self.parser.read_socket(self.proxy.socket, self.proxy.drain)
        if self.authing:
            line = self._ticket_line() if got else None
            if line is None:
                if finished and not self.proxy.socket:
                    raise SessionEnd(1, "failed reading ticket: connection closed before authentication", "auth-failed")
                return
            self.authing = False
            self._authenticate(*line)
            self._start_child()
        if self.child is not None:
            self._pump_pty()
            self._write_pty()
            # termproxy's next iterations come at once (poll with timeout 0, main.rs:356-357) while its socket has data
            # and the pty takes it: run a few input-only ones here instead of a whole turn of this loop each.
            for _extra in range(INPUT_PASSES - 1):
                if self.pty_blocked or not (self.proxy.socket and self.parser.free):
                    break
                self.parser.read_socket(self.proxy.socket, self.proxy.drain)
                self._write_pty()
            # login(1) may flush now: what termproxy had buffered when it started the child was written (rootshell.py).
            self.child.release_login()
            self.terminal.shell_started = self.child.check_started()
        if finished:
            raise SessionEnd(0, end="client-closed")

    def _ticket_line(self) -> tuple[bytes, bytes] | None:
        try:
            return self.parser.ticket_line()
        except AuthLineError as exc:
            raise SessionEnd(1, str(exc), "auth-failed") from None

    def _authenticate(self, authid: bytes, ticket: bytes) -> None:
        """The issued ticket byte for byte (`--ticket-fd`), for this authid, path and port (`/access/vncticket`)."""
        terminal = self.terminal
        try:
            user, text = authid.decode("utf-8"), ticket.decode("utf-8")
        except UnicodeDecodeError:
            raise SessionEnd(1, AUTH_DENIED, "auth-failed") from None
        if user != terminal.authid or text != terminal.ticket or not self.signer.verify_vnc_ticket(text, user, terminal.path, terminal.port):
            # The client just sees the connection close, no error text (4.4 step 3).
            raise SessionEnd(1, AUTH_DENIED, "auth-failed")

    def _start_child(self) -> None:
        """termproxy's `OK` and `run_pty` (main.rs:330-335); an ssh-hop session may be the nested-login race's."""
        terminal = self.terminal
        command = terminal.command
        assert command is not None
        self.out.queue_ok(time.monotonic())
        hangup = None
        if command.ssh_hop:
            trigger = self.faults.nested_login_hangup(command.nested_login)
            if trigger is not None:
                hangup = f"Connection to {command.ip} closed."
                terminal.hangup = trigger
                self.faults.record("nested-login-race", "GET", terminal.request_path, terminal.authid, session=terminal.id,
                                   node=terminal.node, upid=terminal.task.upid if terminal.task else None, trigger=trigger)
        self.child = ShellChild(command, hangup)
        terminal.child_started = True
        self.registry.track_session(self.child.pid)
        self.record = self.registry.inputs.open(terminal.node, terminal.authid, command.kind, terminal.vmid, session_id=terminal.id)
        if self.fault is not None:
            self.faults.annotate(self.fault.record, session=terminal.id)

    def _write_pty(self) -> None:
        """termproxy's pty write loop; with --termproxy-short-reads the pty takes only what ShortReads allows."""
        assert self.child is not None
        child = self.child.pty
        self.pty_blocked = False

        def to_pty(data: bytes) -> int:
            accepted = child.write(data)
            if accepted == 0:
                self.pty_blocked = True
            return accepted

        write: PtyWrite = to_pty
        if self.short_reads is not None:
            self.short_reads.next_iteration()
            write = self.short_reads.limit(to_pty)
        for event in self.parser.write_to_pty(write, resize=child.resize):
            if isinstance(event, DataEvent):
                self.terminal.stats.to_pty += len(event.data)
                if self.record is not None:
                    self.registry.inputs.add(self.record, event.data)
            elif isinstance(event, NoteEvent):
                self.registry.log(self.terminal, event.text)

    # --- termproxy -> client -----------------------------------------------------------------------------

    def _pump_pty(self) -> None:
        assert self.child is not None
        child = self.child.pty
        for _attempt in range(64):
            # termproxy reads the pty until EAGAIN into its buffer, then writes it to pveproxy, which
            # forwards what one TCP read returns (up to 128 KiB) as one frame (4.3, 4.4 step 8): frames
            # are mostly as big as what was available, sometimes small. Nobody stops reading (S2).
            cap = self.rng.choice(FRAME_SIZES)
            chunk = bytearray()
            while len(chunk) < cap:
                try:
                    data = child.read(min(cap - len(chunk), self.rng.choice(READ_SIZES)))
                except EOFError:
                    if chunk:
                        self._emit(bytes(chunk))
                    self._child_ended()
                if data is None:
                    break
                chunk += data
            if not chunk:
                return
            self._emit(bytes(chunk))

    def _emit(self, data: bytes) -> None:
        self.terminal.stats.from_pty += len(data)
        self.out.output(data, time.monotonic())

    def _child_ended(self) -> NoReturn:
        """termproxy's `error reading from pty` exit, and pveproxy's disconnect behind it (ClientOutput.last_output)."""
        self.out.last_output(time.monotonic())
        self._disconnect()
        raise SessionEnd(1, EIO_MESSAGE, "shell-exited")


def _lose_transport(sock: socket.socket) -> None:
    """An injected ws-drop: TCP shutdown without TLS close_notify and without a websocket Close frame."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def _drain_buffered(rfile: io.BufferedIOBase) -> bytes:
    """Bytes the HTTP layer already buffered after the request (a client that did not wait for the 101)."""
    try:
        return rfile.read1(65536) or b""
    except (ssl.SSLError, BlockingIOError, OSError, ValueError):
        return b""


def _shutdown_transport(sock: socket.socket, close_notify: bool) -> None:
    """`client_do_disconnect`'s `stoptls(); shutdown($fh, 1)` (AnyEvent.pm:151-161): close_notify if it can go out
    now, then TCP FIN; the descriptor is closed by the server afterwards; never a websocket Close frame."""
    if close_notify and isinstance(sock, ssl.SSLSocket):
        try:
            sock.unwrap()
        except (ssl.SSLError, OSError, ValueError):
            pass
    try:
        sock.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def make_takeover(registry: TerminalRegistry, terminal: Terminal, signer: TicketSigner, stop_event: threading.Event,
                  options: SessionOptions, faults: FaultInjector,
                  fault: SessionFault | None = None) -> Callable[[socket.socket, io.BufferedIOBase, io.BufferedIOBase], None]:
    """The HttpResponse takeover for a vncwebsocket upgrade (with the session's injected fault, if any)."""
    def takeover(sock: socket.socket, rfile: io.BufferedIOBase, wfile: io.BufferedIOBase) -> None:
        TermSession(registry, terminal, signer, stop_event, options, faults, fault, sock).run(rfile)
    return takeover
