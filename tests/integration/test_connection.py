# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The pve_lxc connection plugin: whole playbooks in twelve containers over the API, -f 10, and every failure case.

The inventory (``connection_type: pve_lxc``) gives each container host its connection; the
password comes from PVE_PASSWORD as documented. Waits are on events the simulator or the
broker shows (a pid file that goes, a marker file a command writes), never on timers.
"""
from __future__ import annotations

import hashlib
import json
import os
import pathlib
import signal
import subprocess
import threading
import time
import typing as t

import pytest

from ansible_commands import BIN, PLAYBOOKS, Run
from conftest import Ansible
from polling import wait_for
from pvesim.harness import SimProcess

FLEET = list(("web1", "web2", "web3", "db1", "db2", "cache1", "queue1", "app1", "app2", "app3", "edge", "jammy"))
IDLE = 5


@pytest.fixture(scope="module")
def sim_args() -> list[str]:
    return ["--task-seconds", "0.3", "--scenario", "fleet"]


@pytest.fixture(scope="module")
def inventory(ansible: Ansible) -> pathlib.Path:
    """The fleet's running containers, reached with connection_type pve_lxc; spool files under the simulated nodes' own tmp."""
    path = ansible.workdir / "fleet.pve.yml"
    spool = str(ansible.sim.state_dir / "nodes")
    path.write_text("\n".join([
        "plugin: pveops.proxmox.pve",
        "connection_type: pve_lxc",
        "want_nodes: false",
        "filters:",
        "  - \"'fleet' in pve_tags\"",
        "compose:",
        "  ansible_python_interpreter: \"'/usr/bin/python3'\"",
        f"  pve_spool_dir: \"'{spool}/' ~ pve_node ~ '/tmp'\"",
        "",
    ]))
    return path


def broker_env(ansible: Ansible, **extra: str) -> dict[str, str | None]:
    env: dict[str, str | None] = {"PVE_BROKER_IDLE_TIMEOUT": str(IDLE), "PVE_BROKER_DIR": str(ansible.workdir / "broker"),
                                  "ANSIBLE_PYTHON_INTERPRETER": "/usr/bin/python3"}
    env.update(extra)
    return env


def broker_pids(ansible: Ansible) -> list[int]:
    directory = ansible.workdir / "broker"
    return [int(path.read_text()) for path in directory.glob("*.pid")] if directory.exists() else []


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def active_terminals(sim: SimProcess) -> list[str]:
    """vncshell tasks still running on any node (the API's own view)."""
    import ssl  # noqa: PLC0415  (only this helper needs it)
    import urllib.request  # noqa: PLC0415

    context = ssl.create_default_context(cafile=sim.ca_path)
    request = urllib.request.Request(sim.api + "/access/ticket", data=f"username=root@pam&password={sim.password}".encode(), method="POST")
    with urllib.request.urlopen(request, context=context, timeout=30) as answer:
        ticket = json.loads(answer.read())["data"]["ticket"]
    found = []
    for node in ("pve1", "pve2", "pve3"):
        request = urllib.request.Request(sim.api + f"/nodes/{node}/tasks?source=active&limit=500")
        request.add_header("Cookie", "PVEAuthCookie=" + urllib.request.quote(ticket, safe=""))
        with urllib.request.urlopen(request, context=context, timeout=30) as answer:
            found += [task["upid"] for task in json.loads(answer.read())["data"] if ":vncshell:" in task["upid"]]
    return found


def test_a_whole_playbook_over_twelve_containers(ansible: Ansible, inventory: pathlib.Path) -> None:
    big = ansible.workdir / "big.bin"
    big.write_bytes(os.urandom(5 * 1024 * 1024))
    fetched = ansible.workdir / "fetched"
    run = ansible.run(["ansible-playbook", "-i", str(inventory), "-f", "10", str(PLAYBOOKS / "connection.yml")],
                      env=broker_env(ansible, PVEOPS_BIG_FILE=str(big), PVEOPS_FETCH_DIR=str(fetched)))
    failures = [line for line in run.output.splitlines() if "fatal:" in line or "[ERROR]" in line]
    assert run.rc == 0, "\n".join(failures) + "\n" + run.output[-3000:]
    digest = hashlib.sha256(big.read_bytes()).hexdigest()
    for host in FLEET:
        facts = run.task("Gathering Facts", host)["result"]["ansible_facts"]
        assert facts["ansible_hostname"] == host
        assert run.task("Command", host)["result"]["stdout"] == "0"
        shell = run.task("Shell with both streams and a return code", host)["result"]
        assert (shell["rc"], shell["stdout"], shell["stderr"]) == (3, "to stdout", "to stderr")
        assert run.task("Stat the binary file", host)["result"]["stat"]["checksum"] == digest
        assert hashlib.sha256((fetched / host / "tmp" / "pveops-big.bin").read_bytes()).hexdigest() == digest
        assert run.task("Read back what the modules wrote", host)["result"]["stdout_lines"][:2] == [f"managed on {host}", "second line"]
        assert run.task("Wait for the async job", host)["result"]["stdout"] == "finished"
        assert run.task("Become another user", host)["result"]["stdout"] == "user"
        assert run.task("Check mode changes nothing", host)["result"]["changed"] is True
        assert run.task("Nothing written in check mode", host)["result"]["stat"]["exists"] is False
        assert run.task("Command after the reset", host)["result"]["stdout"] == host
    owner = subprocess.run([str(ansible.sim.node_tool("pve1", "lxc-attach")), "-n", "121", "--", "stat", "-c", "%U %a",
                            "/tmp/pveops-managed.txt"], capture_output=True, text=True, timeout=60, check=True)
    assert owner.stdout.strip() == "user 640"
    # Nothing is left once the broker went idle: no broker, no node terminal, no spool directory.
    pids = broker_pids(ansible)
    assert pids, "no broker ran"
    assert wait_for(lambda: not broker_pids(ansible) and not any(alive(pid) for pid in pids), IDLE + 60)
    assert wait_for(lambda: not active_terminals(ansible.sim), 30), active_terminals(ansible.sim)
    assert not list(ansible.sim.state_dir.glob("nodes/*/tmp/pveops.*"))


def test_users_and_become(ansible: Ansible, inventory: pathlib.Path) -> None:
    run = ansible.run(["ansible-playbook", "-i", str(inventory), "-f", "10", "-l", "web1,db1,edge", str(PLAYBOOKS / "connection_users.yml")],
                      env=broker_env(ansible))
    assert run.rc == 0, run.output[-4000:]
    for host in ("web1", "db1", "edge"):
        assert run.task("As ops", host)["result"]["stdout"] == "ops"
        assert run.task("Become root from ops (sudo without a password)", host)["result"]["stdout"] == "root"
        assert run.task("Become root from user (sudo reads the password from stdin)", host)["result"]["stdout"] == "root"
        refused = run.task("Become with su from user (su needs a terminal for its password)", host)["result"]
        assert "asks for its password on a terminal" in refused["msg"] and "become_method sudo" in refused["msg"]
        assert run.task("Su to user", host)["result"]["stdout"] == "user"
        assert run.task("Runuser to user", host)["result"]["stdout"] == "user"
    assert "user-password" not in run.output


def adhoc(ansible: Ansible, host_vars: dict[str, t.Any], command: str = "id -un", auth: str = "password",
          env: dict[str, str | None] | None = None, *args: str) -> Run:
    inventory = ansible.workdir / f"adhoc-{ansible.counter}.json"
    target = dict({"ansible_connection": "pveops.proxmox.pve_lxc", "ansible_python_interpreter": "/usr/bin/python3"}, **host_vars)
    inventory.write_text(json.dumps({"all": {"hosts": {"target": target}}}))
    return ansible.run(["ansible", "target", "-i", str(inventory), "-m", "ansible.builtin.command", "-a", command, *args],
                       auth=auth, env=dict(broker_env(ansible), **(env or {})))


@pytest.mark.parametrize(("host_vars", "auth", "message"), [
    ({"pve_vmid": 133}, "password", "container 133 on node pve1 is not running"),
    ({"pve_vmid": 4242}, "password", "container 4242 not found"),
    ({"pve_vmid": 122, "pve_node": "pve1"}, "password", "container 122 is not on node pve1"),
    ({"pve_vmid": 134}, "password", "container 134 has no /bin/sh"),
    ({"pve_vmid": 121}, "token", "command execution needs a root@pam password login"),
], ids=["stopped", "unknown", "other-node", "no-shell", "token"])
def test_failures_say_what_to_do(ansible: Ansible, host_vars: dict[str, t.Any], auth: str, message: str) -> None:
    run = adhoc(ansible, host_vars, auth=auth)
    assert run.rc != 0
    assert message in run.output, run.output[-2000:]
    assert "UNREACHABLE" in run.output and "Traceback" not in run.output


def test_a_dropped_terminal_says_what_is_known(ansible: Ansible) -> None:
    marker = ansible.sim.state_dir / "containers" / "121" / "rootfs" / "tmp" / "pveops-drop"
    marker.unlink(missing_ok=True)
    dropped: list[float] = []

    def drop_once_running() -> None:
        if wait_for(marker.exists):
            dropped.append(time.monotonic())
            ansible.sim.control("POST", "terminals/drop", {})

    dropper = threading.Thread(target=drop_once_running)
    dropper.start()
    try:
        run = adhoc(ansible, {"pve_vmid": 121, "pve_node": "pve1"}, "sh -c 'touch /tmp/pveops-drop; sleep 30'",
                    env={"PVE_BROKER_IDLE_TIMEOUT": "0"})
    finally:
        dropper.join()
    assert dropped and run.rc != 0
    assert "exit status unknown" in run.output, run.output[-2000:]
    assert time.monotonic() - dropped[0] < 20


def test_a_pooled_shell_closed_by_the_other_side_is_not_handed_out(ansible: Ansible) -> None:
    """The broker keeps node shells between tasks; pveproxy restarting (here: every terminal dropped) closes them unseen."""
    host = {"pve_vmid": 121, "pve_node": "pve1"}
    first = adhoc(ansible, host, "true")
    assert first.rc == 0, first.output[-2000:]
    ansible.sim.control("POST", "terminals/drop", {})
    second = adhoc(ansible, host, "echo again")
    assert second.rc == 0 and "again" in second.output, second.output[-2000:]


def test_the_play_survives_a_killed_broker(ansible: Ansible, inventory: pathlib.Path) -> None:
    playbook = ansible.workdir / "kill-broker.yml"
    pid_glob = str(ansible.workdir / "broker" / "*.pid")
    playbook.write_text("\n".join([
        "- name: Before", "  hosts: pve_tag_fleet", "  gather_facts: false", "  tasks:",
        "    - name: First", "      ansible.builtin.command: hostname", "      changed_when: false",
        "- name: Kill the broker", "  hosts: localhost", "  gather_facts: false", "  vars:", "    ansible_connection: local", "  tasks:",
        f"    - name: Kill it\n      ansible.builtin.shell: kill -9 $(cat {pid_glob})\n      changed_when: true",
        "- name: After", "  hosts: pve_tag_fleet", "  gather_facts: false", "  tasks:",
        "    - name: Second", "      ansible.builtin.command: hostname", "      changed_when: false", "",
    ]))
    run = ansible.run(["ansible-playbook", "-i", str(inventory), "-i", "localhost,", "-f", "10", "-l", "web1,web2,db1,localhost",
                       str(playbook)], env=broker_env(ansible))
    assert run.rc == 0, run.output[-4000:]
    for host in ("web1", "web2", "db1"):
        assert run.task("Second", host)["result"]["stdout"] == host


def test_verbose_output_names_the_node_terminal(ansible: Ansible) -> None:
    run = adhoc(ansible, {"pve_vmid": 121, "pve_node": "pve1"}, "hostname", "password", {"PVE_BROKER_IDLE_TIMEOUT": "0"}, "-vvv")
    assert run.rc == 0, run.output[-2000:]
    upids = sorted({word.strip("():,") for word in run.output.split() if word.strip("():,").startswith("UPID:pve1:")})
    assert upids and all(":vncshell::root@pam" in upid for upid in upids)


def test_interrupted_run_leaves_nothing_running(ansible: Ansible, inventory: pathlib.Path) -> None:
    marker = ansible.sim.state_dir / "containers" / "121" / "rootfs" / "tmp" / "pveops-interrupt"
    marker.unlink(missing_ok=True)
    env = dict(ansible.env("password"))
    env.update({key: value for key, value in broker_env(ansible).items() if value is not None})
    # A duration no other run on this machine uses, so that pgrep finds only this test's command.
    duration = str(300 + (os.getpid() % 100000) * 7 + 1)
    command = [str(BIN / "ansible"), "web1", "-i", str(inventory), "-m", "ansible.builtin.shell", "-a",
               f"touch /tmp/pveops-interrupt; sleep {duration}"]
    with subprocess.Popen(command, env=env, cwd=ansible.workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True) as process:
        assert wait_for(marker.exists), "the command never started"
        os.killpg(process.pid, signal.SIGINT)  # Ctrl-C
        process.communicate(timeout=60)
    sleeping = ["pgrep", "-f", f"^sleep {duration}$"]
    assert wait_for(lambda: subprocess.run(sleeping, capture_output=True, check=False).returncode != 0, 30), "the command still runs"


def test_a_secret_no_header_can_carry_is_refused_without_its_value(ansible: Ansible) -> None:
    """Issue 12 item 1 for the connection plugin too: the option is named, the value never shown, nothing is sent."""
    secret = ansible.sim.password + "\n"
    ansible.sim.mark()
    run = adhoc(ansible, {"pve_vmid": 121, "pve_node": "pve1"}, "true", "password", {"PVE_PASSWORD": secret}, "-vvvv")
    assert run.rc != 0
    assert "api_password" in run.output and ansible.sim.password not in run.output
    assert not ansible.sim.requests()
