# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A child process on a new pty, started the way termproxy's `run_pty` does it (pve-protocol.md 4.4 step 7).

New session, the pty slave is the controlling terminal and fds 0-2, the size starts at 80x20. The
master is non-blocking; reading it fails with EIO once every slave fd is closed (the shell exited).
Stopping closes the master (the kernel hangs up the session: SIGHUP) and, for what is left of the
session after a grace period, sends SIGKILL to every process of it.
"""
from __future__ import annotations

import errno
import fcntl
import os
import signal
import struct
import termios
import time
from pathlib import Path
from typing import Callable, Mapping, Sequence

INITIAL_COLS = 80
INITIAL_ROWS = 20


def set_winsize(fd: int, cols: int, rows: int) -> None:
    """TIOCSWINSZ (rows first in the struct; termproxy's messages give columns first, 4.4)."""
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def session_members(sid: int) -> list[int]:
    """Every process whose session id is `sid` (from /proc/<pid>/stat, field 6)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_bytes()
        except OSError:
            continue
        # The command name may contain spaces and parentheses: fields start after the last ')'.
        fields = stat[stat.rfind(b")") + 2:].split()
        if len(fields) > 3 and int(fields[3]) == sid:
            members.append(int(entry.name))
    return members


def kill_session(sid: int, sig: int = signal.SIGKILL) -> int:
    """Signal every process of a session; returns how many were signalled."""
    count = 0
    for pid in session_members(sid):
        try:
            os.kill(pid, sig)
            count += 1
        except OSError:
            pass
    return count


class PtyChild:
    """One program on its own pty; `pid` is also its session id."""

    def __init__(self, argv: Sequence[str], env: Mapping[str, str], cwd: str | None = None,
                 executable: str | None = None, prelude: Callable[[], None] | None = None) -> None:
        """`executable` defaults to argv[0] (give it when argv[0] differs, e.g. `-bash`); `prelude` runs in the
        child once the terminal is set up, right before the exec (plain system calls only: the parent has threads)."""
        master, slave = os.openpty()
        set_winsize(master, INITIAL_COLS, INITIAL_ROWS)
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child only sets up its terminal and execs
            try:
                os.close(master)
                os.setsid()
                fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
                for fd in (0, 1, 2):
                    os.dup2(slave, fd)
                if slave > 2:
                    os.close(slave)
                # Python ignores SIGPIPE and SIGXFSZ; ignored signals survive exec (subprocess' restore_signals).
                for signum in (signal.SIGPIPE, signal.SIGXFSZ):
                    signal.signal(signum, signal.SIG_DFL)
                if prelude is not None:
                    prelude()
                if cwd:
                    os.chdir(cwd)
                os.execve(executable or argv[0], list(argv), dict(env))
            finally:
                os._exit(127)
        os.close(slave)
        os.set_blocking(master, False)
        self.pid = pid
        self.master: int | None = master
        self.status: int | None = None

    def resize(self, cols: int, rows: int) -> None:
        """Set the terminal size; errors are ignored (the pty may be gone)."""
        if self.master is not None:
            try:
                set_winsize(self.master, cols, rows)
            except OSError:
                pass

    def read(self, size: int) -> bytes | None:
        """Up to `size` bytes of output; None when nothing is there now. Raises EOFError once the slave side is gone."""
        if self.master is None:
            raise EOFError("pty closed")
        try:
            data = os.read(self.master, size)
        except BlockingIOError:
            return None
        except OSError as exc:
            if exc.errno == errno.EIO:
                raise EOFError("Input/output error (os error 5)") from None
            raise
        if not data:
            raise EOFError("end of file")
        return data

    def write(self, data: bytes) -> int:
        """Write what the pty takes now (non-blocking); returns the byte count (0 when full)."""
        if self.master is None or not data:
            return 0
        try:
            return os.write(self.master, data)
        except BlockingIOError:
            return 0
        except OSError as exc:
            if exc.errno == errno.EIO:
                return len(data)  # nobody reads any more; the EOF shows up on the read side
            raise

    def poll(self) -> int | None:
        """The exit status once the child ended (shell convention: 128+n for a signal), else None."""
        if self.status is None:
            try:
                pid, raw = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                self.status = 255
                return self.status
            if pid:
                self.status = os.waitstatus_to_exitcode(raw)
                if self.status < 0:
                    self.status = 128 - self.status
        return self.status

    def wait(self, timeout: float) -> int | None:
        """Poll for the exit status for at most `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while self.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.status

    def close(self, grace: float = 2.0) -> None:
        """Hang up (close the master), give the session `grace` s to end, then kill the leader and reap it.

        Background process groups that survive a hangup are left alone, as on a real node; they are
        ended at simulator shutdown by kill_session() (see terminals.TerminalRegistry.stop).
        """
        if self.master is not None:
            os.close(self.master)
            self.master = None
        if self.wait(grace) is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except OSError:
                pass
            self.wait(5.0)
