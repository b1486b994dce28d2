# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A tiny `requests` client for the simulator's own tests (not the collection's client)."""
from __future__ import annotations

import time
from typing import Any

import requests

from pvesim.harness import SimProcess


class Api:
    """Requests against a SimProcess as one identity: token, ro, ticket, ops or none."""

    def __init__(self, sim: SimProcess, auth: str = "token", url: str | None = None) -> None:
        """`url`: another listener of the simulator (`node_urls` with --node-listeners); default its main one."""
        self.sim = sim
        self.url = url or sim.url
        self.base = self.url + "/api2/json"
        self.session = requests.Session()
        # REQUESTS_CA_BUNDLE in the environment would override session.verify; ignore the environment.
        self.session.trust_env = False
        self.session.verify = sim.ca_path
        if auth == "token":
            self.session.headers["Authorization"] = f"PVEAPIToken={sim.token_id}={sim.token_secret}"
        elif auth == "ro":
            self.session.headers["Authorization"] = f"PVEAPIToken={sim.info['ro_token_id']}={sim.info['ro_token_secret']}"
        elif auth in ("ticket", "ops"):
            user, password = (sim.user, sim.password) if auth == "ticket" else (sim.info["ops_user"], sim.info["ops_password"])
            self.login(user, password)

    def login(self, user: str, password: str) -> dict[str, Any]:
        """Get a ticket; later requests send it as cookie plus the CSRF header."""
        response = self.session.post(f"{self.base}/access/ticket", data={"username": user, "password": password}, timeout=30)
        response.raise_for_status()
        data: dict[str, Any] = response.json()["data"]
        self.session.cookies.set("PVEAuthCookie", data["ticket"])
        self.session.headers["CSRFPreventionToken"] = data["CSRFPreventionToken"]
        return data

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """Any request; `path` is relative to /api2/json."""
        kwargs.setdefault("timeout", 30)
        return self.session.request(method, self.base + path, **kwargs)

    def get(self, path: str, **params: Any) -> requests.Response:
        """GET with query parameters."""
        return self.request("GET", path, params=params)

    def post(self, path: str, data: Any = None, **kwargs: Any) -> requests.Response:
        """POST, form-encoded by default."""
        return self.request("POST", path, data=data, **kwargs)

    def put(self, path: str, data: Any = None, **kwargs: Any) -> requests.Response:
        """PUT, form-encoded by default."""
        return self.request("PUT", path, data=data, **kwargs)

    def data(self, path: str, **params: Any) -> Any:
        """GET and return `data`, failing the test on a non-200 answer."""
        response = self.get(path, **params)
        assert response.status_code == 200, (response.status_code, response.reason, response.text)
        return response.json()["data"]

    def action(self, node: str, vmid: int, action: str, **params: Any) -> str:
        """Start a power action and return its UPID."""
        response = self.post(f"/nodes/{node}/lxc/{vmid}/status/{action}", data=params)
        assert response.status_code == 200, (response.status_code, response.reason, response.text)
        upid: str = response.json()["data"]
        return upid

    def wait_task(self, upid: str, timeout: float = 15.0) -> dict[str, Any]:
        """Poll the task status until it is stopped (bounded)."""
        node = upid.split(":")[1]
        deadline = time.monotonic() + timeout
        while True:
            status: dict[str, Any] = self.data(f"/nodes/{node}/tasks/{upid}/status")
            if status["status"] == "stopped" or time.monotonic() > deadline:
                return status
            time.sleep(0.05)

    def wait_status(self, node: str, vmid: int, wanted: str, timeout: float = 15.0) -> str:
        """Poll status/current until `wanted` (bounded); returns the last status seen."""
        deadline = time.monotonic() + timeout
        while True:
            status: str = self.data(f"/nodes/{node}/lxc/{vmid}/status/current")["status"]
            if status == wanted or time.monotonic() > deadline:
                return status
            time.sleep(0.05)

    def log(self, upid: str) -> list[str]:
        """The whole task log (limit=0)."""
        node = upid.split(":")[1]
        return [line["t"] for line in self.data(f"/nodes/{node}/tasks/{upid}/log", limit=0)]
