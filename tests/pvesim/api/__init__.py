# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The simulated API methods, one module per PVE API area; `build_routes()` assembles the table."""
from __future__ import annotations

from pvesim.router import RouteTable


def build_routes() -> RouteTable:
    """Every route the simulator serves (the contract test walks this table)."""
    from pvesim.api import access, cluster, lxc, lxc_status, network, nodes, pools, qemu, qemu_agent, snapshots, tasks, terminal

    return RouteTable(
        access.ROUTES + cluster.ROUTES + nodes.ROUTES + network.ROUTES + lxc.ROUTES + lxc_status.ROUTES + tasks.ROUTES + pools.ROUTES
        + qemu.ROUTES + qemu_agent.ROUTES + snapshots.ROUTES + terminal.ROUTES
    )
