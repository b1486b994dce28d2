# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Power actions and their tasks, including every failing kind, HA and suspend/resume (3.6, 3.7)."""
from __future__ import annotations

import re
import time
from typing import Iterator

import pytest

from pvesim.harness import SimProcess
from pvesim_client import Api

UPID = re.compile(r"UPID:[a-zA-Z0-9-]+:[0-9A-F]{8}:[0-9A-F]{8}:[0-9A-F]{8}:[^:\s/]+:[^:\s/]*:[^:\s/]+:")


@pytest.fixture(scope="module")
def slow() -> Iterator[Api]:
    """A simulator whose tasks take 1 s, to tell 'fails at once' from 'ran the full time'."""
    with SimProcess("--task-seconds", "1.0", "--stats-refresh", "0", request_log=False) as process:
        yield Api(process, "ticket")


def test_start_stop_and_prechecks(ticket_api: Api) -> None:
    upid = ticket_api.action("pve1", 102, "start")
    assert UPID.fullmatch(upid) and upid.endswith(":vzstart:102:root@pam:")
    # The state changes when the task ends, not before.
    assert ticket_api.data("/nodes/pve1/lxc/102/status/current")["status"] == "stopped"
    status = ticket_api.wait_task(upid)
    assert status["exitstatus"] == "OK" and status["type"] == "vzstart" and status["id"] == "102"
    assert ticket_api.log(upid)[-1] == "TASK OK"
    current = ticket_api.data("/nodes/pve1/lxc/102/status/current")
    assert current["status"] == "running" and current["pid"] > 0
    again = ticket_api.post("/nodes/pve1/lxc/102/status/start")
    assert again.status_code == 500 and again.reason == "CT 102 already running"
    assert again.json() == {"data": None, "message": "CT 102 already running\n"}
    assert ticket_api.wait_task(ticket_api.action("pve1", 102, "stop"))["exitstatus"] == "OK"
    stopped = ticket_api.data("/nodes/pve1/lxc/102/status/current")
    assert stopped["status"] == "stopped" and "pid" not in stopped and stopped["netin"] == 0 and stopped["cpu"] == 0
    for action, reason in (("stop", "CT 102 not running"), ("shutdown", "CT 102 not running"),
                           ("suspend", "CT 102 not running"), ("reboot", "VM 102 not running")):
        response = ticket_api.post(f"/nodes/pve1/lxc/102/status/{action}")
        assert (response.status_code, response.reason) == (500, reason)


def test_token_owned_task(api: Api) -> None:
    upid = api.action("pve2", 103, "start")
    assert upid.endswith(":vzstart:103:root@pam!ansible:")
    status = api.wait_task(upid)
    assert status["user"] == "root@pam" and status["tokenid"] == "ansible"
    api.wait_task(api.action("pve2", 103, "stop"))


def test_locked_container_fails_at_once(slow: Api) -> None:
    started = time.monotonic()
    status = slow.wait_task(slow.action("pve3", 106, "start"))
    assert time.monotonic() - started < 0.6
    assert status["exitstatus"] == "CT is locked (backup)"
    assert slow.data("/nodes/pve3/lxc/106/status/current")["lock"] == "backup"


def test_skiplock_root_only(ticket_api: Api, api: Api) -> None:
    refused = api.post("/nodes/pve3/lxc/106/status/start", data={"skiplock": 1})
    assert refused.status_code == 400 and refused.json()["errors"] == {"skiplock": "Only root may use this option."}
    upid = ticket_api.action("pve3", 106, "start", skiplock=1)
    assert ticket_api.wait_task(upid)["exitstatus"] == "OK"
    assert ticket_api.wait_task(ticket_api.action("pve3", 106, "stop", skiplock=1))["exitstatus"] == "OK"


def test_template_cannot_start(slow: Api) -> None:
    status = slow.wait_task(slow.action("pve1", 900, "start"))
    assert status["exitstatus"] == "you can't start a CT if it's a template"
    assert slow.log(status["upid"])[-1] == "TASK ERROR: you can't start a CT if it's a template"
    assert slow.data("/nodes/pve1/lxc/900/status/current")["template"] == 1


def test_shutdown_of_stubborn_container(ticket_api: Api) -> None:
    failed = ticket_api.wait_task(ticket_api.action("pve1", 111, "shutdown", timeout=1))
    assert failed["exitstatus"] == "container did not stop"
    assert ticket_api.log(failed["upid"])[-1] == "TASK ERROR: container did not stop"
    assert ticket_api.data("/nodes/pve1/lxc/111/status/current")["status"] == "running"
    forced = ticket_api.wait_task(ticket_api.action("pve1", 111, "shutdown", timeout=0, forceStop=1))
    assert forced["exitstatus"] == "OK"
    assert ticket_api.data("/nodes/pve1/lxc/111/status/current")["status"] == "stopped"
    ticket_api.wait_task(ticket_api.action("pve1", 111, "start"))


def test_shutdown_timeout_is_honoured(slow: Api) -> None:
    started = time.monotonic()
    status = slow.wait_task(slow.action("pve2", 109, "shutdown", timeout=0))
    assert status["exitstatus"] == "OK" and time.monotonic() - started < 0.6
    slow.sim.control("POST", "guests/109", {"status": "running"})


def test_task_warnings(ticket_api: Api) -> None:
    status = ticket_api.wait_task(ticket_api.action("pve3", 112, "start"))
    assert status["exitstatus"] == "WARNINGS: 2"
    log = ticket_api.log(status["upid"])
    assert log[-1] == "TASK WARNINGS: 2" and sum(1 for line in log if line.startswith("WARN: ")) == 2
    assert ticket_api.data("/nodes/pve3/lxc/112/status/current")["status"] == "running"
    assert ticket_api.wait_task(ticket_api.action("pve3", 112, "stop"))["exitstatus"] == "WARNINGS: 2"


def test_ha_managed_container(slow: Api) -> None:
    started = time.monotonic()
    upid = slow.action("pve2", 105, "shutdown")
    assert ":hastop:105:" in upid
    status = slow.wait_task(upid)
    assert status["exitstatus"] == "OK" and time.monotonic() - started < 0.6
    assert slow.log(upid)[0] == "Requesting HA stop for CT 105"
    current = slow.data("/nodes/pve2/lxc/105/status/current")
    # The task is done but the container follows later: the CRM asks the LRM to stop it.
    assert current["status"] == "running"
    assert current["ha"] == {"managed": 1, "state": "request_stop"}  # no `group` since pve-ha-manager 5.0.7
    resource = next(r for r in slow.data("/cluster/resources", type="vm") if r["vmid"] == 105)
    assert resource["hastate"] == "request_stop"
    assert slow.wait_status("pve2", 105, "stopped") == "stopped"
    # The LRM did the work with a task of its own, as root@pam.
    lrm = [t for t in slow.data("/nodes/pve2/tasks", vmid=105, source="all") if t["type"] == "vzshutdown"]
    assert lrm and lrm[0]["user"] == "root@pam" and lrm[0]["status"] == "OK"
    assert slow.data("/nodes/pve2/lxc/105/status/current")["ha"] == {"managed": 1, "state": "stopped"}
    upid = slow.action("pve2", 105, "start")
    assert ":hastart:105:" in upid and slow.wait_task(upid)["exitstatus"] == "OK"
    assert slow.wait_status("pve2", 105, "running") == "running"


def test_ha_shutdown_ignores_force_stop_and_fails_into_error(slow: Api) -> None:
    slow.sim.control("POST", "guests/109", {"ha": True, "ignores_shutdown": True})
    upid = slow.action("pve2", 109, "shutdown", timeout=1, forceStop=1)
    assert slow.wait_task(upid)["exitstatus"] == "OK"  # the request itself always succeeds
    deadline = time.monotonic() + 15
    ha: dict[str, object] = {}
    while time.monotonic() < deadline:
        ha = slow.data("/nodes/pve2/lxc/109/status/current")["ha"]
        if ha["state"] == "error":
            break
        time.sleep(0.1)
    # crm-command stop passes only the timeout; vm_shutdown without forceStop fails, the service goes to `error`.
    assert ha == {"managed": 1, "state": "error"}
    assert slow.data("/nodes/pve2/lxc/109/status/current")["status"] == "running"
    failed = [t for t in slow.data("/nodes/pve2/tasks", vmid=109, source="all") if t["type"] == "vzshutdown"]
    assert failed and failed[0]["status"] == "container did not stop"
    # In `error` the CRM ignores requests; a hard stop request does not help either.
    slow.wait_task(slow.action("pve2", 109, "stop"))
    time.sleep(1.5)
    assert slow.data("/nodes/pve2/lxc/109/status/current")["ha"]["state"] == "error"
    refused = slow.post("/nodes/pve2/lxc/109/status/stop", data={"overrule-shutdown": 1})
    assert refused.status_code == 400 and refused.json()["errors"] == {"overrule-shutdown": "Not applicable for HA resources."}
    slow.sim.control("POST", "guests/109", {"ha": False, "ignores_shutdown": False})


def test_ha_start_relocates_to_another_node(slow: Api) -> None:
    slow.sim.control("POST", "guests/103", {"ha": {"relocate_to": "pve3"}})
    upid = slow.action("pve2", 103, "start")
    assert slow.wait_task(upid)["exitstatus"] == "OK"
    assert slow.data("/nodes/pve2/lxc/103/status/current")["ha"]["state"] == "relocate"
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        entry = next(r for r in slow.data("/cluster/resources", type="vm") if r["vmid"] == 103)
        if entry["node"] == "pve3":
            break
        time.sleep(0.1)
    assert entry["node"] == "pve3"
    # The old node no longer has the container: status/current there is the config error.
    gone = slow.get("/nodes/pve2/lxc/103/status/current")
    assert gone.status_code == 500 and gone.reason == "Configuration file 'nodes/pve2/lxc/103.conf' does not exist"
    assert slow.wait_status("pve3", 103, "running") == "running"
    assert slow.data("/nodes/pve3/lxc/103/status/current")["ha"]["state"] == "started"
    failed = [t for t in slow.data("/nodes/pve2/tasks", vmid=103, source="all") if t["type"] == "vzstart"]
    assert failed and failed[0]["status"] == "startup for container '103' failed"


def test_suspend_and_resume(ticket_api: Api) -> None:
    assert ticket_api.wait_task(ticket_api.action("pve1", 101, "suspend"))["exitstatus"] == "OK"
    assert ticket_api.data("/nodes/pve1/lxc/101/status/current")["status"] == "stopped"
    resume = ticket_api.action("pve1", 101, "resume")
    assert ticket_api.wait_status("pve1", 101, "running") == "running"
    time.sleep(0.3)
    # The restore runs in the foreground: the task keeps running while the container runs.
    assert ticket_api.data(f"/nodes/pve1/tasks/{resume}/status")["status"] == "running"
    ticket_api.wait_task(ticket_api.action("pve1", 101, "stop"))
    assert ticket_api.wait_task(resume)["exitstatus"] == "OK"
    ticket_api.wait_task(ticket_api.action("pve1", 101, "start"))


def test_resume_without_checkpoint(ticket_api: Api) -> None:
    status = ticket_api.wait_task(ticket_api.action("pve3", 110, "resume"))
    assert status["exitstatus"] == "resume: no checkpoint found"


def test_reboot_restarts(ticket_api: Api) -> None:
    before = ticket_api.data("/nodes/pve2/lxc/104/status/current")
    status = ticket_api.wait_task(ticket_api.action("pve2", 104, "reboot"))
    assert status["exitstatus"] == "OK" and status["type"] == "vzreboot"
    after = ticket_api.data("/nodes/pve2/lxc/104/status/current")
    assert after["status"] == "running" and after["uptime"] < before["uptime"] and after["pid"] != before["pid"]


def test_task_log_paging_and_errors(ticket_api: Api) -> None:
    upid = ticket_api.action("pve3", 112, "start")
    ticket_api.wait_task(upid)
    path = f"/nodes/pve3/tasks/{upid}/log"
    full = ticket_api.get(path, limit=0).json()
    assert full["total"] == len(full["data"]) == 4
    assert [line["n"] for line in full["data"]] == [1, 2, 3, 4]
    page = ticket_api.get(path, start=1, limit=2).json()
    assert [line["n"] for line in page["data"]] == [2, 3] and page["total"] == 4
    ticket_api.wait_task(ticket_api.action("pve3", 112, "stop"))
    bad = ticket_api.get("/nodes/pve3/tasks/UPID:nonsense/status")
    assert bad.status_code == 400 and bad.json()["errors"] == {"upid": "unable to parse worker upid"}
    unknown = ticket_api.get("/nodes/pve3/tasks/UPID:pve3:00000001:00000001:00000001:vzstart:112:root@pam:/status")
    assert unknown.status_code == 400 and unknown.json()["errors"] == {"upid": "no such task"}
    wrong_node = ticket_api.get(f"/nodes/pve1/tasks/{upid}/status")
    assert wrong_node.status_code == 400


def test_task_list(ticket_api: Api) -> None:
    response = ticket_api.get("/nodes/pve3/tasks", vmid=112, typefilter="vzstart")
    body = response.json()
    assert body["total"] >= 1 and all(t["id"] == "112" and t["type"] == "vzstart" for t in body["data"])
    assert all("endtime" in t and t["status"].startswith("WARNINGS") for t in body["data"])
    errors = ticket_api.data("/nodes/pve3/tasks", errors=1)
    assert all(t["status"] not in ("OK",) and not t["status"].startswith("WARNINGS") for t in errors)
