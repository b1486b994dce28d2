# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""`termproxy` and `vncwebsocket` for nodes and containers (pve-protocol.md 4.1-4.3).

termproxy runs in pvedaemon (protected, no proxyto: another node's shell goes through ssh from the
answering node, so the task lives there). vncwebsocket is answered by pveproxy itself: normal API
auth (no CSRF, it is a GET), the privilege, the VNC ticket for *this* authid, path and port, and
only then the websocket checks and the 101.
"""
from __future__ import annotations

import os
import random
import time
from typing import Any

from pvesim.api.common import NODE, VMID
from pvesim.app import CallContext
from pvesim.errors import ApiError, die, http_error
from pvesim.faults import SessionFault
from pvesim.httpmsg import HttpResponse
from pvesim.lxcconfig import ct_conf_missing
from pvesim.nodeshell import NodeShellOptions, ShellCommand, ct_command, node_command
from pvesim.params import integer, string
from pvesim.router import Perm, Route
from pvesim.terminals import Terminal
from pvesim.termsession import SessionOptions, make_takeover
from pvesim.wsframe import accept_key

PORT = integer("port", optional=False, minimum=5900, maximum=5999)
VNCTICKET = string("vncticket", optional=False, max_length=512)


def _start(ctx: CallContext, terminal: Terminal, command: ShellCommand, task_type: str, task_id: str) -> dict[str, Any]:
    """Start the worker task on the answering node and answer like Nodes.pm/LXC.pm do."""
    services = ctx.services
    terminal.command = command
    with services.cluster.lock:
        local = services.cluster.nodes[ctx.node]
        pid = local.alloc_pid()
        pstart = int((time.time() - local.boot_time) * 100)
    terminal.task = services.tasks.start(ctx.node, pid, pstart, task_type, task_id, ctx.authid, services.require_machine().terminals.task_body(terminal))
    return {"user": ctx.authid, "ticket": terminal.ticket, "port": terminal.port, "upid": terminal.task.upid}


def require_user_not_token(ctx: CallContext) -> None:
    """Before pve-manager 9.0.13 (49395b74) the node termproxy and vncwebsocket began with
    `verify_username($rpcenv->get_user())`, which a token id fails: a plain 500 (versions.py `termproxy_allows_tokens`)."""
    if not ctx.services.profile.termproxy_allows_tokens and ctx.identity is not None and ctx.identity.tokenid is not None:
        raise die(f"value '{ctx.authid}' does not look like a valid user name")


def node_termproxy(ctx: CallContext, params: dict[str, Any]) -> Any:
    """`{user, ticket, port, upid}`; what runs depends on the caller (root@pam exactly: a root shell, 4.1)."""
    require_user_not_token(ctx)
    machine = ctx.services.require_machine()
    cluster = ctx.services.cluster
    name = params["node"]
    with cluster.lock:
        node = cluster.nodes.get(name)
        if node is None:
            raise die(f"no such cluster node '{name}'")
        # termproxy has no proxyto: it runs on the answering node, which reaches another node's shell over ssh.
        local = name == ctx.local
        version, from_ip = cluster.version, cluster.nodes[ctx.local].ip
    options = ctx.services.options
    shell_options = NodeShellOptions(options.ssh_latency_ms, options.login_flush_input)
    terminal = machine.terminals.open(f"/nodes/{name}", name, ctx.authid)
    try:
        command = node_command(machine.node_envs[name], local, ctx.authid, params.get("cmd"), terminal.port, os.environ, version, from_ip,
                               shell_options)
        return _start(ctx, terminal, command, "vncshell", "")
    except Exception:
        machine.terminals.release(terminal)
        raise


def ct_termproxy(ctx: CallContext, params: dict[str, Any]) -> Any:
    """The container console (`vncproxy` task, id = vmid); what runs depends on the CT's `cmode` (4.2)."""
    machine = ctx.services.require_machine()
    with ctx.services.cluster.lock:
        # No proxyto: the call runs on the answering node, but the config must be the named node's.
        guest = ctx.services.cluster.guest(params["vmid"])
        if guest is None or guest.kind != "lxc" or guest.node != params["node"]:
            raise ct_conf_missing(params["node"], params["vmid"])
    terminal = machine.terminals.open(f"/vms/{guest.vmid}", guest.node, ctx.authid, guest.vmid)
    try:
        with ctx.services.cluster.lock:
            machine.ctfs.ensure(guest)
            command = ct_command(machine.node_envs[guest.node], guest, terminal.port, os.environ)
        return _start(ctx, terminal, command, "vncproxy", str(guest.vmid))
    except Exception:
        machine.terminals.release(terminal)
        raise


def _websocket(ctx: CallContext, path: str, port: int, ticket: str) -> Any:
    services = ctx.services
    machine = services.require_machine()
    if not services.auth.signer.verify_vnc_ticket(ticket, ctx.authid, path, port):
        # A JSON 401 (not the empty auth-handler kind); delayed like every 401 with --auth-delay (1.6).
        raise ApiError(401, "permission denied - invalid PVEVNC ticket\n")
    req = ctx.request
    if "websocket" not in (req.header("Upgrade") or "").lower():
        # Without an upgrade the REST answer itself is all there is (4.3).
        return {"port": str(port)}
    version = (req.header("Sec-WebSocket-Version") or "").strip()
    if version != "13":
        raise http_error(500, f"unsupported websocket-version '{version}'")
    key = req.header("Sec-WebSocket-Key")
    if not key:
        raise http_error(500, "missing websocket-key")
    # pveproxy connects to termproxy's port before answering 101; termproxy accepts one connection only.
    # pveproxy connects to termproxy on its own host: a terminal started by another node's API is not there.
    terminal = machine.terminals.claim(port, f"127.0.0.1:{random.randint(32768, 60999)}", path, ctx.local)
    if terminal is None:
        raise http_error(500, f"connect to 'localhost:{port}' failed: Connection refused")
    headers = [("Upgrade", "websocket"), ("Connection", "upgrade"), ("Sec-WebSocket-Accept", accept_key(key))]
    protocol = req.header("Sec-WebSocket-Protocol")
    if protocol is not None:
        headers.append(("Sec-WebSocket-Protocol", protocol))  # verbatim, only when sent (4.3)
    terminal.request_path = req.path
    fault = _session_fault(ctx, terminal)
    options = services.options
    session = SessionOptions(options.drop_last_bytes, options.termproxy_timeout, options.termproxy_socket_bytes, options.termproxy_short_reads)
    takeover = make_takeover(machine.terminals, terminal, services.auth.signer, services.stop_event, session, services.faults, fault)
    return HttpResponse(101, "Switching Protocols", headers=headers, takeover=takeover, fault=fault.kind if fault else None)


def _session_fault(ctx: CallContext, terminal: Terminal) -> SessionFault | None:
    """The session's injected fault (armed one-shot drop, else the rate roll), recorded with this request."""
    faults = ctx.services.faults
    fault = faults.session_fault()
    if fault is None:
        return None
    extra: dict[str, Any] = {"session": None, "upid": terminal.task.upid if terminal.task else None}
    if fault.after_bytes is not None:
        extra.update(trigger="control", after_bytes=fault.after_bytes)
    elif fault.drop_after is not None:
        extra["after_s"] = round(fault.drop_after, 3)
    fault.record = faults.record(fault.kind, ctx.request.method, ctx.request.path, ctx.authid, **extra)
    return fault


def node_vncwebsocket(ctx: CallContext, params: dict[str, Any]) -> Any:
    """The node terminal's websocket."""
    require_user_not_token(ctx)
    return _websocket(ctx, f"/nodes/{params['node']}", params["port"], params["vncticket"])


def ct_vncwebsocket(ctx: CallContext, params: dict[str, Any]) -> Any:
    """The container console's websocket."""
    return _websocket(ctx, f"/vms/{params['vmid']}", params["port"], params["vncticket"])


ROUTES = (
    Route(
        "POST", "/nodes/{node}/termproxy", node_termproxy,
        params=(string("cmd", enum=("ceph_install", "login", "upgrade")), string("cmd-opts", requires="cmd"), NODE),
        perm=Perm("/nodes/{node}", ("Sys.Console",)), protected=True,
    ),
    Route("GET", "/nodes/{node}/vncwebsocket", node_vncwebsocket, params=(NODE, PORT, VNCTICKET), perm=Perm("/nodes/{node}", ("Sys.Console",))),
    Route("POST", "/nodes/{node}/lxc/{vmid}/termproxy", ct_termproxy, params=(NODE, VMID), perm=Perm("/vms/{vmid}", ("VM.Console",)), protected=True),
    Route(
        "GET", "/nodes/{node}/lxc/{vmid}/vncwebsocket", ct_vncwebsocket,
        params=(NODE, PORT, VMID, VNCTICKET), perm=Perm("/vms/{vmid}", ("VM.Console",)),
    ),
)
