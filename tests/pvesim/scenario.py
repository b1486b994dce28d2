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
from pvesim.formats import FormatError, check_format, parse_startup
from pvesim.model import GIB, PVE_VERSION, Cluster, Guest, HaState, Node, Pool
from pvesim.rootshell import ROOT_SHELLS
from pvesim.stats import Usage
from pvesim.versions import DEFAULT_NAME, PveVersion, find_profile

SCENARIO_DIR = Path(__file__).resolve().parent / "scenarios"

TOP_KEYS = frozenset(("cluster", "version", "nodes", "guests", "pools", "description"))
NODE_KEYS = frozenset(("name", "ip", "online", "cpus", "memory_gib", "disk_gib", "cpu_model", "root_shell"))
GUEST_KEYS = frozenset((
    "vmid", "node", "type", "name", "status", "net", "tags", "pool", "template", "lock", "ha", "systemd", "ostype",
    "extra_interfaces", "ignores_shutdown", "task_warnings", "memory", "cores", "startup", "swap", "disk_gib",
    "description", "onboot", "uptime", "agent", "agent_addresses", "entrypoint", "env",
))
QEMU_ONLY_KEYS = ("agent", "agent_addresses")
# pve-container LXC/Config.pm and qemu-server QemuConfig `lock` enums.
LXC_LOCKS = ("backup", "create", "destroyed", "disk", "fstrim", "migrate", "mounted", "rollback", "snapshot", "snapshot-delete")
QEMU_LOCKS = ("backup", "clone", "create", "migrate", "rollback", "snapshot", "snapshot-delete", "suspending", "suspended")
LXC_OSTYPES = ("debian", "devuan", "ubuntu", "centos", "fedora", "opensuse", "archlinux", "alpine", "gentoo", "nixos", "unmanaged")


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


def profile_for(document: Mapping[str, Any], override: str | None) -> PveVersion:
    """The release to play: `--pve-version`, else the scenario's `version` (a profile name or its full version), else the newest."""
    if override:
        return find_profile(override)
    version = document.get("version")
    try:
        return find_profile(str(version) if version is not None else DEFAULT_NAME)
    except ValueError as exc:
        raise ScenarioError(f"scenario: version: {exc}") from exc


def _check_keys(where: str, entry: Mapping[str, Any], allowed: frozenset[str]) -> None:
    unknown = sorted(set(entry) - allowed)
    if unknown:
        raise ScenarioError(f"{where}: unknown key(s) {', '.join(unknown)}")


def _check(where: str, key: str, value: Any, fmt: str) -> None:
    """A value real PVE cannot hold is an error naming the entry, the key and the value (formats.py checks)."""
    try:
        check_format(fmt, str(value))
    except FormatError as exc:
        raise ScenarioError(f"{where}: {key} {value!r}: {str(exc).strip()}") from None


def _check_choice(where: str, key: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ScenarioError(f"{where}: {key} {value!r}: not one of {', '.join(choices)}")


def _validate_node(entry: Mapping[str, Any]) -> None:
    where = f"node {entry.get('name')!r}"
    _check_keys(where, entry, NODE_KEYS)
    if "name" not in entry:
        raise ScenarioError("node: name is required")
    _check(where, "name", entry["name"], "pve-node")
    if "ip" in entry:
        try:
            ipaddress.ip_address(str(entry["ip"]))
        except ValueError:
            raise ScenarioError(f"{where}: ip {entry['ip']!r}: not an IP address") from None


def _validate_guest(entry: Mapping[str, Any], nodes: set[str]) -> None:
    """Scenario values in the formats PVE's own schema enforces (pve-vmid, dns-name, pve-tag, pve-poolid, lock enums)."""
    if not isinstance(entry.get("vmid"), int) or isinstance(entry.get("vmid"), bool):
        raise ScenarioError(f"guest {entry.get('vmid')!r}: vmid must be an integer")
    where = f"guest {entry['vmid']}"
    _check_keys(where, entry, GUEST_KEYS)
    _check(where, "vmid", entry["vmid"], "pve-vmid")
    if entry.get("node") not in nodes:
        raise ScenarioError(f"{where}: node {entry.get('node')!r}: not a node of the scenario")
    kind = entry.get("type", "lxc")
    if "name" in entry:
        # lxc `hostname` and qemu `name` are both `dns-name` (255 characters at most for a CT hostname).
        _check(where, "name", entry["name"], "dns-name")
        if len(str(entry["name"])) > 255:
            raise ScenarioError(f"{where}: name {entry['name']!r}: value may only be 255 characters long")
    for tag in entry.get("tags", []):
        _check(where, "tags", tag, "pve-tag")
    if entry.get("pool") is not None:
        _check(where, "pool", entry["pool"], "pve-poolid")
    if entry.get("lock") is not None:
        _check_choice(where, "lock", entry["lock"], LXC_LOCKS if kind == "lxc" else QEMU_LOCKS)
    if kind == "lxc" and "ostype" in entry:
        _check_choice(where, "ostype", entry["ostype"], LXC_OSTYPES)
    if entry.get("startup") is not None:
        try:
            parse_startup(str(entry["startup"]))
        except FormatError:
            raise ScenarioError(f"{where}: startup {entry['startup']!r}: not [order=]N,up=N,down=N") from None
    ha = entry.get("ha")
    if isinstance(ha, dict):
        _check_keys(f"{where}: ha", ha, frozenset(("group", "relocate_to")))
        target = ha.get("relocate_to")
        if target is not None and (target not in nodes or target == entry.get("node")):
            raise ScenarioError(f"{where}: ha relocate_to {target!r}: not another node of the scenario")


def build_cluster(document: Mapping[str, Any], now: float) -> Cluster:
    """Create the Cluster for a scenario document; deterministic apart from `now`."""
    _check_keys("scenario", document, TOP_KEYS)
    for entry in document.get("nodes", []):
        _validate_node(entry)
    nodes = [_node(entry, index, now) for index, entry in enumerate(document.get("nodes", []))]
    names = {n.name for n in nodes}
    if len(names) != len(nodes):
        raise ScenarioError("duplicate node name in scenario")
    guests = []
    for entry in document.get("guests", []):
        _validate_guest(entry, names)
        guests.append(_guest(entry, now))
    if len({g.vmid for g in guests}) != len(guests):
        raise ScenarioError("duplicate vmid in scenario")
    for pool in document.get("pools", []):
        _check("pool", "poolid", pool.get("poolid"), "pve-poolid")
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
    if entry.get("entrypoint"):
        # An OCI application container as pve-container's Create.pm 735-758 stores it: the init command,
        # `cmode: console` (an entrypoint breaks the tty console), and the runtime environment NUL-separated.
        config["entrypoint"] = str(entry["entrypoint"])
        config["cmode"] = "console"
    if entry.get("env"):
        config["env"] = "\0".join(str(item) for item in entry["env"])
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
    relocate_to = value.get("relocate_to") if isinstance(value, dict) else None
    return HaState.for_status(group, status == "running", relocate_to)


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
