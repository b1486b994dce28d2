# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Container addresses: parsing the API's interface list and ``netN`` strings, filtering, choosing.

Pure functions, no I/O (design §5, pve-protocol.md §3.8 and §3.9). GoDoxy kept only RFC 1918
addresses and read only the deprecated single-address ``inet`` fields (§6.2 items 10–13);
here public and CGNAT addresses are kept and every address of ``ip-addresses`` is read.
"""

from __future__ import annotations

import ipaddress
import re
import typing as t

from ansible_collections.pveops.proxmox.plugins.module_utils._errors import ConfigError

IPAddress = t.Union[ipaddress.IPv4Address, ipaddress.IPv6Address]
IPNetwork = t.Union[ipaddress.IPv4Network, ipaddress.IPv6Network]

# Interfaces that only exist for container-internal plumbing: their addresses do not reach
# the container from outside (docker bridges, CNI/Kubernetes overlays, nested bridges).
PLUMBING_INTERFACE = re.compile(
    r"^(lo|br-.*|veth.*|docker.*|cni.*|flannel.*|cali.*|cilium.*|virbr.*|lxcbr.*|podman.*|kube-.*|vxlan.*|weave.*|tunl\d*)$"
)
# VPN overlays: reachable only over the VPN, so they rank after ordinary interfaces.
OVERLAY_INTERFACE = re.compile(r"^(tailscale.*|wg.*|tun.*|tap.*|zt.*|nebula.*)$")
_NET_KEY = re.compile(r"^net(\d+)$")


def parse_address(text: str) -> IPAddress | None:
    """Parse ``192.168.1.5``, ``192.168.1.5/24`` or ``fe80::1%eth0``; ``None`` when not an address."""
    value = text.strip().split("/", 1)[0].split("%", 1)[0]
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def is_reachable_address(address: IPAddress) -> bool:
    """Whether an address can identify the container from outside.

    Loopback, link-local, unspecified and multicast addresses cannot; private, public and
    CGNAT (100.64.0.0/10) addresses can.
    """
    return not (address.is_loopback or address.is_link_local or address.is_unspecified or address.is_multicast)


def parse_property_string(value: str) -> dict[str, str]:
    """Split a PVE property string such as ``name=eth0,bridge=vmbr0,ip=dhcp`` into a dict.

    Values never contain commas (§3.9). A key without ``=`` is kept with an empty value.
    """
    result: dict[str, str] = {}
    for part in value.split(","):
        part = part.strip()
        if not part:
            continue
        key, _sep, val = part.partition("=")
        result[key.strip()] = val.strip()
    return result


def addresses_from_config(config: t.Mapping[str, t.Any]) -> list[str]:
    """Static addresses of the ``netN`` entries, ordered by their numeric index.

    ``dhcp``, ``auto`` and ``manual`` carry no address: a stopped DHCP container has none.
    """
    nets = []
    for key, value in config.items():
        match = _NET_KEY.match(key)
        if match and isinstance(value, str):
            nets.append((int(match.group(1)), parse_property_string(value)))
    addresses: list[str] = []
    for _index, net in sorted(nets, key=lambda item: item[0]):
        for field in ("ip", "ip6"):
            parsed = parse_address(net.get(field, ""))
            if parsed is not None and is_reachable_address(parsed):
                addresses.append(str(parsed))
    return _unique(addresses)


def addresses_from_interfaces(interfaces: t.Iterable[t.Mapping[str, t.Any]]) -> list[str]:
    """Addresses of a running container's interfaces (``GET …/interfaces``), in kernel order.

    Reads ``ip-addresses`` (PVE 8.4+) and falls back to ``inet``/``inet6``, which hold only
    the last address of each family. Plumbing interfaces are skipped; VPN overlays come last.
    """
    ordinary: list[str] = []
    overlay: list[str] = []
    for interface in interfaces:
        name = str(interface.get("name") or "")
        if PLUMBING_INTERFACE.match(name):
            continue
        target = overlay if OVERLAY_INTERFACE.match(name) else ordinary
        entries = interface.get("ip-addresses")
        texts: list[str] = []
        if isinstance(entries, list) and entries:
            texts = [str(entry.get("ip-address") or "") for entry in entries if isinstance(entry, dict)]
        else:
            texts = [str(interface.get(field) or "") for field in ("inet", "inet6")]
        for text in texts:
            parsed = parse_address(text)
            if parsed is not None and is_reachable_address(parsed):
                target.append(str(parsed))
    return _unique(ordinary + overlay)


def parse_networks(networks: t.Iterable[str], option: str) -> list[IPNetwork]:
    """Parse CIDR networks; a bad one is a ConfigError naming the option and the value."""
    result = []
    for text in networks:
        try:
            result.append(ipaddress.ip_network(str(text).strip(), strict=False))
        except ValueError:
            raise ConfigError(f"{option}: {text!r} is not a network in CIDR notation (for example 10.0.0.0/8 or fd00::/8)") from None
    return result


def choose_host(addresses: t.Sequence[str], preferred_networks: t.Sequence[IPNetwork] = (), prefer_ipv4: bool = True) -> str | None:
    """Pick the address Ansible should connect to.

    The first address inside the first matching ``preferred_networks`` entry wins; otherwise
    the first IPv4 address (when ``prefer_ipv4``), otherwise the first address.
    """
    parsed = [(text, parse_address(text)) for text in addresses]
    for network in preferred_networks:
        for text, address in parsed:
            if address is not None and address.version == network.version and address in network:
                return text
    if prefer_ipv4:
        for text, address in parsed:
            if address is not None and address.version == 4:
                return text
    return addresses[0] if addresses else None


def _unique(items: t.Iterable[str]) -> list[str]:
    seen: set[str] = set()
    result = []
    for item in items:
        if item not in seen:
            seen.add(item)
            result.append(item)
    return result
