# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Resource pools: `GET /pools` (PVE 9: `?poolid=`) and the deprecated `GET /pools/{poolid}`."""
from __future__ import annotations

from typing import Any

from pvesim.api.common import now, resource_entry
from pvesim.app import CallContext
from pvesim.errors import die
from pvesim.model import Pool
from pvesim.params import string
from pvesim.router import Perm, Route

TYPES = ("qemu", "lxc", "storage")


def _members(ctx: CallContext, pool: Pool, kind: str | None) -> list[dict[str, Any]]:
    cluster = ctx.services.cluster
    moment = now()
    statd = ctx.services.statd
    return [
        resource_entry(g, True, statd.guest(g, moment))
        for g in cluster.guests.values()
        if g.pool == pool.poolid and kind in (None, g.kind)
    ]


def _describe(pool: Pool) -> dict[str, Any]:
    entry: dict[str, Any] = {"poolid": pool.poolid}
    if pool.comment:
        entry["comment"] = pool.comment
    return entry


def index(ctx: CallContext, params: dict[str, Any]) -> Any:
    """Pools the caller may audit; with `poolid` that one pool including `members`."""
    cluster = ctx.services.cluster
    with cluster.lock:
        if params.get("poolid"):
            pool = cluster.pools.get(params["poolid"])
            if pool is None:
                raise die(f"pool '{params['poolid']}' does not exist")
            ctx.require(f"/pool/{pool.poolid}", ("Pool.Audit",))
            return [dict(_describe(pool), members=_members(ctx, pool, params.get("type")))]
        if ctx.identity is None or not ctx.identity.has(("Pool.Audit",)):
            return []
        return [_describe(p) for p in cluster.pools.values()]


def read_pool(ctx: CallContext, params: dict[str, Any]) -> Any:
    """`{"members": [...], "comment": ...}` of one pool."""
    cluster = ctx.services.cluster
    with cluster.lock:
        pool = cluster.pools.get(params["poolid"])
        if pool is None:
            raise die(f"pool '{params['poolid']}' does not exist")
        result: dict[str, Any] = {"members": _members(ctx, pool, params.get("type"))}
        if pool.comment:
            result["comment"] = pool.comment
        return result


ROUTES = (
    Route("GET", "/pools", index, params=(string("poolid", fmt="pve-poolid"), string("type", enum=TYPES, requires="poolid"))),
    Route(
        "GET", "/pools/{poolid}", read_pool,
        params=(string("poolid", optional=False, fmt="pve-poolid"), string("type", enum=TYPES)),
        perm=Perm("/pool/{poolid}", ("Pool.Audit",)),
    ),
)
