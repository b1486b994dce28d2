# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""`GET /nodes`, `/nodes/{node}/status`, `/time`, `/journal` and `/syslog` (pve-protocol.md 3.4, 3.10, 3.11)."""
from __future__ import annotations

import gzip
import hashlib
import json
import os
import time
from typing import Any

from pvesim.api.cluster import node_stats
from pvesim.api.common import NODE, now
from pvesim.app import CallContext
from pvesim.errors import die
from pvesim.httpmsg import HttpResponse
from pvesim.journal import SERVICE_ALIASES, Filters, parse_priority
from pvesim.params import ParamSpec, boolean, integer, string
from pvesim.pvestatd import node_usage
from pvesim.router import Perm, Route
from pvesim.stats import load_averages
from pvesim.versions import PveVersion


def node_fingerprint(ctx: CallContext, name: str) -> str:
    """The SHA-256 fingerprint of a node's pve-ssl.pem: the served certificate's for the answering node; every other
    node has a certificate of its own (a stable stand-in here, since one server plays them all)."""
    if name == ctx.services.cluster.local_node.name:
        return ctx.services.fingerprint
    digest = hashlib.sha256(f"pvesim/pve-ssl/{name}".encode()).hexdigest().upper()
    return ":".join(digest[i:i + 2] for i in range(0, 64, 2))


def index(ctx: CallContext, params: dict[str, Any]) -> Any:
    """Every node as `extract_node_stats` builds it, plus `ssl_fingerprint` for every node (Nodes.pm `index`)."""
    cluster = ctx.services.cluster
    can_audit = ctx.identity is not None and ctx.identity.has(("Sys.Audit",))
    moment = now()
    result = []
    with cluster.lock:
        for node in cluster.nodes.values():
            entry = node_stats(ctx, node, moment, can_audit)
            # get_node_fingerprint reads /etc/pve/nodes/<node>/pve-ssl.pem: there for offline nodes too.
            entry["ssl_fingerprint"] = node_fingerprint(ctx, node.name)
            result.append(entry)
    return result


def node_time(ctx: CallContext, params: dict[str, Any]) -> Any:
    """`{timezone, time, localtime}`: `localtime` is the epoch shifted by the zone offset (timegm(localtime($ctime)))."""
    moment = int(time.time())
    local = time.localtime(moment)
    return {"timezone": _timezone(), "time": moment, "localtime": moment + (local.tm_gmtoff or 0)}


def _timezone() -> str:
    """The zone the simulator's clock renders in (TZ, else /etc/timezone, else UTC) as PVE::Systemd::get_timezone does."""
    zone = os.environ.get("TZ", "").lstrip(":")
    if zone:
        return zone
    try:
        with open("/etc/timezone", encoding="utf-8") as handle:
            return handle.read().strip() or "UTC"
    except OSError:
        return "UTC"


def status(ctx: CallContext, params: dict[str, Any]) -> Any:
    """The node status object; `loadavg` strings, `cpuinfo.mhz` string, ints for memory (3.4)."""
    cluster = ctx.services.cluster
    profile = ctx.services.profile
    moment = now()
    with cluster.lock:
        node = cluster.nodes[ctx.node]
        used = node_usage(node, cluster.guests_on(node.name), moment)
    swap_total = 8 * 1024 ** 3
    release, kernel = profile.kernel_release, profile.kernel_version
    return {
        "uptime": used["uptime"],
        "idle": 0,
        "cpu": used["cpu"],
        "wait": round(used["cpu"] * 0.05, 6),
        "loadavg": load_averages(moment, node.nodeid),
        "kversion": f"Linux {release} {kernel}",
        "current-kernel": {"sysname": "Linux", "release": release, "version": kernel, "machine": "x86_64"},
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
        "pveversion": f"pve-manager/{profile.manager}/{profile.repoid}",
    }


def journal(ctx: CallContext, params: dict[str, Any]) -> Any:
    """Streamed JSON, always gzip; first/last elements are cursors (3.10). The reader's refusals are an empty body."""
    filters = None
    if ctx.services.profile.journal_filters:
        unit = params.get("unit")
        filters = Filters(
            unit=SERVICE_ALIASES.get(unit, unit) if unit is not None else None,
            priority=parse_priority(params.get("priority") or ""),
            identifier=params.get("service"),
            kernel=bool(params.get("kernel")),
        )
    structured = bool(params.get("structured"))
    lines = ctx.services.journal(ctx.node).query(
        lastentries=params.get("lastentries"), since=params.get("since"), until=params.get("until"),
        startcursor=params.get("startcursor"), endcursor=params.get("endcursor"), filters=filters, structured=structured,
    )
    if lines is not None and structured and len(lines) >= 2:
        lines[-1:-1] = _completion_records(lines, params)
    raw = b"" if lines is None else json.dumps({"data": lines}, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return HttpResponse(200, "OK", gzip.compress(raw), "application/json", always_gzip=True, stream=True)


def _completion_records(lines: list[Any], params: dict[str, Any]) -> list[dict[str, Any]]:
    # `identifiers`/`units` (718f9675, 551e13cd): "also return a record listing the distinct ... present", only with
    # `structured`. The record's shape is inferred from the description.
    entries = [item for item in lines if isinstance(item, dict)]
    records: list[dict[str, Any]] = []
    if params.get("identifiers"):
        records.append({"identifiers": sorted({str(e["identifier"]) for e in entries})})
    if params.get("units"):
        records.append({"units": sorted({str(e["unit"]) for e in entries if e.get("unit")})})
    return records


SYSLOG_TIME = r"^\d{4}-\d{2}-\d{2}( \d{2}:\d{2}(:\d{2})?)?$"


def _local_time(text: str) -> float:
    """`YYYY-MM-DD[ HH:MM[:SS]]` in the node's local time, as journalctl --since/--until read it."""
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            return time.mktime(time.strptime(text, fmt))
        except ValueError:
            continue
    raise die(f"Failed to parse timestamp: {text}")


def syslog(ctx: CallContext, params: dict[str, Any]) -> Any:
    """pve-common Tools.pm `dump_journal`: journalctl's lines from the oldest (`-- Boot ...` and `-- No entries --`
    included), `n` counts from 1 over all of them, `limit` 0 means 50, `start` skips (3.11)."""
    service = params.get("service")
    lines = ctx.services.journal(ctx.node).syslog(
        since=_local_time(params["since"]) if params.get("since") else None,
        until=_local_time(params["until"]) if params.get("until") else None,
        service=SERVICE_ALIASES.get(service, service) if service else None,
    )
    start = params.get("start") or 0
    limit = params.get("limit") or 50
    if not lines:
        # Only when journalctl printed nothing at all: "ExtJS store.guaranteeRange() does not like empty array".
        ctx.total = 1
        return [{"n": 1, "t": "no content"}]
    ctx.total = len(lines)
    return [{"n": index + 1, "t": lines[index]} for index in range(start, min(start + limit, len(lines)))]


JOURNAL_PARAMS: tuple[ParamSpec, ...] = (
    string("endcursor"),
    integer("lastentries", minimum=0),
    NODE,
    integer("since", minimum=0),
    string("startcursor"),
    integer("until", minimum=0),
)
# pve-manager 9.2.4 (versions.py `journal_filters`); before, any of them is a 400 "property is not defined in schema ...".
JOURNAL_FILTER_PARAMS: tuple[ParamSpec, ...] = (
    boolean("identifiers"),
    boolean("kernel"),
    string("priority", pattern=r"^([0-7](\.\.[0-7])?)?$"),
    string("service", max_length=128, pattern=r"^[A-Za-z0-9_.@:*?!\[\]\/-]+$"),
    boolean("structured"),
    string("unit", max_length=256, pattern=r"^[A-Za-z0-9_.@:-]+$"),
    boolean("units"),
)


def routes(profile: PveVersion) -> tuple[Route, ...]:
    """The node routes of one release: the journal's parameters depend on it."""
    journal_params = JOURNAL_PARAMS + (JOURNAL_FILTER_PARAMS if profile.journal_filters else ())
    return (
        Route("GET", "/nodes", index),
        Route("GET", "/nodes/{node}/status", status, params=(NODE,), perm=Perm("/nodes/{node}", ("Sys.Audit",)), proxyto="node"),
        Route("GET", "/nodes/{node}/time", node_time, params=(NODE,), perm=Perm("/nodes/{node}", ("Sys.Audit",)), proxyto="node"),
        Route("GET", "/nodes/{node}/journal", journal, params=journal_params,
              perm=Perm("/nodes/{node}", ("Sys.Syslog",)), protected=True, proxyto="node"),
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
