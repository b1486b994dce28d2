# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""`/version`, `/cluster/status`, `/cluster/resources` (pve-protocol.md 3.1-3.3)."""
from __future__ import annotations

from typing import Any

from pvesim.api.common import now, resource_entry
from pvesim.app import CallContext
from pvesim.model import Node
from pvesim.params import string
from pvesim.router import Perm, Route


def version(ctx: CallContext, params: dict[str, Any]) -> Any:
    """`{"version","release","repoid"}` of the release played (versions.py); no `console` key (datacenter.cfg has none, 3.1)."""
    profile = ctx.services.profile
    return {"version": profile.manager, "release": profile.release, "repoid": profile.repoid}


def cluster_status(ctx: CallContext, params: dict[str, Any]) -> Any:
    """Cluster entry first (only when clustered), then the nodes; standalone: one node with nodeid 0 (3.2)."""
    cluster = ctx.services.cluster
    result: list[dict[str, Any]] = []
    with cluster.lock:
        if cluster.name:
            result.append({
                "type": "cluster", "id": "cluster", "name": cluster.name, "nodes": len(cluster.nodes),
                "version": cluster.config_version, "quorate": cluster.quorate,
            })
        for node in cluster.nodes.values():
            result.append({
                "type": "node", "id": f"node/{node.name}", "name": node.name, "ip": node.ip,
                "nodeid": node.nodeid if cluster.name else 0,
                "local": 1 if node.name == ctx.local else 0,
                "online": 1 if node.online else 0,
                "level": "",
            })
    return result


def node_stats(ctx: CallContext, node: Node, moment: float, can_audit: bool) -> dict[str, Any]:
    """A node as API2Tools.pm `extract_node_stats` builds it from the broadcast (/cluster/resources and /nodes).

    Usage (uptime, cpu, mem, disk) only for an online node and with Sys.Audit; the limits (maxcpu, maxmem,
    maxdisk) and `level` whenever its broadcast exists, even once the node went offline.
    """
    entry: dict[str, Any] = {"id": f"node/{node.name}", "node": node.name, "type": "node", "status": "unknown"}
    stats = ctx.services.statd.node(node, moment)
    if stats is not None:
        if node.online:
            entry["status"] = "online"
            if can_audit:
                entry.update({key: stats[key] for key in ("uptime", "cpu", "mem", "disk")})
        entry["level"] = ""
        if can_audit:
            entry.update({key: stats[key] for key in ("maxcpu", "maxmem", "maxdisk")})
    if not node.online:
        entry["status"] = "offline"
    return entry


def _node_entries(ctx: CallContext, moment: float, can_audit: bool) -> list[dict[str, Any]]:
    result = []
    for node in ctx.services.cluster.nodes.values():
        entry = node_stats(ctx, node, moment, can_audit)
        entry["cgroup-mode"] = 2  # static-info of the node, present whatever its state
        result.append(entry)
    return result


def _storage_entries(ctx: CallContext) -> list[dict[str, Any]]:
    result = []
    for node in ctx.services.cluster.nodes.values():
        for storage, content, plugin, size in (("local", "iso,vztmpl,backup", "dir", 100), ("local-lvm", "images,rootdir", "lvmthin", 800)):
            entry: dict[str, Any] = {
                "id": f"storage/{node.name}/{storage}", "type": "storage", "node": node.name, "storage": storage,
                "status": "available" if node.online else "unknown", "content": content, "plugintype": plugin, "shared": 0,
            }
            if node.online:
                entry.update({"maxdisk": size * 1024 ** 3, "disk": size * 1024 ** 3 // 4})
            result.append(entry)
    return result


def resources(ctx: CallContext, params: dict[str, Any]) -> Any:
    """Guests (qemu and lxc), nodes, storage, pools; entries without VM.Audit are left out (3.3)."""
    kind = params.get("type")
    cluster = ctx.services.cluster
    identity = ctx.identity
    can_audit_pools = identity is not None and identity.has(("Pool.Audit",))
    moment = now()
    result: list[dict[str, Any]] = []
    with cluster.lock:
        if kind in (None, "vm"):
            for guest in cluster.guests.values():
                # Real PVE checks VM.Audit on /vms/<vmid>; privileges here are global, the filter stays honest.
                if identity is None or not identity.has(("VM.Audit",)):
                    continue
                stats = ctx.services.statd.guest(guest, moment)
                result.append(resource_entry(guest, can_audit_pools, stats))
        if kind in (None, "node"):
            result.extend(_node_entries(ctx, moment, identity is not None and identity.has(("Sys.Audit",))))
        if kind in (None, "storage") and identity is not None and identity.has(("Datastore.Audit",)):
            result.extend(_storage_entries(ctx))
        if kind is None and can_audit_pools:
            result.extend({"id": f"/pool/{p}", "type": "pool", "pool": p} for p in cluster.pools)
    return result


ROUTES = (
    Route("GET", "/version", version),
    Route("GET", "/cluster/status", cluster_status, perm=Perm("/", ("Sys.Audit",)), protected=True),
    Route("GET", "/cluster/resources", resources, params=(string("type", enum=("vm", "storage", "node", "sdn")),)),
)
