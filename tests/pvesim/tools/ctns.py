# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Reaching a running container from the node: its init and its namespaces (shared by `pct` and `lxc-attach`).

Inlined into those tools by pvesim.tools.install(). The simulator's container runtime
(pvesim.ctruntime) owns every container's init; a tool asks it over a Unix socket in the state dir
for the init of a container and gets the init's pid and a pidfd, the way lxc-attach asks the
container's monitor for the init pidfd (lxc src/lxc/attach.c get_attach_context 400-406). Joining
uses setns(2) on that pidfd: os.setns from Python 3.12, else libc's through ctypes (the
simulator may run on 3.11). Standard library only.
"""
from __future__ import annotations

import ctypes
import errno as errno_codes
import json
import os
import socket

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWPID = 0x20000000
RUNTIME_TIMEOUT = 30.0
"""How long a tool waits for the runtime (the first attach of a container starts its init)."""


class InitUnavailable(Exception):
    """The container has no init to join: `reason` is `not-running`, `no-bwrap` or `no-root` (message: details)."""

    def __init__(self, reason: str, message: str = "") -> None:
        super().__init__(message or reason)
        self.reason = reason


def container_init(socket_path: str, vmid: int, node: str) -> tuple[int, int]:
    """(pid on the machine, pidfd) of the init of running container `vmid` on `node`; InitUnavailable otherwise."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(RUNTIME_TIMEOUT)
        try:
            sock.connect(socket_path)
            sock.sendall(json.dumps({"vmid": vmid, "node": node}).encode("utf-8") + b"\n")
            data, fds, _flags, _addr = socket.recv_fds(sock, 4096, 1)
        except OSError as exc:
            # No simulator behind the socket: lxc-attach's "Connection refused" (no monitor socket).
            raise InitUnavailable("not-running", os.strerror(exc.errno or errno_codes.ECONNREFUSED)) from None
    try:
        answer = json.loads(data.decode("utf-8"))
    except ValueError:
        answer = {"error": "not-running"}
    if "pid" not in answer or not fds:
        for fd in fds:
            os.close(fd)
        raise InitUnavailable(str(answer.get("error", "not-running")), str(answer.get("message", "")))
    return int(answer["pid"]), fds[0]


def setns(fd: int, nstype: int) -> None:
    """setns(2); raises OSError."""
    native = getattr(os, "setns", None)
    if native is not None:
        native(fd, nstype)
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(ctypes.c_int(fd), ctypes.c_int(nstype)) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))
