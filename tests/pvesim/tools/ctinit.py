# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The init of a running container: pid 1 of its pid namespace, started by pvesim.ctruntime in bubblewrap.

Copied into every container as /usr/local/lib/pvesim/init (interpreter: one the sandbox sees). It
stands in for /sbin/init (or an application container's entrypoint): it reaps every process that
is reparented to it (a background job whose `pct exec` ended) and otherwise sleeps. As pid 1 it
gets no signal it has no handler for, so nothing inside the container can kill it; stopping the
container is the simulator killing it from outside, which makes the kernel kill everything in the
namespace (a real `lxc-stop --kill`).

Before it reports ready it clears `nosuid` on its bind mounts: bubblewrap mounts everything nosuid,
and a real privileged container runs setuid programs (sudo, su as a user). It runs with all
capabilities (`--cap-add ALL`) for that. The ready line on stdout is how the simulator knows the
mounts are done (bubblewrap's info-fd arrives before the sandbox is set up).
"""
from __future__ import annotations

import ctypes
import os
import signal

_CONFIG_JSON = "{}"  # replaced by pvesim.tools.install()

MS_RDONLY = 0x1
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_REMOUNT = 0x20
MS_NOATIME = 0x400
MS_BIND = 0x1000
MS_RELATIME = 0x200000
PR_SET_NAME = 15
SKIPPED = ("/proc", "/dev")
"""Mounts bubblewrap made for the kernel filesystems keep their flags."""


def allow_setuid(mountinfo: str = "/proc/self/mountinfo") -> None:
    """Remount every bind mount of the sandbox without `nosuid`, keeping its other flags."""
    libc = ctypes.CDLL(None, use_errno=True)
    with open(mountinfo, encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    for line in lines:
        fields = line.split()
        target, options = fields[4].replace("\\040", " "), fields[5].split(",")
        if "nosuid" not in options or any(target == skip or target.startswith(skip + "/") for skip in SKIPPED):
            continue
        flags = MS_REMOUNT | MS_BIND
        for name, flag in (("ro", MS_RDONLY), ("nodev", MS_NODEV), ("noexec", MS_NOEXEC), ("noatime", MS_NOATIME), ("relatime", MS_RELATIME)):
            if name in options:
                flags |= flag
        if libc.mount(None, target.encode(), None, ctypes.c_ulong(flags), None) != 0:
            code = ctypes.get_errno()
            raise OSError(code, f"remount {target}: {os.strerror(code)}")


def main() -> None:
    """Set up, say ready, then reap children forever."""
    allow_setuid()
    ctypes.CDLL(None).prctl(PR_SET_NAME, b"init", 0, 0, 0)
    os.write(1, f"ready {os.getpid()}\n".encode("ascii"))
    null = os.open("/dev/null", os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)
    # SIGCHLD blocked and waited for: a child that ends between the reaping and the wait is not missed.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})
    while True:
        try:
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass
        except ChildProcessError:
            pass
        signal.sigwait({signal.SIGCHLD})


if __name__ == "__main__":
    main()
