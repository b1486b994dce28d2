# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Other scenarios: standalone node, offline node, generated clusters."""
from __future__ import annotations

from pvesim import generator
from pvesim.harness import SimProcess
from pvesim_client import Api


def test_standalone_node() -> None:
    with SimProcess("--scenario", "standalone", request_log=False) as sim:
        api = Api(sim, "ticket")
        assert api.data("/cluster/status") == [
            {"type": "node", "id": "node/pve", "name": "pve", "ip": "192.168.1.10", "nodeid": 0, "local": 1, "online": 1, "level": ""},
        ]
        assert "clustername" not in Api(sim, "none").login(sim.user, sim.password)
        assert {r["vmid"] for r in api.data("/cluster/resources", type="vm")} == {100, 101}


def test_offline_node() -> None:
    with SimProcess("--scenario", "offline-node", request_log=False) as sim:
        api = Api(sim, "token")
        status = {e["name"]: e for e in api.data("/cluster/status")}
        assert status["pve3"]["online"] == 0 and status["homelab"]["quorate"] == 1
        lost = next(r for r in api.data("/cluster/resources", type="vm") if r["vmid"] == 102)
        assert lost == {"id": "lxc/102", "vmid": 102, "node": "pve3", "type": "lxc", "status": "unknown", "tags": "prod"}
        response = api.get("/nodes/pve3/lxc/102/status/current")
        assert response.status_code == 595 and response.reason == "Errors during connection establishment, proxy handshake"
        assert response.content == b""
        assert next(n for n in api.data("/nodes") if n["node"] == "pve3")["status"] == "offline"
        # Taking a node offline at run time works the same way.
        sim.control("POST", "nodes/pve2", {"online": False})
        assert api.get("/nodes/pve2/lxc/101/status/current").status_code == 595


def test_generator_is_deterministic_and_realistic() -> None:
    first = generator.generate(3, 200, seed=5)
    assert first == generator.generate(3, 200, seed=5)
    assert first != generator.generate(3, 200, seed=6)
    lxc = [g for g in first["guests"] if g["type"] == "lxc"]
    assert len(lxc) == 600 and len({g["vmid"] for g in first["guests"]}) == len(first["guests"])
    statuses = {g["status"] for g in lxc}
    assert statuses == {"running", "stopped"}
    assert any("ip=dhcp" in g["net"][0] for g in lxc) and any("ip6=" in g["net"][0] for g in lxc)
    assert len({g["name"] for g in lxc}) < len(lxc)


def test_generated_cluster_serves() -> None:
    with SimProcess("--nodes", "2", "--containers-per-node", "5", "--seed", "3", request_log=False) as sim:
        api = Api(sim, "token")
        resources = api.data("/cluster/resources", type="vm")
        assert sum(1 for r in resources if r["type"] == "lxc") == 10
        assert [n["name"] for n in api.data("/cluster/status")[1:]] == ["pve1", "pve2"]
