# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The inventory plugin: golden JSON of `ansible-inventory --list`, cache and refresh costs, constructed features.

Set PVEOPS_UPDATE_GOLDEN=1 to rewrite the golden files after an intended change (and review the diff).
"""
from __future__ import annotations

import json
import os
import pathlib
import re
import typing as t

import pytest

from ansible_commands import Run
from conftest import HERE, Ansible
from pvesim.harness import SimProcess

GOLDEN = HERE / "golden"
VOLATILE = {"pve_uptime"}  # grows with the simulator's clock


@pytest.fixture(scope="module")
def sim_args() -> list[str]:
    # The status-aware cache test changes a status and expects the next listing to show it at once:
    # no pvestatd period in between (the real one is 10 s).
    return ["--task-seconds", "0.3", "--stats-refresh", "0"]


def normalize(data: t.Any, key: str = "") -> t.Any:
    """Unwrap ansible-core 2.19's untrusted-value markers, drop volatile values, sort group members."""
    if isinstance(data, dict):
        if set(data) == {"__ansible_unsafe"}:
            return data["__ansible_unsafe"]
        return {name: normalize(value, name) for name, value in sorted(data.items()) if name not in VOLATILE}
    if isinstance(data, list):
        items = [normalize(item) for item in data]
        return sorted(items) if key in ("hosts", "children") else items
    return data


def inventory_file(directory: pathlib.Path, name: str, content: str) -> pathlib.Path:
    path = directory / name
    path.write_text("---\nplugin: pveops.proxmox.pve\n" + content)
    return path


def list_inventory(ansible: Ansible, path: pathlib.Path, *args: str, auth: str = "token") -> tuple[dict[str, t.Any], str]:
    run = ansible.run(["ansible-inventory", "-i", str(path), "--list", *args], auth=auth)
    assert run.rc == 0, run.output
    return normalize(json.loads(run.stdout)), run.stderr


def check_golden(name: str, data: dict[str, t.Any]) -> None:
    path = GOLDEN / name
    text = json.dumps(data, indent=2, sort_keys=True) + "\n"
    if os.environ.get("PVEOPS_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
    assert path.exists(), f"{path} is missing; run with PVEOPS_UPDATE_GOLDEN=1 to create it"
    assert json.loads(text) == json.loads(path.read_text()), f"inventory differs from {path}"


def test_default_scenario_golden(ansible: Ansible) -> None:
    data, _stderr = list_inventory(ansible, inventory_file(ansible.workdir, "pve.yml", ""))
    check_golden("default.json", data)
    hostvars = data["_meta"]["hostvars"]
    assert hostvars["web"]["ansible_host"] == "192.168.10.100"  # no compose needed
    assert hostvars["v6only"]["ansible_host"] == "2001:db8::108"
    assert "ansible_host" not in hostvars["worker"]  # stopped DHCP: no address
    assert {"app-109", "app-110"} <= set(hostvars)  # never merged
    assert "debian-12-tmpl" not in hostvars  # templates only on request
    assert hostvars["pve2"]["ansible_host"] == "10.0.0.12"


def test_full_host_variables_are_those_of_0_1_0(ansible: Ansible) -> None:
    """host_variables: full brings back every variable the lean default leaves out, null and empty ones too."""
    data, _stderr = list_inventory(ansible, inventory_file(ansible.workdir, "full.pve.yml", "host_variables: full\n"))
    check_golden("default-full.json", data)
    lean = json.loads((GOLDEN / "default.json").read_text())["_meta"]["hostvars"]
    full = data["_meta"]["hostvars"]
    assert set(full) == set(lean)
    assert all(lean[name].items() <= full[name].items() for name in lean)
    assert full["backup-target"]["pve_hastate"] is None and full["backup-target"]["pve_tags"] == []
    assert "pve_hastate" not in lean["backup-target"] and "pve_cluster" not in lean["web"] and "pve_maxmem" not in lean["web"]


class TestEdgeScenario:
    """Duplicates, DHCP, IPv6-only, public/CGNAT, an offline node, odd tags."""

    @pytest.fixture(scope="class")
    @classmethod
    def edge(cls, tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[Ansible]:
        with SimProcess("--scenario", "inventory-edge") as sim:
            yield Ansible(sim, tmp_path_factory.mktemp("edge"))

    def test_golden_and_warning(self, edge: Ansible) -> None:
        data, stderr = list_inventory(edge, inventory_file(edge.workdir, "edge.pve.yml", "want_templates: true\n"))
        check_golden("edge.json", data)
        hostvars = data["_meta"]["hostvars"]
        assert {"web-200", "web-201", "alpha", "alpha-202"} <= set(hostvars)
        assert hostvars["alpha"]["pve_type"] == "node"
        assert hostvars["edge-gw"]["pve_ips"] == ["198.51.100.205", "100.64.5.205", "100.100.5.205"]
        assert hostvars["edge-gw"]["ansible_host"] == "198.51.100.205"
        # The listing has no name for a guest of an offline node: it still appears, under its id.
        assert hostvars["ct206"]["pve_status"] == "unknown" and "ansible_host" not in hostvars["ct206"]
        assert "pve_tag_Needs_Review" in data and "pve_tag_team_ops" in data
        assert "node gamma of cluster edge is offline" in " ".join(stderr.split())

    def test_preferred_networks_filters_and_hostname(self, edge: Ansible) -> None:
        content = ("preferred_networks: [100.64.0.0/10]\nfilters:\n  - pve_status == 'running'\nhostname: \"pve_name ~ '.edge'\"\n"
                   "want_nodes: false\n")
        data, _stderr = list_inventory(edge, inventory_file(edge.workdir, "filtered.pve.yml", content))
        hostvars = data["_meta"]["hostvars"]
        assert set(hostvars) == {"web.edge-200", "web.edge-201", "v6.example.com.edge", "edge-gw.edge"}
        assert hostvars["edge-gw.edge"]["ansible_host"] == "100.64.5.205"

    def test_constructed_features(self, edge: Ansible) -> None:
        content = ("compose:\n  ansible_user: \"'root'\"\n  memory_mib: pve_maxmem // 1048576\n"
                   "groups:\n  big: pve_maxmem | default(0) > 100000000\n"
                   "keyed_groups:\n  - key: pve_node\n    prefix: runs_on\n")
        data, _stderr = list_inventory(edge, inventory_file(edge.workdir, "constructed.pve.yml", content))
        assert data["_meta"]["hostvars"]["web-200"]["ansible_user"] == "root"
        assert "runs_on_beta" in data and "web-201" in data["runs_on_beta"]["hosts"]
        assert "web-200" in data["big"]["hosts"]

    def test_bad_option_values_are_clear(self, edge: Ansible) -> None:
        path = inventory_file(edge.workdir, "bad.pve.yml", "preferred_networks: [10.0.0/33]\n")
        edge.sim.mark()
        run = edge.run(["ansible-inventory", "-i", str(path), "--list"], auth="token")
        assert "preferred_networks: '10.0.0/33' is not a network" in run.output
        assert edge.sim.requests() == []  # refused before the cluster is read, not after


def test_filters_that_cannot_be_evaluated_warn_once_each(ansible: Ansible) -> None:
    """With strict: false such an expression used to drop every guest without a word."""
    content = "strict: false\nfilters:\n  - pve_status == 'running'\n  - no_such_variable > 1\n  - \"pve_status ==\"\n"
    data, stderr = list_inventory(ansible, inventory_file(ansible.workdir, "badfilter.pve.yml", content))
    text = " ".join(stderr.split())
    assert "_meta" in data and not [host for host in data["_meta"]["hostvars"] if host.startswith(("web", "db"))]
    for expression in ("no_such_variable > 1", "pve_status =="):
        warning = f"pveops.proxmox.pve: filters: could not evaluate '{expression}' for"
        assert text.count(warning) == 1, stderr
    # Every expression is evaluated for every guest: the 13 containers (the template and the VMs are left out before).
    assert "could not evaluate 'no_such_variable > 1' for 13 guest(s), which are left out (strict is false): " \
           "'no_such_variable' is undefined" in text


def test_every_variable_the_examples_use_exists() -> None:
    """The documentation grouped by pve_ostype, which the inventory never sets."""
    from ansible_collections.pveops.proxmox.plugins.inventory import pve  # pylint: disable=import-outside-toplevel

    # What the inventory can set (host_variables: full has them all), and the connection options' variables it names.
    hostvars = json.loads((GOLDEN / "default-full.json").read_text())["_meta"]["hostvars"]
    fragment = (HERE.parents[1] / "plugins" / "doc_fragments" / "_api.py").read_text()
    known = {name for host in hostvars.values() for name in host} | set(re.findall(r"- name: (pve_[a-z_]+)", fragment)) | VOLATILE
    groups = {"pve_nodes", "pve_lxc", "pve_qemu", "pve_running", "pve_stopped", "pve_unknown"}
    used = {name for name in re.findall(r"\bpve_[a-z_]+\b", pve.EXAMPLES + pve.DOCUMENTATION) if not name.endswith("_")} - groups  # pve_tag_<tag>: a group
    assert used and used <= known, sorted(used - known)


def test_cache_and_status_aware_refresh(ansible: Ansible) -> None:
    cache_dir = ansible.workdir / "inventory-cache"
    path = inventory_file(ansible.workdir, "cached.pve.yml",
                          f"cache: true\ncache_plugin: ansible.builtin.jsonfile\ncache_connection: {cache_dir}\ncache_timeout: 3600\n")
    ansible.sim.mark()
    cold = list_inventory(ansible, path)[0]
    cold_requests = len(ansible.sim.requests())
    assert cold_requests == 2 + 14  # two listings, one address lookup per container

    ansible.sim.mark()
    warm = list_inventory(ansible, path)[0]
    assert ansible.sim.requests() == [] and warm == cold

    ansible.sim.mark()
    refreshed = list_inventory(ansible, path, "--flush-cache")[0]
    assert sorted(entry["path"] for entry in ansible.sim.requests()) == ["/api2/json/cluster/resources", "/api2/json/cluster/status"]
    assert refreshed == cold

    # A container that changes status is looked up again; the others are not.
    ansible.sim.control("POST", "guests/102", {"status": "running"})
    ansible.sim.mark()
    changed = list_inventory(ansible, path, "--flush-cache")[0]
    lookups = [entry["path"] for entry in ansible.sim.requests() if "/lxc/" in entry["path"]]
    assert lookups == ["/api2/json/nodes/pve1/lxc/102/interfaces"]
    assert "cache" in changed["pve_running"]["hosts"]


def test_list_hosts_and_group_patterns(ansible: Ansible) -> None:
    path = inventory_file(ansible.workdir, "hosts.pve.yml", "")
    run = ansible.run(["ansible", "-i", str(path), "pve_running:&pve_tag_prod", "--list-hosts"], auth="token")
    assert run.rc == 0, run.output
    assert sorted(line.strip() for line in run.stdout.splitlines()[1:]) == ["db", "web"]


def test_lookups_in_a_playbook(ansible: Ansible) -> None:
    run = ansible.playbook("lookups.yml", auth="token")
    assert run.rc == 0, run.output
    assert run.task("Guest behind an address")["result"]["msg"]["vmid"] == 101
    assert run.task("Guest behind a FQDN")["result"]["msg"]["vmid"] == 100
    assert run.task("Node behind an address")["result"]["msg"] == "pve2"
    assert run.task("Loopback never matches")["result"]["msg"] == "none"
    ambiguous = run.task("Ambiguous name")["result"]
    assert ambiguous["status"] if "status" in ambiguous else True
    assert "matches more than one guest: lxc 109 (app) on pve2; lxc 110 (app) on pve3" in json.dumps(run.task("Ambiguous name"))


def lookup_run(ansible: Ansible, expression: str, auth: str = "token") -> Run:
    """``ansible localhost -m debug -a msg=<expression>``: one lookup, its result or its error in the recorded result."""
    return ansible.run(["ansible", "localhost", "-i", "localhost,", "-c", "local", "-m", "ansible.builtin.debug",
                        "-a", f"msg={{{{ {expression} }}}}"], auth=auth)


@pytest.mark.parametrize("concurrency", [0, 100000])
def test_lookup_concurrency_is_bounded_like_the_modules(ansible: Ansible, concurrency: int) -> None:
    ansible.sim.mark()
    run = lookup_run(ansible, f"lookup('pveops.proxmox.pve_resource', '10.0.0.11', concurrency={concurrency})")
    assert run.rc != 0
    assert f"pveops.proxmox.pve_resource: concurrency {concurrency} is not a whole number from 1 to 256" in run.output
    assert ansible.sim.requests() == []


def test_lookup_reports_what_it_could_not_read_like_the_inventory(ansible: Ansible) -> None:
    """The read-only token may not ask VM 200's guest agent (403): the lookup said only "no guest matches"."""
    lookup = lookup_run(ansible, "lookup('pveops.proxmox.pve_resource', '10.0.0.200')", auth="readonly")
    inventory = ansible.run(["ansible-inventory", "-i", str(inventory_file(ansible.workdir, "qemu-ro.pve.yml", "want_qemu: true\n")),
                             "--list"], auth="readonly")
    assert lookup.rc != 0 and inventory.rc == 0
    lookup_text, inventory_text = " ".join(lookup.output.split()), " ".join(inventory.stderr.split())
    warning = re.search(r"node pve1: addresses of 1 guest\(s\) could not be read or are incomplete: 200: .*?VM\.GuestAgent\.Audit[^)]*\)", inventory_text)
    assert warning, inventory_text
    assert f"[WARNING]: pveops.proxmox.pve: {warning.group(0)}" in inventory_text
    assert f"[WARNING]: pveops.proxmox.pve_resource: {warning.group(0)}" in lookup_text
    assert ("pveops.proxmox.pve_resource: no guest matches '10.0.0.200'; the addresses of 1 guest(s) could not be read "
            "(see the warning)") in lookup_text


def test_two_clusters_with_the_same_names(ansible: Ansible, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Two clusters, each entry with its own URL and credentials; equal names never merge hosts."""
    with SimProcess() as other:
        entries = "".join(f"  - api_url: {sim.url}\n    api_token_id: '{sim.token_id}'\n    api_token_secret: {sim.token_secret}\n"
                          f"    ca_path: {sim.ca_path}\n" for sim in (ansible.sim, other))
        path = inventory_file(tmp_path_factory.mktemp("multi"), "multi.pve.yml", "clusters:\n" + entries)
        data, _stderr = list_inventory(ansible, path, auth="none")
    hostvars = data["_meta"]["hostvars"]
    assert {"pve1.homelab-1", "pve1.homelab-2", "db-101.homelab-1", "db-101.homelab-2"} <= set(hostvars)
    assert len([name for name in hostvars if hostvars[name]["pve_type"] == "lxc"]) == 26
    assert "db-101.homelab-2" in data["pve_cluster_homelab_2"]["hosts"]
    assert "db-101.homelab-1" in data["pve_node_pve1_homelab_1"]["hosts"]


def test_qemu_guests_with_the_guest_agent(ansible: Ansible) -> None:
    data, _stderr = list_inventory(ansible, inventory_file(ansible.workdir, "qemu.pve.yml", "want_qemu: true\n"))
    hostvars = data["_meta"]["hostvars"]
    assert hostvars["gateway-vm"]["pve_type"] == "qemu" and hostvars["gateway-vm"]["ansible_host"] == "10.0.0.200"
    assert "ansible_host" not in hostvars["win-vm"]  # stopped: no agent to ask
    assert {"gateway-vm", "win-vm"} <= set(data["pve_qemu"]["hosts"])


def test_a_cluster_that_is_down_does_not_hide_the_others(ansible: Ansible, tmp_path_factory: pytest.TempPathFactory) -> None:
    with SimProcess() as gone:
        dead_url = gone.url  # nothing listens there any more
    entries = (f"  - api_url: {ansible.sim.url}\n    api_token_id: '{ansible.sim.token_id}'\n    api_token_secret: {ansible.sim.token_secret}\n"
               f"    ca_path: {ansible.sim.ca_path}\n"
               f"  - api_url: {dead_url}\n    api_token_id: 'root@pam!gone'\n    api_token_secret: gone\n    api_timeout: 3\n")
    path = inventory_file(tmp_path_factory.mktemp("down"), "down.pve.yml", "clusters:\n" + entries)
    data, stderr = list_inventory(ansible, path, auth="none")
    assert "web" in data["_meta"]["hostvars"]
    assert f"cluster at {dead_url} could not be read and is left out" in " ".join(stderr.split())
