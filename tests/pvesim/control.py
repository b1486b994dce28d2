# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Test-control endpoints under /_sim (not part of the PVE API; need `X-Pvesim-Control: <token>`)."""
from __future__ import annotations

import json
import re
import secrets
import time
from typing import Any, Mapping
from urllib.parse import parse_qs

from pvesim.httpmsg import HttpRequest, HttpResponse, json_response
from pvesim.model import Guest, HaState
from pvesim.services import Services

HEADER = "X-Pvesim-Control"
GUEST_FIELDS = (
    "status", "lock", "ha", "ignores_shutdown", "task_warnings", "checkpoint", "template", "tags", "systemd", "agent", "agent_running",
)


class ControlApi:
    """GET /_sim/state, POST /_sim/guests/{vmid}, POST /_sim/nodes/{node}, POST /_sim/journal/{node}, GET|DELETE /_sim/shell-input,
    GET|POST|DELETE /_sim/faults, GET /_sim/terminals, POST /_sim/terminals/drop, POST /_sim/terminals/hangup-next."""

    def __init__(self, services: Services, token: str) -> None:
        self.services = services
        self.token = token

    def handle(self, req: HttpRequest) -> HttpResponse:
        """Answer a control request with plain JSON (no PVE envelope)."""
        if not secrets.compare_digest(req.header(HEADER) or "", self.token):
            return json_response({"error": "missing or wrong control token"}, 403, "Forbidden")
        try:
            body = json.loads(req.body.decode("utf-8")) if req.body else {}
            if not isinstance(body, dict):
                raise ValueError("body must be a JSON object")
            return json_response(self._route(req.method, req.path, body, parse_qs(req.query)))
        except LookupError as exc:
            return json_response({"error": str(exc)}, 404, "Not Found")
        except (ValueError, TypeError) as exc:
            return json_response({"error": str(exc)}, 400, "Bad Request")

    def _route(self, method: str, path: str, body: dict[str, Any], query: dict[str, list[str]]) -> Any:
        if method == "GET" and path == "/_sim/state":
            return self.state()
        if path == "/_sim/shell-input" and method in ("GET", "DELETE"):
            inputs = self.services.require_machine().terminals.inputs
            return inputs.sessions(session=_session_query(query)) if method == "GET" else {"cleared": inputs.clear()}
        if method == "GET" and path == "/_sim/terminals":
            return self.services.require_machine().terminals.listing()
        if method == "POST" and path == "/_sim/terminals/hangup-next":
            return self.hangup_next(body)
        if path == "/_sim/faults" and method in ("GET", "POST", "DELETE"):
            faults = self.services.faults
            if method == "GET":
                return faults.snapshot()
            return faults.update(body) if method == "POST" else {"cleared": faults.clear()}
        if method == "POST" and path == "/_sim/terminals/drop":
            return self.drop_terminals(body)
        match = re.fullmatch(r"/_sim/guests/(\d+)", path)
        if method == "POST" and match:
            return self.patch_guest(int(match.group(1)), body)
        match = re.fullmatch(r"/_sim/nodes/([^/]+)", path)
        if method == "POST" and match:
            return self.patch_node(match.group(1), body)
        match = re.fullmatch(r"/_sim/journal/([^/]+)", path)
        if method == "POST" and match:
            return self.add_journal(match.group(1), body)
        raise LookupError(f"no control endpoint {method} {path}")

    def state(self) -> dict[str, Any]:
        """The whole model as JSON, plus limiter statistics and counts."""
        cluster = self.services.cluster
        with cluster.lock:
            return {
                "cluster": cluster.name,
                "version": cluster.version,
                "pve_version": self.services.profile.name,
                "pvestatd": {"refresh": self.services.statd.interval, "updates": self.services.statd.updates},
                "nodes": [{"name": n.name, "ip": n.ip, "online": n.online, "nodeid": n.nodeid} for n in cluster.nodes.values()],
                "guests": [_guest_state(g) for g in cluster.guests.values()],
                "pools": sorted(cluster.pools),
                "protected": self.services.limiter.snapshot(),
                "unprotected": self.services.proxy_workers.snapshot(),
                "tasks": len(self.services.tasks.tasks()),
                "requests": self.services.reqlog.count if self.services.reqlog else None,
            }

    def patch_guest(self, vmid: int, body: dict[str, Any]) -> dict[str, Any]:
        """Change guest fields directly (no task, no checks): status, lock, ha, flags, ..."""
        result = self._patch_guest(vmid, body)
        self.services.model_changed(vmid)
        return result

    def _patch_guest(self, vmid: int, body: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(body) - set(GUEST_FIELDS))
        if unknown:
            raise ValueError(f"unknown field(s): {', '.join(unknown)}")
        cluster = self.services.cluster
        with cluster.lock:
            guest = cluster.guest(vmid)
            if guest is None:
                raise LookupError(f"no guest {vmid}")
            if guest.kind != "qemu" and ("agent" in body or "agent_running" in body):
                raise ValueError("agent and agent_running are for qemu guests only")
            if "status" in body:
                if body["status"] not in ("running", "stopped"):
                    raise ValueError("status must be running or stopped")
                if body["status"] == "running" and not guest.running:
                    guest.mark_running(time.time(), cluster.nodes[guest.node].alloc_pid())
                elif body["status"] == "stopped":
                    guest.mark_stopped()
            for key in ("lock", "tags", "template"):
                if key in body:
                    if body[key] in (None, "", 0, False):
                        guest.config.pop(key, None)
                    else:
                        guest.config[key] = 1 if key == "template" else str(body[key])
            if "ha" in body:
                guest.ha = _ha_patch(body["ha"], guest, cluster.nodes)
            for key in ("ignores_shutdown", "checkpoint", "systemd"):
                if key in body:
                    setattr(guest, key, bool(body[key]))
            if "task_warnings" in body:
                guest.task_warnings = int(body["task_warnings"])
            if "agent" in body or "agent_running" in body:
                _patch_agent(guest, body)
            return _guest_state(guest)

    def patch_node(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        """Take a node offline/online (`{"online": false}`)."""
        cluster = self.services.cluster
        with cluster.lock:
            node = cluster.nodes.get(name)
            if node is None:
                raise LookupError(f"no node {name}")
            if "online" in body:
                node.online = bool(body["online"])
            return {"name": node.name, "online": node.online}

    def drop_terminals(self, body: dict[str, Any]) -> dict[str, Any]:
        """`{}`: drop every open terminal websocket now -> {"dropped": n}; `{"after_bytes": N}`: arm a one-shot drop of the
        next session once it has sent N payload bytes -> {"armed": {"after_bytes": N}}."""
        unknown = sorted(set(body) - {"after_bytes"})
        if unknown:
            raise ValueError(f"unknown field(s): {', '.join(unknown)}")
        if "after_bytes" in body:
            return {"armed": self.services.faults.arm_drop(body["after_bytes"])["armed_drop"]}
        return {"dropped": self.services.require_machine().terminals.drop_all()}

    def hangup_next(self, body: dict[str, Any]) -> dict[str, Any]:
        """`{"count": N}`: the next N sessions through the ssh hop hang up before their shell is ready -> {"armed_hangups": N}."""
        unknown = sorted(set(body) - {"count"})
        if unknown:
            raise ValueError(f"unknown field(s): {', '.join(unknown)}")
        if "count" not in body:
            raise ValueError("count is required")
        return {"armed_hangups": self.services.faults.arm_hangups(body["count"])["armed_hangups"]}

    def add_journal(self, node: str, body: dict[str, Any]) -> dict[str, Any]:
        """Append lines: {"lines": ["..."], "identifier": "app", "pid": 123, "unit": "app.service", "priority": 3} (unit defaults
        by identifier, priority to 6)."""
        if node not in self.services.journals:
            raise LookupError(f"no node {node}")
        lines = body.get("lines") or [body.get("message", "")]
        pid = body.get("pid")
        unit = str(body["unit"]) if body.get("unit") else None
        priority = int(body["priority"]) if body.get("priority") is not None else None
        for line in lines:
            self.services.journal(node).append(str(body.get("identifier", "pvesim")), int(pid) if pid is not None else None, str(line),
                                               unit=unit, priority=priority)
        return {"added": len(lines)}


def _ha_patch(value: Any, guest: Guest, nodes: Mapping[str, Any]) -> HaState | None:
    """`ha`: false/null (not HA-managed), true, or {"group": ..., "relocate_to": "<node>", "state": "error"|...}."""
    if not value:
        return None
    options = value if isinstance(value, dict) else {}
    unknown = sorted(set(options) - {"group", "relocate_to", "state"})
    if unknown:
        raise ValueError(f"ha: unknown field(s): {', '.join(unknown)}")
    target = options.get("relocate_to")
    if target is not None and (target not in nodes or target == guest.node):
        raise ValueError(f"ha: relocate_to '{target}' is not another node of the cluster")
    ha = HaState.for_status(options.get("group", "ha-group1"), guest.running, target)
    if "state" in options:
        ha.state = str(options["state"])
    return ha


def _session_query(query: dict[str, list[str]]) -> int | None:
    """`?session=ID` of GET /_sim/shell-input."""
    values = query.get("session")
    if not values:
        return None
    try:
        return int(values[-1])
    except ValueError:
        raise ValueError(f"session must be a session id (an integer), got {values[-1]!r}") from None


def _patch_agent(guest: Guest, body: dict[str, Any]) -> None:
    """QEMU: `agent` configures the guest agent (`agent: 1` in the config), `agent_running` says whether it answers."""
    if "agent" in body:
        if body["agent"]:
            guest.config["agent"] = "1"
        else:
            guest.config.pop("agent", None)
    if "agent_running" in body:
        guest.agent_running = bool(body["agent_running"])


def _guest_state(guest: Guest) -> dict[str, Any]:
    return {
        "vmid": guest.vmid, "node": guest.node, "type": guest.kind, "name": guest.name, "status": guest.status,
        "pid": guest.pid, "started_at": guest.started_at, "checkpoint": guest.checkpoint, "pool": guest.pool,
        "ha": None if guest.ha is None else {"group": guest.ha.group, "state": guest.ha.state, "requested": guest.ha.requested,
                                             "relocate_to": guest.ha.relocate_to},
        "systemd": guest.systemd, "ignores_shutdown": guest.ignores_shutdown, "task_warnings": guest.task_warnings,
        "extra_interfaces": guest.extra_interfaces, "config": dict(guest.config),
        "agent": guest.agent, "agent_running": guest.agent_running, "agent_addresses": list(guest.agent_addresses),
    }
