# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: pve_resource
short_description: Find the Proxmox VE container or VM behind an IP address or host name
version_added: 0.1.0
description:
  - Reverse lookup through the Proxmox VE API. Each term is an IP address or a host name, or a combination of
    C(ip=ADDRESS), C(hostname=NAME) and C(alias=NAME) separated by spaces (tried in that order, as GoDoxy does).
  - Returns one dictionary per term with the guest's C(vmid), C(name), C(node), C(type), C(status), C(ips), C(tags), C(pool) and C(cluster).
  - Host names compare by their short name (C(web.example.com) finds a guest named C(web)); a guest whose name is a FQDN also matches it whole.
  - Loopback and unspecified addresses never match. More than one match is an error listing them; no match is an error unless O(default) is set.
  - The cluster is read once per run and connection (within a minute), however many times the lookup is called.
  - Guests whose addresses cannot be read (an offline node, a token without the guest-agent privilege for VMs) get a warning,
    worded as the inventory words it; a term without a match then says how many guests could not be read.
author:
  - pveops contributors (@pveops)
extends_documentation_fragment:
  - pveops.proxmox._api.plugins
options:
  _terms:
    description: IP addresses, host names or C(ip=/hostname=/alias=) combinations.
    required: true
    type: list
    elements: str
  default:
    description: Returned for a term without a match instead of failing.
    type: raw
  want_qemu:
    description: Consider QEMU VMs too (their addresses come from the guest agent).
    type: bool
    default: true
  concurrency:
    description: How many address lookups run at the same time (1 to 256).
    type: int
    default: 16
"""

EXAMPLES = r"""
- name: Which container has this address?
  ansible.builtin.debug:
    msg: "{{ lookup('pveops.proxmox.pve_resource', '192.168.10.21') }}"

- name: The vmid behind the host this play runs on
  ansible.builtin.set_fact:
    my_vmid: "{{ lookup('pveops.proxmox.pve_resource', 'ip=' ~ ansible_host ~ ' hostname=' ~ inventory_hostname).vmid }}"

- name: No failure when nothing matches
  ansible.builtin.debug:
    msg: "{{ lookup('pveops.proxmox.pve_resource', 'unknown.example.com', default=None) }}"
"""

RETURN = r"""
_raw:
  description: One guest per term.
  type: list
  elements: dict
  contains:
    vmid:
      description: Guest id.
      type: int
    name:
      description: Guest name.
      type: str
    node:
      description: Node of the guest.
      type: str
    type:
      description: V(lxc) or V(qemu).
      type: str
    status:
      description: Guest status.
      type: str
    ips:
      description: Its discovered addresses.
      type: list
      elements: str
    cluster:
      description: Cluster name.
      type: str
"""

import typing as t

from ansible_collections.pveops.proxmox.plugins.module_utils._numbers import MAX_CONCURRENCY, bounded_number
from ansible_collections.pveops.proxmox.plugins.plugin_utils._discovery import Snapshot
from ansible_collections.pveops.proxmox.plugins.plugin_utils._lookup import ReverseLookupBase
from ansible_collections.pveops.proxmox.plugins.plugin_utils._reverse import find_resources

RESULT_KEYS = ("vmid", "name", "node", "type", "status", "ips", "tags", "pool", "cluster")


class LookupModule(ReverseLookupBase):
    """IP address or host name → guest."""

    NAME = "pveops.proxmox.pve_resource"
    WHAT = "guest"

    def snapshot_options(self) -> dict[str, t.Any]:
        """Guests with their addresses (VMs too when asked)."""
        concurrency = bounded_number("concurrency", self.get_option("concurrency"), 1, MAX_CONCURRENCY, unit="parallel requests", integer=True)
        return {"want_qemu": bool(self.get_option("want_qemu")), "concurrency": int(concurrency)}

    def find(self, data: Snapshot, query: dict[str, str]) -> list[dict[str, t.Any]]:
        """Guests matching the address, else the host name, else the alias."""
        return find_resources(data, ip=query.get("ip"), hostname=query.get("hostname"), alias=query.get("alias"),
                              want_qemu=bool(self.get_option("want_qemu")))

    def describe(self, match: dict[str, t.Any]) -> str:
        """``lxc 109 (app) on pve2``."""
        return f"{match['type']} {match['vmid']} ({match.get('name')}) on {match['node']}"

    def result(self, match: dict[str, t.Any]) -> t.Any:
        """The documented keys of the guest."""
        return {key: match.get(key) for key in RESULT_KEYS}
