# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The lxc_bootstrap role with ansible-playbook against the simulator's `bootstrap` scenario.

What the role did is read back from inside the containers with the node's `pct exec`: the package
database the simulated package managers keep (/var/lib/pvesim/packages), the key files, the
service managers' state. Containers are not shared between tests, so each test can run alone.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import typing as t

import pytest

from ansible_commands import PLAYBOOKS, Run
from conftest import Ansible
from pvesim.harness import SimProcess

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed (apt-get install bubblewrap)"),
    # pct exec runs commands as the caller; the role chowns the key files to the container's users.
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root: the role sets file owners inside the containers"),
]

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPveopsBootstrapTestKey0000000000000000000001 ops@example"
OTHER_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPveopsBootstrapTestKey0000000000000000000002 dev@example"
NO_PVE_ENV: dict[str, str | None] = {"PVE_URL": None, "PVE_USER": None, "PVE_PASSWORD": None, "PVE_CA_PATH": None}


@pytest.fixture(scope="module")
def sim_args() -> list[str]:
    return ["--scenario", "bootstrap", "--task-seconds", "0.3"]


# --------------------------------------------------------------------------------------------- helpers

def guest(sim: SimProcess, vmid: int) -> dict[str, t.Any]:
    state = sim.control("GET", "state")
    return dict(next(entry for entry in state["guests"] if entry["vmid"] == vmid))


def node_of(sim: SimProcess, vmid: int) -> str:
    return str(guest(sim, vmid)["node"])


def pct(sim: SimProcess, vmid: int, *argv: str) -> subprocess.CompletedProcess[str]:
    """A command in the container, through the node's pct (as the node shell runs it)."""
    return subprocess.run([str(sim.node_tool(node_of(sim, vmid), "pct")), "exec", str(vmid), "--", *argv],
                          capture_output=True, text=True, timeout=60, check=False)


def sh(sim: SimProcess, vmid: int, script: str) -> str:
    done = pct(sim, vmid, "/bin/sh", "-c", script)
    assert done.returncode == 0, done.stderr
    return done.stdout


def packages(sim: SimProcess, vmid: int) -> dict[str, str]:
    """The container's package database, as its package manager records it."""
    return dict(line.split(" ", 1) for line in sh(sim, vmid, "cat /var/lib/pvesim/packages").splitlines())


def recap(run: Run) -> dict[str, dict[str, int]]:
    """PLAY RECAP counters per host."""
    found = {}
    for host, counters in re.findall(r"^(\S+)\s+:\s+(ok=.*)$", run.stdout, re.MULTILINE):
        found[host] = {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", counters)}
    assert found, run.output
    return found


def changed(run: Run, host: str = "localhost") -> list[str]:
    """Names of the tasks that reported a change, in order."""
    return [entry["task"] for entry in run.results if entry["host"] == host and entry["status"] == "changed"]


def bootstrap(ansible: Ansible, *args: str, env: dict[str, str | None] | None = None, **variables: t.Any) -> Run:
    return ansible.playbook("role_localhost.yml", *args, extra_vars=variables, env=env)


def fact(run: Run, name: str, host: str = "localhost") -> t.Any:
    return run.task("Expose the address", host)["result"]["ansible_facts"][name]


# ----------------------------------------------------------------------------------------------- tests

def test_first_run_installs_and_authorizes_then_nothing_changes(ansible: Ansible) -> None:
    sim = ansible.sim
    assert "python3" not in packages(sim, 301)
    first = bootstrap(ansible, lxc_bootstrap_vmid=301, lxc_bootstrap_ssh_server=True, lxc_bootstrap_authorized_key=KEY)
    assert first.rc == 0, first.output
    # Debian's openssh-server enables and starts ssh itself, so there is no enable step.
    assert changed(first) == ["Install the missing packages", "Authorize the SSH key for root"]
    assert first.task("Install the missing packages")["result"]["cmd"][-2:] == ["python3", "openssh-server"]
    assert first.task("Show the address")["result"]["lxc_bootstrap_address"] == "192.168.20.31"
    installed = packages(sim, 301)
    assert installed["python3"] == "3.11.2-1+b1" and installed["openssh-server"] == "1:9.2p1-2+deb12u3"
    assert "python3-minimal" in installed and "openssh-client" in installed  # dependencies came along
    assert sh(sim, 301, "cat /root/.ssh/authorized_keys") == KEY + "\n"
    assert sh(sim, 301, "stat -c '%a %u:%g' /root/.ssh /root/.ssh/authorized_keys") == "700 0:0\n600 0:0\n"
    assert sh(sim, 301, "test -f /etc/ssh/sshd_config && test -x /usr/local/sbin/sshd && systemctl is-enabled ssh && systemctl is-active ssh") == (
        "enabled\nactive\n")

    second = bootstrap(ansible, lxc_bootstrap_vmid=301, lxc_bootstrap_ssh_server=True, lxc_bootstrap_authorized_key=KEY)
    assert second.rc == 0, second.output
    assert recap(second)["localhost"]["changed"] == 0
    assert changed(second) == []
    assert second.task("Install the missing packages")["status"] == "skipped"
    assert second.task("Enable and start the SSH service")["status"] == "skipped"
    assert packages(sim, 301) == installed
    assert sh(sim, 301, "cat /root/.ssh/authorized_keys") == KEY + "\n"


def test_check_mode_reports_and_changes_nothing(ansible: Ansible) -> None:
    sim = ansible.sim
    before = packages(sim, 312)
    variables = {"lxc_bootstrap_vmid": 312, "lxc_bootstrap_ssh_server": True, "lxc_bootstrap_authorized_key": KEY}
    check = bootstrap(ansible, "--check", **variables)
    assert check.rc == 0, check.output
    assert changed(check) == ["Install the missing packages", "Enable and start the SSH service", "Authorize the SSH key for root"]
    install = check.task("Install the missing packages")["result"]
    assert install["msg"] == "Command would have run if not in check mode"
    assert install["cmd"][-2:] == ["python3", "openssh-server"]
    assert check.task("Enable and start the SSH service")["result"]["cmd"] == ["systemctl", "enable", "--now", "ssh"]
    assert check.task("Authorize the SSH key for root")["result"]["stdout_lines"] == [
        "would create /root/.ssh (0700, owner 0:0)",
        "would create /root/.ssh/authorized_keys (0600, owner 0:0)",
        f"would add the ssh-ed25519 key ending in ...{KEY.split()[1][-12:]} to /root/.ssh/authorized_keys",
    ]
    # Nothing happened: no package, no package lists, no key, no service.
    assert packages(sim, 312) == before
    assert sh(sim, 312, "ls -A /root; ls /var/lib/apt/lists 2>/dev/null; ls /etc/systemd/system") == ""

    real = bootstrap(ansible, **variables)
    assert real.rc == 0, real.output
    # What really changed was predicted (the enable was not needed: the Debian package did it).
    assert set(changed(real)) <= set(changed(check))
    assert "python3" in packages(sim, 312)


def test_os_families_over_the_inventory(ansible: Ansible) -> None:
    """The README's inventory example: every host delegated to the controller, one run for six containers."""
    sim = ansible.sim
    inventory = ansible.workdir / "bootstrap.pve.yml"
    inventory.write_text("---\nplugin: pveops.proxmox.pve\n")
    hosts = ["ubu", "alp", "fed", "arch", "stream", "noinit"]
    argv = ["ansible-playbook", "-i", str(inventory), "--limit", ",".join(hosts), str(PLAYBOOKS / "role_inventory.yml"),
            "-e", '{"lxc_bootstrap_ssh_server": true, "lxc_bootstrap_authorized_key": "%s"}' % KEY]
    first = ansible.run(argv)
    assert first.rc == 0, first.output[-5000:]
    steps = {"install": "Install the missing packages", "enable": "Enable and start the SSH service", "key": "Authorize the SSH key for root"}
    expected = {
        "ubu": ["install", "key"],              # Ubuntu's package enables ssh itself
        "alp": ["install", "enable", "key"],    # OpenRC: rc-update add + rc-service start
        "fed": ["install", "enable", "key"],    # Fedora's preset enables sshd, but it is not started
        "arch": ["install", "enable", "key"],
        "stream": ["install", "enable", "key"],
        "noinit": ["install", "key"],           # no service manager: nothing to enable
    }
    for host, names in expected.items():
        assert changed(first, host) == [steps[name] for name in names], host
    commands = {host: first.task("Install the missing packages", host)["result"]["cmd"] for host in hosts}
    assert commands["alp"] == ["apk", "add", "--no-progress", "python3", "openssh-server"]
    assert commands["fed"] == ["dnf", "install", "-y", "python3", "openssh-server"]
    assert commands["stream"] == ["dnf", "install", "-y", "openssh-server"]  # CentOS Stream's dnf brought python3
    assert commands["arch"] == ["pacman", "-Syu", "--noconfirm", "--needed", "python", "openssh"]
    assert commands["ubu"][-2:] == ["python3", "openssh-server"]
    assert first.task("Note that the container has no service manager", "noinit")["status"] == "ok"

    assert packages(sim, 302)["python3"] == "3.12.3-0ubuntu2"
    assert packages(sim, 303)["python3"] == "3.12.7-r0" and "openssh-server" in packages(sim, 303)
    assert packages(sim, 304)["python3"] == "3.13.0-1.fc41" and "openssh-server" in packages(sim, 304)
    assert packages(sim, 305)["python"] == "3.12.7-1" and "openssh" in packages(sim, 305)
    assert "openssh-server" in packages(sim, 306)
    assert sh(sim, 303, "rc-update show default; rc-service sshd status") == "                 sshd | default\n * status: started\n"
    for vmid in (304, 305, 306):
        assert sh(sim, vmid, "systemctl is-enabled sshd; systemctl is-active sshd") == "enabled\nactive\n", vmid
    assert sh(sim, 308, "ls /etc/systemd/system") == ""
    for vmid in (302, 303, 304, 305, 306, 308):
        assert sh(sim, vmid, "cat /root/.ssh/authorized_keys") == KEY + "\n", vmid
    assert fact(first, "lxc_bootstrap_address", "alp") == "192.168.20.33"
    assert fact(first, "lxc_bootstrap_address", "ubu") == "192.168.10.46"  # DHCP (302 mod 256)

    second = ansible.run(argv)
    assert second.rc == 0, second.output[-5000:]
    counters = recap(second)
    assert sorted(counters) == sorted(hosts)
    assert all(counter["changed"] == 0 and counter["failed"] == 0 for counter in counters.values()), counters


def test_a_stopped_container_is_started(ansible: Ansible) -> None:
    sim = ansible.sim
    check = bootstrap(ansible, "--check", lxc_bootstrap_name="sleepy")
    assert check.rc == 0, check.output
    assert changed(check) == ["Start the container"]
    assert "would be started" in check.task("Report what check mode cannot predict")["result"]["msg"]
    assert not [entry for entry in check.results if entry["task"].startswith("Probe")]
    assert guest(sim, 307)["status"] == "stopped"

    run = bootstrap(ansible, lxc_bootstrap_name="sleepy")
    assert run.rc == 0, run.output
    start = run.task("Start the container")["result"]
    assert (start["status_before"], start["status"]) == ("stopped", "running")
    assert run.task("Show the address")["result"]["lxc_bootstrap_address"] == "192.168.10.51"  # DHCP lease (307 mod 256)
    assert "python3" in packages(sim, 307)


@pytest.mark.parametrize(("variables", "message"), [
    ({}, "lxc_bootstrap: one of lxc_bootstrap_vmid and lxc_bootstrap_name is required"),
    ({"lxc_bootstrap_vmid": "three-oh-one"}, "argument 'lxc_bootstrap_vmid' is of type str and we were unable to convert to int"),
    ({"lxc_bootstrap_vmid": 301, "lxc_bootstrap_ssh_server": "perhaps"},
     "argument 'lxc_bootstrap_ssh_server' is of type str and we were unable to convert to bool"),
    ({"lxc_bootstrap_vmid": 301, "lxc_bootstrap_package_manager": "zypper"},
     "value of lxc_bootstrap_package_manager must be one of: auto, apt, apk, dnf, yum, pacman, got: zypper"),
])
def test_bad_input_fails_before_anything_runs(ansible: Ansible, variables: dict[str, t.Any], message: str) -> None:
    run = bootstrap(ansible, **variables)
    assert run.rc != 0
    failed = [entry for entry in run.results if entry["status"] == "failed"]
    assert len(failed) == 1 and message in failed[0]["result"]["msg"], failed
    if variables:
        assert failed[0]["result"]["msg"].startswith("Validation of arguments failed")
    assert not [entry for entry in run.results if entry["task"] == "Find the container"]


def test_a_name_shared_by_two_containers(ansible: Ansible) -> None:
    run = bootstrap(ansible, lxc_bootstrap_name="twin")
    assert run.rc != 0
    assert run.task("Check that exactly one container was found")["result"]["msg"] == (
        "lxc_bootstrap: 2 containers are named 'twin' (315, 316); set lxc_bootstrap_vmid or lxc_bootstrap_node")


def test_a_vmid_and_a_name_that_disagree(ansible: Ansible) -> None:
    """The role hands both to pve_lxc_info; the message used to be "container 301 not found"."""
    run = bootstrap(ansible, lxc_bootstrap_vmid=301, lxc_bootstrap_name="ubu")
    assert run.rc != 0
    assert run.task("Find the container")["result"]["msg"] == (
        "vmid 301 and name 'ubu' disagree: vmid 301 is container 301 (deb) on pve1, name 'ubu': container 302 (ubu) on pve1; "
        "give only one of them")
    assert not [entry for entry in run.results if entry["task"] == "Start the container"]


@pytest.mark.parametrize(("variables", "message"), [
    # 315 and 316 (the "twin" containers) are used by vmid nowhere else.
    ({"lxc_bootstrap_vmid": 315, "lxc_bootstrap_user": "nosuch", "lxc_bootstrap_authorized_key": KEY},
     "lxc_bootstrap: authorizing the SSH key for nosuch failed in container 315 (exit code 2): user 'nosuch' does not exist in the container"),
    ({"lxc_bootstrap_vmid": 316, "lxc_bootstrap_extra_packages": ["no-such-package"]},
     "lxc_bootstrap: installing python3, no-such-package with apt failed in container 316 (exit code 100): "
     "E: Unable to locate package no-such-package"),
])
def test_a_failing_step_is_named_without_its_script(ansible: Ansible, variables: dict[str, t.Any], message: str) -> None:
    """Failures used to say only "non-zero return code" next to the whole script (3 KB) the step ran."""
    run = bootstrap(ansible, **variables)
    assert run.rc != 0
    failed = [entry for entry in run.results if entry["status"] == "failed"]
    assert len(failed) == 1 and failed[0]["result"]["msg"] == message, failed
    assert "non-zero return code" not in run.stdout and "set -eu" not in run.stdout


def test_no_address_fails_after_the_bound(ansible: Ansible) -> None:
    bounded = bootstrap(ansible, lxc_bootstrap_vmid=309, lxc_bootstrap_address_retries=1, lxc_bootstrap_address_delay=0)
    assert bounded.rc != 0
    assert bounded.task("Wait for an address")["result"]["attempts"] == 2
    assert bounded.task("Check that the container has an address")["result"]["msg"] == (
        "lxc_bootstrap: container 309 has no address after 2 looks 0 s apart (lxc_bootstrap_address_retries, "
        "lxc_bootstrap_address_delay); set lxc_bootstrap_wait_for_address to false to go on without one")
    anyway = bootstrap(ansible, lxc_bootstrap_vmid=309, lxc_bootstrap_wait_for_address=False)
    assert anyway.rc == 0, anyway.output
    assert anyway.task("Show the address")["result"]["lxc_bootstrap_address"] == ""
    assert "python3" in packages(ansible.sim, 309)


def test_connection_from_module_defaults_and_from_the_role_variable(ansible: Ansible) -> None:
    sim = ansible.sim
    connection = {"pve_url": sim.url, "pve_password": sim.password, "pve_ca_path": sim.ca_path}
    play_defaults = ansible.playbook("role_module_defaults.yml", extra_vars={**connection, "lxc_bootstrap_vmid": 310}, env=NO_PVE_ENV)
    assert play_defaults.rc == 0, play_defaults.output
    assert changed(play_defaults) == ["Install the missing packages"]

    # lxc_bootstrap_connection goes over the play's module_defaults: here it brings the right password.
    role_variable = ansible.playbook("role_module_defaults.yml", extra_vars={
        **connection, "pve_password": "wrong", "lxc_bootstrap_vmid": 310,
        "lxc_bootstrap_connection": {"api_password": sim.password}}, env=NO_PVE_ENV)
    assert role_variable.rc == 0, role_variable.output
    assert changed(role_variable) == []
    assert sim.password not in role_variable.stdout

    nothing = bootstrap(ansible, lxc_bootstrap_vmid=310, env=NO_PVE_ENV)
    assert nothing.rc != 0
    assert "api_url" in nothing.task("Find the container")["result"]["msg"]


def test_key_for_another_user_next_to_an_existing_one(ansible: Ansible) -> None:
    sim = ansible.sim
    # The first key is there already, with another comment, a wrong mode and the wrong owner.
    existing = f"{KEY.rsplit(' ', 1)[0]} old-comment"
    sh(sim, 313, f"mkdir -m 755 /home/user/.ssh && printf '%s' '{existing}' > /home/user/.ssh/authorized_keys && chmod 644 /home/user/.ssh/authorized_keys")
    run = bootstrap(ansible, lxc_bootstrap_vmid=313, lxc_bootstrap_user="user", lxc_bootstrap_authorized_key=f"{KEY}\n{OTHER_KEY}\n")
    assert run.rc == 0, run.output
    assert run.task("Authorize the SSH key for user")["result"]["stdout_lines"] == [
        "set /home/user/.ssh to 0700, owner 1000:1000 (was 755 0:0)",
        "set /home/user/.ssh/authorized_keys to 0600, owner 1000:1000 (was 644 0:0)",
        f"add the ssh-ed25519 key ending in ...{OTHER_KEY.split()[1][-12:]} to /home/user/.ssh/authorized_keys",
    ]
    assert sh(sim, 313, "cat /home/user/.ssh/authorized_keys") == f"{existing}\n{OTHER_KEY}\n"  # a newline was added first
    assert sh(sim, 313, "stat -c '%a %u:%g' /home/user/.ssh /home/user/.ssh/authorized_keys") == "700 1000:1000\n600 1000:1000\n"


def test_yum_when_asked_for(ansible: Ansible) -> None:
    run = bootstrap(ansible, lxc_bootstrap_vmid=314, lxc_bootstrap_package_manager="yum", lxc_bootstrap_ssh_server=True)
    assert run.rc == 0, run.output
    assert run.task("Install the missing packages")["result"]["cmd"] == ["yum", "install", "-y", "openssh-server"]
    assert "openssh-server" in packages(ansible.sim, 314)
