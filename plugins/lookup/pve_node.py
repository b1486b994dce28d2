# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: pve_node
short_description: Find the Proxmox VE node behind a host name, IP address or alias
version_added: 0.1.0
description:
  - Reverse lookup through the Proxmox VE API (C(/cluster/status), one request per run and connection).
  - Each term is a host name or an IP address, or a combination of C(hostname=NAME), C(ip=ADDRESS) and C(alias=NAME) separated by
    spaces (tried in that order, as GoDoxy does). Returns the node name for each term.
  - Host names compare by their short name. More than one match (for example the same node name in two clusters) is an error listing them;
    no match is an error unless O(default) is set.
author:
  - pveops contributors (@pveops)
extends_documentation_fragment:
  - pveops.proxmox._api.plugins
options:
  _terms:
    description: Host names, IP addresses or C(hostname=/ip=/alias=) combinations.
    required: true
    type: list
    elements: str
  default:
    description: Returned for a term without a match instead of failing.
    type: raw
"""

EXAMPLES = r"""
- name: The node name of the machine we know as pve1.example.com
  ansible.builtin.debug:
    msg: "{{ lookup('pveops.proxmox.pve_node', 'pve1.example.com') }}"

- name: By address
  ansible.builtin.debug:
    msg: "{{ lookup('pveops.proxmox.pve_node', 'ip=10.0.0.12') }}"
"""

RETURN = r"""
_raw:
  description: One node name per term.
  type: list
  elements: str
"""

import typing as t

from ansible_collections.pveops.proxmox.plugins.plugin_utils._discovery import Snapshot
from ansible_collections.pveops.proxmox.plugins.plugin_utils._lookup import ReverseLookupBase
from ansible_collections.pveops.proxmox.plugins.plugin_utils._reverse import find_nodes


class LookupModule(ReverseLookupBase):
    """Host name, IP address or alias → node name."""

    NAME = "pveops.proxmox.pve_node"
    WHAT = "node"

    def snapshot_options(self) -> dict[str, t.Any]:
        """Nodes only: no address lookups."""
        return {"want_ips": False}

    def find(self, data: Snapshot, query: dict[str, str]) -> list[dict[str, t.Any]]:
        """Nodes matching the host name, else the address, else the alias."""
        return find_nodes(data, hostname=query.get("hostname"), ip=query.get("ip"), alias=query.get("alias"))

    def describe(self, match: dict[str, t.Any]) -> str:
        """``pve1 in cluster homelab``."""
        return f"{match['name']} in cluster {match['cluster']}"

    def result(self, match: dict[str, t.Any]) -> t.Any:
        """The node name."""
        return match["name"]
