# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The repositories of the simulated package managers: what each distribution offers and has installed fresh.

Plain JSON-able data, baked into the containers' copy of tools/pkgtool.py at install time (its
configuration), which keys it by os-release `ID`. Versions are those of the real distributions at
the time of writing; the few packages are those the lxc_bootstrap role and its tests need, with
their main dependencies, plus `sudo` and `curl`.
"""
from __future__ import annotations

from typing import Any

from pvesim.tools.pkgtool import UNIT_DIR, render_record

SSHD_CONFIG = (
    "# Written by the simulated openssh-server package (pvesim).\nInclude /etc/ssh/sshd_config.d/*.conf\n"
    "KbdInteractiveAuthentication no\nUsePAM yes\nX11Forwarding yes\nPrintMotd no\nAcceptEnv LANG LC_*\n"
)
SSHD_MARKER = (
    "#!/bin/sh\n# The simulated OpenSSH server (pvesim): it marks the package as installed; nothing listens.\n"
    'case "$1" in -t|-T) exit 0 ;; esac\necho "sshd: pvesim does not run an SSH server" >&2\nexit 1\n'
)
_UNIT = "[Unit]\nDescription={desc}\nAfter=network.target\n\n[Service]\nExecStart=/usr/local/sbin/sshd -D\n\n[Install]\nWantedBy=multi-user.target\n"
FILES: dict[str, dict[str, Any]] = {
    "sshd_config": {"path": "/etc/ssh/sshd_config", "mode": 0o644, "text": SSHD_CONFIG},
    "sshd": {"path": "/usr/local/sbin/sshd", "mode": 0o755, "text": SSHD_MARKER},
    "ssh.service": {"path": f"{UNIT_DIR}/ssh.service", "mode": 0o644,
                    "text": _UNIT.format(desc="OpenBSD Secure Shell server") + "Alias=sshd.service\n"},
    "sshd.service": {"path": f"{UNIT_DIR}/sshd.service", "mode": 0o644, "text": _UNIT.format(desc="OpenSSH server daemon")},
    "sshd.openrc": {"path": "/etc/init.d/sshd", "mode": 0o755,
                    "text": '#!/sbin/openrc-run\n# The simulated openssh-server (pvesim).\ndescription="OpenBSD Secure Shell server"\n'
                            "command=/usr/local/sbin/sshd\n"},
}
"""Files packages write, by key (a package names the keys)."""


def _pkg(version: str, depends: tuple[str, ...] = (), files: tuple[str, ...] = (), service: str = "") -> dict[str, Any]:
    """A package: its version, dependencies, FILES keys and the service (systemd unit or OpenRC script) it ships."""
    return {"version": version, "depends": list(depends), "files": list(files), "service": service}


def _catalogue(arch: str, base: dict[str, str], packages: dict[str, dict[str, Any]], mirror: str,
               on_install: str = "", suite: str = "") -> dict[str, Any]:
    """A distribution: `base` is what a fresh container has; `on_install` what installing a package with a
    service does (`start`: Debian's policy, `preset`: Fedora's preset enables sshd, "": nothing)."""
    return {"arch": arch, "base": base, "packages": packages, "mirror": mirror, "on_install": on_install, "suite": suite}


def _debian_like(python: str, py: str, ssh: str, base: dict[str, str], mirror: str, suite: str, extra: dict[str, str]) -> dict[str, Any]:
    packages = {
        "python3": _pkg(python, ("python3-minimal", f"python{py}")),
        "python3-minimal": _pkg(python, (f"python{py}-minimal",)),
        f"python{py}": _pkg(extra["pyfull"], (f"python{py}-minimal", f"libpython{py}-stdlib")),
        f"python{py}-minimal": _pkg(extra["pyfull"]),
        f"libpython{py}-stdlib": _pkg(extra["pyfull"]),
        "openssh-server": _pkg(ssh, ("openssh-client", "openssh-sftp-server"), ("sshd_config", "sshd", "ssh.service"), "ssh"),
        "openssh-client": _pkg(ssh),
        "openssh-sftp-server": _pkg(ssh),
        "sudo": _pkg(extra["sudo"]),
        "curl": _pkg(extra["curl"]),
    }
    return _catalogue("amd64", base, packages, mirror, "start", suite)


def _rpm_like(python: str, ssh: str, base: dict[str, str], mirror: str, extra: dict[str, str]) -> dict[str, Any]:
    packages = {
        "python3": _pkg(python, ("python3-libs",)),
        "python3-libs": _pkg(python),
        "openssh-server": _pkg(ssh, ("openssh",), ("sshd_config", "sshd", "sshd.service"), "sshd"),
        "openssh": _pkg(ssh),
        "sudo": _pkg(extra["sudo"]),
        "curl": _pkg(extra["curl"]),
    }
    return _catalogue("x86_64", base, packages, mirror, "preset")


CATALOGUES: dict[str, dict[str, Any]] = {
    "debian": _debian_like(
        "3.11.2-1+b1", "3.11", "1:9.2p1-2+deb12u3",
        {"apt": "2.6.1", "base-files": "12.4+deb12u8", "bash": "5.2.15-2+b7", "coreutils": "9.1-1", "dpkg": "1.21.22",
         "libc6": "2.36-9+deb12u9"},
        "http://deb.debian.org/debian", "bookworm",
        {"pyfull": "3.11.2-6+deb12u4", "sudo": "1.9.13p3-1+deb12u1", "curl": "7.88.1-10+deb12u8"}),
    "ubuntu": _debian_like(
        "3.12.3-0ubuntu2", "3.12", "1:9.6p1-3ubuntu13.5",
        {"apt": "2.7.14build2", "base-files": "13ubuntu10.1", "bash": "5.2.21-2ubuntu4", "coreutils": "9.4-3ubuntu6",
         "dpkg": "1.22.6ubuntu6.1", "libc6": "2.39-0ubuntu8.3"},
        "http://archive.ubuntu.com/ubuntu", "noble",
        {"pyfull": "3.12.3-1ubuntu0.3", "sudo": "1.9.15p5-3ubuntu5", "curl": "8.5.0-2ubuntu10.5"}),
    "alpine": _catalogue("x86_64", {
        "alpine-baselayout": "3.6.5-r0", "apk-tools": "2.14.4-r1", "busybox": "1.36.1-r29", "musl": "1.2.5-r0", "openrc": "0.54-r1",
    }, {
        "python3": _pkg("3.12.7-r0", ("libffi", "mpdecimal")),
        "libffi": _pkg("3.4.6-r0"),
        "mpdecimal": _pkg("4.0.0-r0"),
        "openssh-server": _pkg("9.7_p1-r4", ("openssh-keygen", "openssh-server-common"), ("sshd_config", "sshd", "sshd.openrc"), "sshd"),
        "openssh-keygen": _pkg("9.7_p1-r4"),
        "openssh-server-common": _pkg("9.7_p1-r4"),
        "openssh": _pkg("9.7_p1-r4", ("openssh-server",)),
        "sudo": _pkg("1.9.15_p5-r0"),
        "curl": _pkg("8.11.0-r2"),
    }, "https://dl-cdn.alpinelinux.org/alpine/v3.20"),
    # Fedora 41's dnf5 is C++: a fresh container has no python3.
    "fedora": _rpm_like(
        "3.13.0-1.fc41", "9.8p1-3.fc41.1",
        {"bash": "5.2.32-1.fc41", "coreutils": "9.5-11.fc41", "dnf5": "5.2.6.2-1.fc41", "fedora-release-container": "41-26",
         "glibc": "2.40-9.fc41", "rpm": "4.20.0-1.fc41", "systemd": "256.7-1.fc41"},
        "https://mirrors.fedoraproject.org", {"sudo": "1.9.15-5.p5.fc41", "curl": "8.9.1-2.fc41"}),
    # CentOS Stream 9's dnf is Python: python3 comes with a fresh container.
    "centos": _rpm_like(
        "3.9.19-8.el9", "8.7p1-43.el9",
        {"bash": "5.1.8-9.el9", "centos-stream-release": "9.0-26.el9", "coreutils": "8.32-36.el9", "dnf": "4.14.0-17.el9",
         "python3": "3.9.19-8.el9", "python3-libs": "3.9.19-8.el9", "rpm": "4.16.1.3-34.el9", "systemd": "252-46.el9"},
        "https://mirrors.centos.org", {"sudo": "1.9.5p2-10.el9", "curl": "7.76.1-31.el9"}),
    "arch": _catalogue("x86_64", {
        "base": "3-2", "bash": "5.2.037-1", "filesystem": "2024.04.07-1", "glibc": "2.40+r16+gaa533d58ff-2", "pacman": "7.0.0.r3.g7736133-1",
        "systemd": "256.7-1",
    }, {
        "python": _pkg("3.12.7-1", ("expat", "mpdecimal")),
        "expat": _pkg("2.6.4-1"),
        "mpdecimal": _pkg("4.0.0-2"),
        "openssh": _pkg("9.9p1-1", (), ("sshd_config", "sshd", "sshd.service"), "sshd"),
        "sudo": _pkg("1.9.16-1"),
        "curl": _pkg("8.11.0-1"),
    }, "https://geo.mirror.pkgbuild.com"),
}
"""By os-release `ID`."""


def initial_record(os_id: str) -> str:
    """The package database of a fresh container (ctfs.py writes it when it creates the filesystem)."""
    return render_record(CATALOGUES[os_id]["base"])


def tool_config() -> dict[str, Any]:
    """pkgtool's configuration (tools.install bakes it in)."""
    return {"catalogues": CATALOGUES, "files": FILES}
