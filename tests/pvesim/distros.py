# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a container's `ostype` makes of its filesystem: os-release, package manager and service manager commands.

The commands are links to the stand-alone tools `tools/pkgtool.py` (package managers) and
`tools/svctool.py` (systemctl, OpenRC's rc-update/rc-service), which pick what to be from the name
they were run as. They live in the container's /usr/local, because the machine's /usr is what the
sandbox shows as /usr: a Debian machine's real apt-get and dpkg-query are visible in every container
(and answer from a package database the container does not have), so the fakes must come first on
PATH, which /usr/local/bin does (pct keeps the node's PATH, see README.md "pct on the node").
"""
from __future__ import annotations

from dataclasses import dataclass

DEBIAN_RELEASE = (
    'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nVERSION="12 (bookworm)"\n'
    'VERSION_CODENAME=bookworm\nID=debian\nHOME_URL="https://www.debian.org/"\nSUPPORT_URL="https://www.debian.org/support"\n'
    'BUG_REPORT_URL="https://bugs.debian.org/"\n'
)
UBUNTU_RELEASE = (
    'PRETTY_NAME="Ubuntu 24.04.1 LTS"\nNAME="Ubuntu"\nVERSION_ID="24.04"\nVERSION="24.04.1 LTS (Noble Numbat)"\n'
    'VERSION_CODENAME=noble\nID=ubuntu\nID_LIKE=debian\nHOME_URL="https://www.ubuntu.com/"\nUBUNTU_CODENAME=noble\n'
)
ALPINE_RELEASE = (
    'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.20.3\nPRETTY_NAME="Alpine Linux v3.20"\nHOME_URL="https://alpinelinux.org/"\n'
    'BUG_REPORT_URL="https://gitlab.alpinelinux.org/alpine/aports/-/issues"\n'
)
FEDORA_RELEASE = (
    'NAME="Fedora Linux"\nVERSION="41 (Container Image)"\nID=fedora\nVERSION_ID=41\nPLATFORM_ID="platform:f41"\n'
    'PRETTY_NAME="Fedora Linux 41 (Container Image)"\nHOME_URL="https://fedoraproject.org/"\nVARIANT="Container Image"\n'
    'VARIANT_ID=container\n'
)
CENTOS_RELEASE = (
    'NAME="CentOS Stream"\nVERSION="9"\nID="centos"\nID_LIKE="rhel fedora"\nVERSION_ID="9"\nPLATFORM_ID="platform:el9"\n'
    'PRETTY_NAME="CentOS Stream 9"\nHOME_URL="https://centos.org/"\n'
)
ARCH_RELEASE = (
    'NAME="Arch Linux"\nPRETTY_NAME="Arch Linux"\nID=arch\nBUILD_ID=rolling\nHOME_URL="https://archlinux.org/"\n'
    'LOGO=archlinux-logo\n'
)


@dataclass(frozen=True)
class Distro:
    """One distribution as the simulator builds it."""

    os_id: str
    """`ID` of its os-release; tools/pkgtool.py keys its catalogue by it."""
    os_release: str
    package_commands: tuple[str, ...]
    """Names linked to tools/pkgtool.py in /usr/local/bin."""
    service_commands: tuple[str, ...]
    """Names linked to tools/svctool.py in /usr/local/bin."""
    openrc: bool = False
    """OpenRC instead of systemd: /run/openrc (it is running), /etc/init.d and /etc/runlevels."""


_SYSTEMCTL = ("systemctl",)
DISTROS: dict[str, Distro] = {
    "debian": Distro("debian", DEBIAN_RELEASE, ("apt-get", "apt", "dpkg", "dpkg-query"), _SYSTEMCTL),
    "ubuntu": Distro("ubuntu", UBUNTU_RELEASE, ("apt-get", "apt", "dpkg", "dpkg-query"), _SYSTEMCTL),
    "alpine": Distro("alpine", ALPINE_RELEASE, ("apk",), ("rc-update", "rc-service"), openrc=True),
    # EL and Fedora ship yum as another name of dnf.
    "fedora": Distro("fedora", FEDORA_RELEASE, ("dnf", "yum", "rpm"), _SYSTEMCTL),
    "centos": Distro("centos", CENTOS_RELEASE, ("dnf", "yum", "rpm"), _SYSTEMCTL),
    "archlinux": Distro("arch", ARCH_RELEASE, ("pacman",), _SYSTEMCTL),
}


def distro_of(ostype: str) -> Distro:
    """The distribution an `ostype` stands for; the others (devuan, opensuse, nixos, ...) look like Debian, as before."""
    return DISTROS.get(ostype, DISTROS["debian"])
