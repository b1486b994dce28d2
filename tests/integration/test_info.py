# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""pve_lxc_info and the connection layer against the simulator's default scenario."""
from __future__ import annotations

import pytest

from conftest import Ansible

# The default scenario's addresses (tests/pvesim/scenarios/default.json): running DHCP
# containers report their lease from /interfaces, stopped static ones their config, stopped
# DHCP ones nothing; docker0 and link-local addresses are left out, public and CGNAT kept.
EXPECTED_IPS = {
    100: ["192.168.10.100", "fd00:10::be24:11ff:fe00:64"],
    101: ["192.168.10.21", "fd00:10::21"],
    102: ["192.168.10.22"],
    103: [],
    104: ["203.0.113.10", "100.64.0.10"],
    105: ["192.168.10.25"],
    106: ["192.168.10.26"],
    107: ["192.168.10.27"],
    108: ["2001:db8::108"],
    109: ["192.168.10.29"],
    110: ["192.168.10.30"],
    111: ["192.168.10.31"],
    112: ["192.168.10.32"],
    900: [],
}


@pytest.mark.parametrize("auth", ["password", "token", "readonly"])
def test_every_container_with_its_addresses(ansible: Ansible, auth: str) -> None:
    run = ansible.playbook("info.yml", auth=auth)
    assert run.rc == 0, run.output
    containers = run.task("All containers")["result"]["containers"]
    assert {entry["vmid"]: entry["ips"] for entry in containers} == EXPECTED_IPS
    web = next(entry for entry in containers if entry["vmid"] == 100)
    assert web == {"vmid": 100, "name": "web", "node": "pve1", "type": "lxc", "status": "running", "tags": ["prod", "web"],
                   "pool": "apps", "template": False, "lock": None, "uptime": web["uptime"], "ips": EXPECTED_IPS[100],
                   "cluster": "homelab"}
    assert next(entry for entry in containers if entry["vmid"] == 106)["lock"] == "backup"
    assert next(entry for entry in containers if entry["vmid"] == 900)["template"] is True
    assert [entry["vmid"] for entry in run.task("Containers named app")["result"]["containers"]] == [109, 110]
    pve3 = run.task("Containers on pve3 without addresses")["result"]["containers"]
    assert [entry["vmid"] for entry in pve3] == [106, 107, 108, 110, 112]
    assert all(entry["ips"] == [] for entry in pve3)
    assert run.task("Check mode gives the same answer")["result"]["containers"][0]["ips"] == EXPECTED_IPS[100]


def test_wrong_password_fails_clearly_without_leaking(ansible: Ansible) -> None:
    secret = "not-the-password-41b7"
    run = ansible.module("pve_lxc_info", "", "-vvvv", env={"PVE_PASSWORD": secret})
    assert run.rc != 0
    result = run.result
    assert "authentication failed for root@pam" in result["msg"]
    # ansible-core 2.19 marks every failure "(traceback unavailable)"; a real one would be Python's text.
    assert "Traceback" not in run.output and result.get("exception", "(traceback unavailable)") == "(traceback unavailable)"
    assert secret not in run.output
    assert secret not in str(run.results)


def test_unknown_vmid_is_not_found(ansible: Ansible) -> None:
    run = ansible.module("pve_lxc_info", "vmid=4242")
    assert run.rc != 0
    assert run.result["msg"] == "container 4242 not found in the cluster"


def test_unknown_node_lists_the_nodes(ansible: Ansible) -> None:
    run = ansible.module("pve_lxc_info", "node=pve9")
    assert run.result["msg"] == "node 'pve9' not found; available nodes: pve1, pve2, pve3"


def test_without_the_ca_tls_fails_and_names_the_fix(ansible: Ansible) -> None:
    run = ansible.module("pve_lxc_info", "vmid=101", env={"PVE_CA_PATH": None})
    assert run.rc != 0
    message = run.result["msg"]
    assert "TLS verification" in message and "ca_path" in message and "tls_fingerprint" in message
    assert "Traceback" not in run.output


def test_fingerprint_pin_instead_of_a_ca(ansible: Ansible) -> None:
    run = ansible.module("pve_lxc_info", "vmid=101", env={"PVE_CA_PATH": None, "PVE_TLS_FINGERPRINT": ansible.sim.fingerprint})
    assert run.rc == 0, run.output
    assert run.result["containers"][0]["ips"] == EXPECTED_IPS[101]


def test_wrong_fingerprint_is_refused_before_credentials_are_sent(ansible: Ansible) -> None:
    ansible.sim.mark()
    run = ansible.module("pve_lxc_info", "vmid=101", env={"PVE_CA_PATH": None, "PVE_TLS_FINGERPRINT": "00" * 32})
    assert run.rc != 0
    assert "does not match tls_fingerprint" in run.result["msg"]
    assert ansible.sim.requests() == []


def test_validate_certs_false_warns(ansible: Ansible) -> None:
    run = ansible.module("pve_lxc_info", "vmid=101 validate_certs=false", env={"PVE_CA_PATH": None})
    assert run.rc == 0, run.output
    assert "validate_certs is false" in run.output


def test_community_proxmox_environment_names(ansible: Ansible) -> None:
    env: dict[str, str | None] = {"PVE_URL": None, "PROXMOX_HOST": ansible.sim.url,
                                  "PROXMOX_USER": ansible.sim.user, "PROXMOX_PASSWORD": ansible.sim.password}
    run = ansible.module("pve_lxc_info", "vmid=104", auth="none", env=env)
    assert run.rc == 0, run.output
    assert run.result["containers"][0]["ips"] == EXPECTED_IPS[104]


def test_missing_credentials_name_the_options(ansible: Ansible) -> None:
    run = ansible.module("pve_lxc_info", "", auth="none")
    assert run.rc != 0
    assert "api_password" in run.result["msg"]
