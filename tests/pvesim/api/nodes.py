# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""`GET /nodes`, `/nodes/{node}/status` and `/nodes/{node}/journal` (pve-protocol.md 3.4, 3.10)."""
from __future__ import annotations

import gzip
import json
import time
from typing import Any

from pvesim.api.common import NODE, node_usage, now
from pvesim.app import CallContext
from pvesim.errors import die
from pvesim.httpmsg import HttpResponse
from pvesim.model import KERNEL_RELEASE, KERNEL_VERSION, REPOID
from pvesim.params import integer, string
from pvesim.router import Perm, Route
from pvesim.stats import load_averages


def index(ctx: CallContext, params: dict[str, Any]) -> Any:
    """All cluster nodes with status; stats only for callers with Sys.Audit."""
    cluster = ctx.services.cluster
    can_audit = ctx.identity is not None and ctx.identity.has(("Sys.Audit",))
    moment = now()
    result = []
    with cluster.lock:
        for node in cluster.nodes.values():
            entry: dict[str, Any] = {"node": node.name, "id": f"node/{node.name}", "type": "node", "status": "online" if node.online else "offline"}
            if node.online and can_audit:
                entry.update(node_usage(node, cluster.guests_on(node.name), moment))
                entry.update({"level": "", "ssl_fingerprint": ctx.services.fingerprint})
                entry.pop("disk")
                entry.pop("maxdisk")
            result.append(entry)
    return result


def status(ctx: CallContext, params: dict[str, Any]) -> Any:
    """The node status object; `loadavg` strings, `cpuinfo.mhz` string, ints for memory (3.4)."""
    cluster = ctx.services.cluster
    moment = now()
    with cluster.lock:
        node = cluster.nodes[ctx.node]
        used = node_usage(node, cluster.guests_on(node.name), moment)
    swap_total = 8 * 1024 ** 3
    return {
        "uptime": used["uptime"],
        "idle": 0,
        "cpu": used["cpu"],
        "wait": round(used["cpu"] * 0.05, 6),
        "loadavg": load_averages(moment, node.nodeid),
        "kversion": f"Linux {KERNEL_RELEASE} {KERNEL_VERSION}",
        "current-kernel": {"sysname": "Linux", "release": KERNEL_RELEASE, "version": KERNEL_VERSION, "machine": "x86_64"},
        "boot-info": {"mode": "efi", "secureboot": 0},
        "cpuinfo": {
            "model": node.cpu_model, "vendor": "AuthenticAMD", "family": "23", "mhz": "2999.999", "cpus": node.cpus,
            "sockets": 1, "cores": max(1, node.cpus // 2), "flags": "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr",
            "hvm": "1", "user_hz": 100,
        },
        "memory": {"total": node.memory, "used": used["mem"], "free": node.memory - used["mem"], "available": node.memory - used["mem"]},
        "swap": {"total": swap_total, "used": 0, "free": swap_total},
        "ksm": {"shared": 0},
        "rootfs": {"total": node.disk, "used": used["disk"], "avail": node.disk - used["disk"], "free": node.disk - used["disk"]},
        "pveversion": f"pve-manager/{cluster.version}/{REPOID}",
    }


def journal(ctx: CallContext, params: dict[str, Any]) -> Any:
    """Streamed JSON, always gzip; first/last elements are cursors (3.10)."""
    lines = ctx.services.journal(ctx.node).query(
        lastentries=params.get("lastentries"), since=params.get("since"), until=params.get("until"),
        startcursor=params.get("startcursor"), endcursor=params.get("endcursor"),
    )
    raw = b"" if lines is None else json.dumps({"data": lines}, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return HttpResponse(200, "OK", gzip.compress(raw), "application/json", always_gzip=True, stream=True)


SYSLOG_TIME = r"^\d{4}-\d{2}-\d{2}( \d{2}:\d{2}(:\d{2})?)?$"
# Nodes.pm maps these service names to their real units before calling journalctl (3.11).
SERVICE_ALIASES = {"sshd": "ssh", "postfix": "postfix@-"}


def _local_time(text: str) -> float:
    """`YYYY-MM-DD[ HH:MM[:SS]]` in the node's local time, as journalctl --since/--until read it."""
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            return time.mktime(time.strptime(text, fmt))
        except ValueError:
            continue
    raise die(f"Failed to parse timestamp: {text}")


def syslog(ctx: CallContext, params: dict[str, Any]) -> Any:
    """`dump_journal`: lines from the oldest, `n` counts from 1 over all matches, `limit` 0 means 50 (3.11)."""
    service = params.get("service")
    lines = ctx.services.journal(ctx.node).syslog(
        since=_local_time(params["since"]) if params.get("since") else None,
        until=_local_time(params["until"]) if params.get("until") else None,
        service=SERVICE_ALIASES.get(service, service) if service else None,
    )
    start = params.get("start") or 0
    limit = params.get("limit") or 50
    if not lines:
        # "ExtJS store.guaranteeRange() does not like empty array" - so there is always one line.
        ctx.total = 1
        return [{"n": 1, "t": "no content"}]
    ctx.total = len(lines)
    return [{"n": index + 1, "t": lines[index]} for index in range(start, min(start + limit, len(lines)))]


ROUTES = (
    Route("GET", "/nodes", index),
    Route("GET", "/nodes/{node}/status", status, params=(NODE,), perm=Perm("/nodes/{node}", ("Sys.Audit",)), proxyto="node"),
    Route(
        "GET", "/nodes/{node}/journal", journal,
        params=(
            string("endcursor"),
            integer("lastentries", minimum=0),
            NODE,
            integer("since", minimum=0),
            string("startcursor"),
            integer("until", minimum=0),
        ),
        perm=Perm("/nodes/{node}", ("Sys.Syslog",)), protected=True, proxyto="node",
    ),
    Route(
        "GET", "/nodes/{node}/syslog", syslog,
        params=(
            integer("limit", minimum=0),
            NODE,
            string("service", max_length=128),
            string("since", pattern=SYSLOG_TIME),
            integer("start", minimum=0),
            string("until", pattern=SYSLOG_TIME),
        ),
        perm=Perm("/nodes/{node}", ("Sys.Syslog",)), protected=True, proxyto="node",
    ),
)
