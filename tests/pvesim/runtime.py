# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One simulator instance: builds the model and services, runs the server, stops everything cleanly."""
from __future__ import annotations

import os
import secrets
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from pvesim import generator, scenario, tls
from pvesim.api import build_routes
from pvesim.app import ApiApp
from pvesim.auth import AuthService
from pvesim.control import ControlApi
from pvesim.httpmsg import HttpRequest, HttpResponse
from pvesim.machine import Machine
from pvesim.options import SimOptions
from pvesim.privileges import admin_privileges
from pvesim.model import Cluster
from pvesim.reqlog import RequestLog
from pvesim.rootshell import unavailable
from pvesim.server import ApiServer
from pvesim.services import Services


class StartupError(Exception):
    """An option that cannot be used on this machine or with this scenario (the CLI exits 2 with the message)."""


def apply_root_shells(cluster: Cluster, choices: tuple[tuple[str | None, str], ...]) -> None:
    """`--root-shell [NODE=]SHELL` over the scenario's `root_shell`, in order; every chosen shell must be usable here."""
    for node, shell in choices:
        if node is not None and node not in cluster.nodes:
            raise StartupError(f"--root-shell {node}={shell}: no node {node!r} in the scenario (nodes: {', '.join(cluster.nodes)})")
        for target in cluster.nodes.values():
            if node is None or target.name == node:
                target.root_shell = shell
    for target in cluster.nodes.values():
        problem = unavailable(target.root_shell)
        if problem is not None:
            raise StartupError(f"root shell {target.root_shell} of node {target.name}: {problem}")


class Simulator:
    """Start with start(), read ready_info(), end with stop() (idempotent, bounded)."""

    def __init__(self, options: SimOptions) -> None:
        self.options = options
        self.stop_event = threading.Event()
        self.control_token = secrets.token_hex(16)
        self._own_state_dir = options.state_dir is None
        self.state_dir = Path(options.state_dir or tempfile.mkdtemp(prefix="pvesim-"))
        self._server: ApiServer | None = None
        self._thread: threading.Thread | None = None
        self._node_servers: dict[str, ApiServer] = {}
        self._node_threads: list[threading.Thread] = []
        self._stopped = False
        self.services: Services | None = None
        self.tls: tls.TlsFiles | None = None

    def start(self) -> None:
        """Load the scenario, create certificates, bind and start serving in a background thread."""
        options = self.options
        if options.generated:
            document = generator.generate(options.nodes or 3, options.containers_per_node or 4, options.seed)
        else:
            document = scenario.load_document(options.scenario)
        profile = scenario.profile_for(document, options.pve_version)
        cluster = scenario.build_cluster(document, time.time())
        cluster.version = profile.manager
        apply_root_shells(cluster, options.root_shells)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.tls = tls.generate(self.state_dir, options.host)
        auth = AuthService.create(options.ticket_lifetime, options.vnc_ticket_lifetime, admin_privileges(profile.major))
        services = Services(options, cluster, auth, self.stop_event, self.tls.fingerprint, profile)
        if options.request_log:
            services.reqlog = RequestLog(options.request_log)
        self.services = services
        services.machine = Machine(self.state_dir, options, cluster, services.journals, services.tasks, auth.signer, self.stop_event,
                                   pct_keep_env=profile.pct_keep_env)
        services.machine.start()
        services.statd.start()
        app = ApiApp(services, build_routes(profile))
        control = ControlApi(services, self.control_token)

        def dispatch(req: HttpRequest) -> HttpResponse:
            if req.path == "/_sim" or req.path.startswith("/_sim/"):
                return control.handle(req)
            return app.handle(req)

        self._server = ApiServer(options.host, options.port, self.tls.server_context(), dispatch, self.stop_event)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.2}, name="pvesim-accept", daemon=True)
        self._thread.start()
        if options.node_listeners:
            # One listener per further node, answered by that node (the main one stays the first node's).
            for name in list(cluster.nodes)[1:]:
                server = ApiServer(options.host, 0, self.tls.server_context(), dispatch, self.stop_event, node=name)
                thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, name=f"pvesim-accept-{name}", daemon=True)
                thread.start()
                self._node_servers[name] = server
                self._node_threads.append(thread)

    @property
    def port(self) -> int:
        """The bound port (useful with --port 0)."""
        if self._server is None:
            raise RuntimeError("not started")
        return int(self._server.server_address[1])

    def ready_info(self) -> dict[str, Any]:
        """The ready line: URL, credentials, CA, fingerprint, control token, pid, state dir."""
        if self.services is None or self.tls is None:
            raise RuntimeError("not started")
        auth = self.services.auth
        host = f"[{self.options.host}]" if ":" in self.options.host else self.options.host
        info: dict[str, Any] = {
            "url": f"https://{host}:{self.port}",
            "user": "root@pam",
            "password": auth.accounts["root@pam"].password,
            "ops_user": "ops@pve",
            "ops_password": auth.accounts["ops@pve"].password,
            "token_id": "root@pam!ansible",
            "token_secret": auth.tokens["root@pam!ansible"].secret,
            "ro_token_id": "audit@pve!readonly",
            "ro_token_secret": auth.tokens["audit@pve!readonly"].secret,
            "ca_path": self.tls.ca_path,
            "fingerprint": self.tls.fingerprint,
            "control_token": self.control_token,
            "pid": os.getpid(),
            "state_dir": str(self.state_dir),
        }
        if self.options.node_listeners:
            first = self.services.cluster.local_node.name
            ports = {first: self.port, **{name: int(server.server_address[1]) for name, server in self._node_servers.items()}}
            info["node_urls"] = {name: f"https://{host}:{port}" for name, port in ports.items()}
        return info

    def stop(self) -> None:
        """Stop serving, end task threads and connections, close the log, remove a temporary state dir."""
        if self._stopped:
            return
        self._stopped = True
        self.stop_event.set()
        for server in [self._server, *self._node_servers.values()]:
            if server is not None:
                server.stop(timeout=5.0)
        for thread in [self._thread, *self._node_threads]:
            if thread is not None:
                thread.join(5.0)
        if self.services is not None:
            if self.services.machine is not None:
                self.services.machine.stop()
            self.services.tasks.join(5.0)
            self.services.statd.join(5.0)
            if self.services.reqlog is not None:
                self.services.reqlog.close()
        if self._own_state_dir:
            shutil.rmtree(self.state_dir, ignore_errors=True)
