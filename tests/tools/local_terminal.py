# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A node terminal on this machine for unit tests: an interactive bash on a local pty, fed the way termproxy feeds one.

``LocalTerminal`` stands in for the websocket session: it decodes our blocks with the simulator's
faithful termproxy parser and types the data into the bash, so the start-up line, the readiness
nonce, the raw tty, the uploads and the result framing all run for real. Commands run directly on
this machine; a fake ``pct`` (exec runs the command here, push copies) is first on PATH.
"""
from __future__ import annotations

import os
import pty
import select
import signal
import typing as t

import pytest

from ansible_collections.pveops.proxmox.plugins.module_utils import _nodeshell
from ansible_collections.pveops.proxmox.plugins.module_utils._errors import PveTimeout
from ansible_collections.pveops.proxmox.plugins.module_utils._tasks import Deadline
from ansible_collections.pveops.proxmox.plugins.module_utils._terminal import BLOCK, frame_input
from pvesim.termparse import DataEvent, InputParser

# A node's `pct` for this machine: `exec VMID -- ARGV` runs ARGV here, `push VMID FILE TARGET` copies.
FAKE_PCT = """#!/bin/sh
case "$1" in
exec) shift 3; exec "$@";;
push) cp "$3" "$4";;
*) echo "fake pct: $1 not supported" >&2; exit 255;;
esac
"""


class LocalTerminal:
    """A TerminalSession look-alike over a local pty running an interactive bash."""

    def __init__(self, _client: t.Any, _node: str, deadline: Deadline) -> None:
        self.deadline = deadline
        self.user = "root@pam"
        self.pid = 0
        self.fd = -1
        self.parser = InputParser()

    def open(self) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # pragma: no cover - child
            environment = {"PATH": os.environ["PVEOPS_TEST_PATH"], "PS1": "root@local:~# ", "TERM": "xterm-256color", "HOME": "/tmp"}
            os.execvpe("bash", ["bash", "--norc", "--noprofile", "-i"], environment)

    def send(self, data: bytes) -> None:
        for block in frame_input(data):
            assert len(block) == BLOCK
            for event in self.parser.feed(block):
                if isinstance(event, DataEvent):
                    view = memoryview(event.data)
                    while view:
                        written = os.write(self.fd, view)
                        view = view[written:]

    def read(self, deadline: Deadline, what: str = "output") -> bytes | None:
        while True:
            if deadline.expired():
                raise PveTimeout(f"no {what} within {deadline.seconds:g} s")
            ready = select.select([self.fd], [], [], min(0.2, deadline.remaining()))[0]
            if ready:
                try:
                    return os.read(self.fd, 65536)
                except OSError:
                    return None

    def age(self) -> float:
        return 0.0

    def close(self) -> None:
        if self.pid:
            os.close(self.fd)  # a hang-up, as when termproxy's pty closes: the foreground group gets SIGHUP
            try:
                os.kill(self.pid, signal.SIGHUP)
            except ProcessLookupError:
                pass
            os.waitpid(self.pid, 0)
            self.pid = 0


@pytest.fixture()
def local_terminal(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    monkeypatch.setattr(_nodeshell, "TerminalSession", LocalTerminal)
    bin_dir = tmp_path_factory.getbasetemp() / "fake-node-bin"
    if not (bin_dir / "pct").exists():
        bin_dir.mkdir(exist_ok=True)
        (bin_dir / "pct").write_text(FAKE_PCT)
        (bin_dir / "pct").chmod(0o755)
    monkeypatch.setenv("PVEOPS_TEST_PATH", f"{bin_dir}:{os.environ['PATH']}")
