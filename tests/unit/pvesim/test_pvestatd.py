# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""`--stats-refresh`: /cluster/resources and /nodes show pvestatd's broadcast, status/current the live state."""
from __future__ import annotations

import time

from pvesim.harness import SimProcess
from pvesim_client import Api


def resource(api: Api, vmid: int) -> dict[str, object]:
    return next(r for r in api.data("/cluster/resources", type="vm") if r["vmid"] == vmid)


def test_resources_lag_until_the_next_update() -> None:
    # A period longer than the test: only the start-up broadcast exists.
    with SimProcess("--scenario", "standalone", "--stats-refresh", "3600", "--task-seconds", "0.1", request_log=False) as sim:
        api = Api(sim, "ticket")
        before = resource(api, 100)
        api.wait_task(api.action("pve", 101, "start"))
        assert api.data("/nodes/pve/lxc/101/status/current")["status"] == "running"
        assert resource(api, 101)["status"] == "stopped"  # pvestatd has not sent anything since
        again = resource(api, 100)
        assert (again["netin"], again["cpu"], again["uptime"]) == (before["netin"], before["cpu"], before["uptime"])
        node = next(n for n in api.data("/nodes") if n["node"] == "pve")
        assert node["uptime"] == next(r for r in api.data("/cluster/resources", type="node"))["uptime"]
        assert sim.control("GET", "state")["pvestatd"] == {"refresh": 3600.0, "updates": 1}


def test_the_next_update_brings_the_change() -> None:
    with SimProcess("--scenario", "standalone", "--stats-refresh", "1", "--task-seconds", "0.1", request_log=False) as sim:
        api = Api(sim, "ticket")
        api.wait_task(api.action("pve", 101, "start"))
        seen = sim.control("GET", "state")["pvestatd"]["updates"]
        deadline = time.monotonic() + 20
        while resource(api, 101)["status"] != "running" and time.monotonic() < deadline:
            time.sleep(0.1)
        assert resource(api, 101)["status"] == "running"
        assert sim.control("GET", "state")["pvestatd"]["updates"] >= seen


def test_zero_means_live_values() -> None:
    with SimProcess("--scenario", "standalone", "--stats-refresh", "0", "--task-seconds", "0.1", request_log=False) as sim:
        api = Api(sim, "ticket")
        api.wait_task(api.action("pve", 101, "start"))
        assert resource(api, 101)["status"] == "running"
        first, second = resource(api, 100)["netin"], resource(api, 100)["netin"]
        assert isinstance(first, int) and isinstance(second, int) and second >= first
