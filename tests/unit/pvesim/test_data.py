# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Read endpoints and the default scenario facts other tests rely on (3.1-3.5, 3.8, 3.9, pools)."""
from __future__ import annotations

import re
import time
from typing import Any

from pvesim_client import Api

LXC_IDS = {100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112, 900}


def _by_vmid(entries: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    return {e["vmid"]: e for e in entries if "vmid" in e}


def test_cluster_status(api: Api) -> None:
    entries = api.data("/cluster/status")
    assert entries[0] == {"type": "cluster", "id": "cluster", "name": "homelab", "nodes": 3, "version": entries[0]["version"], "quorate": 1}
    nodes = {e["name"]: e for e in entries[1:]}
    assert {n: e["ip"] for n, e in nodes.items()} == {"pve1": "10.0.0.11", "pve2": "10.0.0.12", "pve3": "10.0.0.13"}
    assert nodes["pve1"]["local"] == 1 and nodes["pve2"]["local"] == 0
    assert all(e["online"] == 1 and e["type"] == "node" for e in nodes.values())


def test_resources_vm(api: Api) -> None:
    entries = _by_vmid(api.data("/cluster/resources", type="vm"))
    assert set(entries) == LXC_IDS | {200, 201}
    assert entries[200]["type"] == "qemu" and entries[200]["name"] == "gateway-vm" and entries[201]["status"] == "stopped"
    web = entries[100]
    assert (web["id"], web["node"], web["type"], web["name"], web["tags"], web["pool"]) == ("lxc/100", "pve1", "lxc", "web", "prod;web", "apps")
    assert isinstance(web["cpu"], float) and all(isinstance(web[k], int) for k in ("mem", "maxmem", "disk", "maxdisk", "netin", "netout", "uptime"))
    assert web["template"] == 0 and entries[900]["template"] == 1
    assert entries[106]["lock"] == "backup" and entries[105]["hastate"] in ("started", "stopped")
    assert {entries[109]["name"], entries[110]["name"]} == {"app"}
    assert {v for v, e in entries.items() if e.get("pool") == "apps"} == {100, 101, 105}
    assert all(512 * 2**20 <= e["maxmem"] <= 4 * 2**30 for v, e in entries.items() if v in LXC_IDS)


def test_resources_all_types(api: Api, ro_api: Api) -> None:
    everything = api.data("/cluster/resources")
    kinds = {e["type"] for e in everything}
    assert {"lxc", "qemu", "node", "storage", "pool"} <= kinds
    assert {"id": "/pool/apps", "type": "pool", "pool": "apps"} in everything
    nodes = api.data("/cluster/resources", type="node")
    assert sorted(n["node"] for n in nodes) == ["pve1", "pve2", "pve3"] and all(n["status"] == "online" for n in nodes)
    # The read-only token lacks Datastore.Audit: no storage entries, but guests and nodes.
    ro_kinds = {e["type"] for e in ro_api.data("/cluster/resources")}
    assert "storage" not in ro_kinds and {"lxc", "node", "pool"} <= ro_kinds


def test_counters_move_while_running(api: Api) -> None:
    first = api.data("/nodes/pve1/lxc/100/status/current")
    time.sleep(0.15)
    second = api.data("/nodes/pve1/lxc/100/status/current")
    for key in ("netin", "netout", "diskread", "diskwrite"):
        assert second[key] > first[key] > 0
    assert 0 < second["mem"] < second["maxmem"] and 0 < second["cpu"] <= 1
    assert first["ha"] == {"managed": 0} and first["pid"] > 0
    assert set(k for k in first if k.startswith("pressure")) == {
        "pressurecpusome", "pressurecpufull", "pressureiosome", "pressureiofull", "pressurememorysome", "pressurememoryfull"}


def test_node_endpoints(api: Api) -> None:
    status = api.data("/nodes/pve1/status")
    assert len(status["loadavg"]) == 3 and all(isinstance(v, str) for v in status["loadavg"])
    assert status["kversion"].startswith("Linux 6.17.4-1-pve ")
    assert status["pveversion"] == "pve-manager/9.2.11/14a22df35955d97d"
    assert isinstance(status["cpuinfo"]["mhz"], str) and status["cpuinfo"]["cpus"] == 16
    nodes = api.data("/nodes")
    assert [n["node"] for n in nodes] == ["pve1", "pve2", "pve3"] and nodes[0]["ssl_fingerprint"] == api.sim.fingerprint
    lxc = _by_vmid(api.data("/nodes/pve1/lxc"))
    assert set(lxc) == {100, 101, 102, 111, 900}
    qemu = api.data("/nodes/pve1/qemu")
    assert [(v["vmid"], v["name"], v["status"]) for v in qemu] == [(200, "gateway-vm", "running")]


def test_interfaces_dhcp_slaac_and_extras(api: Api) -> None:
    interfaces = api.data("/nodes/pve1/lxc/100/interfaces")
    assert [i["name"] for i in interfaces] == ["lo", "eth0", "docker0", "veth1234"]
    lo, eth0, docker0, veth = interfaces
    assert lo["inet"] == "127.0.0.1/8" and lo["inet6"] == "::1/128" and lo["hwaddr"] == "00:00:00:00:00:00"
    assert eth0["hwaddr"] == eth0["hardware-address"] == "bc:24:11:00:00:64"
    assert eth0["inet"] == "192.168.10.100/24"
    # inet6 holds the *last* IPv6 address: the link-local one.
    assert eth0["inet6"] == "fe80::be24:11ff:fe00:64/64"
    assert eth0["ip-addresses"] == [
        {"ip-address-type": "inet", "ip-address": "192.168.10.100", "prefix": 24},
        {"ip-address-type": "inet6", "ip-address": "fd00:10::be24:11ff:fe00:64", "prefix": 64},
        {"ip-address-type": "inet6", "ip-address": "fe80::be24:11ff:fe00:64", "prefix": 64},
    ]
    assert docker0["inet"] == "172.17.0.1/16"
    assert "inet" not in veth and "inet6" not in veth and veth["ip-addresses"] == []


def test_interfaces_static_public_cgnat_v6only(api: Api) -> None:
    db = api.data("/nodes/pve1/lxc/101/interfaces")[1]
    assert db["inet"] == "192.168.10.21/24"
    assert [a["ip-address"] for a in db["ip-addresses"]] == ["192.168.10.21", "fd00:10::21", "fe80::be24:11ff:fe00:65"]
    proxy = api.data("/nodes/pve2/lxc/104/interfaces")
    assert [(i["name"], i.get("inet")) for i in proxy[1:]] == [("eth0", "203.0.113.10/24"), ("eth1", "100.64.0.10/10")]
    v6only = api.data("/nodes/pve3/lxc/108/interfaces")[1]
    assert "inet" not in v6only and v6only["ip-addresses"][0]["ip-address"] == "2001:db8::108"


def test_interfaces_null_when_stopped_or_unknown(api: Api) -> None:
    assert api.get("/nodes/pve3/lxc/110/interfaces").json() == {"data": None}
    assert api.get("/nodes/pve1/lxc/999/interfaces").json() == {"data": None}


def test_config_view(api: Api) -> None:
    config = api.data("/nodes/pve1/lxc/100/config")
    assert config["net0"] == "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:00:64,ip=dhcp,ip6=auto,type=veth"
    assert config["hostname"] == "web" and config["memory"] == 2048 and config["cores"] == 2 and config["unprivileged"] == 1
    assert config["tags"] == "prod;web" and re.fullmatch(r"[0-9a-f]{40}", config["digest"])
    assert api.data("/nodes/pve1/lxc/100/config", current=1) == config
    assert api.data("/nodes/pve1/lxc/101/config")["startup"] == "order=2,up=30,down=60"
    assert api.data("/nodes/pve1/lxc/900/config")["template"] == 1
    assert api.data("/nodes/pve3/lxc/107/config")["ostype"] == "alpine"


def test_config_update(ticket_api: Api) -> None:
    path = "/nodes/pve3/lxc/110/config"
    digest = ticket_api.data(path)["digest"]
    response = ticket_api.put(path, data={"startup": "3,up=5,down=20", "hostname": "app2", "tags": "dev;blue", "digest": digest})
    assert response.status_code == 200 and response.json() == {"data": None}
    config = ticket_api.data(path)
    assert (config["startup"], config["hostname"], config["tags"]) == ("3,up=5,down=20", "app2", "dev;blue")
    assert config["digest"] != digest
    resource = next(r for r in ticket_api.data("/cluster/resources", type="vm") if r["vmid"] == 110)
    assert resource["name"] == "app2" and resource["tags"] == "dev;blue"
    stale = ticket_api.put(path, data={"description": "x", "digest": digest})
    assert stale.status_code == 500 and stale.reason == "detected modified configuration - file changed by other user? Try again."
    bad = ticket_api.put(path, data={"startup": "first"})
    assert bad.status_code == 400 and bad.json()["errors"] == {"startup": "invalid format - unable to parse startup options\n"}
    ticket_api.put(path, data={"net1": "name=eth1,bridge=vmbr1,ip=10.9.0.5/24", "delete": "tags"})
    config = ticket_api.data(path)
    assert config["net1"] == "name=eth1,bridge=vmbr1,hwaddr=BC:24:11:10:00:6E,ip=10.9.0.5/24,type=veth" and "tags" not in config
    nothing = ticket_api.put(path, data={})
    assert nothing.status_code == 500 and nothing.reason == "no options specified"
    ticket_api.put(path, data={"hostname": "app"})


def test_config_update_locked(ticket_api: Api) -> None:
    response = ticket_api.put("/nodes/pve3/lxc/106/config", data={"description": "x"})
    assert response.status_code == 500 and response.json()["message"] == "CT is locked (backup)\n"


def test_pools(api: Api) -> None:
    assert api.data("/pools") == [{"poolid": "apps", "comment": "Application containers"}]
    [pool] = api.data("/pools", poolid="apps")
    assert sorted(m["vmid"] for m in pool["members"]) == [100, 101, 105]
    assert sorted(m["vmid"] for m in api.data("/pools/apps", type="lxc")["members"]) == [100, 101, 105]
    assert api.get("/pools/nope").status_code == 500
