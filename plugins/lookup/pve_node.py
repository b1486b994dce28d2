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

from ansible.errors import AnsibleError, AnsibleLookupError
from ansible.plugins.lookup import LookupBase

from ansible_collections.pveops.proxmox.plugins.plugin_utils._client import config_from, new_client, plugin_connection_options, pve_errors
from ansible_collections.pveops.proxmox.plugins.plugin_utils._discovery import memoized_snapshot, snapshot
from ansible_collections.pveops.proxmox.plugins.plugin_utils._reverse import find_nodes, split_term

_NO_DEFAULT = object()


class LookupModule(LookupBase):
    """Host name, IP address or alias → node name."""

    def run(self, terms: list[t.Any], variables: dict[str, t.Any] | None = None, **kwargs: t.Any) -> list[t.Any]:
        """Resolve each term."""
        default = kwargs.pop("default", _NO_DEFAULT)
        self.set_options(var_options=variables, direct=kwargs)
        try:
            config = config_from(plugin_connection_options(self))
        except AnsibleError as exc:
            raise AnsibleLookupError(f"pveops.proxmox.pve_node: {exc}") from None

        def take() -> dict[str, t.Any]:
            client = new_client(config)
            try:
                with pve_errors("pveops.proxmox.pve_node: "):
                    return snapshot([client], want_ips=False)
            finally:
                client.close()

        data = memoized_snapshot((config.base_url, config.authid, "nodes"), take)
        results = []
        for term in terms:
            try:
                query = split_term(term)
            except ValueError as exc:
                raise AnsibleLookupError(f"pveops.proxmox.pve_node: {exc}") from None
            matches = find_nodes(data, hostname=query.get("hostname"), ip=query.get("ip"), alias=query.get("alias"))
            if len(matches) > 1:
                listing = "; ".join(f"{node['name']} in cluster {node['cluster']}" for node in matches)
                raise AnsibleLookupError(f"pveops.proxmox.pve_node: {term!r} matches more than one node: {listing}")
            if not matches:
                if default is _NO_DEFAULT:
                    raise AnsibleLookupError(f"pveops.proxmox.pve_node: no node matches {term!r}")
                results.append(default)
                continue
            results.append(matches[0]["name"])
        return results
