# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One terminal session after the 101: pveproxy's websocket proxy and termproxy in a single loop (4.3, 4.4).

Single-threaded and non-blocking over the TLS socket and the pty master, with bounded buffers
both ways (reading stops while the other side is backed up). What clients must cope with is
reproduced: server frames carry whatever one pty read returned (read sizes are randomised),
`OK` sometimes shares its frame with the first output, the session ends without a Close frame
when the shell exits, and with --drop-last-bytes the output read just before the shell's exit
is lost (4.4 step 8). Injected faults (faults.py): `lost-bytes` is that loss for one session,
`ws-drop` loses the connection mid-session (no Close frame, no TLS close_notify); termproxy sees
EOF, exits 0, and the shell gets its hang-up.
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
from collections import deque
from typing import Callable, NoReturn

from pvesim import wsframe
from pvesim.faults import FaultInjector, SessionFault
from pvesim.ptyproc import PtyChild, kill_session
from pvesim.shellinput import InputRecord
from pvesim.termparse import AuthLineError, AuthLineReader, DataEvent, InputParser, NoteEvent, ResizeEvent
from pvesim.terminals import Terminal, TerminalRegistry
from pvesim.tickets import TicketSigner

PTY_BACKLOG = 64 * 1024
"""Client input waiting for the pty beyond this stops reading the websocket."""
WS_BACKLOG = 1024 * 1024
"""Output waiting for the client beyond this stops reading the pty."""
READ_SIZES = (4096,) * 14 + (1024,) * 3 + (100,) * 2 + (7,)
FRAME_SIZES = (128 * 1024,) * 12 + (4096,) * 4 + (1024, 100, 7)
"""Pty read sizes to choose from: mostly termproxy's 4 KiB, sometimes tiny, so frame boundaries fall anywhere."""
OK_MERGE_WAIT = 0.3
"""When `OK` is held back to share a frame with the first output, it goes alone after this long."""
DROP_WINDOW = 0.3
"""--drop-last-bytes: output is forwarded only after this long, and lost if the shell exits first."""
FINAL_FLUSH = 5.0
POLL_SLICE = 0.2
CLOSE_GRACE = 2.0
EIO_MESSAGE = "error reading from pty: Input/output error (os error 5)"
AUTH_DENIED = "invalid authentication - 401 permission denied - invalid PVEVNC ticket"


class SessionEnd(Exception):
    """Ends the loop with termproxy's exit code (0: the client went away; 1: auth failed or the shell exited)."""

    def __init__(self, code: int, message: str | None = None) -> None:
        super().__init__(message or "")
        self.code = code
        self.message = message


class TermSession:
    """Runs one session; use `takeover` as the HttpResponse's takeover callable."""

    def __init__(self, registry: TerminalRegistry, terminal: Terminal, signer: TicketSigner,
                 stop_event: threading.Event, drop_last_bytes: bool, timeout: float,
                 faults: FaultInjector | None = None, fault: SessionFault | None = None) -> None:
        self.registry = registry
        self.terminal = terminal
        self.signer = signer
        self.stop_event = stop_event
        self.drop_last_bytes = drop_last_bytes or (fault is not None and fault.kind == "lost-bytes")
        self.timeout = timeout
        self.faults = faults
        self.fault = fault
        # Payload bytes the client may still get before an armed drop; when they ran out (cut_at) the drop
        # follows as soon as that output is flushed. drop_at: the moment of a random ws-drop.
        self.budget = fault.after_bytes if fault is not None else None
        self.cut_at: float | None = None
        self.drop_at: float | None = None
        self.dropped = False
        self.rng = random.Random()
        self.frames = wsframe.FrameReader()
        self.auth: AuthLineReader | None = AuthLineReader()
        self.parser = InputParser()
        self.child: PtyChild | None = None
        self.record: InputRecord | None = None
        self.to_pty = bytearray()
        self.out: deque[bytes] = deque()
        self.out_bytes = 0
        self.ok_pending: bytes | None = None
        self.ok_deadline = 0.0
        self.held: list[bytes] = []
        self.held_since = 0.0
        self.sock: socket.socket | None = None

    # --- entry point ---------------------------------------------------------------------------------

    def takeover(self, sock: socket.socket, rfile: io.BufferedIOBase, wfile: io.BufferedIOBase) -> None:
        """Serve the websocket until either side ends; always release the terminal and end its task."""
        terminal = self.terminal
        terminal.started.set()
        self.sock = sock
        if self.fault is not None and self.fault.drop_after is not None:
            self.drop_at = time.monotonic() + self.fault.drop_after
        if self.budget == 0:
            self.cut_at = time.monotonic()
        code = 0
        try:
            code = self._serve(rfile)
        except SessionEnd as end:
            code = end.code
            if end.message:
                self.registry.log(terminal, end.message)
        except Exception:  # a simulator bug: end this session, keep serving others
            traceback.print_exc(file=sys.stderr)
            code = 1
        finally:
            self._stop_child()
            if self.dropped:
                _lose_transport(sock)
            else:
                _close_transport(sock)
            terminal.exit_code = code
            terminal.state = "done"
            self.registry.release(terminal)
            terminal.finished.set()

    # --- the loop ----------------------------------------------------------------------------------------

    def _serve(self, rfile: io.BufferedIOBase) -> int:
        assert self.sock is not None
        self.sock.setblocking(False)
        auth_deadline = time.monotonic() + self.timeout
        self._from_client(_drain_buffered(rfile))
        while True:
            if self.stop_event.is_set():
                return 0
            self._check_drop()
            if len(self.to_pty) < PTY_BACKLOG:
                data, eof = self._recv()
                self._from_client(data)
                if eof:
                    self._client_gone()
            if self.auth is not None and time.monotonic() > auth_deadline:
                raise SessionEnd(1, "failed reading ticket: timed out")
            if self.child is not None:
                self._pump_pty()
            self._timers()
            self._flush()
            self._wait()

    def _wait(self) -> None:
        assert self.sock is not None
        poller = select.poll()
        sock_mask = (select.POLLIN if len(self.to_pty) < PTY_BACKLOG else 0) | (select.POLLOUT if self.out else 0)
        if sock_mask:
            poller.register(self.sock.fileno(), sock_mask)
        if self.child is not None and self.child.master is not None:
            pty_mask = (select.POLLIN if self.out_bytes < WS_BACKLOG else 0) | (select.POLLOUT if self.to_pty else 0)
            if pty_mask:
                poller.register(self.child.master, pty_mask)
        timeout = POLL_SLICE
        now = time.monotonic()
        if self.ok_pending is not None:
            timeout = min(timeout, max(0.0, self.ok_deadline - now))
        if self.held:
            timeout = min(timeout, max(0.0, self.held_since + DROP_WINDOW - now))
        if self.drop_at is not None:
            timeout = min(timeout, max(0.0, self.drop_at - now))
        if self.cut_at is not None and not self.out:
            timeout = 0.0
        poller.poll(int(timeout * 1000) + 1)

    # --- injected connection loss (ws-drop) --------------------------------------------------------------

    def _check_drop(self) -> None:
        """Lose the connection when a drop is due: random (drop_at), requested, or the byte budget is spent and sent."""
        now = time.monotonic()
        requested = self.terminal.drop_requested.is_set()
        due = self.drop_at is not None and now >= self.drop_at
        spent = self.cut_at is not None and (not self.out or now >= self.cut_at + FINAL_FLUSH)
        if not (requested or due or spent):
            return
        if requested and self.faults is not None:
            # A drop through the control API hits a session whose request was logged long ago: recorded now.
            terminal = self.terminal
            self.faults.record("ws-drop", "GET", terminal.request_path, terminal.authid, session=self.record.id if self.record else None,
                               upid=terminal.task.upid if terminal.task else None, trigger="control")
        self.dropped = True
        # pveproxy loses the client: termproxy's TCP connection closes, as if the client had gone (4.4 step 8).
        self._client_gone()

    # --- client -> termproxy -----------------------------------------------------------------------------

    def _recv(self) -> tuple[bytes, bool]:
        """Everything the client sent so far (TLS records may hold more than one poll shows); EOF flag."""
        assert self.sock is not None
        chunks: list[bytes] = []
        size = 0
        while size < 4 * PTY_BACKLOG:
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
        if not data:
            return
        try:
            frames = self.frames.feed(data)
        except wsframe.FrameError:
            # pveproxy drops the connection; termproxy sees its TCP connection close.
            self._client_gone()
        for frame in frames:
            if frame.opcode in (wsframe.OP_TEXT, wsframe.OP_BINARY):
                self._termproxy_input(frame.payload)
            elif frame.opcode == wsframe.OP_PING:
                self._queue(wsframe.encode(frame.payload, wsframe.OP_PONG))
            elif frame.opcode == wsframe.OP_CLOSE:
                # Both directions are shut down; no Close frame is echoed (4.3).
                self._client_gone()

    def _client_gone(self) -> NoReturn:
        """pveproxy closed termproxy's TCP connection: EOF before the auth line is an error, after it a clean exit 0 (4.4)."""
        if self.auth is not None:
            raise SessionEnd(1, "failed reading ticket: connection closed before authentication")
        raise SessionEnd(0)

    def _termproxy_input(self, payload: bytes) -> None:
        """One read of termproxy: the auth line first, then the message stream (4.4 steps 2 and 5)."""
        if self.auth is not None:
            try:
                line = self.auth.feed(payload)
            except AuthLineError as exc:
                raise SessionEnd(1, str(exc)) from None
            if line is None:
                return
            authid, ticket, rest = line
            self.auth = None
            self._authenticate(authid, ticket)
            self._start_child()
            payload = rest
        for event in self.parser.feed(payload):
            if isinstance(event, DataEvent):
                self.to_pty += event.data
                if self.record is not None:
                    self.registry.inputs.add(self.record, event.data)
            elif isinstance(event, ResizeEvent) and self.child is not None:
                self.child.resize(event.cols, event.rows)
            elif isinstance(event, NoteEvent):
                self.registry.log(self.terminal, event.text)

    def _authenticate(self, authid: bytes, ticket: bytes) -> None:
        """The issued ticket byte for byte (`--ticket-fd`), for this authid, path and port (`/access/vncticket`)."""
        terminal = self.terminal
        try:
            user, text = authid.decode("utf-8"), ticket.decode("utf-8")
        except UnicodeDecodeError:
            raise SessionEnd(1, AUTH_DENIED) from None
        if user != terminal.authid or text != terminal.ticket or not self.signer.verify_vnc_ticket(text, user, terminal.path, terminal.port):
            # The client just sees the connection close, no error text (4.4 step 3).
            raise SessionEnd(1, AUTH_DENIED)

    def _start_child(self) -> None:
        command = self.terminal.command
        assert command is not None
        self._queue_ok()
        self.child = PtyChild(command.argv, command.env, command.cwd)
        self.registry.track_session(self.child.pid)
        self.record = self.registry.inputs.open(self.terminal.node, self.terminal.authid, command.kind, self.terminal.vmid)
        if self.faults is not None and self.fault is not None:
            self.faults.annotate(self.fault.record, session=self.record.id)

    # --- termproxy -> client -----------------------------------------------------------------------------

    def _queue_ok(self) -> None:
        if not self.drop_last_bytes and self.rng.random() < 0.5:
            self.ok_pending, self.ok_deadline = b"OK", time.monotonic() + OK_MERGE_WAIT
        else:
            self._queue_data(b"OK")

    def _pump_pty(self) -> None:
        child = self.child
        assert child is not None
        if self.to_pty:
            written = child.write(bytes(self.to_pty[:PTY_BACKLOG]))
            del self.to_pty[:written]
        for _attempt in range(64):
            if self.out_bytes >= WS_BACKLOG:
                return
            # termproxy reads the pty until EAGAIN into its buffer, then writes it to pveproxy, which
            # forwards what one TCP read returns (up to 128 KiB) as one frame (§4.3, §4.4 step 8): frames
            # are mostly as big as what was available, sometimes small.
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

    def _child_ended(self) -> NoReturn:
        """termproxy's `error reading from pty` exit: flush what it has, or lose it with --drop-last-bytes."""
        if self.held:
            self.held.clear()  # read in the same iteration as the EIO: never written (4.4 step 8)
        if self.ok_pending is not None:
            self._queue_data(self.ok_pending)
            self.ok_pending = None
        deadline = time.monotonic() + FINAL_FLUSH
        while self.out and time.monotonic() < deadline and not self.stop_event.is_set():
            self._flush()
            if self.out and self.sock is not None:
                poller = select.poll()
                poller.register(self.sock.fileno(), select.POLLOUT)
                poller.poll(int(POLL_SLICE * 1000))
        raise SessionEnd(1, EIO_MESSAGE)

    def _emit(self, data: bytes) -> None:
        if self.ok_pending is not None:
            data, self.ok_pending = self.ok_pending + data, None
        if self.drop_last_bytes:
            if not self.held:
                self.held_since = time.monotonic()
            self.held.append(data)
        else:
            self._queue_data(data)

    def _timers(self) -> None:
        now = time.monotonic()
        if self.ok_pending is not None and now >= self.ok_deadline:
            self._queue_data(self.ok_pending)
            self.ok_pending = None
        if self.held and now >= self.held_since + DROP_WINDOW:
            for data in self.held:
                self._queue_data(data)
            self.held.clear()

    def _queue_data(self, data: bytes) -> None:
        """Terminal output as one binary frame; with an armed drop only up to the byte budget (then nothing)."""
        if self.budget is not None:
            if self.cut_at is not None:
                return
            if len(data) >= self.budget:
                data = data[:self.budget]
                self.cut_at = time.monotonic()
            self.budget -= len(data)
            if not data:
                return
        self._queue(wsframe.encode(data))

    def _queue(self, frame: bytes) -> None:
        self.out.append(frame)
        self.out_bytes += len(frame)

    def _flush(self) -> None:
        assert self.sock is not None
        while self.out:
            frame = self.out[0]
            try:
                sent = self.sock.send(frame)
            except (ssl.SSLWantWriteError, ssl.SSLWantReadError, BlockingIOError):
                return
            except OSError:
                self._client_gone()
            self.out_bytes -= sent
            if sent < len(frame):
                self.out[0] = frame[sent:]
            else:
                self.out.popleft()

    # --- the end ------------------------------------------------------------------------------------------

    def _stop_child(self) -> None:
        child, self.child = self.child, None
        if child is None:
            return
        stopping = self.stop_event.is_set()
        # Closing the master hangs up the session: the shell gets SIGHUP like on a real node.
        child.close(0.2 if stopping else CLOSE_GRACE)
        if stopping:
            kill_session(child.pid)


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


def _close_transport(sock: socket.socket) -> None:
    """TLS close_notify if it goes out at once, then the TCP shutdown; never a websocket Close frame."""
    if isinstance(sock, ssl.SSLSocket):
        try:
            sock.unwrap()
        except (ssl.SSLError, OSError, ValueError):
            pass
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def make_takeover(registry: TerminalRegistry, terminal: Terminal, signer: TicketSigner, stop_event: threading.Event,
                  drop_last_bytes: bool, timeout: float, faults: FaultInjector | None = None,
                  fault: SessionFault | None = None) -> Callable[[socket.socket, io.BufferedIOBase, io.BufferedIOBase], None]:
    """The HttpResponse takeover for a vncwebsocket upgrade (with the session's injected fault, if any)."""
    return TermSession(registry, terminal, signer, stop_event, drop_last_bytes, timeout, faults, fault).takeover
