# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Container filesystems and the per-container state files `pct` reads (pve-protocol.md 5).

Layout under the state dir (see README.md):

    containers/<vmid>.json          state for pct, replaced atomically on every model change
    containers/.tools/journalctl    the container `journalctl`, copied into systemd containers
    containers/<vmid>/rootfs/       the container's `/`: etc/{hostname,os-release,passwd,group}, root/,
                                    home/user/, tmp/ (1777), var/log/, run/, usr/local/bin/, dev/, proc/,
                                    bin, lib, lib64, sbin -> usr/... (the machine's /usr is bound read-only)

Systemd containers also get run/systemd/system/, usr/local/bin/journalctl and var/log/journal.jsonl;
the others var/log/messages (ctjournal.py writes both). The state file carries the recipe (`layout`)
so pct can create a filesystem the simulator has not created yet (big scenarios, EAGER_LIMIT).
"""
from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from pvesim import tools
from pvesim.model import Cluster, Guest
from pvesim.tools.pct import apply_layout

DEBIAN_RELEASE = (
    'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nVERSION="12 (bookworm)"\n'
    'VERSION_CODENAME=bookworm\nID=debian\nHOME_URL="https://www.debian.org/"\nSUPPORT_URL="https://www.debian.org/support"\n'
    'BUG_REPORT_URL="https://bugs.debian.org/"\n'
)
ALPINE_RELEASE = (
    'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.20.3\nPRETTY_NAME="Alpine Linux v3.20"\nHOME_URL="https://alpinelinux.org/"\n'
    'BUG_REPORT_URL="https://gitlab.alpinelinux.org/alpine/aports/-/issues"\n'
)
# Debian's default PS1, so a shell inside the container looks like one (`root@web:/# `).
BASH_BASHRC = "[ -z \"$PS1\" ] && return\nPS1='${debian_chroot:+($debian_chroot)}\\u@\\h:\\w\\$ '\n"
USR_LINKS = ("bin", "lib", "lib64", "sbin")
EAGER_LIMIT = 64
"""Scenarios with at most this many containers get every filesystem at start-up."""


def is_alpine(guest: Guest) -> bool:
    """Alpine containers get Alpine's os-release, /bin/sh as root shell and no journal."""
    return str(guest.config.get("ostype", "debian")) == "alpine"


def container_python() -> tuple[str, list[list[str]]]:
    """An interpreter that exists inside the sandbox, plus read-only binds it needs.

    The sandbox sees only the machine's /usr. An interpreter under /usr works as is; otherwise
    (pyenv, venv) the simulator's base installation is bound read-only at the same path.
    """
    real = os.path.realpath(sys.executable)
    if real.startswith("/usr/"):
        return real, []
    if os.access("/usr/bin/python3", os.X_OK):
        return "/usr/bin/python3", []
    prefix = os.path.realpath(sys.base_prefix)
    return os.path.join(prefix, "bin", os.path.basename(real)), [[prefix, prefix]]


def layout(guest: Guest, journalctl: str) -> list[list[Any]]:
    """The recipe of a container filesystem (applied by tools.pct.apply_layout, here or by pct on first use)."""
    alpine = is_alpine(guest)
    shell = "/bin/sh" if alpine else "/bin/bash"
    ops: list[list[Any]] = [["dir", sub, 0o755] for sub in ("etc", "home/user", "var/log", "run", "usr/local/bin", "dev", "proc")]
    ops += [["dir", "root", 0o700], ["dir", "tmp", 0o1777]]
    ops += [["link", name, f"usr/{name}"] for name in USR_LINKS]
    ops += [
        ["file", "etc/hostname", guest.name + "\n", 0o644],
        ["file", "etc/os-release", ALPINE_RELEASE if alpine else DEBIAN_RELEASE, 0o644],
        ["file", "etc/passwd", (
            f"root:x:0:0:root:/root:{shell}\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
            f"nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\nuser:x:1000:1000:User,,,:/home/user:{shell}\n"
        ), 0o644],
        ["file", "etc/group", "root:x:0:\ndaemon:x:1:\nnogroup:x:65534:\nuser:x:1000:\n", 0o644],
    ]
    if not alpine:
        ops.append(["file", "etc/bash.bashrc", BASH_BASHRC, 0o644])
    if os.path.exists("/etc/localtime"):
        # Same zone as the node, so journal times inside and outside agree.
        ops.append(["copy", "etc/localtime", "/etc/localtime", 0o644])
    if guest.systemd:
        ops += [["dir", "run/systemd/system", 0o755], ["copy", "usr/local/bin/journalctl", journalctl, 0o755]]
        ops.append(["file", "var/log/journal.jsonl", "", 0o644])
    else:
        ops.append(["file", "var/log/messages", "", 0o644])
    return ops


def guest_state(guest: Guest, rootfs: Path, journalctl: str) -> dict[str, Any]:
    """What pct needs to know about a container (tools/pct.py), including how to create its filesystem."""
    return {
        "vmid": guest.vmid, "node": guest.node, "status": guest.status, "hostname": guest.name,
        "ostype": str(guest.config.get("ostype", "debian")), "systemd": guest.systemd, "rootfs": str(rootfs),
        "config": {key: guest.config[key] for key in sorted(guest.config)}, "layout": layout(guest, journalctl),
    }


def _write_atomic(path: Path, text: str, mode: int = 0o644) -> None:
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(text, encoding="utf-8")
    os.chmod(temp, mode)
    os.replace(temp, path)


class ContainerFs:
    """Keeps the state files in step with the model and creates or adjusts container filesystems.

    Small scenarios get every filesystem at start-up; bigger ones (more than EAGER_LIMIT containers)
    only when first used: by pct (from the recipe in the state file) or a container console.
    """

    def __init__(self, state_dir: Path) -> None:
        self.root = state_dir / "containers"
        self.root.mkdir(parents=True, exist_ok=True)
        self.python, self.ro_binds = container_python()
        self.journalctl = self.root / ".tools" / "journalctl"
        tools.install("journalctl", self.journalctl, self.python, {"journal": "/var/log/journal.jsonl", "hostname": None})
        self._written: dict[int, str] = {}
        self._shape: dict[int, tuple[bool, str]] = {}

    def rootfs(self, vmid: int) -> Path:
        """The container's `/` on the machine."""
        return self.root / str(vmid) / "rootfs"

    def state_path(self, vmid: int) -> Path:
        """The state file pct reads."""
        return self.root / f"{vmid}.json"

    def exists(self, vmid: int) -> bool:
        """True once the filesystem was created (by the simulator or by pct)."""
        return self.rootfs(vmid).is_dir()

    def ensure(self, guest: Guest) -> Path:
        """Create the filesystem now (a container console needs it)."""
        rootfs = self.rootfs(guest.vmid)
        rootfs.parent.mkdir(exist_ok=True)
        apply_layout(str(rootfs), layout(guest, str(self.journalctl)))
        self._adjust(guest, rootfs)
        return rootfs

    def _adjust(self, guest: Guest, rootfs: Path) -> None:
        """Follow hostname and `systemd` changes of an existing filesystem."""
        shape = (guest.systemd, guest.name)
        if self._shape.get(guest.vmid) == shape:
            return
        self._shape[guest.vmid] = shape
        _write_atomic(rootfs / "etc" / "hostname", guest.name + "\n")
        journalctl = rootfs / "usr" / "local" / "bin" / "journalctl"
        if guest.systemd:
            (rootfs / "run" / "systemd" / "system").mkdir(parents=True, exist_ok=True)
            if not journalctl.exists():
                shutil.copyfile(self.journalctl, journalctl)
                os.chmod(journalctl, 0o755)
        else:
            shutil.rmtree(rootfs / "run" / "systemd", ignore_errors=True)
            journalctl.unlink(missing_ok=True)

    def sync(self, cluster: Cluster, only: int | None = None, create: bool = False) -> None:
        """Write the state files that changed (call with cluster.lock held); `create` makes the filesystems too.

        `only` limits the work to one container (a power action), so big scenarios stay cheap.
        """
        for guest in cluster.guests.values():
            if guest.kind != "lxc" or (only is not None and guest.vmid != only):
                continue
            rootfs = self.rootfs(guest.vmid)
            if create:
                self.ensure(guest)
            elif rootfs.is_dir():
                self._adjust(guest, rootfs)
            text = json.dumps(guest_state(guest, rootfs, str(self.journalctl)), sort_keys=True, default=str)
            if self._written.get(guest.vmid) != text:
                rootfs.parent.mkdir(exist_ok=True)
                _write_atomic(self.state_path(guest.vmid), text + "\n")
                self._written[guest.vmid] = text
