# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The request log: format, mark(), and that no secret ever reaches the file."""
from __future__ import annotations

from typing import Iterator

import pytest

from pvesim.harness import SimProcess
from pvesim_client import Api


@pytest.fixture(scope="module")
def logged() -> Iterator[SimProcess]:
    """A private simulator so the log holds only this module's requests."""
    with SimProcess() as process:
        yield process


def test_entries_and_redaction(logged: SimProcess) -> None:
    client = Api(logged, "ticket")
    ticket = client.session.cookies["PVEAuthCookie"]
    Api(logged, "none").post("/access/ticket", data={"username": "root@pam", "password": ticket})
    Api(logged, "token").get("/nodes/pve1/lxc/101/status/current")
    Api(logged, "none").post("/access/ticket", data={"username": "root@pam", "password": "wrong", "otp": "123456"})
    entries = logged.requests()
    assert [(e["method"], e["path"], e["status"]) for e in entries] == [
        ("POST", "/api2/json/access/ticket", 200),
        ("POST", "/api2/json/access/ticket", 200),
        ("GET", "/api2/json/nodes/pve1/lxc/101/status/current", 200),
        ("POST", "/api2/json/access/ticket", 401),
    ]
    assert entries[0]["params"] == {"username": "root@pam", "password": "***"}
    assert entries[3]["params"]["otp"] == "***"
    assert entries[0]["authid"] is None and entries[2]["authid"] == "root@pam!ansible"
    assert all(isinstance(e["ts"], float) and isinstance(e["ms"], float) for e in entries)
    text = logged.log_path.read_text(encoding="utf-8") if logged.log_path else ""
    for secret in (logged.password, ticket, logged.token_secret, "wrong"):
        assert secret not in text
    assert logged.stderr_text() == ""


def test_mark(logged: SimProcess) -> None:
    api = Api(logged, "token")
    api.get("/version")
    logged.mark()
    assert logged.requests() == []
    api.get("/cluster/resources", type="vm")
    [entry] = logged.requests()
    assert entry["params"] == {"type": "vm"} and entry["path"] == "/api2/json/cluster/resources"
    # Control calls are not API requests and are not logged.
    logged.control("GET", "state")
    assert len(logged.requests()) == 1
