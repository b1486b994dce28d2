# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Container filesystems, the state files `pct` reads and the mounts a container runs with (pve-protocol.md 5).

Layout under the state dir (see README.md):

    containers/<vmid>.json          state for pct, replaced atomically on every model change
    containers/.tools/journalctl    the container `journalctl`, copied into systemd containers
    containers/.tools/{pkgtool,svctool}  package and service managers, copied into every container
    containers/.tools/init          the container init (tools/ctinit.py), copied into every container
    containers/.runtime.sock        where node tools ask for a container's init (ctruntime.py)
    containers/<vmid>/rootfs/       the container's `/`: etc/{hostname,hosts,os-release,passwd,group,shadow,...},
                                    root/, home/{user,ops}/, tmp/ (1777), var/log/, run/, usr/local/bin/, dev/, proc/,
                                    bin, lib, lib64, sbin -> usr/... (the machine's /usr is bound read-only)
    containers/<vmid>/init.log      what bubblewrap said when it started the init

Systemd containers also get run/systemd/system/, usr/local/bin/journalctl and var/log/journal.jsonl;
the others var/log/messages (ctjournal.py writes both). Every container gets the package manager
and service manager of its distribution (distros.py: tools/pkgtool.py and tools/svctool.py in
usr/local/lib/pvesim/, linked from usr/local/bin/), its package database var/lib/pvesim/packages,
and its accounts with what `su`/`runuser`/`sudo` need (ctusers.py). Application containers (an OCI
image's `entrypoint` in the config, PVE 9.1) get none of that and not the machine's /usr: only its
libraries and the Python interpreter, like a "distroless" image, so there is no shell at all.
The state file carries the recipe (`layout`) so pct can create a filesystem the simulator has not
created yet (big scenarios, EAGER_LIMIT).
"""
from __future__ import annotations

import functools
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from pvesim import tools
from pvesim.ctusers import account_files, layout_ops
from pvesim.distros import distro_of
from pvesim.model import Cluster, Guest
from pvesim.packages import initial_record, tool_config
from pvesim.tools.pct import apply_layout

# Debian's default PS1, so a shell inside the container looks like one (`root@web:/# `).
BASH_BASHRC = "[ -z \"$PS1\" ] && return\nPS1='${debian_chroot:+($debian_chroot)}\\u@\\h:\\w\\$ '\n"
USR_LINKS = ("bin", "lib", "lib64", "sbin")
EAGER_LIMIT = 64
"""Scenarios with at most this many containers get every filesystem at start-up."""
INIT_PATH = "/usr/local/lib/pvesim/init"
"""Where every container has its init (tools/ctinit.py)."""


def is_alpine(guest: Guest) -> bool:
    """Alpine containers get Alpine's os-release, /bin/sh as root shell and no journal."""
    return str(guest.config.get("ostype", "debian")) == "alpine"


def is_application(guest: Guest) -> bool:
    """An OCI application container: its config names an `entrypoint` other than /sbin/init (pve-container Create.pm 735-747)."""
    return str(guest.config.get("entrypoint", "/sbin/init")) != "/sbin/init"


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


@functools.lru_cache(maxsize=1)
def machine_alternatives() -> tuple[tuple[str, str], ...]:
    """The /etc/alternatives links the machine's commands (/usr/bin, /usr/sbin) go through, when they lead back into /usr."""
    found = set()
    for directory in ("/usr/bin", "/usr/sbin"):
        with os.scandir(directory) as entries:
            for entry in entries:
                link = os.readlink(entry.path) if entry.is_symlink() else ""
                if link.startswith("/etc/alternatives/") and os.path.islink(link) and os.readlink(link).startswith("/usr/"):
                    found.add((os.path.basename(link), os.readlink(link)))
    return tuple(sorted(found))


def layout(guest: Guest, tools_dir: str) -> list[list[Any]]:
    """The recipe of a container filesystem (applied by tools.pct.apply_layout, here or by pct on first use).

    `tools_dir` holds the installed container tools (journalctl, pkgtool, svctool) the recipe copies.
    """
    if is_application(guest):
        return application_layout(guest, tools_dir)
    alpine = is_alpine(guest)
    distro = distro_of(str(guest.config.get("ostype", "debian")))
    shell = "/bin/sh" if alpine else "/bin/bash"
    ops: list[list[Any]] = [["dir", sub, 0o755] for sub in ("etc", "etc/alternatives", "home/user", "var/log", "run", "usr/local/bin", "dev", "proc")]
    # /var/tmp is sticky and world-writable like /tmp in every distribution's base image (Ansible puts its files there when it
    # becomes an unprivileged user).
    ops += [["dir", "root", 0o700], ["dir", "tmp", 0o1777], ["dir", "var/tmp", 0o1777]]
    ops += [["link", name, f"usr/{name}"] for name in USR_LINKS]
    ops += [
        ["file", "etc/hostname", guest.name + "\n", 0o644],
        ["file", "etc/os-release", distro.os_release, 0o644],
    ]
    if not alpine:
        ops.append(["file", "etc/bash.bashrc", BASH_BASHRC, 0o644])
    # Debian machines reach awk, editor, pager, ... in their /usr through /etc/alternatives; the
    # container's /etc needs the same links, or `awk` is "not found" in every container.
    ops += [["link", f"etc/alternatives/{name}", target] for name, target in machine_alternatives()]
    if os.path.exists("/etc/localtime"):
        # Same zone as the node, so journal times inside and outside agree.
        ops.append(["copy", "etc/localtime", "/etc/localtime", 0o644])
    if guest.systemd:
        ops += [["dir", "run/systemd/system", 0o755], ["copy", "usr/local/bin/journalctl", f"{tools_dir}/journalctl", 0o755]]
        ops.append(["file", "var/log/journal.jsonl", "", 0o644])
    else:
        ops.append(["file", "var/log/messages", "", 0o644])
    # Package and service managers: one copy of each tool, the distribution's command names as links.
    ops += [["dir", sub, 0o755] for sub in ("usr/local/sbin", "usr/local/lib/pvesim", "var/lib/pvesim")]
    for tool, commands in (("pkgtool", distro.package_commands), ("svctool", distro.service_commands)):
        ops.append(["copy", f"usr/local/lib/pvesim/{tool}", f"{tools_dir}/{tool}", 0o755])
        ops += [["link", f"usr/local/bin/{command}", f"../lib/pvesim/{tool}"] for command in commands]
    ops.append(["file", "var/lib/pvesim/packages", initial_record(distro.os_id), 0o644])
    ops.append(["copy", INIT_PATH.lstrip("/"), f"{tools_dir}/init", 0o755])
    ops += layout_ops(shell, alpine, guest.name)
    if distro.openrc:
        # OpenRC is running (/run/openrc) with its usual runlevels; services go to /etc/init.d.
        ops += [["dir", sub, 0o755] for sub in ("run/openrc/started", "etc/init.d", "etc/runlevels/boot", "etc/runlevels/default")]
        ops.append(["file", "run/openrc/softlevel", "default\n", 0o644])
    else:
        ops.append(["dir", "etc/systemd/system", 0o755])
    return ops


def application_layout(guest: Guest, tools_dir: str) -> list[list[Any]]:
    """An OCI application image without a shell: its own /usr (the machine's libraries and Python bound into it), no /bin."""
    ops: list[list[Any]] = [["dir", sub, 0o755] for sub in (
        "etc", "usr/bin", "usr/lib", "usr/lib64", "usr/local/bin", "usr/local/lib/pvesim", "var/log", "run", "dev", "proc", "app")]
    ops += [["dir", "root", 0o700], ["dir", "tmp", 0o1777], ["dir", "var/tmp", 0o1777], ["link", "lib", "usr/lib"], ["link", "lib64", "usr/lib64"]]
    accounts = account_files("/sbin/nologin", False)
    ops += [
        ["file", "etc/hostname", guest.name + "\n", 0o644],
        ["file", "etc/os-release", 'PRETTY_NAME="Distroless"\nNAME="Debian GNU/Linux"\nID=debian\nVERSION_ID="12"\n', 0o644],
        ["file", "etc/passwd", *accounts["etc/passwd"]], ["file", "etc/group", *accounts["etc/group"]],
        ["file", "var/log/messages", "", 0o644],
        ["copy", INIT_PATH.lstrip("/"), f"{tools_dir}/init", 0o755],
    ]
    return ops


def guest_state(guest: Guest, rootfs: Path, tools_dir: str) -> dict[str, Any]:
    """What pct needs to know about a container (tools/pct.py), including how to create its filesystem."""
    return {
        "vmid": guest.vmid, "node": guest.node, "status": guest.status, "hostname": guest.name,
        "ostype": str(guest.config.get("ostype", "debian")), "systemd": guest.systemd, "rootfs": str(rootfs),
        "config": {key: guest.config[key] for key in sorted(guest.config)}, "layout": layout(guest, tools_dir),
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
        self.tools_dir = self.root / ".tools"
        self.journalctl = self.tools_dir / "journalctl"
        tools.install("journalctl", self.journalctl, self.python, {"journal": "/var/log/journal.jsonl", "hostname": None})
        tools.install("pkgtool", self.tools_dir / "pkgtool", self.python, tool_config())
        tools.install("svctool", self.tools_dir / "svctool", self.python, {})
        tools.install("ctinit", self.tools_dir / "init", self.python, {})
        self._written: dict[int, str] = {}
        self._shape: dict[int, tuple[bool, str]] = {}

    @property
    def runtime_socket(self) -> Path:
        """Where node tools ask for a container's init (ctruntime.ContainerRuntime)."""
        return self.root / ".runtime.sock"

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
        apply_layout(str(rootfs), layout(guest, str(self.tools_dir)))
        self._adjust(guest, rootfs)
        init = rootfs / INIT_PATH.lstrip("/")
        if not init.exists():  # a filesystem from an older state dir
            init.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(self.tools_dir / "init", init)
            os.chmod(init, 0o755)
        return rootfs

    def mounts(self, guest: Guest, rootfs: Path) -> list[str]:
        """bubblewrap's mount options for a container: the rootfs as `/` and what it sees of the machine's /usr."""
        args = ["--bind", str(rootfs), "/"]
        if is_application(guest):
            args += ["--ro-bind", "/usr/lib", "/usr/lib"]
            if os.path.isdir("/usr/lib64"):
                args += ["--ro-bind", "/usr/lib64", "/usr/lib64"]
            if self.python.startswith("/usr/"):
                args += ["--ro-bind", self.python, self.python]
        else:
            args += ["--ro-bind", "/usr", "/usr", "--bind", str(rootfs / "usr" / "local"), "/usr/local"]
        for source, target in self.ro_binds:
            args += ["--ro-bind", source, target]
        return args

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
            text = json.dumps(guest_state(guest, rootfs, str(self.tools_dir)), sort_keys=True, default=str)
            if self._written.get(guest.vmid) != text:
                rootfs.parent.mkdir(exist_ok=True)
                _write_atomic(self.state_path(guest.vmid), text + "\n")
                self._written[guest.vmid] = text
