# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Container listing, status, config and interfaces (pve-protocol.md 3.5, 3.8, 3.9)."""
from __future__ import annotations

from typing import Any

from pvesim import lxcconfig, network
from pvesim.api.common import NODE, NODE_VMID, VMID, ct_status, ha_status, lxc_guest, now
from pvesim.app import CallContext
from pvesim.errors import die
from pvesim.params import ParamSpec, boolean, integer, number, string
from pvesim.router import Perm, Route
from pvesim.versions import PveVersion

VM_AUDIT = Perm("/vms/{vmid}", ("VM.Audit",))
CONFIG_PRIVS = ("VM.Config.Disk", "VM.Config.CPU", "VM.Config.Memory", "VM.Config.Network", "VM.Config.Options")


def list_cts(ctx: CallContext, params: dict[str, Any]) -> Any:
    """Containers of the node the call executes on (VM.Audit filter per guest)."""
    cluster = ctx.services.cluster
    moment = now()
    with cluster.lock:
        if ctx.identity is None or not ctx.identity.has(("VM.Audit",)):
            return []
        return [ct_status(g, moment) for g in cluster.guests_on(ctx.node, "lxc")]


def status_current(ctx: CallContext, params: dict[str, Any]) -> Any:
    """`status` only running|stopped; `ha` always present (3.5)."""
    cluster = ctx.services.cluster
    with cluster.lock:
        guest = lxc_guest(ctx, params["vmid"])
        result = ct_status(guest, now())
        result["ha"] = ha_status(ctx, guest)
    return result


def get_config(ctx: CallContext, params: dict[str, Any]) -> Any:
    """Flat config + digest. No pending changes are modelled, so `current=1` returns the same (3.9)."""
    cluster = ctx.services.cluster
    with cluster.lock:
        guest = lxc_guest(ctx, params["vmid"])
        if params.get("snapshot"):
            raise die(f"snapshot '{params['snapshot']}' does not exist")
        return lxcconfig.api_view(guest)


def put_config(ctx: CallContext, params: dict[str, Any]) -> Any:
    """Synchronous update; `data: null` (3.9)."""
    cluster = ctx.services.cluster
    with cluster.lock:
        guest = lxc_guest(ctx, params["vmid"])
        lxcconfig.update(guest, params)
    ctx.services.model_changed(guest.vmid)
    return None


def get_interfaces(ctx: CallContext, params: dict[str, Any]) -> Any:
    """Running: lo first, then the configured and extra interfaces. Stopped or unknown: null (3.8).

    Without `proxyto` (pve-container < 5.2.0) `ctx.node` is the answering node, so a CT on another node is
    "unknown" here and gets null too, as LXC.pm `get_interfaces` does (`find_lxc_pid` fails -> `return if $@`).
    """
    cluster = ctx.services.cluster
    with cluster.lock:
        guest = cluster.guest(params["vmid"])
        # No config check in the real handler: no pid on this node -> undef -> null.
        if guest is None or guest.kind != "lxc" or guest.node != ctx.node or not guest.running:
            return None
        entries = network.interfaces(guest.config, guest.vmid, guest.extra_interfaces)
    if not ctx.services.profile.interfaces_ip_addresses:
        # Before pve-container 5.2.6 (5f9f011) only name, hwaddr and the last inet/inet6 were returned.
        for entry in entries:
            entry.pop("hardware-address", None)
            entry.pop("ip-addresses", None)
    return entries


CONFIG_PUT_PARAMS: tuple[ParamSpec, ...] = (
    string("arch", enum=("amd64", "i386", "arm64", "armhf", "riscv32", "riscv64")),
    string("cmode", enum=("shell", "console", "tty")),
    boolean("console"),
    integer("cores", minimum=1, maximum=8192),
    number("cpulimit", minimum=0, maximum=8192),
    integer("cpuunits", minimum=0, maximum=500000),
    boolean("debug"),
    string("delete", fmt="pve-configid-list"),
    string("description", max_length=8192),
    string("dev[n]", count=256),
    string("digest", max_length=40),
    string("entrypoint"),
    string("env"),
    string("features"),
    string("hookscript", fmt="pve-volume-id"),
    string("hostname", max_length=255, fmt="dns-name"),
    string("lock", enum=("backup", "create", "destroyed", "disk", "fstrim", "migrate", "mounted", "rollback", "snapshot", "snapshot-delete")),
    integer("memory", minimum=16),
    string("mp[n]", count=256),
    string("nameserver", fmt="lxc-ip-with-ll-iface-list"),
    string("net[n]", count=network.MAX_NETS, fmt="pve-lxc-network"),
    NODE,
    boolean("onboot"),
    string("ostype", enum=("debian", "devuan", "ubuntu", "centos", "fedora", "opensuse", "archlinux", "alpine", "gentoo", "nixos", "unmanaged")),
    boolean("protection"),
    string("revert", fmt="pve-configid-list"),
    string("rootfs"),
    string("searchdomain", fmt="dns-name-list"),
    string("startup", fmt="pve-startup-order"),
    integer("swap", minimum=0),
    string("tags", fmt="pve-tag-list"),
    boolean("template"),
    string("timezone", fmt="pve-ct-timezone"),
    integer("tty", minimum=0, maximum=6),
    boolean("unprivileged"),
    string("unused[n]", count=256),
    VMID,
)

ROUTES = (
    Route("GET", "/nodes/{node}/lxc", list_cts, params=(NODE,), protected=True, proxyto="node"),
    Route("GET", "/nodes/{node}/lxc/{vmid}/status/current", status_current, params=NODE_VMID, perm=VM_AUDIT, protected=True, proxyto="node"),
    Route(
        "GET", "/nodes/{node}/lxc/{vmid}/config", get_config,
        params=(boolean("current"), NODE, string("snapshot", max_length=40, fmt="pve-configid"), VMID),
        perm=VM_AUDIT, proxyto="node",
    ),
    Route(
        "PUT", "/nodes/{node}/lxc/{vmid}/config", put_config, params=CONFIG_PUT_PARAMS,
        perm=Perm("/vms/{vmid}", CONFIG_PRIVS, any_of=True), protected=True, proxyto="node",
    ),
)


def routes(profile: PveVersion) -> tuple[Route, ...]:
    """The container routes; `/interfaces` has `proxyto` only from pve-container 5.2.0 (8b967af, fix #5674)."""
    return ROUTES + (
        Route("GET", "/nodes/{node}/lxc/{vmid}/interfaces", get_interfaces, params=NODE_VMID, perm=VM_AUDIT, protected=True,
              proxyto="node" if profile.interfaces_proxyto else None),
    )
