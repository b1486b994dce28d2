# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Reading containers: status, configuration, interfaces and their addresses.

IP discovery follows design §5: a running container's ``/interfaces`` first, its ``netN``
configuration when that yields nothing or the endpoint is missing (PVE < 8.1 answers 501);
a stopped container's configuration only. ``_guest_ips`` looks many guests up at once.

``/interfaces`` has ``proxyto`` only since pve-container 5.2.0 (8b967af, PVE 8.3): before, the node that
answers the API looks for the container among its own and answers ``null`` for a running container on
another node. That is reported (its DHCP addresses cannot be known that way) and the configuration used;
a ``null`` for a container that ``status/current`` shows stopped is just a stale ``/cluster/resources``.
"""

from __future__ import annotations

import typing as t

from ansible_collections.pveops.proxmox.plugins.module_utils._api import ApiClient, api_path
from ansible_collections.pveops.proxmox.plugins.module_utils._errors import ApiError
from ansible_collections.pveops.proxmox.plugins.module_utils._ips import addresses_from_config, addresses_from_interfaces


def lxc_path(node: str, vmid: int, *segments: str) -> str:
    """``/nodes/<node>/lxc/<vmid>/<segments…>``."""
    return api_path("nodes", node, "lxc", vmid, *segments)


def current_status(client: ApiClient, node: str, vmid: int) -> dict[str, t.Any]:
    """``status/current`` of a container (§3.5): ``status`` is only ``running`` or ``stopped``."""
    return t.cast(dict, client.get(lxc_path(node, vmid, "status", "current")) or {})


def read_config(client: ApiClient, node: str, vmid: int, current: bool = False) -> dict[str, t.Any]:
    """The container configuration; ``current=True`` leaves pending changes out (§3.9)."""
    params = {"current": True} if current else None
    return t.cast(dict, client.get(lxc_path(node, vmid, "config"), params) or {})


def read_interfaces(client: ApiClient, node: str, vmid: int) -> list[dict[str, t.Any]] | None:
    """``/interfaces``: a list while running, ``None`` when stopped (§3.8)."""
    data = client.get(lxc_path(node, vmid, "interfaces"))
    return data if isinstance(data, list) else None


def container_ips(client: ApiClient, node: str, vmid: int, running: bool) -> list[str]:
    """Reachable addresses of one container (design §5)."""
    return container_addresses(client, node, vmid, running)[0]


def container_addresses(client: ApiClient, node: str, vmid: int, running: bool) -> tuple[list[str], str | None]:
    """Reachable addresses of one container and, when they may be incomplete, why (a warning for the user)."""
    warning = None
    if running:
        try:
            interfaces = read_interfaces(client, node, vmid)
        except ApiError as exc:
            # 501: the endpoint does not exist before PVE 8.1; fall back to the config.
            if exc.status != 501:
                raise
            interfaces = []
        # null: it stopped meanwhile (/cluster/resources lags up to 10 s), or the API node cannot see it (no proxyto).
        if interfaces is None and current_status(client, node, vmid).get("status") == "running":
            warning = (f"container {vmid} on {node} runs but GET .../interfaces answered null: before Proxmox VE 8.3 (pve-container 5.2.0) "
                       "the node that answers the API cannot see containers on other nodes, so only its configured static addresses "
                       "are known (connect api_url to that node for its DHCP addresses)")
        found = addresses_from_interfaces(interfaces or [])
        if found:
            return found, None
    # Active values only: a pending address change is not the address the container has.
    return addresses_from_config(read_config(client, node, vmid, current=True)), warning
