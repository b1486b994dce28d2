# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Container networking: `netN` property strings, addresses, leases and `/interfaces` output (3.8, 3.9)."""
from __future__ import annotations

import hashlib
import ipaddress
import re
from typing import Any, Mapping, Sequence

NET_KEYS = ("name", "bridge", "firewall", "gw", "gw6", "host-managed", "hwaddr", "ip", "ip6", "link_down", "mtu", "rate", "tag", "trunks", "type")
BOOL_KEYS = ("firewall", "host-managed", "link_down")
MAX_NETS = 32

DHCP4_NET = "192.168.10.0/24"
"""The subnet the simulated DHCP server leases from (ip=dhcp)."""
ROUTER6_PREFIX = "fd00:10::"
"""The /64 prefix the simulated router advertises (ip6=auto -> SLAAC, ip6=dhcp -> DHCPv6)."""


def parse_net(value: str) -> dict[str, str]:
    """Parse and check a `pve-lxc-network` property string; ValueError names the bad key."""
    props: dict[str, str] = {}
    for part in value.split(","):
        if not part:
            continue
        key, sep, val = part.partition("=")
        if not sep:
            raise ValueError(f"{key}: invalid format - missing '=' (no default key)")
        if key not in NET_KEYS:
            raise ValueError(f"{key}: property is not defined in schema and the schema does not allow additional properties")
        if key in props:
            raise ValueError(f"{key}: duplicate key in comma-separated list property")
        _check_net_value(key, val)
        props[key] = val
    if "name" not in props:
        raise ValueError("name: property is missing and it is not optional")
    return props


def _check_net_value(key: str, val: str) -> None:
    problem = None
    if key == "name" and not re.fullmatch(r"[-_.\w\d]+", val):
        problem = "value does not match the regex pattern"
    elif key == "hwaddr" and (not re.fullmatch(r"(?:[0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}", val) or int(val[1], 16) & 1):
        problem = "invalid format - value does not look like a valid unicast MAC address"
    elif key == "ip" and val not in ("dhcp", "manual"):
        problem = _check_cidr(val, 4)
    elif key == "ip6" and val not in ("auto", "dhcp", "manual"):
        problem = _check_cidr(val, 6)
    elif key in ("gw", "gw6"):
        problem = _check_address(val, 4 if key == "gw" else 6)
    elif key in BOOL_KEYS and val not in ("0", "1", "on", "off", "yes", "no", "true", "false"):
        problem = f"type check ('boolean') failed - got '{val}'"
    elif key == "tag" and not (val.isdigit() and 1 <= int(val) <= 4094):
        problem = "value must be an integer between 1 and 4094"
    elif key == "mtu" and not (val.isdigit() and 64 <= int(val) <= 65535):
        problem = "value must be an integer between 64 and 65535"
    elif key == "type" and val != "veth":
        problem = f"value '{val}' does not have a value in the enumeration 'veth'"
    if problem:
        raise ValueError(f"{key}: {problem}")


def _check_cidr(val: str, version: int) -> str | None:
    try:
        iface = ipaddress.ip_interface(val)
    except ValueError:
        return f"invalid format - invalid IPv{version} address with CIDR: {val}"
    if iface.version != version or "/" not in val:
        return f"invalid format - invalid IPv{version} address with CIDR: {val}"
    return None


def _check_address(val: str, version: int) -> str | None:
    try:
        addr = ipaddress.ip_address(val)
    except ValueError:
        return f"invalid format - value does not look like a valid IPv{version} address"
    return None if addr.version == version else f"invalid format - value does not look like a valid IPv{version} address"


def format_net(props: Mapping[str, str]) -> str:
    """Print as the API writes it: required `name` first, then the other keys sorted (3.9)."""
    keys = ["name"] + sorted(k for k in props if k != "name")
    return ",".join(f"{k}={props[k]}" for k in keys if k in props)


def default_hwaddr(vmid: int, index: int) -> str:
    """Deterministic Proxmox-style MAC (BC:24:11 is the Proxmox OUI): BC:24:11:<index>:<vmid as 2 bytes>."""
    return f"BC:24:11:{(index * 16 + (vmid >> 16)) & 0xFF:02X}:{(vmid >> 8) & 0xFF:02X}:{vmid & 0xFF:02X}"


def normalise_net(value: str, vmid: int, index: int) -> str:
    """What PUT/create stores: checked, hwaddr filled in, `type=veth`, keys in API order (3.9)."""
    props = parse_net(value)
    props.setdefault("hwaddr", default_hwaddr(vmid, index))
    props.setdefault("type", "veth")
    return format_net(props)


def dhcp_lease4(vmid: int) -> str:
    """The IPv4 lease the simulated DHCP server hands out for a container (vmid 100 -> .100)."""
    host = vmid % 256
    if host < 2 or host > 254:
        host = 2 + vmid % 253
    net = ipaddress.ip_network(DHCP4_NET)
    return f"{net.network_address + host}/{net.prefixlen}"


def dhcp_lease6(vmid: int) -> str:
    """The DHCPv6 lease (a /128 like real DHCPv6 servers hand out)."""
    return f"{ROUTER6_PREFIX}{vmid:x}/128"


def _eui64(hwaddr: str) -> str:
    octets = [int(x, 16) for x in hwaddr.split(":")]
    octets[0] ^= 0x02
    eui = octets[:3] + [0xFF, 0xFE] + octets[3:]
    return ":".join(f"{(eui[i] << 8) | eui[i + 1]:x}" for i in range(0, 8, 2))


def slaac(hwaddr: str) -> str:
    """SLAAC address in the advertised prefix, from the MAC (EUI-64)."""
    return str(ipaddress.ip_interface(f"{ROUTER6_PREFIX}{_eui64(hwaddr)}/64"))


def link_local(hwaddr: str) -> str:
    """The fe80:: address every interface with a MAC gets."""
    return str(ipaddress.ip_interface(f"fe80::{_eui64(hwaddr)}/64"))


def configured_addresses(props: Mapping[str, str], vmid: int, hwaddr: str) -> list[str]:
    """Addresses (addr/prefix) a running container has on this interface, in `ip a` order."""
    result: list[str] = []
    ip4 = props.get("ip")
    if ip4 == "dhcp":
        result.append(dhcp_lease4(vmid))
    elif ip4 and ip4 != "manual":
        result.append(ip4)
    ip6 = props.get("ip6")
    if ip6 == "auto":
        result.append(slaac(hwaddr))
    elif ip6 == "dhcp":
        result.append(dhcp_lease6(vmid))
    elif ip6 and ip6 != "manual":
        result.append(ip6)
    # `ip` lists the link-local address last, so it ends up in `inet6` (3.8).
    result.append(link_local(hwaddr))
    return result


def interface_entry(name: str, hwaddr: str | None, addresses: Sequence[str]) -> dict[str, Any]:
    """One `/interfaces` element: `inet`/`inet6` keep only the last address of each family (3.8)."""
    mac = hwaddr.lower() if hwaddr else None
    entry: dict[str, Any] = {"name": name, "hwaddr": mac, "hardware-address": mac}
    ip_list = []
    for address in addresses:
        iface = ipaddress.ip_interface(address)
        family = "inet" if iface.version == 4 else "inet6"
        entry[family] = f"{iface.ip}/{iface.network.prefixlen}"
        ip_list.append({"ip-address-type": family, "ip-address": str(iface.ip), "prefix": iface.network.prefixlen})
    entry["ip-addresses"] = ip_list
    return entry


def extra_hwaddr(vmid: int, name: str) -> str:
    """A stable locally administered MAC for an interface created inside the container."""
    digest = hashlib.sha1(f"{vmid}/{name}".encode()).digest()
    return "02:42:" + ":".join(f"{b:02x}" for b in digest[:4])


def interfaces(config: Mapping[str, Any], vmid: int, extra: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """`GET .../interfaces` of a running container: lo first, then netN, then extra ones (3.8)."""
    result = [interface_entry("lo", "00:00:00:00:00:00", ["127.0.0.1/8", "::1/128"])]
    indexes = sorted(int(k[3:]) for k in config if re.fullmatch(r"net\d+", k))
    for index in indexes:
        props = parse_net(str(config[f"net{index}"]))
        if props.get("link_down") in ("1", "on", "yes", "true"):
            continue
        hwaddr = props.get("hwaddr", default_hwaddr(vmid, index))
        result.append(interface_entry(props["name"], hwaddr, configured_addresses(props, vmid, hwaddr)))
    for item in extra:
        hwaddr = item["hwaddr"] if "hwaddr" in item else extra_hwaddr(vmid, item["name"])
        result.append(interface_entry(item["name"], hwaddr, item.get("addresses", [])))
    return result
