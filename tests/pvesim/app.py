# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The API request pipeline, in the real server's order (AnyEvent.pm + HTTPServer.pm `rest_handler`, 1-2)."""
from __future__ import annotations

import re
import sys
import time
import traceback
from dataclasses import dataclass
from typing import Any

from pvesim.auth import Identity
from pvesim.decode import check_body, extract_params
from pvesim.errors import BODY_EMPTY, ApiError, die, http_error, param_error, permission_error
from pvesim.faults import NOT_APPLIED
from pvesim.httpmsg import HttpRequest, HttpResponse, error_response, json_response
from pvesim.params import validate
from pvesim.router import Route, RouteTable
from pvesim.services import Services

AUTH_DELAY = 3.0
"""Seconds every 401 is delayed by when --auth-delay is on ("always delay unauthorized calls", 1.1)."""
KNOWN_METHODS = ("GET", "POST", "PUT", "DELETE")
_API_PATH = re.compile(r"^/api2/+([a-z][a-z0-9]+)(/.*)?$")


@dataclass
class CallContext:
    """What a handler gets besides its validated parameters."""

    services: Services
    identity: Identity | None
    route: Route
    node: str
    """The node the call executes on: the `proxyto` node, else the local node."""
    request: HttpRequest
    local: str = ""
    """The node that answers the call (the node of the listener it arrived on, --node-listeners)."""
    total: int | None = None
    """Set by handlers that return a `total` next to `data` (task log, task list, 2.1)."""

    @property
    def authid(self) -> str:
        """The caller's auth id (user or token id)."""
        return self.identity.authid if self.identity else ""

    def require(self, path: str, privs: tuple[str, ...], any_of: bool = False) -> None:
        """A permission check inside a handler; 403 with the 1.6 message on failure."""
        if self.identity is None or not self.identity.has(privs, any_of):
            raise permission_error(path, privs, any_of)


class ApiApp:
    """Turns an HttpRequest under /api2/ into an HttpResponse; logs every request."""

    def __init__(self, services: Services, routes: RouteTable) -> None:
        self.services = services
        self.routes = routes

    def handle(self, req: HttpRequest) -> HttpResponse:
        """Run the pipeline (or an injected fault instead of / on top of it); never raises."""
        wall = time.time()
        if req.node is None:
            req.node = self.services.cluster.local_node.name
        state: dict[str, Any] = {"params": {}, "authid": None}
        faults = self.services.faults
        # A websocket upgrade is a terminal session: it can only get the terminal kinds (api/terminal.py).
        kind = None if _is_upgrade(req) else faults.roll_request(req.method, req.path.removeprefix("/api2/json"))
        if kind in NOT_APPLIED:
            resp = self._refuse(req, kind, state)
        else:
            resp = self._answer(req, state)
            if kind is not None:
                resp.fault = kind
            if kind == "slow":
                resp.not_before = max(resp.not_before, time.monotonic() + faults.slow_seconds)
        if kind is not None:
            faults.record(kind, req.method, req.path, state["authid"], ts=wall)
        if self.services.reqlog is not None:
            elapsed = (max(time.monotonic(), resp.not_before) - req.started) * 1000.0
            # reset-before: the request never got a status (nothing ran, nothing was answered).
            status = None if resp.fault == "reset-before" else resp.status
            self.services.reqlog.write(wall, req.method, req.path, state["params"], status, state["authid"], elapsed, fault=resp.fault,
                                       node=req.node)
        return resp

    def _answer(self, req: HttpRequest, state: dict[str, Any]) -> HttpResponse:
        try:
            resp = self._pipeline(req, state)
        except ApiError as err:
            resp = error_response(err)
            if err.status == 401 and self.services.options.auth_delay:
                resp.not_before = req.started + AUTH_DELAY
        except Exception:  # a simulator bug: answer like a Perl die and keep serving
            traceback.print_exc(file=sys.stderr)
            resp = error_response(die("internal simulator error"))
        return resp

    def _refuse(self, req: HttpRequest, kind: str, state: dict[str, Any]) -> HttpResponse:
        """`500`/`reset-before`: nothing runs. Who asked and with what is still found out for the log (no side effects)."""
        match = _API_PATH.match(req.path)
        try:
            if match and req.method in KNOWN_METHODS:
                auth = self.services.auth.authenticate(req.method, match.group(2) or "/", req.header)
                state["authid"] = auth.identity.authid if auth.identity else None
            state["params"] = extract_params(req)
        except ApiError:
            pass
        # pveproxy could not reach pvedaemon: a bare 500 from pveproxy itself (empty body; >= 400 closes the connection).
        return HttpResponse(500, "Internal Server Error", fault=kind)

    def _pipeline(self, req: HttpRequest, state: dict[str, Any]) -> HttpResponse:
        if req.method not in KNOWN_METHODS:
            raise http_error(501, f"method '{req.method}' not available")
        match = _API_PATH.match(req.path)
        if not match:
            raise http_error(501, "no such uri")
        fmt, rel = match.group(1), match.group(2) or "/"
        if fmt != "json":
            raise http_error(501, f"no formatter for uri {rel}, {fmt}")
        auth = self.services.auth.authenticate(req.method, rel, req.header)
        state["authid"] = auth.identity.authid if auth.identity else None
        check_body(req)
        params = extract_params(req)
        state["params"] = params
        found = self.routes.match(req.method, rel)
        if found is None:
            # Note: this message has no trailing newline (observed bodies, 2.1).
            raise ApiError(501, f"Method '{req.method} {rel}' not implemented")
        route, uri_params = found
        for key, value in params.items():
            if key in uri_params and str(value) != uri_params[key]:
                raise param_error({key: "duplicate parameter (already defined in URI) with conflicting values!"})
        merged = {**params, **uri_params}
        if auth.api_token_header and not route.allowtoken:
            raise ApiError(403, f"Permission check failed (URI '{rel}' not available with API token, need proper ticket.\n)\n")
        self._check_permission(route, auth.identity, merged)
        local = req.node or self.services.cluster.local_node.name
        node = self._target_node(route, merged, local)
        ctx = CallContext(self.services, auth.identity, route, node, req, local)
        # A protected call runs in one of pvedaemon's workers, any other in one of pveproxy's, on the node
        # that executes it (limiter.py). The latency models the handler's work, so it is spent holding the worker.
        workers = self.services.limiter if route.protected else self.services.proxy_workers
        with workers.slot(node):
            self._latency()
            data = route.handler(ctx, validate(route.params, merged))
        if isinstance(data, HttpResponse):
            return data
        payload: dict[str, Any] = {"data": data}
        if ctx.total is not None:
            payload["total"] = ctx.total
        return json_response(payload)

    def _check_permission(self, route: Route, identity: Identity | None, params: dict[str, Any]) -> None:
        if route.perm is None:
            return
        path = re.sub(r"\{(\w+)\}", lambda m: str(params.get(m.group(1), "")), route.perm.path)
        if identity is None or not identity.has(route.perm.privs, route.perm.any_of):
            raise permission_error(path, route.perm.privs, route.perm.any_of)

    def _target_node(self, route: Route, params: dict[str, Any], local: str) -> str:
        cluster = self.services.cluster
        if route.proxyto is None:
            return local
        name = str(params.get(route.proxyto, ""))
        if name in ("localhost", local):
            return local
        node = cluster.nodes.get(name)
        if node is None:
            raise die(f"no such cluster node '{name}'")
        if not node.online:
            # pveproxy cannot reach the node: AnyEvent::HTTP pseudo-status, empty body (2.1).
            raise ApiError(595, "Errors during connection establishment, proxy handshake", body=BODY_EMPTY)
        return name

    def _latency(self) -> None:
        delay = self.services.options.latency_ms / 1000.0
        if delay > 0:
            self.services.stop_event.wait(delay)


def _is_upgrade(req: HttpRequest) -> bool:
    """A websocket upgrade of a terminal (`.../vncwebsocket` with `Upgrade: websocket`, 4.3)."""
    return req.path.endswith("/vncwebsocket") and "websocket" in (req.header("Upgrade") or "").lower()
