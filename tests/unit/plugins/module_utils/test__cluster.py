# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Cluster status parsing, the node pool and guest resolution."""
from __future__ import annotations

import typing as t

import pytest

from ansible_collections.pveops.proxmox.plugins.module_utils._cluster import (
    Cluster,
    Guest,
    NodePool,
    find_guest,
    no_match,
    parse_cluster_status,
)
from ansible_collections.pveops.proxmox.plugins.module_utils._errors import Ambiguous, NotFound

CLUSTERED = [
    {"type": "cluster", "id": "cluster", "name": "homelab", "nodes": 2, "version": 7, "quorate": 1},
    {"type": "node", "id": "node/pve2", "name": "pve2", "nodeid": 2, "ip": "10.0.0.12", "local": 0, "online": 0, "level": ""},
    {"type": "node", "id": "node/pve1", "name": "pve1", "nodeid": 1, "ip": "10.0.0.11", "local": 1, "online": 1, "level": ""},
]
STANDALONE = [{"type": "node", "id": "node/pve", "name": "pve", "ip": "192.168.1.10", "local": 1, "nodeid": 0, "online": 1, "level": ""}]


def test_cluster_status() -> None:
    info = parse_cluster_status(CLUSTERED)
    assert info.name == "homelab" and info.quorate and not info.standalone
    assert [node.name for node in info.nodes] == ["pve1", "pve2"]
    pve2 = info.node("pve2")
    assert pve2 is not None and pve2.ip == "10.0.0.12" and not pve2.online


def test_standalone_node_names_the_cluster() -> None:
    info = parse_cluster_status(STANDALONE)
    assert info.name == "pve" and info.standalone


def guest(vmid: int, name: str | None, node: str, **extra: t.Any) -> Guest:
    entry = {"id": f"lxc/{vmid}", "vmid": vmid, "node": node, "type": "lxc", "status": "running", **extra}
    if name is not None:
        entry["name"] = name
    return Guest.from_resource(entry, "homelab")


def test_guest_from_resource_fields() -> None:
    g = guest(101, "db", "pve1", tags="prod;db", template=0, lock="backup", uptime=5, pool="apps")
    assert g.facts() == {"vmid": 101, "name": "db", "node": "pve1", "type": "lxc", "status": "running", "tags": ["prod", "db"],
                         "pool": "apps", "template": False, "lock": "backup", "uptime": 5, "ips": [], "cluster": "homelab"}


def test_unknown_status_guest_has_no_name() -> None:
    g = Guest.from_resource({"id": "lxc/300", "vmid": 300, "node": "pve3", "type": "lxc", "status": "unknown"}, "homelab")
    assert g.name is None and g.status == "unknown" and g.uptime == 0


GUESTS = [guest(100, "web", "pve1"), guest(109, "app", "pve2"), guest(110, "app", "pve3")]


def test_find_by_vmid_and_name() -> None:
    assert find_guest(GUESTS, vmid=100).name == "web"
    assert find_guest(GUESTS, name="web").vmid == 100
    assert find_guest(GUESTS, name="app", node="pve3").vmid == 110


def test_ambiguous_name_lists_candidates() -> None:
    with pytest.raises(Ambiguous, match="vmid 109 on pve2; vmid 110 on pve3"):
        find_guest(GUESTS, name="app")


def test_not_found_names_the_value() -> None:
    with pytest.raises(NotFound, match="container 999 not found"):
        find_guest(GUESTS, vmid=999)
    with pytest.raises(NotFound, match="container named 'nope' not found"):
        find_guest(GUESTS, name="nope")
    with pytest.raises(NotFound, match="not on node 'pve2'"):
        find_guest(GUESTS, vmid=100, node="pve2")


@pytest.mark.parametrize(("vmid", "name", "message"), [
    (100, "app", "vmid 100 and name 'app' disagree: vmid 100 is container 100 (web) on pve1, "
                 "name 'app': container 109 (app) on pve2, container 110 (app) on pve3; give only one of them"),
    (100, "nope", "vmid 100 and name 'nope' disagree: vmid 100 is container 100 (web) on pve1, name 'nope': no container has it; "
                  "give only one of them"),
    (999, "web", "container 999 not found in the cluster"),
])
def test_vmid_and_name_that_disagree_are_reported_as_such(vmid: int, name: str, message: str) -> None:
    with pytest.raises(NotFound) as info:
        find_guest(GUESTS, vmid=vmid, name=name)
    assert str(info.value) == message


def test_vmid_and_name_that_agree_find_the_guest() -> None:
    assert find_guest(GUESTS, vmid=110, name="app").node == "pve3"


def test_no_match_wording_is_one_for_every_module() -> None:
    assert no_match(GUESTS, vmid=999).message == "container 999 not found in the cluster"
    assert no_match(GUESTS, name="nope", node="pve1").message == "container named 'nope' not found in the cluster"
    assert no_match(GUESTS, name="web", node="pve2").message == "container named 'web' is not on node 'pve2' (found: container 100 (web) on pve1)"


class StaticClient:
    """A client whose answers are fixed per path."""

    def __init__(self, answers: dict[str, t.Any], base_url: str) -> None:
        self.answers = answers
        self.config = type("Config", (), {"base_url": base_url})()

    def get(self, path: str, params: t.Any = None) -> t.Any:
        return self.answers[path]


def cluster(name: str, nodes: list[str], url: str) -> Cluster:
    status = [{"type": "cluster", "name": name, "quorate": 1}] + [{"type": "node", "name": node, "online": 1} for node in nodes]
    return Cluster(t.cast(t.Any, StaticClient({"/cluster/status": status}, url)))


def test_node_pool() -> None:
    pool = NodePool([cluster("a", ["pve1", "pve2"], "https://a:8006"), cluster("b", ["pve2", "pve9"], "https://b:8006")])
    assert pool.cluster_of("pve1").name == "a"
    assert pool.cluster_of("pve9").name == "b"
    with pytest.raises(Ambiguous, match="node 'pve2' exists in more than one cluster: a .*, b "):
        pool.cluster_of("pve2")
    with pytest.raises(NotFound, match="node 'nope' not found; available nodes: pve1, pve2, pve9"):
        pool.cluster_of("nope")
