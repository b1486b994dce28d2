# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Authentication: every row of the pve-protocol.md 1.6 matrix, CSRF, renewal, tokens, lifetime, delay."""
from __future__ import annotations

import re
import time
from urllib.parse import quote

import pytest
import requests

from pvesim.harness import SimProcess
from pvesim_client import Api


def _assert_empty_401(response: requests.Response, reason: str) -> None:
    assert response.status_code == 401
    assert response.reason == reason
    assert response.content == b""
    assert "Content-Type" not in response.headers
    assert "Content-Length" not in response.headers
    assert response.headers["Connection"] == "close"


def test_no_credentials(sim: SimProcess) -> None:
    _assert_empty_401(Api(sim, "none").get("/version"), "No ticket")


def test_bad_ticket(sim: SimProcess) -> None:
    anon = Api(sim, "none")
    anon.session.cookies.set("PVEAuthCookie", "PVE:root@pam:6716A1B2::Zm9yZ2Vk")
    _assert_empty_401(anon.get("/version"), "Authentication failed!")


@pytest.mark.parametrize("value", ["root@pam!ansible=wrong", "root@pam!nope=x", "garbage", "audit@pve!readonly"])
def test_bad_token(sim: SimProcess, value: str) -> None:
    anon = Api(sim, "none")
    anon.session.headers["Authorization"] = f"PVEAPIToken={value}"
    _assert_empty_401(anon.get("/version"), "Authentication failed!")


def test_csrf_required_for_ticket_writes(sim: SimProcess) -> None:
    client = Api(sim, "ticket")
    del client.session.headers["CSRFPreventionToken"]
    _assert_empty_401(client.put("/nodes/pve3/lxc/110/config", data={"description": "x"}), "Permission denied - invalid csrf token")
    client.session.headers["CSRFPreventionToken"] = "6716A1B2:" + "A" * 43
    _assert_empty_401(client.put("/nodes/pve3/lxc/110/config", data={"description": "x"}), "Permission denied - invalid csrf token")
    # GET never needs it.
    assert client.get("/version").status_code == 200


def test_ticket_and_csrf_formats(sim: SimProcess) -> None:
    data = Api(sim, "none").login(sim.user, sim.password)
    assert re.fullmatch(r"PVE:root@pam:[0-9A-F]{8}::[A-Za-z0-9+/]+={0,2}", data["ticket"])
    assert re.fullmatch(r"[0-9A-F]{8}:[A-Za-z0-9+/]{43}", data["CSRFPreventionToken"])
    assert data["username"] == "root@pam"
    assert data["clustername"] == "homelab"
    assert data["cap"]["vms"]["VM.PowerMgmt"] == 1


def test_failed_login_is_json_401(sim: SimProcess) -> None:
    response = Api(sim, "none").post("/access/ticket", data={"username": "root@pam", "password": "wrong"})
    assert response.status_code == 401
    assert response.reason == "authentication failure"
    assert response.json() == {"data": None, "message": "authentication failure\n"}


def test_realm_parameter(sim: SimProcess) -> None:
    anon = Api(sim, "none")
    ok = anon.post("/access/ticket", data={"username": "root", "realm": "pam", "password": sim.password})
    assert ok.status_code == 200 and ok.json()["data"]["username"] == "root@pam"
    doubled = anon.post("/access/ticket", data={"username": "root@pam", "realm": "pam", "password": sim.password})
    assert doubled.status_code == 401


def test_missing_privilege_is_403(ro_api: Api) -> None:
    response = ro_api.post("/nodes/pve1/lxc/101/status/stop")
    assert response.status_code == 403
    assert response.reason == "Permission check failed (/vms/101, VM.PowerMgmt)"
    assert response.json() == {"data": None, "message": "Permission check failed (/vms/101, VM.PowerMgmt)\n"}
    config = ro_api.put("/nodes/pve1/lxc/101/config", data={"description": "x"})
    assert config.status_code == 403
    assert "VM.Config.Disk|VM.Config.CPU" in config.reason
    # Reading is allowed.
    assert ro_api.get("/nodes/pve1/lxc/101/status/current").status_code == 200


def test_token_refused_on_ticket_endpoint(sim: SimProcess) -> None:
    anon = Api(sim, "none")
    anon.session.headers["Authorization"] = f"PVEAPIToken={sim.token_id}={sim.token_secret}"
    response = anon.post("/access/ticket", data={"username": "root@pam", "password": sim.password})
    assert response.status_code == 403
    message = "Permission check failed (URI '/access/ticket' not available with API token, need proper ticket.\n)\n"
    assert response.reason == "Permission check failed (URI '/access/ticket' not available with API token, need proper ticket."
    assert response.json() == {"data": None, "message": message}


def test_credential_variants(sim: SimProcess) -> None:
    ticket = Api(sim, "none").login(sim.user, sim.password)["ticket"]
    anon = Api(sim, "none")
    # URL-encoded cookie value (what the web UI sends).
    assert anon.get("/version", ).status_code == 401
    url_encoded = anon.request("GET", "/version", headers={"Cookie": f"PVEAuthCookie={quote(ticket, safe='')}"})
    assert url_encoded.status_code == 200
    in_header = anon.request("GET", "/version", headers={"Authorization": f"PVEAuthCookie={ticket}"})
    assert in_header.status_code == 200
    # Space instead of the first '=' is accepted for tokens.
    spaced = anon.request("GET", "/version", headers={"Authorization": f"PVEAPIToken {sim.token_id}={sim.token_secret}"})
    assert spaced.status_code == 200
    # A ticket wins over a (bad) token.
    both = anon.request("GET", "/version", headers={"Cookie": f"PVEAuthCookie={ticket}", "Authorization": "PVEAPIToken=root@pam!x=bad"})
    assert both.status_code == 200


def test_renewal_with_ticket_as_password(sim: SimProcess) -> None:
    anon = Api(sim, "none")
    first = anon.login(sim.user, sim.password)
    renewed = anon.post("/access/ticket", data={"username": "root@pam", "password": first["ticket"]})
    assert renewed.status_code == 200
    assert renewed.json()["data"]["ticket"].startswith("PVE:root@pam:")
    ops = Api(sim, "ops")
    ops_ticket = ops.session.cookies["PVEAuthCookie"]
    # root may mint tickets for anyone with its own ticket; ops may not mint for root.
    minted = anon.post("/access/ticket", data={"username": "ops@pve", "password": first["ticket"]})
    assert minted.status_code == 200 and minted.json()["data"]["username"] == "ops@pve"
    refused = anon.post("/access/ticket", data={"username": "root@pam", "password": ops_ticket})
    assert refused.status_code == 401


def test_ops_user_is_admin_but_not_root(sim: SimProcess) -> None:
    ops = Api(sim, "ops")
    assert ops.get("/cluster/status").status_code == 200
    # skiplock is root-only (the literal user string root@pam).
    response = ops.post("/nodes/pve3/lxc/106/status/start", data={"skiplock": 1})
    assert response.status_code == 400
    assert response.json()["errors"] == {"skiplock": "Only root may use this option."}


def test_verify_mode(sim: SimProcess) -> None:
    anon = Api(sim, "none")
    ok = anon.post("/access/ticket", data={"username": "root@pam", "password": sim.password, "path": "/vms/100", "privs": "VM.Audit"})
    assert ok.status_code == 200
    assert "ticket" not in ok.json()["data"]


def test_ticket_lifetime_and_expiry() -> None:
    with SimProcess("--ticket-lifetime", "2", request_log=False) as short:
        client = Api(short, "ticket")
        ticket = client.session.cookies["PVEAuthCookie"]
        assert client.get("/version").status_code == 200
        time.sleep(2.1)
        _assert_empty_401(client.get("/version"), "Authentication failed!")
        # An expired ticket cannot be renewed.
        renewal = Api(short, "none").post("/access/ticket", data={"username": "root@pam", "password": ticket})
        assert renewal.status_code == 401


def test_auth_delay() -> None:
    with SimProcess("--auth-delay", request_log=False) as slow:
        anon = Api(slow, "none")
        started = time.monotonic()
        response = anon.get("/version")
        assert response.status_code == 401
        assert time.monotonic() - started >= 2.9
        # Successful calls are not delayed.
        started = time.monotonic()
        assert Api(slow, "token").get("/version").status_code == 200
        assert time.monotonic() - started < 1.5


@pytest.mark.parametrize("password", ["pässwörd", "пароль", "€uro", "\udcff"])
def test_non_ascii_password_is_an_ordinary_401(sim: SimProcess, password: str) -> None:
    """Real PVE decodes the form value as UTF-8 (AnyEvent.pm decode_urlencoded) and answers every login failure
    401 `authentication failure` (API2/AccessControl.pm create_ticket's eval); it never fails with a 500."""
    response = Api(sim, "none").post("/access/ticket", data={"username": sim.user, "password": password.encode("utf-8", "surrogateescape")})
    assert (response.status_code, response.reason) == (401, "authentication failure")


@pytest.mark.parametrize("secret", ["é", "ü" * 36, "\xff"])
def test_non_ascii_token_secret_is_an_ordinary_401(sim: SimProcess, secret: str) -> None:
    """The header arrives as bytes; PVE::AccessControl::verify_token dies on a mismatch and HTTPServer.pm's
    auth_handler turns every such death into 401 `Authentication failed!`."""
    anon = Api(sim, "none")
    anon.session.headers["Authorization"] = f"PVEAPIToken={sim.token_id}={sim.token_secret[:-1]}{secret}".encode("utf-8")  # type: ignore[assignment]
    _assert_empty_401(anon.get("/version"), "Authentication failed!")
