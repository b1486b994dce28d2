# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""QEMU guest config view (`GET .../qemu/{vmid}/config`) and the qemu-server "does not exist" error."""
from __future__ import annotations

from typing import Any

from pvesim.errors import ApiError, die
from pvesim.lxcconfig import digest
from pvesim.model import Guest

# Value types as apidata.json's `returns` of GET .../qemu/{vmid}/config declare them (2.2). Note `memory`:
# a property string since PVE 8.1 (`[current=]<MiB>`), so the API returns it as a string.
INT_KEYS = frozenset(("balloon", "cores", "cpuunits", "shares", "sockets", "vcpus"))
NUM_KEYS = frozenset(("cpulimit", "migrate_downtime", "migrate_speed"))
BOOL_KEYS = frozenset(("acpi", "autostart", "freeze", "kvm", "localtime", "numa", "onboot", "protection", "reboot", "tablet", "template"))


def typed(key: str, value: Any) -> Any:
    """One config value as the API returns it: integers, 0/1 for booleans, strings for everything else."""
    if key in INT_KEYS or key in BOOL_KEYS:
        return int(value)
    if key in NUM_KEYS:
        number = float(value)
        return int(number) if number.is_integer() else number
    return str(value)


def api_view(guest: Guest) -> dict[str, Any]:
    """The flat config plus `digest` (no pending changes are modelled, so `current` changes nothing)."""
    view = {key: typed(key, value) for key, value in guest.config.items()}
    view["digest"] = digest(guest.config)
    return view


def vm_conf_missing(node: str, vmid: int) -> ApiError:
    """`Configuration file 'nodes/<node>/qemu-server/<vmid>.conf' does not exist` -> 500 (2.1)."""
    return die(f"Configuration file 'nodes/{node}/qemu-server/{vmid}.conf' does not exist")
