# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The simulated API methods, one module per PVE API area; `build_routes()` assembles the table."""
from __future__ import annotations

from pvesim.router import RouteTable
from pvesim.versions import NEWEST, PveVersion


def build_routes(profile: PveVersion = NEWEST) -> RouteTable:
    """Every route the simulator serves for one release (the contract test walks this table).

    Routes whose declaration changed between releases (parameters, `proxyto`, privileges) come from a
    `routes(profile)` function of their module; the others are the same everywhere.
    """
    from pvesim.api import access, cluster, lxc, lxc_status, network, nodes, pools, qemu, qemu_agent, snapshots, tasks, terminal

    return RouteTable(
        access.ROUTES + cluster.ROUTES + nodes.routes(profile) + network.ROUTES + lxc.routes(profile) + lxc_status.ROUTES + tasks.ROUTES
        + pools.ROUTES + qemu.ROUTES + qemu_agent.routes(profile) + snapshots.ROUTES + terminal.ROUTES
    )
