#!/usr/bin/python
# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: pve_lxc_info
short_description: Status, node and IP addresses of Proxmox VE containers
version_added: 0.1.0
description:
  - Lists LXC containers of a Proxmox VE cluster with their status, node, tags, pool and reachable IP addresses, through the API only.
  - Select containers by O(vmid), O(name) and O(node), or get all of them.
  - One request lists every container; IP discovery costs one request per container (at most O(concurrency) at a time).
  - Addresses of a running container come from its interfaces, falling back to its configuration;
    a stopped container's addresses come from its configuration, so a stopped DHCP container has none.
    Loopback, link-local and addresses of container-internal bridges (docker, veth, CNI) are left out; public and CGNAT addresses are kept.
author:
  - pveops contributors (@pveops)
extends_documentation_fragment:
  - pveops.proxmox._api
  - pveops.proxmox._attributes
  - pveops.proxmox._attributes.INFO_MODULE
options:
  vmid:
    description:
      - Only the container with this id. Fails when it does not exist, or when O(name) is given too and the container has another name.
    type: int
  name:
    description:
      - Only containers with this name (the container's hostname). Fails when none has it; several containers may share a name and are all returned.
    type: str
  node:
    description:
      - Only containers on this node. Fails when the cluster has no such node.
    type: str
  discover_ips:
    description:
      - Look up the IP addresses of the selected containers. Turn off to list a large cluster with a single request.
    type: bool
    default: true
  concurrency:
    description:
      - How many address lookups run at the same time (1 to 256).
    type: int
    default: 4
"""

EXAMPLES = r"""
- name: All containers of the cluster
  pveops.proxmox.pve_lxc_info:
    api_url: https://pve.example.com:8006
    api_token_id: ansible@pve!inventory
    api_token_secret: "{{ vault_pve_token_secret }}"
  register: all_containers

- name: One container by name, connection options from PVE_* environment variables
  pveops.proxmox.pve_lxc_info:
    name: web
  register: web

- name: Show its first address
  ansible.builtin.debug:
    msg: "{{ web.containers[0].ips | first | default('no address') }}"

- name: Running containers on one node, without address lookups
  pveops.proxmox.pve_lxc_info:
    node: pve1
    discover_ips: false
  register: on_pve1
"""

RETURN = r"""
containers:
  description: The selected containers, ordered by vmid.
  returned: success
  type: list
  elements: dict
  contains:
    vmid:
      description: Container id.
      type: int
      sample: 101
    name:
      description: Container name (its hostname); absent names are V(null) (the node is offline).
      type: str
      sample: web
    node:
      description: Node the container is on.
      type: str
      sample: pve1
    type:
      description: Always V(lxc).
      type: str
      sample: lxc
    status:
      description: V(running), V(stopped), or V(unknown) when its node does not report.
      type: str
      sample: running
    tags:
      description: Tags, each on its own.
      type: list
      elements: str
      sample: [prod, web]
    pool:
      description: Resource pool, or V(null).
      type: str
      sample: apps
    template:
      description: Whether the container is a template.
      type: bool
      sample: false
    lock:
      description: Current lock (V(backup), V(migrate), ...), or V(null).
      type: str
      sample: null
    uptime:
      description: Seconds since the container started; V(0) when stopped.
      type: int
      sample: 86400
    ips:
      description: Reachable IP addresses; empty when none can be discovered or O(discover_ips=false).
      type: list
      elements: str
      sample: [192.168.10.21, "fd00:10::21"]
    cluster:
      description: Cluster name; a standalone node names the cluster after itself.
      type: str
      sample: homelab
"""

from ansible_collections.pveops.proxmox.plugins.module_utils._cluster import no_match, select_guests
from ansible_collections.pveops.proxmox.plugins.module_utils._guest_ips import discover_ips
from ansible_collections.pveops.proxmox.plugins.module_utils._module import PveModule
from ansible_collections.pveops.proxmox.plugins.module_utils._numbers import MAX_CONCURRENCY, bounded_number


def main() -> None:
    """Run the module."""
    module = PveModule(
        argument_spec={
            "vmid": {"type": "int"},
            "name": {"type": "str"},
            "node": {"type": "str"},
            "discover_ips": {"type": "bool", "default": True},
            "concurrency": {"type": "int", "default": 4},
        },
        supports_check_mode=True,
    )
    params = module.params
    with module.pve_errors(containers=[]):
        bounded_number("concurrency", params["concurrency"], 1, MAX_CONCURRENCY, unit="parallel requests", integer=True)
        cluster = module.cluster()
        cluster.check_node(params["node"])
        containers = cluster.guests("lxc")
        guests = select_guests(containers, vmid=params["vmid"], name=params["name"], node=params["node"])
        if not guests and (params["vmid"] is not None or params["name"] is not None):
            raise no_match(containers, vmid=params["vmid"], name=params["name"], node=params["node"])
        for guest in guests:
            if guest.status == "unknown":
                module.warn(f"{guest.describe()}: its node reports no status (offline?); name and addresses are unknown")
        if params["discover_ips"]:
            errors = discover_ips(module.client, guests, params["concurrency"])
            for vmid, error in sorted(errors.items()):
                module.warn(f"container {vmid}: addresses could not be read: {error}")
            for guest in guests:
                for warning in guest.ip_warnings:
                    module.warn(warning)
    module.exit_json(changed=False, containers=[guest.facts() for guest in guests])


if __name__ == "__main__":
    main()
