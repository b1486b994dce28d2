# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The containers' package managers (tools/pkgtool.py) and service managers (tools/svctool.py), run with pct exec.

A simulator of its own with the `bootstrap` scenario (one container per distribution), so that
installing packages changes nothing the shared default-scenario simulator's tests look at.
"""
from __future__ import annotations

import os
import subprocess
from typing import Iterator

import pytest

from pvesim.ctfs import layout, machine_alternatives
from pvesim.distros import distro_of
from pvesim.harness import SimProcess
from pvesim.model import Guest
from pvesim.packages import CATALOGUES, initial_record
from term_client import NEEDS_BWRAP

NODES = {301: "pve1", 302: "pve1", 303: "pve2", 304: "pve2", 305: "pve1", 306: "pve2", 308: "pve1", 310: "pve1", 312: "pve1", 313: "pve2"}


@pytest.fixture(scope="module")
def sim() -> Iterator[SimProcess]:
    with SimProcess("--scenario", "bootstrap", "--task-seconds", "0.2") as process:
        yield process


def run(sim: SimProcess, vmid: int, script: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """A shell script in the container, through pct exec (the environment the node shell gives it)."""
    return subprocess.run([str(sim.node_tool(NODES[vmid], "pct")), "exec", str(vmid), "--", "/bin/sh", "-c", script],
                          input=stdin, capture_output=True, text=True, timeout=60, check=False)


def record(sim: SimProcess, vmid: int) -> dict[str, str]:
    """The package database (`name version` lines)."""
    text = (sim.state_dir / "containers" / str(vmid) / "rootfs" / "var" / "lib" / "pvesim" / "packages").read_text()
    return dict(line.split(" ", 1) for line in text.splitlines())


def guest(ostype: str, systemd: bool = True) -> Guest:
    return Guest(vmid=500, node="pve1", kind="lxc", config={"ostype": ostype, "hostname": "t"}, status="running", systemd=systemd)


# --------------------------------------------------------------------------------------------- layout

@pytest.mark.parametrize(("ostype", "os_id", "commands", "services"), [
    ("debian", "debian", ["apt", "apt-get", "dpkg", "dpkg-query"], ["systemctl"]),
    ("ubuntu", "ubuntu", ["apt", "apt-get", "dpkg", "dpkg-query"], ["systemctl"]),
    ("alpine", "alpine", ["apk"], ["rc-service", "rc-update"]),
    ("fedora", "fedora", ["dnf", "rpm", "yum"], ["systemctl"]),
    ("centos", "centos", ["dnf", "rpm", "yum"], ["systemctl"]),
    ("archlinux", "arch", ["pacman"], ["systemctl"]),
    ("opensuse", "debian", ["apt", "apt-get", "dpkg", "dpkg-query"], ["systemctl"]),  # other ostypes look like Debian, as before
])
def test_layout_gives_each_distribution_its_tools(ostype: str, os_id: str, commands: list[str], services: list[str]) -> None:
    ops = layout(guest(ostype), "/tools")
    links = {op[1].rsplit("/", 1)[1]: op[2] for op in ops if op[0] == "link" and op[1].startswith("usr/local/bin/")}
    assert sorted(name for name, target in links.items() if target == "../lib/pvesim/pkgtool") == commands
    assert sorted(name for name, target in links.items() if target == "../lib/pvesim/svctool") == services
    files = {op[1]: op[2] for op in ops if op[0] == "file"}
    assert f"\nID={os_id}\n" in "\n" + files["etc/os-release"].replace('"', "")
    assert files["var/lib/pvesim/packages"] == initial_record(os_id)
    assert ["copy", "usr/local/lib/pvesim/pkgtool", "/tools/pkgtool", 0o755] in ops
    dirs = [op[1] for op in ops if op[0] == "dir"]
    assert ("run/openrc/started" in dirs) == (ostype == "alpine")
    assert ("etc/systemd/system" in dirs) == (ostype != "alpine")
    assert distro_of(ostype).os_id == os_id


def test_fresh_databases() -> None:
    assert "python3" not in CATALOGUES["debian"]["base"] and "python3" not in CATALOGUES["fedora"]["base"]
    assert "python3" in CATALOGUES["centos"]["base"]  # CentOS Stream's dnf is written in Python
    assert initial_record("alpine").startswith("alpine-baselayout 3.6.5-r0\n")


def test_machine_alternatives_lead_back_into_usr() -> None:
    found = dict(machine_alternatives())
    assert all(target.startswith("/usr/") for target in found.values())
    if os.path.realpath("/usr/bin/awk").startswith("/usr/") and os.path.islink("/etc/alternatives/awk"):
        assert "awk" in found


# ------------------------------------------------------------------------------------------ apt, dpkg

@NEEDS_BWRAP
def test_apt_needs_lists_and_confirmation_then_records(sim: SimProcess) -> None:
    missing = run(sim, 301, "dpkg-query --show --showformat='${db:Status-Status}' python3")
    assert (missing.returncode, missing.stdout, missing.stderr) == (1, "", "dpkg-query: no packages found matching python3\n")
    no_lists = run(sim, 301, "apt-get install -y python3")
    assert no_lists.returncode == 100 and no_lists.stderr == "E: Unable to locate package python3\n"
    assert run(sim, 301, "apt-get update -qq").returncode == 0
    assert run(sim, 301, "test -f /var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease").returncode == 0
    unconfirmed = run(sim, 301, "apt-get install python3")
    assert unconfirmed.returncode == 1 and unconfirmed.stdout.endswith("Do you want to continue? [Y/n] \nAbort.\n")
    assert "python3" not in record(sim, 301)
    unknown = run(sim, 301, "apt-get install -y no-such-package")
    assert (unknown.returncode, unknown.stderr) == (100, "E: Unable to locate package no-such-package\n")

    done = run(sim, 301, "DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 openssh-server")
    assert done.returncode == 0, done.stderr
    assert "Setting up python3 (3.11.2-1+b1) ..." in done.stdout
    assert "debconf" not in done.stderr  # noninteractive: no frontend warning
    installed = record(sim, 301)
    assert installed["python3"] == "3.11.2-1+b1" and installed["openssh-server"] == "1:9.2p1-2+deb12u3"
    assert {"python3-minimal", "python3.11", "openssh-client", "openssh-sftp-server"} <= set(installed)

    query = run(sim, 301, "dpkg-query --show --showformat='${db:Status-Status} ${Version}\\n' python3; dpkg -s python3 | head -2")
    assert query.stdout == "installed 3.11.2-1+b1\nPackage: python3\nStatus: install ok installed\n"
    # dpkg's short options take the rest of the argument: `-f=X` is the format `=X` (a real pitfall).
    assert run(sim, 301, "dpkg-query -W -f='${db:Status-Status}' python3").stdout == "=installed"
    again = run(sim, 301, "apt-get install -y python3")
    assert "python3 is already the newest version (3.11.2-1+b1).\n0 upgraded, 0 newly installed" in again.stdout
    # Debian's openssh-server enables and starts ssh when systemd runs.
    service = run(sim, 301, "test -f /etc/ssh/sshd_config && test -x /usr/local/sbin/sshd && systemctl is-enabled ssh && systemctl is-active ssh")
    assert service.stdout == "enabled\nactive\n", service.stderr


@NEEDS_BWRAP
def test_concurrent_installs_wait_for_each_other(sim: SimProcess) -> None:
    assert run(sim, 310, "apt-get update -qq").returncode == 0
    procs = [subprocess.Popen([str(sim.node_tool("pve1", "pct")), "exec", "310", "--", "apt-get", "install", "-y", "-qq", name],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for name in ("sudo", "curl", "python3")]
    assert [proc.wait(timeout=60) for proc in procs] == [0, 0, 0]
    assert {"sudo", "curl", "python3"} <= set(record(sim, 310))


# ------------------------------------------------------------------------------------------ apk, OpenRC

@NEEDS_BWRAP
def test_apk_and_openrc(sim: SimProcess) -> None:
    assert run(sim, 303, "apk info -e python3").returncode == 1
    unknown = run(sim, 303, "apk add nope")
    assert unknown.returncode == 1 and unknown.stderr.startswith("ERROR: unable to select packages:\n  nope (no such package):")
    done = run(sim, 303, "apk add --no-progress python3 openssh-server")
    assert done.returncode == 0 and "(3/6) Installing python3 (3.12.7-r0)" in done.stdout
    assert run(sim, 303, "apk info -e python3 openssh-server").stdout == "python3\nopenssh-server\n"
    assert run(sim, 303, "rc-service sshd status").returncode == 3  # installed, neither enabled nor started
    enable = run(sim, 303, "rc-update add sshd default && rc-service sshd start && rc-update show default && rc-service sshd status")
    assert enable.stdout == (" * service sshd added to runlevel default\n * Starting sshd ... [ ok ]\n"
                             "                 sshd | default\n * status: started\n"), enable.stderr
    assert run(sim, 303, "readlink /etc/runlevels/default/sshd").stdout == "/etc/init.d/sshd\n"
    assert run(sim, 303, "rc-update add nope").stderr == " * rc-update: service `nope' does not exist\n"


# ------------------------------------------------------------------------------------------ dnf, yum, rpm

@NEEDS_BWRAP
def test_dnf_yum_rpm(sim: SimProcess) -> None:
    missing = run(sim, 304, "rpm -q python3")
    assert (missing.returncode, missing.stdout) == (1, "package python3 is not installed\n")
    assert run(sim, 304, "dnf install python3").stdout.endswith("Is this ok [y/N]: \nOperation aborted.\n")
    nope = run(sim, 304, "dnf install -y nope")
    assert nope.returncode == 1 and "No match for argument: nope" in nope.stdout
    assert run(sim, 304, "yum install -y python3 openssh-server").returncode == 0
    assert run(sim, 304, "rpm -q python3 openssh-server").stdout == "python3-3.13.0-1.fc41.x86_64\nopenssh-server-9.8p1-3.fc41.1.x86_64\n"
    assert run(sim, 304, "rpm -q --quiet python3").returncode == 0
    assert "Nothing to do." in run(sim, 304, "dnf install -y python3").stdout
    # Fedora's preset enables sshd on install, but does not start it.
    assert run(sim, 304, "systemctl is-enabled sshd; systemctl is-active sshd").stdout == "enabled\ninactive\n"
    assert run(sim, 306, "rpm -q python3").stdout == "python3-3.9.19-8.el9.x86_64\n"  # CentOS Stream 9 comes with it


# ---------------------------------------------------------------------------------------------- pacman

@NEEDS_BWRAP
def test_pacman(sim: SimProcess) -> None:
    assert run(sim, 305, "pacman -Q python").stderr == "error: package 'python' was not found\n"
    unsynced = run(sim, 305, "pacman -S --noconfirm python")
    assert (unsynced.returncode, unsynced.stderr) == (1, "error: target not found: python\n")
    done = run(sim, 305, "pacman -Sy --noconfirm python")
    assert done.returncode == 0 and done.stdout.startswith(":: Synchronizing package databases...")
    assert record(sim, 305)["python"] == "3.12.7-1" and "mpdecimal" in record(sim, 305)
    needed = run(sim, 305, "pacman -S --needed --noconfirm python")
    assert needed.stdout == " there is nothing to do\n" and "is up to date -- skipping" in needed.stderr
    assert run(sim, 305, "pacman -Syu --noconfirm --needed openssh && pacman -Q python openssh").stdout.endswith("python 3.12.7-1\nopenssh 9.9p1-1\n")
    assert run(sim, 305, "systemctl is-enabled sshd").stdout == "disabled\n"  # Arch enables nothing


# --------------------------------------------------------------------------------------------- systemctl

@NEEDS_BWRAP
def test_systemctl(sim: SimProcess) -> None:
    unknown = run(sim, 312, "systemctl is-enabled nope; echo $?")
    assert (unknown.stdout, unknown.stderr) == ("1\n", "Failed to get unit file state for nope.service: No such file or directory\n")
    assert run(sim, 312, "systemctl enable nope").stderr == "Failed to enable unit: Unit file nope.service does not exist.\n"
    assert run(sim, 312, "apt-get update -qq && apt-get install -y -qq openssh-server").returncode == 0
    disable = run(sim, 312, "systemctl disable --now ssh && systemctl is-enabled ssh; systemctl is-active ssh; ls /etc/systemd/system")
    assert disable.stdout == "disabled\ninactive\nmulti-user.target.wants\n"
    enable = run(sim, 312, "systemctl enable --now ssh && systemctl is-enabled ssh sshd && systemctl is-active ssh")
    assert enable.stdout == "enabled\nalias\nactive\n"
    assert "Created symlink /etc/systemd/system/multi-user.target.wants/ssh.service" in enable.stderr
    no_systemd = run(sim, 308, "systemctl is-enabled ssh")
    assert no_systemd.returncode == 1 and no_systemd.stderr.startswith("System has not been booted with systemd as init system (PID 1).")
