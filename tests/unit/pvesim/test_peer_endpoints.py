# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What community.proxmox calls besides the basics: VM status/config, snapshot lists, the guest agent's
interfaces, node networks (its inventory with want_facts), and its `proxmox` module's start/stop sequence."""
from __future__ import annotations

import re
import time
from typing import Any, Iterator

import pytest

from pvesim import guestagent, scenario
from pvesim.harness import SimProcess
from pvesim_client import Api

AGENT = "/nodes/pve1/qemu/200/agent/network-get-interfaces"


def test_vm_status_and_config(api: Api) -> None:
    running = api.data("/nodes/pve1/qemu/200/status/current")
    assert (running["status"], running["qmpstatus"], running["agent"], running["ha"]) == ("running", "running", 1, {"managed": 0})
    assert isinstance(running["pid"], int) and running["running-qemu"] and "type" not in running
    stopped = api.data("/nodes/pve2/qemu/201/status/current")
    # qemu-server falls back to `status` for qmpstatus; the peer inventory reads the key for every VM.
    assert (stopped["status"], stopped["qmpstatus"], stopped["uptime"]) == ("stopped", "stopped", 0)
    assert "pid" not in stopped and "agent" not in stopped
    config = api.data("/nodes/pve1/qemu/200/config")
    assert (config["agent"], config["memory"], config["cores"], config["name"]) == ("1", "2048", 2, "gateway-vm")
    assert re.fullmatch(r"[0-9a-f]{40}", config["digest"]) and config["net0"].startswith("virtio=BC:24:11:00:00:C8,")
    assert "agent" not in api.data("/nodes/pve2/qemu/201/config")
    for path, missing in (("/nodes/pve1/qemu/201/config", "nodes/pve1/qemu-server/201.conf"),
                          ("/nodes/pve1/qemu/100/status/current", "nodes/pve1/qemu-server/100.conf")):
        response = api.get(path)
        assert response.status_code == 500 and response.reason == f"Configuration file '{missing}' does not exist"


def test_snapshot_lists(api: Api, ro_api: Api) -> None:
    for path, config, running in (("/nodes/pve1/lxc/100", "/nodes/pve1/lxc/100/config", 1),
                                  ("/nodes/pve1/lxc/102", "/nodes/pve1/lxc/102/config", 0),
                                  ("/nodes/pve1/qemu/200", "/nodes/pve1/qemu/200/config", 1)):
        digest = api.data(config)["digest"]
        assert ro_api.data(f"{path}/snapshot") == [{"name": "current", "description": "You are here!", "running": running, "digest": digest}]
    response = api.get("/nodes/pve2/lxc/100/snapshot")
    assert response.status_code == 500 and response.reason == "Configuration file 'nodes/pve2/lxc/100.conf' does not exist"


def test_agent_interfaces(sim: SimProcess, api: Api, ro_api: Api) -> None:
    result = api.data(AGENT)["result"]
    assert [i["name"] for i in result] == ["lo", "eth0"]
    eth0 = result[1]
    assert eth0["hardware-address"] == "bc:24:11:00:00:c8"
    assert eth0["ip-addresses"] == [
        {"ip-address-type": "ipv4", "ip-address": "10.0.0.200", "prefix": 24},
        {"ip-address-type": "ipv6", "ip-address": "fe80::be24:11ff:fe00:c8", "prefix": 64},
    ]
    assert result[0]["ip-addresses"][0] == {"ip-address-type": "ipv4", "ip-address": "127.0.0.1", "prefix": 8}
    assert isinstance(eth0["statistics"]["rx-bytes"], int)
    denied = ro_api.get(AGENT)
    assert denied.status_code == 403 and denied.reason == "Permission check failed (/vms/200, VM.GuestAgent.Audit|VM.GuestAgent.Unrestricted)"
    try:
        sim.control("POST", "guests/200", {"agent_running": False})
        sim.control("POST", "guests/201", {"agent": True})
        for path, reason in ((AGENT, "QEMU guest agent is not running"),
                             ("/nodes/pve2/qemu/201/agent/network-get-interfaces", "VM 201 is not running")):
            response = api.get(path)
            assert (response.status_code, response.reason) == (500, reason)
        sim.control("POST", "guests/201", {"agent": False})
        response = api.get("/nodes/pve2/qemu/201/agent/network-get-interfaces")
        assert (response.status_code, response.json()["message"]) == (500, "No QEMU guest agent configured\n")
    finally:
        sim.control("POST", "guests/200", {"agent_running": True})
        sim.control("POST", "guests/201", {"agent": False})
    assert api.get(AGENT).status_code == 200


def test_node_network(api: Api, ro_api: Api) -> None:
    interfaces = ro_api.data("/nodes/pve1/network")
    assert [i["iface"] for i in interfaces] == ["eno1", "vmbr0"]  # lo is never listed
    bridge = interfaces[1]
    assert {k: bridge[k] for k in ("type", "active", "address", "netmask", "cidr", "gateway", "bridge_ports")} == {
        "type": "bridge", "active": 1, "address": "10.0.0.11", "netmask": "24", "cidr": "10.0.0.11/24", "gateway": "10.0.0.1",
        "bridge_ports": "eno1"}
    assert [i["iface"] for i in api.data("/nodes/pve2/network", type="any_bridge")] == ["vmbr0"]
    assert api.data("/nodes/pve2/network", type="bridge")[0]["address"] == "10.0.0.12"
    assert [i["iface"] for i in api.data("/nodes/pve1/network", type="eth")] == ["eno1"]
    assert api.data("/nodes/pve1/network", type="vnet") == []
    assert api.get("/nodes/pve1/network", type="loopback").status_code == 400
    response = api.get("/nodes/pve9/network")
    assert response.status_code == 500 and response.reason == "no such cluster node 'pve9'"


def test_scenario_agent_keys() -> None:
    cluster = scenario.build_cluster(scenario.load_document("inventory-edge"), time.time())
    vm = cluster.guests[300]
    assert vm.agent and vm.agent_addresses == ["10.1.0.30/24", "fd00:1::30/64"] and not cluster.guests[301].agent
    addresses = [a["ip-address"] for a in guestagent.network_interfaces(vm, time.time())[1]["ip-addresses"]]
    assert addresses[:2] == ["10.1.0.30", "fd00:1::30"] and addresses[2].startswith("fe80::")
    bad = {"nodes": [{"name": "pve1"}], "guests": [{"vmid": 100, "node": "pve1", "agent": True}]}
    with pytest.raises(scenario.ScenarioError, match="qemu guests only"):
        scenario.build_cluster(bad, time.time())
    bad = {"nodes": [{"name": "pve1"}], "guests": [{"vmid": 100, "node": "pve1", "type": "qemu", "agent_addresses": ["10.0.0.300/24"]}]}
    with pytest.raises(scenario.ScenarioError, match="agent_addresses"):
        scenario.build_cluster(bad, time.time())


# --- community.proxmox's `proxmox` module, state started/stopped with vmid -------------------------------------

@pytest.fixture(scope="module")
def edge() -> Iterator[SimProcess]:
    """The inventory-edge scenario with short tasks (its CT 203 is stopped and used by nobody else)."""
    with SimProcess("--scenario", "inventory-edge", "--task-seconds", "0.2") as process:
        yield process


def _module_run(api: Api, vmid: int, action: str, **params: Any) -> list[str]:
    """The calls the module makes (proxmoxer, ticket login): version checks, resources, status, action, task polls."""
    for _attempt in range(5):
        assert api.data("/version")["version"] == "9.2.11"
    guest = next(g for g in api.data("/cluster/resources", type="vm") if g["vmid"] == vmid)
    assert guest["type"] == "lxc"
    node = guest["node"]
    before = api.data(f"/nodes/{node}/lxc/{vmid}/status/current")["status"]
    response = api.post(f"/nodes/{node}/lxc/{vmid}/status/{action}", data=params)
    assert response.status_code == 200, response.text
    upid = response.json()["data"]
    status = api.wait_task(upid)
    assert status["exitstatus"] == "OK"
    assert api.data(f"/nodes/{node}/tasks/{upid}/log")[-1]["t"] == "TASK OK"
    return [before, api.data(f"/nodes/{node}/lxc/{vmid}/status/current")["status"]]


def test_proxmox_module_start_stop(edge: SimProcess) -> None:
    api = Api(edge, "ticket")
    assert _module_run(api, 203, "start") == ["stopped", "running"]
    assert _module_run(api, 203, "shutdown", forceStop=1) == ["running", "stopped"]
    agent = api.data("/nodes/alpha/qemu/300/agent/network-get-interfaces")["result"][1]
    assert [a["ip-address"] for a in agent["ip-addresses"]][:2] == ["10.1.0.30", "fd00:1::30"]
    assert [e["status"] for e in edge.requests() if e["status"] != 200] == []
