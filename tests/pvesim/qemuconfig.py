# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""QEMU guest config view (`GET .../qemu/{vmid}/config`) and the qemu-server "does not exist" error."""
from __future__ import annotations

from typing import Any

from pvesim.errors import ApiError, die
from pvesim.lxcconfig import typed_view
from pvesim.model import Guest

# Value types as apidata.json's `returns` of GET .../qemu/{vmid}/config declare them (2.2). Note `memory`:
# a property string since PVE 8.1 (`[current=]<MiB>`), so the API returns it as a string.
INT_KEYS = frozenset(("balloon", "cores", "cpuunits", "shares", "sockets", "vcpus"))
NUM_KEYS = frozenset(("cpulimit", "migrate_downtime", "migrate_speed"))
BOOL_KEYS = frozenset(("acpi", "autostart", "freeze", "kvm", "localtime", "numa", "onboot", "protection", "reboot", "tablet", "template"))


def api_view(guest: Guest) -> dict[str, Any]:
    """`GET .../qemu/{vmid}/config`."""
    return typed_view(guest.config, INT_KEYS | BOOL_KEYS, NUM_KEYS)


def vm_conf_missing(node: str, vmid: int) -> ApiError:
    """`Configuration file 'nodes/<node>/qemu-server/<vmid>.conf' does not exist` -> 500 (2.1)."""
    return die(f"Configuration file 'nodes/{node}/qemu-server/{vmid}.conf' does not exist")
