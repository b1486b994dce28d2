# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""`--pve-version`: what each release answers differently (versions.py), on a small two-node scenario."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest

from pvesim.harness import TESTS_DIR, SimProcess
from pvesim.versions import PROFILES, find_profile, version_tuple
from pvesim_client import Api

SCENARIO = {
    "cluster": "lab",
    "nodes": [{"name": "pve1", "ip": "10.0.0.11"}, {"name": "pve2", "ip": "10.0.0.12"}],
    "guests": [
        {"vmid": 100, "node": "pve1", "name": "here", "status": "running", "net": ["name=eth0,bridge=vmbr0,ip=dhcp"]},
        {"vmid": 101, "node": "pve2", "name": "there", "status": "running", "net": ["name=eth0,bridge=vmbr0,ip=10.1.0.5/24"],
         "ha": {"group": "g1"}},
        {"vmid": 200, "node": "pve1", "type": "qemu", "name": "vm", "status": "running", "agent": True, "agent_addresses": ["10.2.0.9/24"]},
    ],
}


@pytest.fixture(scope="module")
def scenario_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("versions") / "two-nodes.json"
    path.write_text(json.dumps(SCENARIO), encoding="utf-8")
    return path


@pytest.fixture(scope="module", params=list(PROFILES))
def versioned(request: pytest.FixtureRequest, scenario_file: Path) -> Iterator[tuple[str, SimProcess]]:
    with SimProcess("--scenario", str(scenario_file), "--pve-version", request.param, "--stats-refresh", "0", request_log=False) as sim:
        yield request.param, sim


def test_version_and_pveversion(versioned: tuple[str, SimProcess]) -> None:
    name, sim = versioned
    profile = PROFILES[name]
    api = Api(sim, "token")
    assert api.data("/version") == {"version": profile.manager, "release": profile.release, "repoid": profile.repoid}
    status = api.data("/nodes/pve2/status")
    assert status["pveversion"] == f"pve-manager/{profile.manager}/{profile.repoid}"
    assert status["kversion"].startswith(f"Linux {profile.kernel_release} ")
    assert sim.control("GET", "state")["pve_version"] == name


def test_interfaces_of_a_container_on_another_node(versioned: tuple[str, SimProcess]) -> None:
    name, sim = versioned
    api = Api(sim, "token")
    there = api.data("/nodes/pve2/lxc/101/interfaces")
    if name == "8.1":
        # pve-container 5.0.8: no proxyto, the answering node does not host 101 -> null.
        assert there is None
    else:
        assert there is not None and [entry["name"] for entry in there] == ["lo", "eth0"]
    here = api.data("/nodes/pve1/lxc/100/interfaces")
    assert ("ip-addresses" in here[1]) == find_profile(name).interfaces_ip_addresses
    assert here[1]["inet"] == "192.168.10.100/24"


def test_guest_agent_privilege(versioned: tuple[str, SimProcess]) -> None:
    name, sim = versioned
    refused = Api(sim, "ro").get("/nodes/pve1/qemu/200/agent/network-get-interfaces")
    expected = "VM.Monitor" if name.startswith("8.") else "VM.GuestAgent.Audit|VM.GuestAgent.Unrestricted"
    assert refused.status_code == 403 and refused.reason == f"Permission check failed (/vms/200, {expected})"
    assert Api(sim, "token").data("/nodes/pve1/qemu/200/agent/network-get-interfaces")["result"][1]["name"] == "eth0"


def test_token_termproxy(versioned: tuple[str, SimProcess]) -> None:
    name, sim = versioned
    token = Api(sim, "token").post("/nodes/pve1/termproxy")
    if version_tuple(PROFILES[name].manager) < (9, 0, 13):
        assert token.status_code == 500 and token.reason == "value 'root@pam!ansible' does not look like a valid user name"
    else:
        assert token.status_code == 200 and token.json()["data"]["user"] == "root@pam!ansible"
    assert Api(sim, "ticket").post("/nodes/pve1/termproxy").status_code == 200


def test_journal_filters(versioned: tuple[str, SimProcess]) -> None:
    name, sim = versioned
    api = Api(sim, "token")
    sim.control("POST", "journal/pve1", {"lines": ["only proxy"], "identifier": "pveproxy"})
    answer = api.get("/nodes/pve1/journal", lastentries=3, unit="pveproxy")
    if name in ("9.2.4", "9.2.11"):
        lines = answer.json()["data"]
        assert answer.status_code == 200 and lines[1:-1] and all(" pveproxy" in line for line in lines[1:-1])
        assert lines[-2].endswith(" pveproxy: only proxy")
    else:
        assert answer.status_code == 400
        assert answer.json()["errors"] == {"unit": "property is not defined in schema and the schema does not allow additional properties"}


def test_ha_group_in_status(versioned: tuple[str, SimProcess]) -> None:
    name, sim = versioned
    ha = Api(sim, "token").data("/nodes/pve2/lxc/101/status/current")["ha"]
    if name in ("8.1", "8.4", "9.0"):
        assert ha == {"managed": 1, "state": "started", "group": "g1"}
    else:
        assert ha == {"managed": 1, "state": "started"}


def test_nodes_list_has_disk_and_fingerprints(versioned: tuple[str, SimProcess]) -> None:
    _name, sim = versioned
    nodes = {entry["node"]: entry for entry in Api(sim, "token").data("/nodes")}
    assert nodes["pve1"]["ssl_fingerprint"] == sim.fingerprint
    assert nodes["pve2"]["ssl_fingerprint"] != sim.fingerprint and len(nodes["pve2"]["ssl_fingerprint"]) == 95
    assert all(entry["maxdisk"] > entry["disk"] > 0 for entry in nodes.values())


def serve(*args: str) -> subprocess.CompletedProcess[str]:
    """`python -m pvesim serve` that is expected to refuse to start (bounded)."""
    env = {"PYTHONPATH": str(TESTS_DIR), "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-m", "pvesim", "serve", "--port", "0", *args], capture_output=True, text=True, timeout=60,
                          env=env, check=False, stdin=subprocess.DEVNULL)


def test_unknown_version_is_a_usage_error() -> None:
    result = serve("--pve-version", "7.4")
    assert result.returncode == 2 and "unknown Proxmox VE version '7.4'" in result.stderr


@pytest.mark.parametrize(("change", "message"), [
    ({"nodes": [{"name": "pve-a.lab.example"}], "guests": []},
     "node 'pve-a.lab.example': name 'pve-a.lab.example': value does not look like a valid node name"),
    ({"guests": [{"vmid": 99, "node": "pve1"}]}, "guest 99: vmid 99: value does not look like a valid VM ID"),
    ({"guests": [{"vmid": 100, "node": "pve1", "tags": ["bad tag"]}]}, "guest 100: tags 'bad tag': invalid characters in tag 'bad tag'"),
    ({"guests": [{"vmid": 100, "node": "pve1", "pool": "a"}]}, "guest 100: pool 'a': invalid pool ID 'a'"),
    ({"guests": [{"vmid": 100, "node": "pve1", "name": "web_1"}]}, "guest 100: name 'web_1': value does not look like a valid DNS name"),
    ({"guests": [{"vmid": 100, "node": "pve1", "lock": "busy"}]}, "guest 100: lock 'busy': not one of backup, create, destroyed"),
    ({"guests": [{"vmid": 100, "node": "pve1", "ha": {"relocate_to": "pve1"}}]}, "guest 100: ha relocate_to 'pve1': not another node"),
    ({"version": "7.4"}, "scenario: version: unknown Proxmox VE version '7.4'"),
])
def test_scenario_values_pve_cannot_hold_exit_2(tmp_path: Path, change: dict[str, object], message: str) -> None:
    document = {"nodes": [{"name": "pve1"}], "guests": [], **change}
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    result = serve("--scenario", str(path))
    assert result.returncode == 2 and message in result.stderr, result.stderr
