# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Clusters, nodes and guests: who is where.

A :class:`Cluster` wraps one API endpoint (``/version``, ``/cluster/status``,
``/cluster/resources``); a :class:`NodePool` holds one or more clusters and answers "which
cluster owns node X" with explicit errors for unknown and ambiguous names; :func:`find_guest`
resolves a container by vmid or name. Facts: pve-protocol.md §3.1–§3.3.
"""

from __future__ import annotations

import dataclasses
import typing as t

from ansible_collections.pveops.proxmox.plugins.module_utils._api import ApiClient, api_path
from ansible_collections.pveops.proxmox.plugins.module_utils._errors import Ambiguous, NotFound


@dataclasses.dataclass(frozen=True)
class NodeInfo:
    """One node of ``/cluster/status``."""

    name: str
    ip: str | None
    online: bool
    local: bool
    nodeid: int
    cluster: str


@dataclasses.dataclass(frozen=True)
class ClusterInfo:
    """The answer of ``/cluster/status``."""

    name: str  # the cluster name; a standalone node names the cluster after itself
    quorate: bool
    standalone: bool
    nodes: tuple[NodeInfo, ...]

    def node(self, name: str) -> NodeInfo | None:
        """The node called ``name``, if this cluster has it."""
        for node in self.nodes:
            if node.name == name:
                return node
        return None


@dataclasses.dataclass
class Guest:
    """A container or VM as ``/cluster/resources?type=vm`` describes it (§3.3)."""

    vmid: int
    type: str  # lxc | qemu
    node: str
    status: str  # running | stopped | unknown (no data from an offline node)
    name: str | None
    tags: list[str]
    pool: str | None
    template: bool
    lock: str | None
    uptime: int
    hastate: str | None
    cluster: str
    resource: dict[str, t.Any] = dataclasses.field(repr=False)
    ips: list[str] = dataclasses.field(default_factory=list)
    ip_warnings: list[str] = dataclasses.field(default_factory=list, repr=False)
    """Why ``ips`` may be incomplete (set by the address discovery, reported by its callers)."""

    @classmethod
    def from_resource(cls, entry: t.Mapping[str, t.Any], cluster: str) -> Guest:
        """Build a guest from one resource entry; tolerant of fields that are absent for ``unknown``."""
        tags = [tag for tag in str(entry.get("tags") or "").replace(",", ";").replace(" ", ";").split(";") if tag]
        return cls(
            vmid=int(entry["vmid"]),
            type=str(entry.get("type") or str(entry.get("id", "/")).split("/", 1)[0]),
            node=str(entry.get("node")),
            status=str(entry.get("status") or "unknown"),
            name=entry.get("name"),
            tags=tags,
            pool=entry.get("pool") or None,
            template=bool(int(entry.get("template") or 0)),
            lock=entry.get("lock") or None,
            uptime=int(entry.get("uptime") or 0),
            hastate=entry.get("hastate") or None,
            cluster=cluster,
            resource=dict(entry),
        )

    def describe(self) -> str:
        """``container 101 (web) on pve1`` — for messages."""
        kind = "container" if self.type == "lxc" else "VM"
        label = f" ({self.name})" if self.name else ""
        return f"{kind} {self.vmid}{label} on {self.node}"

    def facts(self) -> dict[str, t.Any]:
        """The documented per-guest result of the info module and the lookups."""
        return {
            "vmid": self.vmid,
            "name": self.name,
            "node": self.node,
            "type": self.type,
            "status": self.status,
            "tags": list(self.tags),
            "pool": self.pool,
            "template": self.template,
            "lock": self.lock,
            "uptime": self.uptime,
            "ips": list(self.ips),
            "cluster": self.cluster,
        }


class Cluster:
    """One Proxmox VE cluster (or standalone node) reached through one API client."""

    def __init__(self, client: ApiClient) -> None:
        self.client = client
        self._info: ClusterInfo | None = None

    def info(self) -> ClusterInfo:
        """Name and membership, read once per :class:`Cluster`."""
        if self._info is None:
            self._info = parse_cluster_status(self.client.get("/cluster/status") or [])
        return self._info

    def version(self) -> str:
        """The PVE version of the answering node (``/version``)."""
        answer = self.client.get("/version") or {}
        return str(answer.get("version") or "")

    @property
    def name(self) -> str:
        """The cluster name (the node name for a standalone node)."""
        return self.info().name

    def check_node(self, node: str | None) -> None:
        """Raise NotFound, listing the nodes there are, when ``node`` is given and not in the cluster."""
        if node is not None and self.info().node(node) is None:
            available = ", ".join(known.name for known in self.info().nodes) or "none"
            raise NotFound(f"node {node!r} not found; available nodes: {available}")

    def find_container(self, vmid: int | None, name: str | None, node: str | None) -> Guest:
        """The one container with this vmid or name (on ``node`` when given); NotFound or Ambiguous otherwise."""
        self.check_node(node)
        return find_guest(self.guests("lxc"), vmid=vmid, name=name, node=node)

    def guests(self, kind: str | None = "lxc") -> list[Guest]:
        """All guests of the cluster, ``kind`` ``lxc``, ``qemu`` or ``None`` for both; one request."""
        entries = self.client.get("/cluster/resources", {"type": "vm"}) or []
        name = self.name
        guests = [Guest.from_resource(entry, name) for entry in entries if isinstance(entry, dict) and "vmid" in entry]
        if kind is not None:
            guests = [guest for guest in guests if guest.type == kind]
        return sorted(guests, key=lambda guest: guest.vmid)

    def node_path(self, node: str, *segments: t.Any) -> str:
        """``/nodes/<node>/<segments…>`` with every segment quoted."""
        return api_path("nodes", node, *segments)


def parse_cluster_status(entries: t.Iterable[t.Mapping[str, t.Any]]) -> ClusterInfo:
    """Turn ``/cluster/status`` into a :class:`ClusterInfo` (§3.2).

    A standalone node has no ``cluster`` entry; it then names the cluster after itself,
    because the constant id ``cluster`` identifies nothing (§6.2 item 22).
    """
    cluster_entry = None
    raw_nodes = []
    for entry in entries:
        if entry.get("type") == "cluster":
            cluster_entry = entry
        elif entry.get("type") == "node":
            raw_nodes.append(entry)
    if cluster_entry is not None:
        name = str(cluster_entry.get("name"))
        quorate = bool(int(cluster_entry.get("quorate") or 0))
    else:
        name = str(raw_nodes[0].get("name")) if raw_nodes else "standalone"
        quorate = True
    nodes = tuple(
        NodeInfo(
            name=str(entry.get("name")),
            ip=entry.get("ip") or None,
            online=bool(int(entry.get("online") or 0)),
            local=bool(int(entry.get("local") or 0)),
            nodeid=int(entry.get("nodeid") or 0),
            cluster=name,
        )
        for entry in sorted(raw_nodes, key=lambda item: str(item.get("name")))
    )
    return ClusterInfo(name=name, quorate=quorate, standalone=cluster_entry is None, nodes=nodes)


class NodePool:
    """Several clusters addressed by node name (the seed's global node pool, without globals)."""

    def __init__(self, clusters: t.Iterable[Cluster] = ()) -> None:
        self.clusters: list[Cluster] = list(clusters)

    def add(self, cluster: Cluster) -> None:
        """Add a cluster."""
        self.clusters.append(cluster)

    def node_names(self) -> list[str]:
        """Every node name of every cluster, sorted."""
        return sorted({node.name for cluster in self.clusters for node in cluster.info().nodes})

    def cluster_of(self, node: str) -> Cluster:
        """The cluster that has ``node``.

        Raises NotFound listing the available nodes, or Ambiguous when two clusters have a
        node of that name (node names are unique only within a cluster).
        """
        owners = [cluster for cluster in self.clusters if cluster.info().node(node) is not None]
        if not owners:
            available = ", ".join(self.node_names()) or "none"
            raise NotFound(f"node {node!r} not found; available nodes: {available}")
        if len(owners) > 1:
            where = ", ".join(f"{cluster.name} ({cluster.client.config.base_url})" for cluster in owners)
            raise Ambiguous(f"node {node!r} exists in more than one cluster: {where}; configure one cluster per task")
        return owners[0]


def select_guests(guests: t.Iterable[Guest], vmid: int | None = None, name: str | None = None,
                  node: str | None = None) -> list[Guest]:
    """Guests matching every given filter (``None`` = no filter)."""
    return [
        guest for guest in guests
        if (vmid is None or guest.vmid == vmid)
        and (name is None or guest.name == name)
        and (node is None or guest.node == node)
    ]


def find_guest(guests: t.Sequence[Guest], vmid: int | None = None, name: str | None = None,
               node: str | None = None, kind: str = "container") -> Guest:
    """Resolve exactly one guest by vmid or name (optionally on ``node``).

    Raises NotFound (see :func:`no_match`) or Ambiguous (listing every candidate with its node).
    """
    if vmid is None and name is None:
        raise NotFound(f"a {kind} needs a vmid or a name")
    matches = select_guests(guests, vmid=vmid, name=name, node=node)
    if not matches:
        raise no_match(guests, vmid=vmid, name=name, node=node, kind=kind)
    if len(matches) > 1:
        listing = "; ".join(f"vmid {guest.vmid} on {guest.node}" for guest in matches)
        raise Ambiguous(f"{guest_label(vmid, name, kind)} is ambiguous: {listing}; use vmid instead")
    return matches[0]


def guest_label(vmid: int | None, name: str | None, kind: str = "container") -> str:
    """``container 101`` or ``container named 'web'``: how every message names what was asked for."""
    return f"{kind} {vmid}" if vmid is not None else f"{kind} named {name!r}"


def no_match(guests: t.Sequence[Guest], vmid: int | None = None, name: str | None = None,
             node: str | None = None, kind: str = "container") -> NotFound:
    """Why no guest has all of the given vmid, name and node — the one wording of "not found" of every module.

    A vmid and a name that belong to different guests (or a name nobody has) are reported as
    disagreeing, not as a missing vmid; a guest that exists on another node is reported with
    where it is.
    """
    if vmid is not None and name is not None:
        by_vmid = select_guests(guests, vmid=vmid)
        if by_vmid:
            by_name = select_guests(guests, name=name)
            named = ", ".join(guest.describe() for guest in by_name) if by_name else f"no {kind} has it"
            return NotFound(f"vmid {vmid} and name {name!r} disagree: vmid {vmid} is {by_vmid[0].describe()}, "
                            f"name {name!r}: {named}; give only one of them")
    label = guest_label(vmid, name, kind)
    elsewhere = select_guests(guests, vmid=vmid, name=name)
    if node is not None and elsewhere:
        return NotFound(f"{label} is not on node {node!r} (found: {', '.join(guest.describe() for guest in elsewhere)})")
    return NotFound(f"{label} not found in the cluster")
