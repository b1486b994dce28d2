#!/usr/bin/python
# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: pve_lxc_stats
short_description: docker-stats-like CPU, memory, network and disk numbers of Proxmox VE containers and nodes
version_added: 0.1.0
description:
  - Reads container statistics the way C(docker stats) shows them, from the cluster's resource list. One request per sample serves
    every container, whatever their number. Works with a read-only API token (C(VM.Audit)).
  - With O(samples) of 2 or more it also returns rates between the first and the last sample (average CPU, network and disk bytes
    per second), which is what C(docker stats) users read.
  - Optionally reads node statistics (kernel, PVE version, CPU, memory, root file system, uptime, load) from C(/nodes/{node}/status).
  - Proxmox VE refreshes the numbers of the resource list every 10 seconds (pvestatd), so samples are taken 10 seconds apart by
    default. For exact numbers at the moment of each sample (and rates over shorter intervals) use O(source=status_current),
    which asks each selected container's node (one request per container and sample).
author:
  - pveops contributors (@pveops)
extends_documentation_fragment:
  - pveops.proxmox._api
  - pveops.proxmox._attributes
  - pveops.proxmox._attributes.INFO_MODULE
options:
  vmid:
    description:
      - Ids of the containers to report. With neither O(vmid) nor O(name) every container (of O(node), when given) is reported.
    type: list
    elements: int
  name:
    description:
      - Names of the containers to report; a name shared by several containers reports all of them.
    type: list
    elements: str
  node:
    description:
      - Only containers on this node; with O(node_stats) the node whose statistics are read.
    type: str
  container_stats:
    description:
      - Report container statistics.
    type: bool
    default: true
  node_stats:
    description:
      - Report node statistics too, of O(node), or of every online node when O(node) is not given.
    type: bool
    default: false
  samples:
    description:
      - Number of samples; 2 or more add rates.
    type: int
    default: 1
  interval:
    description:
      - Seconds between samples. Defaults to 10 when containers are sampled from the resource list (its refresh period), 3 with
        O(source=status_current), and 1 for node statistics alone.
      - Shorter intervals with the resource list repeat the same numbers (rates of mostly 0); the module warns.
    type: float
  source:
    description:
      - V(cluster_resources) reads every container at once from C(/cluster/resources) (one request per sample; numbers up to 10 seconds
        old; a read-only token with C(VM.Audit) is enough).
      - V(status_current) reads C(status/current) of each selected container on its node (exact at that moment; one protected request per
        container and sample, so meant for a few containers).
    type: str
    choices: [cluster_resources, status_current]
    default: cluster_resources
"""

EXAMPLES = r"""
- name: One sample of every container
  pveops.proxmox.pve_lxc_stats:
  register: stats

- name: Print them as a table
  ansible.builtin.debug:
    msg: "{{ stats.table }}"

- name: Rates of two containers over 20 seconds
  pveops.proxmox.pve_lxc_stats:
    vmid: [100, 101]
    samples: 3
    interval: 10
  register: rates

- name: Exact rates of one container over 2 seconds, asked of its node
  pveops.proxmox.pve_lxc_stats:
    vmid: [101]
    samples: 3
    interval: 1
    source: status_current

- name: Node statistics only
  pveops.proxmox.pve_lxc_stats:
    node: pve1
    node_stats: true
    container_stats: false
"""

RETURN = r"""
containers:
  description: One entry per container, ordered by vmid, with the numbers of the last sample.
  returned: when O(container_stats=true)
  type: list
  elements: dict
  contains:
    vmid:
      description: Container id.
      type: int
    name:
      description: Container name.
      type: str
    node:
      description: Node of the container.
      type: str
    status:
      description: Container status.
      type: str
      sample: running
    cpu_percent:
      description: CPU use in percent of the container's CPU allotment, one decimal.
      type: float
      sample: 31.1
    mem_used:
      description: Memory in use, bytes.
      type: int
    mem_limit:
      description: Memory limit, bytes.
      type: int
    mem_percent:
      description: Memory use in percent of the limit, two decimals; V(0) when the limit is 0.
      type: float
      sample: 48.87
    net_in:
      description: Bytes received since the container started.
      type: int
    net_out:
      description: Bytes sent since the container started.
      type: int
    block_read:
      description: Bytes read from disk since the container started.
      type: int
    block_write:
      description: Bytes written to disk since the container started.
      type: int
    line:
      description: C(STATUS|CPU%|MEM USAGE/LIMIT|MEM%|NET I/O|BLOCK I/O), as GoDoxy prints it.
      type: str
      sample: running|31.1%|9.6GiB/20GiB|48.87%|4.7GiB/3.3GiB|25GiB/36GiB
    samples:
      description: Every sample (each with C(time), the numbers above and C(line)), when O(samples) is more than 1.
      type: list
      elements: dict
    rates:
      description:
        - Between the first and the last sample, when O(samples) is more than 1; C(null) rates mean the counter went down (restart).
        - Keys C(seconds), C(cpu_percent) (average), C(net_in_per_second), C(net_out_per_second), C(block_read_per_second),
          C(block_write_per_second) and C(line).
      type: dict
nodes:
  description: Node statistics, the last sample; GoDoxy's NodeStats strings plus C(raw) numbers, and C(samples) when O(samples) is more than 1.
  returned: when O(node_stats=true)
  type: list
  elements: dict
  sample:
    - node: pve1
      kernel_version: 6.17.4-1-pve
      pve_version: pve-manager/9.2.11/14a22df35955d97d
      cpu_usage: 3.2%
      cpu_model: AMD EPYC 7302P 16-Core Processor
      mem_usage: 12.3GiB
      mem_total: 62.8GiB
      mem_pct: 19.59%
      rootfs_usage: 8.1GiB
      rootfs_total: 93.9GiB
      rootfs_pct: 8.63%
      uptime: 12d3h4m
      load_avg_1m: "0.12"
      load_avg_5m: "0.20"
      load_avg_15m: "0.25"
table:
  description: The containers of the last sample as a C(docker stats)-like table, one string per line.
  returned: when O(container_stats=true)
  type: list
  elements: str
"""

import time
import typing as t

from ansible_collections.pveops.proxmox.plugins.module_utils._api import api_path
from ansible_collections.pveops.proxmox.plugins.module_utils._cluster import Guest, no_match
from ansible_collections.pveops.proxmox.plugins.module_utils._errors import NotFound
from ansible_collections.pveops.proxmox.plugins.module_utils._lxc import current_status
from ansible_collections.pveops.proxmox.plugins.module_utils._module import PveModule
from ansible_collections.pveops.proxmox.plugins.module_utils._numbers import MAX_SECONDS, bounded_number
from ansible_collections.pveops.proxmox.plugins.module_utils._stats import RESOURCES_REFRESH, container_sample, node_sample, rates, table


def main() -> None:
    """Run the module."""
    module = PveModule(
        argument_spec={
            "vmid": {"type": "list", "elements": "int"},
            "name": {"type": "list", "elements": "str"},
            "node": {"type": "str"},
            "container_stats": {"type": "bool", "default": True},
            "node_stats": {"type": "bool", "default": False},
            "samples": {"type": "int", "default": 1},
            "interval": {"type": "float"},
            "source": {"type": "str", "choices": ["cluster_resources", "status_current"], "default": "cluster_resources"},
        },
        supports_check_mode=True,
    )
    params = module.params
    if params["samples"] < 1:
        module.fail_json(msg=f"samples must be at least 1, got {params['samples']}")
    exact = params["source"] == "status_current"
    if params["interval"] is not None:
        interval = params["interval"]
    elif params["container_stats"]:
        interval = 3.0 if exact else RESOURCES_REFRESH
    else:
        interval = 1.0
    with module.pve_errors():
        bounded_number("interval", interval, 0, MAX_SECONDS)
    if params["container_stats"] and not exact and params["samples"] > 1 and interval < RESOURCES_REFRESH:
        module.warn(f"interval {interval:g}: /cluster/resources changes only every {RESOURCES_REFRESH:g} s (pvestatd), so samples closer "
                    "than that repeat the same numbers; use a longer interval or source: status_current")
    if not params["container_stats"] and not params["node_stats"]:
        module.fail_json(msg="nothing to report: container_stats and node_stats are both false")

    vmids = set(params["vmid"] or [])
    names = set(params["name"] or [])
    result: dict[str, t.Any] = {"changed": False}
    with module.pve_errors(**result):
        cluster = module.cluster()
        client = module.client
        info = cluster.info()
        cluster.check_node(params["node"])
        if params["node"] is not None:
            node_names = [params["node"]]
        else:
            node_names = [node.name for node in info.nodes if node.online]

        per_container: dict[int, list[dict[str, t.Any]]] = {}
        identity: dict[int, dict[str, t.Any]] = {}
        per_node: dict[str, list[dict[str, t.Any]]] = {name: [] for name in node_names} if params["node_stats"] else {}
        for index in range(params["samples"]):
            if index:
                time.sleep(interval)
            moment = time.time()
            if params["container_stats"]:
                if index == 0 or not exact:
                    # One request serves every container of this sample (with status_current: finds them).
                    entries = client.get("/cluster/resources", {"type": "vm"}) or []
                    listing = [entry for entry in entries if entry.get("type") == "lxc" and _selected(entry, vmids, names, params["node"])]
                    for entry in listing:
                        vmid = int(entry["vmid"])
                        identity[vmid] = {"vmid": vmid, "name": entry.get("name"), "node": entry.get("node")}
                        if not exact:
                            per_container.setdefault(vmid, []).append(dict(container_sample(entry), time=round(moment, 3)))
                if exact:
                    for vmid, who in identity.items():
                        entry = current_status(client, str(who["node"]), vmid)
                        per_container.setdefault(vmid, []).append(dict(container_sample(entry), time=round(time.time(), 3)))
                if index == 0:
                    missing = sorted(vmids - set(identity))
                    missing_names = sorted(names - {str(entry["name"]) for entry in identity.values() if entry["name"]})
                    if missing or missing_names:
                        known = [Guest.from_resource(entry, "") for entry in entries if entry.get("type") == "lxc" and "vmid" in entry]
                        problems = ([no_match(known, vmid=vmid, node=params["node"]) for vmid in missing]
                                    + [no_match(known, name=name, node=params["node"]) for name in missing_names])
                        raise NotFound("; ".join(problem.message for problem in problems))
            for name in per_node:
                status = client.get(api_path("nodes", name, "status")) or {}
                per_node[name].append(dict(node_sample(status), time=round(moment, 3)))

    if params["container_stats"]:
        containers = []
        for vmid in sorted(per_container):
            series = per_container[vmid]
            entry = dict(identity[vmid])
            entry.update({key: value for key, value in series[-1].items() if key != "time"})
            if len(series) > 1:
                entry["samples"] = series
                entry["rates"] = rates(series)
            containers.append(entry)
        result["containers"] = containers
        result["table"] = table(containers)
    if params["node_stats"]:
        nodes = []
        for name, series in per_node.items():
            entry = {"node": name}
            entry.update({key: value for key, value in series[-1].items() if key != "time"})
            if len(series) > 1:
                entry["samples"] = series
            nodes.append(entry)
        result["nodes"] = nodes
    module.exit_json(**result)


def _selected(entry: t.Mapping[str, t.Any], vmids: set[int], names: set[str], node: str | None) -> bool:
    if node is not None and entry.get("node") != node:
        return False
    if not vmids and not names:
        return True
    return int(entry["vmid"]) in vmids or str(entry.get("name")) in names


if __name__ == "__main__":
    main()
