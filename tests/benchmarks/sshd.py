# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""An OpenSSH server on 127.0.0.1 standing in for a node's sshd, for the `pct exec` over SSH peer.

community.proxmox's `proxmox_pct_remote` connection runs `/usr/sbin/pct exec <vmid> -- <cmd>` over
SSH on the node. Here sshd's ForceCommand hands that command to the simulator's `pct` of one
node, which runs it in the same isolated container filesystems as our exec does: both sides
execute the same `pct`, only the transport differs.
"""
from __future__ import annotations

import os
import pathlib
import shutil
import signal
import socket
import subprocess
import time
import typing as t


def sshd_binary() -> str | None:
    """Path of sshd, installing Debian's openssh-server when missing and possible."""
    found = shutil.which("sshd") or ("/usr/sbin/sshd" if os.path.exists("/usr/sbin/sshd") else None)
    if found or os.geteuid() != 0 or not shutil.which("apt-get"):
        return found
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True, check=False, timeout=600)
    subprocess.run(["apt-get", "install", "-y", "-qq", "openssh-server"], env=env, capture_output=True, check=False, timeout=600)
    return "/usr/sbin/sshd" if os.path.exists("/usr/sbin/sshd") else None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class NodeSshd:
    """sshd on 127.0.0.1 whose sessions run as the simulated node `node`; a context manager.

    With ``pct=None`` it is a plain sshd for this machine (the SSH floor of the connection benchmark).
    """

    def __init__(self, workdir: pathlib.Path, pct: pathlib.Path | None) -> None:
        self.workdir = workdir
        self.pct = pct
        self.port = free_port()
        self.key = workdir / "client_key"
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> NodeSshd:
        binary = sshd_binary()
        if binary is None:
            raise RuntimeError("no sshd (install openssh-server)")
        work = self.workdir
        work.mkdir(parents=True, exist_ok=True)
        for name, kind in (("host_key", "ed25519"), ("client_key", "ed25519")):
            subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-f", str(work / name)], check=True)
        (work / "authorized_keys").write_text((work / "client_key.pub").read_text())
        wrapper = work / "node-shell"
        # Only `/usr/sbin/pct ...` is accepted, as on a node with a sudo rule for pct.
        wrapper.write_text(f"""#!/bin/sh
case "$SSH_ORIGINAL_COMMAND" in
  /usr/sbin/pct\\ *) exec /bin/sh -c "{self.pct} ${{SSH_ORIGINAL_COMMAND#/usr/sbin/pct }}" ;;
  *) echo "only pct is allowed here" >&2; exit 1 ;;
esac
""")
        wrapper.chmod(0o755)
        force = f"ForceCommand {wrapper}\n" if self.pct is not None else ""
        (work / "sshd_config").write_text(
            f"Port {self.port}\nListenAddress 127.0.0.1\nHostKey {work / 'host_key'}\nPidFile {work / 'sshd.pid'}\n"
            f"AuthorizedKeysFile {work / 'authorized_keys'}\nPermitRootLogin prohibit-password\nPasswordAuthentication no\n"
            f"UsePAM no\nStrictModes no\n{force}PrintMotd no\nLogLevel ERROR\nMaxSessions 100\nMaxStartups 100\n"
        )
        os.makedirs("/run/sshd", exist_ok=True)  # sshd's privilege-separation directory
        self.process = subprocess.Popen([binary, "-D", "-e", "-f", str(work / "sshd_config")], stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.__exit__()
        raise RuntimeError("sshd did not start")

    def __exit__(self, *exc_info: t.Any) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None
