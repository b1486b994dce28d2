# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this plugin util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Reverse lookups over a discovery snapshot: address, host name or alias → guest or node.

Ports GoDoxy's ``ReverseLookupResource``/``ReverseLookupNode``: host names compare by their
short name; in addition a name that is itself a FQDN matches the whole query (container
names can be FQDNs, pve-protocol.md §6.2 item 23). Loopback and unspecified addresses never
match. Results are in a stable order so that "more than one match" is reported the same way
every time.
"""

from __future__ import annotations

import typing as t

from ansible_collections.pveops.proxmox.plugins.module_utils._ips import parse_address

Snapshot = t.Mapping[str, t.Any]


def short_name(name: str) -> str:
    """``web.example.com`` → ``web``."""
    return name.split(".", 1)[0].lower()


def usable_address(text: str) -> str | None:
    """The normalised address, or None for non-addresses, loopback and unspecified addresses."""
    address = parse_address(text)
    if address is None or address.is_loopback or address.is_unspecified:
        return None
    return str(address)


def _name_matches(candidate: str | None, hostname: str) -> bool:
    if not candidate:
        return False
    wanted = hostname.lower().rstrip(".")
    name = candidate.lower()
    return name == wanted or short_name(name) == short_name(wanted)


def find_resources(snapshot: Snapshot, ip: str | None = None, hostname: str | None = None, alias: str | None = None,
                   want_qemu: bool = True) -> list[dict[str, t.Any]]:
    """Guests matching the address, else the host name, else the alias (the seed's order)."""
    guests = [guest for cluster in snapshot["clusters"] for guest in cluster["guests"]
              if want_qemu or guest["type"] == "lxc"]
    if ip is not None:
        address = usable_address(ip)
        if address is not None:
            matches = [guest for guest in guests if address in (guest.get("ips") or [])]
            if matches:
                return matches
    if hostname:
        exact = [guest for guest in guests if (guest.get("name") or "").lower() == hostname.lower().rstrip(".")]
        matches = exact or [guest for guest in guests if _name_matches(guest.get("name"), hostname)]
        if matches:
            return matches
    if alias:
        return [guest for guest in guests if (guest.get("name") or "").lower() == alias.lower()]
    return []


def find_nodes(snapshot: Snapshot, hostname: str | None = None, ip: str | None = None, alias: str | None = None) -> list[dict[str, t.Any]]:
    """Nodes matching the host name, else the address, else the alias (each with its ``cluster``)."""
    nodes = [dict(node, cluster=cluster["name"]) for cluster in snapshot["clusters"] for node in cluster["nodes"]]
    if hostname:
        matches = [node for node in nodes if _name_matches(node["name"], hostname)]
        if matches:
            return matches
    if ip is not None:
        address = usable_address(ip)
        if address is not None:
            matches = [node for node in nodes if node.get("ip") and usable_address(node["ip"]) == address]
            if matches:
                return matches
    if alias:
        return [node for node in nodes if node["name"].lower() == alias.lower()]
    return []


def split_term(term: str) -> dict[str, str]:
    """A lookup term: ``ip=…``, ``hostname=…``, ``alias=…`` (space separated), or a bare address or host name."""
    text = str(term).strip()
    if "=" in text:
        result = {}
        for part in text.split():
            key, _sep, value = part.partition("=")
            if key not in ("ip", "hostname", "alias") or not value:
                raise ValueError(f"term {term!r}: expected ip=, hostname= or alias= parts, got {part!r}")
            result[key] = value
        return result
    if parse_address(text) is not None:
        return {"ip": text}
    return {"hostname": text}
