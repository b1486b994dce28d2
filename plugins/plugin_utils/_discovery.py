# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this plugin util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""What the inventory and the lookups know about clusters: nodes, guests and their addresses.

One snapshot per set of endpoints: ``/cluster/status`` and ``/cluster/resources`` per cluster
(the two listing requests), then one address lookup per guest, run concurrently with a bound
and spread over the nodes. Address records of an earlier snapshot are reused when the guest's
status is unchanged and it has not restarted (its uptime did not go down), so a refresh where
nothing changed costs the two listings only. A node that does not answer never aborts the
snapshot: its guests stay with what the listing says and a warning explains why.
"""

from __future__ import annotations

import time
import typing as t

from ansible_collections.pveops.proxmox.plugins.module_utils._api import ApiClient
from ansible_collections.pveops.proxmox.plugins.module_utils._cluster import Cluster, Guest
from ansible_collections.pveops.proxmox.plugins.module_utils._errors import PveError
from ansible_collections.pveops.proxmox.plugins.module_utils._guest_ips import can_look_up, discover_ips

Snapshot = t.Dict[str, t.Any]
Records = t.Dict[str, t.Dict[str, t.Any]]


def record_key(cluster: str, guest_type: str, vmid: int) -> str:
    """Key of an address record."""
    return f"{cluster}/{guest_type}/{vmid}"


def _reusable(record: t.Mapping[str, t.Any] | None, guest: Guest, max_age: float, now: float) -> bool:
    if not record or now - float(record.get("at", 0)) > max_age:
        return False
    if record.get("status") != guest.status:
        return False
    # A running guest whose uptime went down has restarted: DHCP may have given it a new address.
    return guest.status != "running" or int(record.get("uptime", 0)) <= guest.uptime


def discover_addresses(client: ApiClient, guests: t.Sequence[Guest], concurrency: int, previous: Records, max_age: float,
                       want_qemu: bool) -> tuple[Records, dict[str, list[str]]]:
    """Fill ``guest.ips``; return the new records and the failures grouped by node."""
    now = time.time()
    records: Records = {}
    todo: list[Guest] = []
    for guest in guests:
        if not can_look_up(guest) or (guest.type == "qemu" and not want_qemu):
            continue
        key = record_key(guest.cluster, guest.type, guest.vmid)
        if _reusable(previous.get(key), guest, max_age, now):
            guest.ips = list(previous[key]["ips"])
            records[key] = dict(previous[key], uptime=guest.uptime)
        else:
            todo.append(guest)
    errors = discover_ips(client, todo, concurrency)
    failures: dict[str, list[str]] = {}
    for guest in todo:
        if guest.vmid in errors:
            failures.setdefault(guest.node, []).append(f"{guest.vmid}: {errors[guest.vmid]}")
        else:
            # Addresses that may be incomplete are not cached: the next run asks again.
            if guest.ip_warnings:
                failures.setdefault(guest.node, []).extend(guest.ip_warnings)
                continue
            records[record_key(guest.cluster, guest.type, guest.vmid)] = {
                "status": guest.status, "uptime": guest.uptime, "ips": guest.ips, "at": now}
    return records, failures


def snapshot(clients: t.Sequence[ApiClient], want_qemu: bool = False, want_ips: bool = True, concurrency: int = 16,
             previous: Records | None = None, max_age: float = 300.0) -> Snapshot:
    """Nodes and guests of every endpoint, JSON-serialisable for the inventory cache.

    ``warnings`` says what could not be read; ``unread`` counts the guests whose addresses are unknown for that reason.
    """
    result: Snapshot = {"clusters": [], "records": {}, "warnings": [], "unread": 0, "taken": time.time()}
    for client in clients:
        cluster = Cluster(client)
        try:
            info = cluster.info()
            guests = cluster.guests(kind=None)
        except PveError as exc:
            # With several clusters, one that cannot be read must not hide the others; with one,
            # an empty inventory would hide the error, so it is raised.
            if len(clients) == 1:
                raise
            result["warnings"].append(f"cluster at {client.config.base_url} could not be read and is left out: {exc}")
            continue
        for node in info.nodes:
            if not node.online:
                unknown = [guest.vmid for guest in guests if guest.node == node.name]
                result["warnings"].append(
                    f"node {node.name} of cluster {info.name} is offline; its {len(unknown)} guest(s) have no status, name or addresses")
        if want_ips:
            records, failures = discover_addresses(client, guests, concurrency, previous or {}, max_age, want_qemu)
            result["records"].update(records)
            for node_name, problems in sorted(failures.items()):
                result["unread"] += len(problems)
                result["warnings"].append(f"node {node_name}: addresses of {len(problems)} guest(s) could not be read or are incomplete: "
                                          + "; ".join(problems[:3]) + (" …" if len(problems) > 3 else ""))
        result["clusters"].append({
            "name": info.name,
            "url": client.config.base_url,
            "standalone": info.standalone,
            "quorate": info.quorate,
            "nodes": [{"name": node.name, "ip": node.ip, "online": node.online, "nodeid": node.nodeid} for node in info.nodes],
            "guests": [dict(guest.facts(), hastate=guest.hastate, maxmem=int(guest.resource.get("maxmem") or 0),
                            maxcpu=guest.resource.get("maxcpu"), maxdisk=int(guest.resource.get("maxdisk") or 0))
                       for guest in guests],
        })
    if clients and not result["clusters"]:
        raise PveError("no cluster could be read: " + "; ".join(result["warnings"]))
    return result


# Snapshots taken in this controller process, so that lookups called for every host of a
# play do not rediscover the cluster each time.
_MEMO: dict[tuple[t.Any, ...], tuple[float, Snapshot]] = {}
MEMO_TTL = 60.0


def memoized_snapshot(key: tuple[t.Any, ...], take: t.Callable[[], Snapshot], ttl: float = MEMO_TTL) -> Snapshot:
    """The snapshot for ``key`` taken in this process within ``ttl`` seconds, or a new one."""
    now = time.monotonic()
    found = _MEMO.get(key)
    if found is not None and now - found[0] < ttl:
        return found[1]
    taken = take()
    _MEMO[key] = (now, taken)
    return taken
