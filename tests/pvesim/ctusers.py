# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The accounts of a container and what `su`, `runuser` and `sudo` need to use them (README "Accounts").

Every container has `root` (no password, as a template set up with SSH keys), `user` (1000, in
group `sudo` on Debian-like containers, `wheel` on Alpine; password USER_PASSWORD) and `ops` (1001,
password OPS_PASSWORD, sudo without a password through /etc/sudoers.d/ops). /etc/passwd, /etc/group,
/etc/shadow and /etc/gshadow agree with each other; shadow files are mode 0640 root:shadow as
Debian ships them. The other files (PAM stacks, sudoers, nsswitch.conf, login.defs, limits.conf)
are Debian 12's own, copied unchanged into `skel/debian/etc/` (pam-auth-update's output for
libpam-runtime, libpam-systemd and libpam-cap; sudo 1.9.13's and util-linux's PAM files).

`su`, `runuser`, `sudo` and the PAM modules themselves are the machine's (the container sees the
machine's /usr): tests/tools/system-deps.sh installs sudo where it is missing. So Alpine containers
run Debian's util-linux `su` and `runuser` and Debian's sudo, which need the same PAM files; what
is Alpine's there is the accounts (`wheel` instead of `sudo`, /bin/sh) and its sudoers (`%wheel`
enabled in /etc/sudoers.d/wheel, as `setup-user -a` does). A real Alpine has busybox `su` without
PAM and no `runuser` (Debian's busybox has no `su` applet to stand in for it).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

SKEL_DIR = Path(__file__).resolve().parent / "skel"
USER_PASSWORD = "user-password"
OPS_PASSWORD = "ops-password"
# SHA-512 crypt hashes (`openssl passwd -6 -salt ...`), fixed so container files are reproducible.
USER_HASH = "$6$pvesimUserSalt1$xZJP3zy0AhMTBuKpSblDfCGYoOyAlOKZlCMqoUx/32wZlacgbT7QEE9adfKvAwgW3l3A5grsNTU8lSEIApo/c/"
OPS_HASH = "$6$pvesimOpsSalt01$0B3G05SFSlfimRN16D2YDohwnWwr6MjMXjtgIKwKj6DLM3rEzsOn4xZPko3dSHDS6.tIQ29y.LpbLoFQbu.LE/"
LAST_CHANGE = 20000
"""Days since 1970 of the last password change (2024-10-04); Debian's PASS_MAX_DAYS 99999 never expires it."""
SHADOW_GID = 42
OPS_SUDOERS = "# pvesim: the ops account may run anything as anyone without a password.\nops\tALL=(ALL:ALL) NOPASSWD: ALL\n"
ALPINE_SUDOERS = (
    "## sudoers file (Alpine Linux).\n## This file MUST be edited with the 'visudo' command as root.\n\n"
    "## Defaults specification\nDefaults secure_path=\"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"\n\n"
    "## User privilege specification\nroot ALL=(ALL:ALL) ALL\n\n"
    "## Uncomment to allow members of group wheel to execute any command\n# %wheel ALL=(ALL:ALL) ALL\n\n"
    "## Read drop-in files from /etc/sudoers.d\n@includedir /etc/sudoers.d\n"
)
ALPINE_WHEEL = "# pvesim: members of wheel may use sudo with their password (what `setup-user -a` sets up).\n%wheel ALL=(ALL:ALL) ALL\n"


@dataclass(frozen=True)
class Account:
    """One passwd line and its shadow entry."""

    name: str
    uid: int
    gid: int
    gecos: str
    home: str
    shell: str
    password: str
    """The shadow hash: `*` or `!` lock the password."""


def accounts(shell: str) -> list[Account]:
    """The container's users; `shell` is the distribution's login shell (/bin/bash, Alpine's /bin/sh)."""
    return [
        Account("root", 0, 0, "root", "/root", shell, "*"),
        Account("daemon", 1, 1, "daemon", "/usr/sbin", "/usr/sbin/nologin", "*"),
        Account("bin", 2, 2, "bin", "/bin", "/usr/sbin/nologin", "*"),
        Account("sys", 3, 3, "sys", "/dev", "/usr/sbin/nologin", "*"),
        Account("nobody", 65534, 65534, "nobody", "/nonexistent", "/usr/sbin/nologin", "*"),
        Account("user", 1000, 1000, "User,,,", "/home/user", shell, USER_HASH),
        Account("ops", 1001, 1001, "Ops,,,", "/home/ops", shell, OPS_HASH),
    ]


def groups(alpine: bool) -> list[tuple[str, int, list[str]]]:
    """(name, gid, members): `user` may use sudo through `sudo` (Debian) or `wheel` (Alpine)."""
    admin = ("wheel", 10, ["root", "user"]) if alpine else ("sudo", 27, ["user"])
    return sorted([
        ("root", 0, []), ("daemon", 1, []), ("bin", 2, []), ("sys", 3, []), ("adm", 4, []), ("tty", 5, []), admin,
        ("shadow", SHADOW_GID, []), ("users", 100, []), ("nogroup", 65534, []), ("user", 1000, []), ("ops", 1001, []),
    ], key=lambda entry: entry[1])


def account_files(shell: str, alpine: bool) -> dict[str, tuple[str, int]]:
    """`etc/...` -> (text, mode) for passwd, group, shadow and gshadow."""
    users = accounts(shell)
    group_list = groups(alpine)
    return {
        "etc/passwd": ("".join(f"{a.name}:x:{a.uid}:{a.gid}:{a.gecos}:{a.home}:{a.shell}\n" for a in users), 0o644),
        "etc/group": ("".join(f"{name}:x:{gid}:{','.join(members)}\n" for name, gid, members in group_list), 0o644),
        "etc/shadow": ("".join(f"{a.name}:{a.password}:{LAST_CHANGE}:0:99999:7:::\n" for a in users), 0o640),
        "etc/gshadow": ("".join(f"{name}:*::{','.join(members)}\n" for name, _gid, members in group_list), 0o640),
    }


def layout_ops(shell: str, alpine: bool, hostname: str) -> list[list[Any]]:
    """The ctfs.layout operations for accounts, homes, PAM, sudo and name resolution."""
    ops: list[list[Any]] = [["dir", "home/ops", 0o755], ["dir", "etc/sudoers.d", 0o755]]
    for path, (text, mode) in account_files(shell, alpine).items():
        ops.append(["file", path, text, mode])
        if mode == 0o640:
            ops.append(["chown", path, 0, SHADOW_GID])
    ops += [["chown", "home/user", 1000, 1000], ["chown", "home/ops", 1001, 1001]]
    # PVE writes /etc/hosts with the container's name (sudo resolves it, or warns "unable to resolve host").
    ops.append(["file", "etc/hosts", f"127.0.0.1\tlocalhost\n127.0.1.1\t{hostname}\n\n::1\tlocalhost ip6-localhost ip6-loopback\n", 0o644])
    skel = SKEL_DIR / "debian"
    for directory in sorted({p.parent for p in skel.rglob("*") if p.is_file()}):
        ops.append(["dir", str(directory.relative_to(skel)), 0o755])
    for source in sorted(p for p in skel.rglob("*") if p.is_file()):
        relative = str(source.relative_to(skel))
        if alpine and relative.startswith("etc/sudoers"):
            continue
        ops.append(["copy", relative, str(source), 0o440 if relative.startswith("etc/sudoers") else 0o644])
    ops.append(["file", "etc/sudoers.d/ops", OPS_SUDOERS, 0o440])
    if alpine:
        ops += [["file", "etc/sudoers", ALPINE_SUDOERS, 0o440], ["file", "etc/sudoers.d/wheel", ALPINE_WHEEL, 0o440]]
    return ops
