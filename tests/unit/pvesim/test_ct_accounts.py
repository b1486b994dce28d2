# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Accounts and `become` inside containers: su, runuser and sudo with Debian's PAM files (ctusers.py)."""
from __future__ import annotations

import shutil
import stat
import subprocess

import pytest

from pvesim.ctusers import OPS_PASSWORD, USER_PASSWORD, account_files
from pvesim.harness import SimProcess
from term_client import NEEDS_BWRAP

NEEDS_SUDO = pytest.mark.skipif(shutil.which("sudo") is None, reason="sudo is not installed on the machine (tests/tools/system-deps.sh)")


def inside(sim: SimProcess, *argv: str, vmid: str = "101", node: str = "pve1", user: str | None = None,
           stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    """`lxc-attach -n <vmid> --clear-env [-u/-g] -- argv` (as the connection plugin will run it)."""
    ids = {"user": ["-u", "1000", "-g", "1000"], "ops": ["-u", "1001", "-g", "1001"]}.get(user or "", [])
    return subprocess.run([str(sim.node_tool(node, "lxc-attach")), "-n", vmid, "--clear-env", *ids, "--", *argv],
                          input=stdin, capture_output=True, timeout=60, check=False)


def test_account_files_agree() -> None:
    files = account_files("/bin/bash", alpine=False)
    passwd = {line.split(":")[0]: line.split(":") for line in files["etc/passwd"][0].splitlines()}
    shadow = {line.split(":")[0] for line in files["etc/shadow"][0].splitlines()}
    groups = {line.split(":")[0]: line.split(":") for line in files["etc/group"][0].splitlines()}
    gshadow = {line.split(":")[0] for line in files["etc/gshadow"][0].splitlines()}
    assert set(passwd) == shadow and set(groups) == gshadow
    assert passwd["user"][2:7] == ["1000", "1000", "User,,,", "/home/user", "/bin/bash"] and passwd["ops"][2:4] == ["1001", "1001"]
    assert groups["sudo"][3] == "user" and groups["shadow"][2] == "42"
    assert {gid for *_rest, gid in [(p[0], p[3]) for p in passwd.values()]} <= {g[2] for g in groups.values()}
    assert files["etc/shadow"][1] == 0o640
    assert "wheel" in account_files("/bin/sh", alpine=True)["etc/group"][0]


@NEEDS_BWRAP
def test_files_in_the_container(sim: SimProcess) -> None:
    rootfs = sim.state_dir / "containers" / "101" / "rootfs"
    shadow = (rootfs / "etc" / "shadow").stat()
    assert (stat.S_IMODE(shadow.st_mode), shadow.st_uid, shadow.st_gid) == (0o640, 0, 42)
    assert stat.S_IMODE((rootfs / "etc" / "sudoers").stat().st_mode) == 0o440
    assert (rootfs / "home" / "user").stat().st_uid == 1000
    assert inside(sim, "getent", "passwd", "user").stdout == b"user:x:1000:1000:User,,,:/home/user:/bin/bash\n"
    assert inside(sim, "getent", "group", "sudo").stdout == b"sudo:x:27:user\n"


@NEEDS_BWRAP
def test_root_becomes_anyone_without_a_password(sim: SimProcess) -> None:
    wanted = b"uid=1000(user) gid=1000(user) groups=1000(user),27(sudo)\n"
    assert inside(sim, "su", "-", "user", "-c", "id").stdout == wanted
    assert inside(sim, "runuser", "-u", "user", "--", "id").stdout == wanted
    assert inside(sim, "su", "-", "user", "-c", "echo $HOME:$PWD").stdout == b"/home/user:/home/user\n"


@NEEDS_BWRAP
@NEEDS_SUDO
def test_sudo(sim: SimProcess) -> None:
    assert inside(sim, "sudo", "-n", "-u", "user", "id", "-un").stdout == b"user\n"
    assert inside(sim, "sudo", "-n", "id", "-u", user="ops").stdout == b"0\n"  # NOPASSWD through /etc/sudoers.d/ops
    refused = inside(sim, "su", "-", "user", "-c", "sudo -n id")
    assert (refused.returncode, refused.stderr) == (1, b"sudo: a password is required\n")
    with_password = inside(sim, "su", "-", "user", "-c", "sudo -S -p '' id -u", stdin=f"{USER_PASSWORD}\n".encode())
    assert (with_password.returncode, with_password.stdout) == (0, b"0\n")
    wrong = inside(sim, "su", "-", "user", "-c", "sudo -S -p '' id -u", stdin=f"{OPS_PASSWORD}\n".encode())
    assert wrong.returncode == 1 and b"incorrect password attempt" in wrong.stderr
    # lxc-attach -u drops supplementary groups (attach.c 1255-1262), but sudo reads membership from /etc/group.
    assert inside(sim, "id", "-G", user="user").stdout == b"1000\n"
    dropped = inside(sim, "sudo", "-S", "-p", "", "id", "-u", user="user", stdin=f"{USER_PASSWORD}\n".encode())
    assert (dropped.returncode, dropped.stdout) == (0, b"0\n")


@NEEDS_BWRAP
@NEEDS_SUDO
def test_alpine(sim: SimProcess) -> None:
    assert inside(sim, "su", "-", "user", "-c", "id", vmid="107", node="pve3").stdout == b"uid=1000(user) gid=1000(user) groups=1000(user),10(wheel)\n"
    assert inside(sim, "sudo", "-n", "id", "-u", vmid="107", node="pve3", user="ops").stdout == b"0\n"
    refused = inside(sim, "su", "-", "user", "-c", "sudo -n id", vmid="107", node="pve3")
    assert refused.stderr == b"sudo: a password is required\n"
