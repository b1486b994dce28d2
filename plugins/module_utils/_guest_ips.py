# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Addresses of many guests at once: one lookup per guest, concurrently with a bound, spread over nodes.

Used by pve_lxc_info and by the inventory and lookups (plugin_utils/_discovery.py), so both find
the same addresses the same way. Containers: design §5 (``_lxc.container_ips``); VMs: their guest
agent.
"""

from __future__ import annotations

import concurrent.futures
import itertools
import typing as t

from ansible_collections.pveops.proxmox.plugins.module_utils._api import ApiClient, api_path
from ansible_collections.pveops.proxmox.plugins.module_utils._cluster import Guest
from ansible_collections.pveops.proxmox.plugins.module_utils._errors import ApiError, PveError
from ansible_collections.pveops.proxmox.plugins.module_utils._ips import addresses_from_interfaces
from ansible_collections.pveops.proxmox.plugins.module_utils._lxc import container_addresses

DEFAULT_CONCURRENCY = 4


def vm_ips(client: ApiClient, node: str, vmid: int) -> list[str]:
    """Addresses of a running QEMU VM from its guest agent (none when the agent is off or absent)."""
    try:
        answer = client.get(api_path("nodes", node, "qemu", vmid, "agent", "network-get-interfaces")) or {}
    except ApiError as exc:
        # 500 "No QEMU guest agent configured" / "QEMU guest agent is not running": no addresses, not a failure.
        if exc.status in (500, 501):
            return []
        raise
    interfaces = answer.get("result") if isinstance(answer, dict) else None
    return addresses_from_interfaces(interfaces or [])


def can_look_up(guest: Guest) -> bool:
    """Whether a lookup can find anything: containers running or stopped, VMs running (their agent answers)."""
    if guest.type == "qemu":
        return guest.status == "running"
    return guest.status in ("running", "stopped")


def interleave_by_node(guests: t.Sequence[Guest]) -> list[Guest]:
    """Order lookups round-robin over nodes so that every node's workers are busy at once."""
    by_node: dict[str, list[Guest]] = {}
    for guest in guests:
        by_node.setdefault(guest.node, []).append(guest)
    mixed = itertools.zip_longest(*by_node.values())
    return [guest for group in mixed for guest in group if guest is not None]


def discover_ips(client: ApiClient, guests: t.Sequence[Guest], concurrency: int = DEFAULT_CONCURRENCY) -> dict[int, PveError]:
    """Fill ``guest.ips`` of every guest a lookup can find something for, ``concurrency`` requests at a time.

    Returns the errors per vmid: one guest that cannot be read must not hide all the others. Addresses that
    may be incomplete come with a reason in ``guest.ip_warnings``.
    """
    targets = [guest for guest in guests if can_look_up(guest)]
    errors: dict[int, PveError] = {}
    if not targets:
        return errors

    def lookup(guest: Guest) -> tuple[list[str], str | None]:
        if guest.type == "qemu":
            return vm_ips(client, guest.node, guest.vmid), None
        return container_addresses(client, guest.node, guest.vmid, guest.status == "running")

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(targets)))) as pool:
        futures = {pool.submit(lookup, guest): guest for guest in interleave_by_node(targets)}
        for future in concurrent.futures.as_completed(futures):
            guest = futures[future]
            try:
                guest.ips, warning = future.result()
                guest.ip_warnings = [warning] if warning else []
            except PveError as exc:
                errors[guest.vmid] = exc
    return errors
