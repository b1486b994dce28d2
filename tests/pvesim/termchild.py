# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The program termproxy starts on a terminal's pty, with the ssh and login(1) steps before it (rootshell.LoginSteps).

Two pipes connect the session to those steps in the forked child: login waits for one byte on
`go` before its input flush (sent once termproxy wrote what it had buffered when it started the
child), and writes one byte on `started` right before it execs the program (the terminal's
`shell_started`). Both ends the child keeps are close-on-exec, so the program inherits neither.
"""
from __future__ import annotations

import dataclasses
import os

from pvesim.nodeshell import ShellCommand
from pvesim.ptyproc import PtyChild, kill_session

CLOSE_GRACE = 2.0
"""After the hang-up, how long the session has to end before its leader is killed."""


class ShellChild:
    """A started ShellCommand; `pty` is the child on its pty."""

    def __init__(self, command: ShellCommand, hangup: str | None = None) -> None:
        """`hangup`: ssh's goodbye line, to end the session after the ssh hop before any shell (nested-login-race)."""
        steps = dataclasses.replace(command.steps, hangup=hangup) if hangup is not None else dataclasses.replace(command.steps)
        self.started_fd: int | None
        self.started_fd, steps.started_fd = os.pipe()
        self._go: int | None = None
        if steps.flush:
            steps.go_fd, self._go = os.pipe()
        try:
            self.pty = PtyChild(command.argv, command.env, command.cwd, executable=command.executable, prelude=steps.run)
        finally:
            os.close(steps.started_fd)
            if steps.go_fd is not None:
                os.close(steps.go_fd)
        os.set_blocking(self.started_fd, False)
        self.started = False

    @property
    def pid(self) -> int:
        """The child's pid (also its session id)."""
        return self.pty.pid

    def release_login(self) -> None:
        """Let login(1) flush now (once; nothing to do without --login-flush-input)."""
        if self._go is None:
            return
        try:
            os.write(self._go, b"G")
        except OSError:
            pass  # the child is gone already
        os.close(self._go)
        self._go = None

    def check_started(self) -> bool:
        """Read the `started` pipe; True once the program was exec'd."""
        if self.started_fd is not None:
            try:
                data = os.read(self.started_fd, 16)
            except BlockingIOError:
                return self.started
            self.started = bool(data)
            os.close(self.started_fd)
            self.started_fd = None
        return self.started

    def close(self, stopping: bool) -> None:
        """Hang up (the shell gets SIGHUP as on a node); at simulator shutdown also kill what is left of the session."""
        for fd in (self.started_fd, self._go):
            if fd is not None:
                os.close(fd)
        self.started_fd = self._go = None
        self.pty.close(0.2 if stopping else CLOSE_GRACE)
        if stopping:
            kill_session(self.pty.pid)
