# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""pve_lxc_exec against the simulator's real node shell and `pct exec` in isolated containers."""
from __future__ import annotations

import json


from conftest import Ansible
from shell_record import check_all


def module_args(**args: object) -> str:
    """Arguments for ad-hoc `ansible -a` as JSON, so that lists, dicts and any bytes arrive unchanged."""
    return json.dumps(args)


def test_playbook_with_every_form(ansible: Ansible) -> None:
    run = ansible.playbook("exec.yml")
    assert run.rc == 0, run.output
    assert run.task("Cmd")["result"]["stdout"] == "db"
    assert run.task("Cmd")["result"]["cmd"] == ["cat", "/etc/hostname"]
    assert run.task("Argv with quotes")["result"]["stdout"] == "it's a \"quoted\" $value; `with` | everything"
    assert run.task("Shell with a pipe")["result"]["stdout"] == "3"
    assert run.task("Chdir")["result"]["stdout"] == "/tmp"
    assert run.task("Environment")["result"]["stdout"] == "bar baz|/root"
    assert run.task("Stdin")["result"]["stdout_lines"] == ["line one", "line two"]
    failing = run.task("Failing command")["result"]
    assert failing["rc"] == 3 and failing["stderr"] == "oops" and failing["msg"] == "non-zero return code"
    assert run.task("Creates, first run")["status"] == "changed"
    second = run.task("Creates, second run")
    assert second["status"] == "ok" and second["result"]["msg"] == "Did not run command since '/root/pveops-marker*' exists"
    assert run.task("Removes, nothing to remove")["result"]["msg"] == "Did not run command since '/nonexistent' does not exist"


def test_check_mode(ansible: Ansible) -> None:
    skipped = ansible.module("pve_lxc_exec", module_args(vmid=101, cmd="touch /root/never"), "--check")
    assert skipped.rc == 0 and skipped.results[0]["status"] == "skipped"
    would = ansible.module("pve_lxc_exec", module_args(vmid=101, cmd="touch /root/never", creates="/root/never"), "--check")
    assert would.result["changed"] is True and would.result["msg"] == "Command would have run if not in check mode"
    probe = ansible.module("pve_lxc_exec", module_args(vmid=101, cmd="test -e /root/never"))
    assert probe.rc != 0 and probe.result["rc"] == 1  # check mode did not run it


def test_ad_hoc_command_and_exact_bytes(ansible: Ansible) -> None:
    run = ansible.module("pve_lxc_exec", module_args(name="alpine", argv=["printf", "%s", "héllo ✓"], strip_empty_ends=False))
    assert run.rc == 0, run.output
    assert run.result["stdout"] == "héllo ✓"
    assert run.result["vmid"] == 107 and run.result["node"] == "pve3"


def test_containers_are_isolated(ansible: Ansible) -> None:
    write = ansible.module("pve_lxc_exec", module_args(vmid=101, shell="echo secret > /root/only-in-101"))
    assert write.rc == 0, write.output
    other = ansible.module("pve_lxc_exec", module_args(vmid=100, shell="cat /root/only-in-101 || echo absent"))
    assert other.result["stdout"] == "absent"
    assert ansible.module("pve_lxc_exec", module_args(vmid=100, cmd="cat /etc/hostname")).result["stdout"] == "web"


def test_timeout_kills_and_fails_clearly(ansible: Ansible) -> None:
    run = ansible.module("pve_lxc_exec", module_args(vmid=101, cmd="sleep 60", timeout=1))
    assert run.rc != 0
    assert run.result["msg"] == "the command did not finish within 1 s (timeout) and was killed"
    assert run.result["rc"] in (124, 137)


def test_token_login_is_refused_with_the_root_message(ansible: Ansible) -> None:
    run = ansible.module("pve_lxc_exec", module_args(vmid=101, cmd="true"), auth="token")
    assert run.rc != 0
    assert "command execution needs a root@pam password login" in run.result["msg"]
    assert "login: prompt" in run.result["msg"]


def test_token_for_the_api_and_password_for_the_terminal(ansible: Ansible) -> None:
    env: dict[str, str | None] = {"PVE_USER": ansible.sim.user, "PVE_PASSWORD": ansible.sim.password}
    ansible.sim.mark()
    run = ansible.module("pve_lxc_exec", module_args(vmid=101, cmd="true"), auth="token", env=env)
    assert run.rc == 0, run.output
    by_identity = {(entry["path"].rsplit("/", 1)[-1], entry["authid"]) for entry in ansible.sim.requests()}
    assert ("resources", ansible.sim.token_id) in by_identity
    assert ("termproxy", "root@pam") in by_identity


def test_stopped_container(ansible: Ansible) -> None:
    run = ansible.module("pve_lxc_exec", module_args(vmid=102, cmd="true"))
    assert run.rc != 0
    assert run.result["msg"] == ("container 102 (cache) on pve1 is stopped; commands run only in a running container "
                                 "(start it with pveops.proxmox.pve_lxc_action)")


def test_bad_input_names_the_option(ansible: Ansible) -> None:
    run = ansible.module("pve_lxc_exec", module_args(vmid=101, cmd="echo hi; touch /tmp/x"))
    assert run.rc != 0
    assert run.result["msg"] == "cmd 'hi;' contains ;, which is not allowed here"
    bad_env = ansible.module("pve_lxc_exec", module_args(vmid=101, cmd="true", environment={"A-B": 1}))
    assert "environment variable name 'A-B' is not valid" in bad_env.result["msg"]


INJECTIONS = ["; touch /tmp/PWNED", "&& touch /tmp/PWNED", "| touch /tmp/PWNED", "$(touch /tmp/PWNED)", "`touch /tmp/PWNED`",
              "\ntouch /tmp/PWNED\n", "'; touch /tmp/PWNED; '", '"; touch /tmp/PWNED; "', "-rf /tmp/PWNED"]


def test_injection_never_reaches_the_node_shell(ansible: Ansible) -> None:
    ansible.sim.control("DELETE", "shell-input")
    for attempt in INJECTIONS:
        run = ansible.module("pve_lxc_exec", module_args(vmid=101, argv=[
            "printf", "%s", attempt], chdir="/tmp", environment={"X": attempt}, stdin=attempt))
        assert run.rc == 0, run.output
        assert run.result["stdout"] == attempt.rstrip("\n")  # strip_empty_ends
    sessions = ansible.sim.control("GET", "shell-input")
    assert len(sessions) >= len(INJECTIONS)
    check_all(sessions)
