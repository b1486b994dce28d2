# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Address parsing and filtering (design §5; GoDoxy's bugs of pve-protocol.md §6.2 items 10–13)."""
from __future__ import annotations

import pytest

from ansible_collections.pveops.proxmox.plugins.module_utils._errors import ConfigError
from ansible_collections.pveops.proxmox.plugins.module_utils._ips import (
    addresses_from_config,
    addresses_from_interfaces,
    choose_host,
    parse_networks,
    parse_property_string,
)

EXAMPLE_INTERFACES = [
    {"name": "lo", "inet": "127.0.0.1/8", "inet6": "::1/128",
     "ip-addresses": [{"ip-address-type": "inet", "ip-address": "127.0.0.1", "prefix": 8},
                      {"ip-address-type": "inet6", "ip-address": "::1", "prefix": 128}]},
    {"name": "eth0", "hwaddr": "bc:24:11:2e:5a:7f", "inet": "192.168.1.50/24", "inet6": "fe80::be24:11ff:fe2e:5a7f/64",
     "ip-addresses": [{"ip-address-type": "inet", "ip-address": "192.168.1.50", "prefix": 24},
                      {"ip-address-type": "inet6", "ip-address": "fd00::50", "prefix": 64},
                      {"ip-address-type": "inet6", "ip-address": "fe80::be24:11ff:fe2e:5a7f", "prefix": 64}]},
]


def test_ip_addresses_are_all_read_and_link_local_dropped() -> None:
    assert addresses_from_interfaces(EXAMPLE_INTERFACES) == ["192.168.1.50", "fd00::50"]


def test_old_servers_fall_back_to_inet_fields() -> None:
    old = [{"name": "eth0", "inet": "10.1.2.3/24", "inet6": "fe80::1/64"}]
    assert addresses_from_interfaces(old) == ["10.1.2.3"]


def test_public_and_cgnat_are_kept_plumbing_dropped_overlays_last() -> None:
    interfaces = [
        {"name": "tailscale0", "ip-addresses": [{"ip-address": "100.101.102.103"}]},
        {"name": "eth0", "ip-addresses": [{"ip-address": "203.0.113.10"}]},
        {"name": "docker0", "ip-addresses": [{"ip-address": "172.17.0.1"}]},
        {"name": "veth12ab", "ip-addresses": [{"ip-address": "169.254.3.4"}]},
        {"name": "cni0", "ip-addresses": [{"ip-address": "10.244.0.1"}]},
        {"name": "eth1", "ip-addresses": [{"ip-address": "100.64.0.10"}]},
    ]
    assert addresses_from_interfaces(interfaces) == ["203.0.113.10", "100.64.0.10", "100.101.102.103"]


def test_config_static_addresses_in_index_order() -> None:
    config = {
        "net10": "name=eth10,bridge=vmbr0,ip=10.0.10.1/24",
        "net2": "name=eth2,bridge=vmbr0,ip6=2001:db8::2/64",
        "net0": "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:00:01,ip=192.168.10.5/24,gw=192.168.10.1,ip6=auto",
        "hostname": "x",
    }
    assert addresses_from_config(config) == ["192.168.10.5", "2001:db8::2", "10.0.10.1"]


def test_dhcp_manual_and_auto_have_no_address() -> None:
    assert addresses_from_config({"net0": "name=eth0,ip=dhcp,ip6=auto", "net1": "name=eth1,ip=manual,ip6=dhcp"}) == []


def test_property_strings_in_any_order() -> None:
    assert parse_property_string("ip=1.2.3.4/24,name=eth0, bridge=vmbr0,firewall") == {
        "ip": "1.2.3.4/24", "name": "eth0", "bridge": "vmbr0", "firewall": ""}


def test_choose_host_prefers_ipv4_then_networks() -> None:
    ips = ["fd00::50", "192.168.1.50", "10.8.0.2"]
    assert choose_host(ips) == "192.168.1.50"
    assert choose_host(ips, preferred_networks=parse_networks(["10.8.0.0/16"], "x")) == "10.8.0.2"
    assert choose_host(ips, preferred_networks=parse_networks(["192.0.2.0/24", "fd00::/8"], "x")) == "fd00::50"
    assert choose_host(["2001:db8::108"]) == "2001:db8::108"
    assert choose_host(ips, prefer_ipv4=False) == "fd00::50"
    assert choose_host([]) is None


def test_bad_network_names_option_and_value() -> None:
    with pytest.raises(ConfigError, match="preferred_networks: '10.0.0/33' is not a network"):
        parse_networks(["10.0.0/33"], "preferred_networks")
