# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""pve_lxc_action against the simulator: idempotency, check and diff mode, task tracking, failures."""
from __future__ import annotations

import json
import os
import signal
import threading
import time
import typing as t

import pytest

from conftest import Ansible
from pvesim.harness import SimProcess

TASK_SECONDS = 0.5


@pytest.fixture(scope="module")
def sim_args() -> list[str]:
    return ["--task-seconds", str(TASK_SECONDS)]


def posts(ansible: Ansible) -> list[dict[str, t.Any]]:
    """State-changing requests since the last mark (logins do not change state)."""
    return [entry for entry in ansible.sim.requests() if entry["method"] in ("POST", "PUT") and not entry["path"].endswith("/access/ticket")]


def status_of(ansible: Ansible, vmid: int) -> str:
    state = ansible.sim.control("GET", "state")
    guest = next(guest for guest in state["guests"] if guest["vmid"] == vmid)
    return str(guest["status"])


def test_start_then_idempotent(ansible: Ansible) -> None:
    ansible.sim.mark()
    run = ansible.playbook("action_start_twice.yml", extra_vars={"vmid": 102})
    assert run.rc == 0, run.output
    first, second = run.task("Start it"), run.task("Start it again")
    assert first["status"] == "changed"
    result = first["result"]
    assert (result["status_before"], result["status"], result["exitstatus"], result["node"], result["name"]) == (
        "stopped", "running", "OK", "pve1", "cache")
    assert result["upid"].startswith("UPID:pve1:") and ":vzstart:102:" in result["upid"]
    assert result["elapsed"] >= TASK_SECONDS
    assert second["status"] == "ok"
    assert second["result"]["upid"] is None
    # Exactly one state-changing request for the two tasks.
    assert [entry["path"] for entry in posts(ansible)] == ["/api2/json/nodes/pve1/lxc/102/status/start"]


def test_check_mode_and_diff_send_nothing(ansible: Ansible) -> None:
    ansible.sim.mark()
    run = ansible.module("pve_lxc_action", "vmid=101 action=shutdown", "--check", "--diff")
    assert run.rc == 0, run.output
    result = run.result
    assert result["changed"] is True
    assert result["diff"] == {"before": {"status": "running"}, "after": {"status": "stopped"}}
    assert "-    \"status\": \"running\"" in run.stdout or "running" in run.stdout
    assert posts(ansible) == []
    assert status_of(ansible, 101) == "running"


@pytest.mark.parametrize(("vmid", "args", "final"), [
    (101, "action=shutdown shutdown_timeout=20", "stopped"),
    (109, "action=stop", "stopped"),
    (104, "action=reboot", "running"),
    (110, "action=reboot", "running"),  # a stopped container is started
    (107, "action=suspend", "stopped"),
])
def test_actions_reach_their_status(ansible: Ansible, vmid: int, args: str, final: str) -> None:
    ansible.sim.mark()
    run = ansible.module("pve_lxc_action", f"vmid={vmid} {args}")
    assert run.rc == 0, run.output
    assert run.result["status"] == final and run.result["changed"] is True
    assert status_of(ansible, vmid) == final
    if "shutdown_timeout" in args:
        (request,) = posts(ansible)
        assert request["params"]["timeout"] == "20"


def test_resume_waits_for_running_not_for_its_task(ansible: Ansible) -> None:
    assert ansible.module("pve_lxc_action", "vmid=107 action=suspend").rc == 0
    run = ansible.module("pve_lxc_action", "vmid=107 action=resume timeout=20")
    assert run.rc == 0, run.output
    assert run.result["status"] == "running"
    assert run.result["exitstatus"] is None  # the resume task keeps running with the container
    assert run.result["elapsed"] < 10


def test_locked_container_fails_fast_with_the_task_error(ansible: Ansible) -> None:
    run = ansible.module("pve_lxc_action", "vmid=106 action=start timeout=60")
    assert run.rc != 0
    result = run.result
    assert "CT is locked (backup)" in result["msg"]
    assert result["exitstatus"] == "CT is locked (backup)"
    assert result["task_log"][-1] == "TASK ERROR: CT is locked (backup)"
    assert result["elapsed"] < 5


def test_template_refuses_to_start(ansible: Ansible) -> None:
    ansible.sim.mark()
    run = ansible.module("pve_lxc_action", "vmid=900 action=start")
    assert run.rc != 0
    assert run.result["msg"] == "container 900 (debian-12-tmpl) on pve1 is a template and cannot be started; clone it into a container first"
    assert posts(ansible) == []


def test_ha_container_waits_for_the_status_change(ansible: Ansible) -> None:
    ansible.sim.mark()
    run = ansible.module("pve_lxc_action", "vmid=105 action=stop")
    assert run.rc == 0, run.output
    assert run.result["status"] == "stopped"
    assert ":hastop:105:" in run.result["upid"]
    polls = [entry for entry in ansible.sim.requests() if entry["path"].endswith("/lxc/105/status/current")]
    assert len(polls) >= 3  # the status was polled after the quick HA task had ended
    assert status_of(ansible, 105) == "stopped"


def test_shutdown_that_times_out(ansible: Ansible) -> None:
    run = ansible.module("pve_lxc_action", "vmid=111 action=shutdown shutdown_timeout=1")
    assert run.rc != 0
    assert "container did not stop" in run.result["msg"]
    forced = ansible.module("pve_lxc_action", "vmid=111 action=shutdown shutdown_timeout=1 force_stop=true")
    assert forced.rc == 0, forced.output
    assert forced.result["status"] == "stopped"


def test_warnings_are_success(ansible: Ansible) -> None:
    run = ansible.module("pve_lxc_action", "vmid=112 action=start")
    assert run.rc == 0, run.output
    assert run.result["exitstatus"] == "WARNINGS: 2"
    assert "ended with 2 warning(s)" in run.output


def test_overall_timeout_names_the_task(ansible: Ansible) -> None:
    ansible.sim.control("POST", "guests/100", {"ignores_shutdown": True})
    run = ansible.module("pve_lxc_action", "vmid=100 action=shutdown shutdown_timeout=30 timeout=1")
    assert run.rc != 0
    result = run.result
    assert "still running after 1 s (timeout)" in result["msg"] and result["upid"] in result["msg"]
    assert ":vzshutdown:100:" in result["upid"]
    assert result["status"] == "running"
    assert 1 <= result["elapsed"] < 3


@pytest.mark.parametrize(("args", "message"), [
    ("vmid=4242 action=start", "container 4242 not found in the cluster"),
    ("name=app action=start", "container named 'app' is ambiguous: vmid 109 on pve2; vmid 110 on pve3; use vmid instead"),
    ("vmid=101 node=pve9 action=start", "node 'pve9' not found; available nodes: pve1, pve2, pve3"),
    ("vmid=101 node=pve2 action=start", "container 101 is not on node 'pve2' (found: container 101 (db) on pve1)"),
    ("vmid=101 action=start timeout=0", "timeout 0 is not a number from 1 to 86400 (seconds)"),
])
def test_bad_targets_name_the_value(ansible: Ansible, args: str, message: str) -> None:
    run = ansible.module("pve_lxc_action", args)
    assert run.rc != 0
    assert run.result["msg"] == message


def test_read_only_token_is_refused_with_the_privilege(ansible: Ansible) -> None:
    run = ansible.module("pve_lxc_action", "vmid=103 action=start", auth="readonly")
    assert run.rc != 0
    assert "Permission check failed (/vms/103, VM.PowerMgmt)" in run.result["msg"]


def test_persist_shutdown_timeout(ansible: Ansible) -> None:
    ansible.sim.mark()
    check = ansible.module("pve_lxc_action", "vmid=100 startup_down=120", "--check", "--diff")
    assert check.rc == 0 and check.result["changed"] is True
    assert posts(ansible) == []
    run = ansible.module("pve_lxc_action", "vmid=100 startup_down=120", "--diff")
    assert run.result["changed"] is True
    assert run.result["diff"]["after"]["startup"] == "down=120"
    again = ansible.module("pve_lxc_action", "vmid=100 startup_down=120")
    assert again.result["changed"] is False
    # order= and up= survive (container 101 has order=2,up=30,down=60 in the default scenario)
    keep = ansible.module("pve_lxc_action", "vmid=101 startup_down=90")
    assert keep.result["startup"] == "order=2,up=30,down=90"


# ------------------------------------------------------------------------------------------ HA (pve-protocol.md 3.6, S11)

def test_ha_force_stop_is_ignored_with_a_warning_and_error_ends_the_wait(ansible: Ansible) -> None:
    ansible.sim.control("POST", "guests/109", {"status": "running", "ha": True, "ignores_shutdown": True})
    try:
        started = time.monotonic()
        run = ansible.module("pve_lxc_action", "vmid=109 action=shutdown shutdown_timeout=1 force_stop=true timeout=60")
        took = time.monotonic() - started
        assert run.rc != 0
        assert "force_stop has no effect" in run.output  # the warning says why
        result = run.result
        # The LRM's shutdown without forceStop failed: HA state error ends the wait at once, with that state.
        assert "entered HA state error" in result["msg"] and result["ha_state"] == "error"
        assert result["status"] == "running" and ":hastop:109:" in result["upid"] and result["changed"] is True
        assert took < 30
    finally:
        ansible.sim.control("POST", "guests/109", {"ha": False, "ignores_shutdown": False})


def test_ha_wait_follows_a_relocated_container(ansible: Ansible) -> None:
    ansible.sim.control("POST", "guests/103", {"ha": {"relocate_to": "pve3"}})
    try:
        run = ansible.module("pve_lxc_action", "vmid=103 action=start timeout=60")
        assert run.rc == 0, run.output
        # HA's start failed on pve2 and moved it: the wait followed it through /cluster/resources.
        assert run.result["status"] == "running" and run.result["node"] == "pve3"
        assert ":hastart:103:" in run.result["upid"]
    finally:
        ansible.sim.control("POST", "guests/103", {"ha": False, "status": "stopped"})


# ------------------------------------------------------------------------------------------ issue 12 items 4 and 8

def test_timeout_bounds_the_whole_operation_even_with_slow_answers(ansible: Ansible) -> None:
    ansible.sim.set_faults(rate=1.0, kinds=["slow"], slow_ms=3000, match="^GET ")
    try:
        started = time.monotonic()
        run = ansible.module("pve_lxc_action", "vmid=102 action=start timeout=2")
        took = time.monotonic() - started
    finally:
        ansible.sim.set_faults(rate=0.0)
    assert run.rc != 0 and "timeout" in run.result["msg"], run.output
    assert took < 2 + 8, f"timeout=2 took {took:.1f} s"  # ansible's own start-up is the rest
    assert run.result["elapsed"] < 3


def test_server_dying_mid_action_returns_the_upid_and_an_unknown_outcome(tmp_path: t.Any) -> None:
    with SimProcess("--task-seconds", "30") as victim:
        runner = Ansible(victim, tmp_path)
        results: list[t.Any] = []
        thread = threading.Thread(target=lambda: results.append(runner.module("pve_lxc_action", json.dumps({"vmid": 102, "action": "start"}))))
        thread.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any(
                entry["method"] == "POST" and entry["path"].endswith("/lxc/102/status/start") and entry["status"] == 200
                for entry in victim.requests()):
            time.sleep(0.05)
        os.kill(victim.pid, signal.SIGKILL)
        thread.join(120)
    (run,) = results
    assert run.rc != 0
    result = run.result
    assert result["upid"] and ":vzstart:102:" in result["upid"] and result["changed"] is True
    assert "was started, but the connection was lost" in result["msg"] and "unknown" in result["msg"] and result["outcome"] == "unknown"
