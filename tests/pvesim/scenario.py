# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Scenario documents (JSON, see README.md) -> a populated Cluster."""
from __future__ import annotations

import ipaddress
import json
import random
import uuid
from pathlib import Path
from typing import Any, Mapping

from pvesim import network
from pvesim.model import GIB, PVE_VERSION, Cluster, Guest, HaState, Node, Pool
from pvesim.rootshell import ROOT_SHELLS
from pvesim.stats import Usage

SCENARIO_DIR = Path(__file__).resolve().parent / "scenarios"

TOP_KEYS = frozenset(("cluster", "version", "nodes", "guests", "pools", "description"))
NODE_KEYS = frozenset(("name", "ip", "online", "cpus", "memory_gib", "disk_gib", "cpu_model", "root_shell"))
GUEST_KEYS = frozenset((
    "vmid", "node", "type", "name", "status", "net", "tags", "pool", "template", "lock", "ha", "systemd", "ostype",
    "extra_interfaces", "ignores_shutdown", "task_warnings", "memory", "cores", "startup", "swap", "disk_gib",
    "description", "onboot", "uptime", "agent", "agent_addresses",
))
QEMU_ONLY_KEYS = ("agent", "agent_addresses")


class ScenarioError(ValueError):
    """A scenario file that cannot be used; the message says which entry and key."""


def load_document(name_or_file: str) -> dict[str, Any]:
    """Read a scenario: a path to a JSON file, or the name of one in tests/pvesim/scenarios/."""
    path = Path(name_or_file)
    if not path.is_file():
        path = SCENARIO_DIR / f"{name_or_file}.json"
    if not path.is_file():
        raise ScenarioError(f"scenario '{name_or_file}' not found (no such file, and not in {SCENARIO_DIR})")
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ScenarioError(f"scenario '{path}': invalid JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise ScenarioError(f"scenario '{path}': the top level must be an object")
    return document


def _check_keys(where: str, entry: Mapping[str, Any], allowed: frozenset[str]) -> None:
    unknown = sorted(set(entry) - allowed)
    if unknown:
        raise ScenarioError(f"{where}: unknown key(s) {', '.join(unknown)}")


def build_cluster(document: Mapping[str, Any], now: float) -> Cluster:
    """Create the Cluster for a scenario document; deterministic apart from `now`."""
    _check_keys("scenario", document, TOP_KEYS)
    nodes = [_node(entry, index, now) for index, entry in enumerate(document.get("nodes", []))]
    names = {n.name for n in nodes}
    guests = []
    for entry in document.get("guests", []):
        _check_keys(f"guest {entry.get('vmid')}", entry, GUEST_KEYS)
        if entry.get("node") not in names:
            raise ScenarioError(f"guest {entry.get('vmid')}: unknown node '{entry.get('node')}'")
        guests.append(_guest(entry, now))
    if len({g.vmid for g in guests}) != len(guests):
        raise ScenarioError("duplicate vmid in scenario")
    pools = {p["poolid"]: Pool(p["poolid"], p.get("comment")) for p in document.get("pools", [])}
    for guest in guests:
        if guest.pool and guest.pool not in pools:
            pools[guest.pool] = Pool(guest.pool)
    for guest in guests:
        if guest.running:
            guest.pid = nodes[[n.name for n in nodes].index(guest.node)].alloc_pid()
    return Cluster(document.get("cluster"), nodes, guests, list(pools.values()), document.get("version", PVE_VERSION))


def _node(entry: Mapping[str, Any], index: int, now: float) -> Node:
    _check_keys(f"node {entry.get('name')}", entry, NODE_KEYS)
    shell = entry.get("root_shell", "bash")
    if shell not in ROOT_SHELLS:
        raise ScenarioError(f"node {entry.get('name')}: root_shell must be one of {', '.join(ROOT_SHELLS)}, got {shell!r}")
    rng = random.Random(f"node/{entry['name']}")
    return Node(
        name=entry["name"],
        ip=entry.get("ip", f"10.0.0.{11 + index}"),
        online=bool(entry.get("online", True)),
        nodeid=index + 1,
        cpus=int(entry.get("cpus", 16)),
        memory=int(entry.get("memory_gib", 64)) * GIB,
        disk=int(entry.get("disk_gib", 100)) * GIB,
        boot_time=now - rng.randint(3, 40) * 86400 - rng.randint(0, 86399),
        cpu_model=entry.get("cpu_model", "AMD EPYC 7302P 16-Core Processor"),
        usage=Usage(rng.randint(0, 1 << 30)),
        next_pid=rng.randint(2000, 900000),
        root_shell=shell,
    )


def _lxc_config(entry: Mapping[str, Any], vmid: int) -> dict[str, Any]:
    config: dict[str, Any] = {
        "arch": "amd64",
        "cores": int(entry.get("cores", 1)),
        "features": "nesting=1",
        "hostname": entry.get("name", f"CT{vmid}"),
        "memory": int(entry.get("memory", 512)),
        "ostype": entry.get("ostype", "debian"),
        "rootfs": f"local-lvm:vm-{vmid}-disk-0,size={int(entry.get('disk_gib', 8))}G",
        "swap": int(entry.get("swap", 512)),
        "unprivileged": 1,
    }
    for index, net in enumerate(entry.get("net", [])):
        try:
            config[f"net{index}"] = network.normalise_net(net, vmid, index)
        except ValueError as exc:
            raise ScenarioError(f"guest {vmid}: net{index}: {exc}") from exc
    optional = {
        "tags": ";".join(entry.get("tags", [])) or None,
        "lock": entry.get("lock"),
        "template": 1 if entry.get("template") else None,
        "startup": entry.get("startup"),
        "description": entry.get("description"),
        "onboot": int(entry["onboot"]) if "onboot" in entry else (1 if entry.get("status") == "running" else None),
    }
    config.update({k: v for k, v in optional.items() if v is not None})
    return config


def _qemu_config(entry: Mapping[str, Any], vmid: int) -> dict[str, Any]:
    # What the web UI's create wizard writes for a Linux VM (qm config), with stable per-vmid UUIDs.
    config: dict[str, Any] = {
        "name": entry.get("name", f"VM{vmid}"),
        "boot": "order=scsi0;net0",
        "cores": int(entry.get("cores", 2)),
        "cpu": "x86-64-v2-AES",
        "memory": int(entry.get("memory", 2048)),
        "numa": 0,
        "ostype": entry.get("ostype", "l26"),
        "scsi0": f"local-lvm:vm-{vmid}-disk-0,iothread=1,size={int(entry.get('disk_gib', 32))}G",
        "scsihw": "virtio-scsi-single",
        "smbios1": f"uuid={uuid.uuid5(uuid.NAMESPACE_URL, f'pvesim/qemu/{vmid}/smbios')}",
        "sockets": 1,
        "vmgenid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"pvesim/qemu/{vmid}/vmgenid")),
        "net0": f"virtio={network.default_hwaddr(vmid, 0)},bridge=vmbr0",
    }
    if entry.get("agent"):
        config["agent"] = "1"
    if entry.get("tags"):
        config["tags"] = ";".join(entry["tags"])
    if entry.get("lock"):
        config["lock"] = entry["lock"]
    if entry.get("template"):
        config["template"] = 1
    return config


def _ha(value: Any, status: str) -> HaState | None:
    if not value:
        return None
    group = value.get("group") if isinstance(value, dict) else "ha-group1"
    return HaState(group, "started" if status == "running" else "stopped")


def _guest(entry: Mapping[str, Any], now: float) -> Guest:
    vmid = int(entry["vmid"])
    kind = entry.get("type", "lxc")
    if kind not in ("lxc", "qemu"):
        raise ScenarioError(f"guest {vmid}: type must be lxc or qemu")
    status = entry.get("status", "stopped")
    if status not in ("running", "stopped"):
        raise ScenarioError(f"guest {vmid}: status must be running or stopped")
    if kind != "qemu" and any(key in entry for key in QEMU_ONLY_KEYS):
        raise ScenarioError(f"guest {vmid}: agent and agent_addresses are for qemu guests only")
    rng = random.Random(vmid)
    config = _lxc_config(entry, vmid) if kind == "lxc" else _qemu_config(entry, vmid)
    uptime = int(entry.get("uptime", rng.randint(3600, 30 * 86400)))
    return Guest(
        vmid=vmid,
        node=entry["node"],
        kind=kind,
        config=config,
        status=status,
        pool=entry.get("pool"),
        ha=_ha(entry.get("ha"), status),
        systemd=bool(entry.get("systemd", entry.get("ostype", "debian") != "alpine")),
        extra_interfaces=[dict(x) for x in entry.get("extra_interfaces", [])],
        ignores_shutdown=bool(entry.get("ignores_shutdown", False)),
        task_warnings=int(entry.get("task_warnings", 0)),
        started_at=now - uptime if status == "running" else None,
        usage=Usage(vmid * 7919 + 17),
        agent_addresses=_agent_addresses(entry, vmid),
    )


def _agent_addresses(entry: Mapping[str, Any], vmid: int) -> list[str]:
    addresses = entry.get("agent_addresses", [])
    if not isinstance(addresses, list):
        raise ScenarioError(f"guest {vmid}: agent_addresses must be a list of addr/prefix strings")
    try:
        return [str(ipaddress.ip_interface(str(a))) for a in addresses]
    except ValueError as exc:
        raise ScenarioError(f"guest {vmid}: agent_addresses: {exc}") from exc
