# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Envelope, headers, 501/500/400 shapes and parameter decoding (pve-protocol.md 2.1, 2.2)."""
from __future__ import annotations

import json
import socket
import ssl

import pytest

from pvesim.harness import SimProcess
from pvesim_client import Api


def test_success_envelope_and_headers(api: Api) -> None:
    response = api.get("/version")
    assert response.status_code == 200
    assert response.json() == {"data": {"version": "9.2.11", "release": "9.2", "repoid": "14a22df35955d97d"}}
    headers = response.headers
    assert headers["Content-Type"] == "application/json;charset=UTF-8"
    assert headers["Server"] == "pve-api-daemon/3.0"
    assert headers["Cache-Control"] == "max-age=0"
    assert headers["Pragma"] == "no-cache"
    assert headers["Expires"] == headers["Date"]
    assert headers["Connection"] == "Keep-Alive"


def test_unknown_path_is_501(api: Api) -> None:
    response = api.get("/nodes/pve1/foo")
    assert response.status_code == 501
    assert response.reason == "Method 'GET /nodes/pve1/foo' not implemented"
    assert response.json() == {"data": None, "message": "Method 'GET /nodes/pve1/foo' not implemented"}
    assert response.headers["Connection"] == "close"
    wrong_method = api.request("DELETE", "/version")
    assert wrong_method.status_code == 501
    assert wrong_method.reason == "Method 'DELETE /version' not implemented"


def test_plain_dies_are_500(api: Api) -> None:
    missing = api.get("/nodes/pve1/lxc/999/status/current")
    assert missing.status_code == 500
    assert missing.reason == "Configuration file 'nodes/pve1/lxc/999.conf' does not exist"
    assert missing.json() == {"data": None, "message": "Configuration file 'nodes/pve1/lxc/999.conf' does not exist\n"}
    # A container asked for on the wrong node: the message names the node that was asked.
    assert api.get("/nodes/pve2/lxc/100/status/current").reason == "Configuration file 'nodes/pve2/lxc/100.conf' does not exist"
    # A QEMU guest is not a container.
    assert api.get("/nodes/pve1/lxc/200/status/current").status_code == 500
    node = api.get("/nodes/nope/status")
    assert node.status_code == 500 and node.json()["message"] == "no such cluster node 'nope'\n"


@pytest.mark.parametrize(("path", "params", "errors"), [
    ("/nodes/pve1/lxc/abc/status/current", {}, {"vmid": "type check ('integer') failed - got 'abc'"}),
    ("/nodes/pve1/lxc/99/status/current", {}, {"vmid": "value must have a minimum value of 100"}),
    ("/nodes/pve1/lxc/100/status/current", {"foo": "1"}, {"foo": "property is not defined in schema and the schema does not allow additional properties"}),
    ("/cluster/resources", {"type": "vms"}, {"type": "value 'vms' does not have a value in the enumeration 'vm, storage, node, sdn'"}),
    ("/nodes/pve1/lxc/100/config", {"current": "true"}, {"current": "type check ('boolean') failed - got 'true'"}),
    ("/pools", {"type": "lxc"}, {"poolid": "missing property - 'type' requires this property"}),
])
def test_parameter_errors(api: Api, path: str, params: dict[str, str], errors: dict[str, str]) -> None:
    response = api.get(path, **params)
    assert response.status_code == 400
    assert response.reason == "Parameter verification failed."
    assert response.json() == {"data": None, "errors": errors, "message": "Parameter verification failed.\n"}


def test_missing_required_parameter(sim: SimProcess) -> None:
    response = Api(sim, "none").post("/access/ticket", data={"username": "root@pam"})
    assert response.status_code == 400
    assert response.json()["errors"] == {"password": "property is missing and it is not optional"}


def test_json_body_booleans_and_query_override(ticket_api: Api) -> None:
    # JSON true is a valid boolean; form 'true' is not.
    ok = ticket_api.put("/nodes/pve3/lxc/110/config", json={"onboot": True, "description": "from json"})
    assert ok.status_code == 200 and ok.json() == {"data": None}
    bad = ticket_api.put("/nodes/pve3/lxc/110/config", data={"onboot": "true"})
    assert bad.status_code == 400
    # The query string overrides body keys; '+' is a space; ';' separates pairs.
    ticket_api.request("PUT", "/nodes/pve3/lxc/110/config?description=from+query", data={"description": "from body"})
    assert ticket_api.data("/nodes/pve3/lxc/110/config")["description"] == "from query"
    ticket_api.request("PUT", "/nodes/pve3/lxc/110/config", data="description=semi%3Bcolon;onboot=0",
                       headers={"Content-Type": "application/x-www-form-urlencoded"})
    config = ticket_api.data("/nodes/pve3/lxc/110/config")
    assert config["description"] == "semi;colon" and config["onboot"] == 0


def test_duplicate_path_parameter(ticket_api: Api) -> None:
    response = ticket_api.put("/nodes/pve3/lxc/110/config", data={"vmid": "111", "description": "x"})
    assert response.status_code == 400
    assert response.json()["errors"] == {"vmid": "duplicate parameter (already defined in URI) with conflicting values!"}


def test_body_on_get_and_content_types(api: Api) -> None:
    body_on_get = api.request("GET", "/version", data="a=b", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert body_on_get.status_code == 501
    assert body_on_get.reason == "Unexpected content for method 'GET'"
    assert body_on_get.text == "Unexpected content for method 'GET'"
    assert "Content-Type" not in body_on_get.headers
    other = api.request("POST", "/nodes/pve1/lxc/102/status/start", data="x", headers={"Content-Type": "text/plain"})
    assert other.status_code == 506
    too_big = api.request("PUT", "/nodes/pve3/lxc/110/config", data="description=" + "x" * (512 * 1024))
    assert too_big.status_code == 501 and too_big.reason == "for data too large"


def test_non_api_paths(api: Api, sim: SimProcess) -> None:
    assert api.session.get(sim.url + "/api2/xml/version", timeout=30).status_code == 501
    weird = api.session.get(sim.url + "/api2", timeout=30)
    assert weird.status_code == 501 and weird.text == "no such uri"


def test_gzip_when_accepted(api: Api) -> None:
    response = api.get("/cluster/resources")
    assert response.headers.get("Content-Encoding") == "gzip"
    assert response.json()["data"]
    small = api.get("/version")
    assert "Content-Encoding" not in small.headers


def test_keep_alive_connection_reused(sim: SimProcess) -> None:
    """Two requests on one raw TLS connection; the second still gets an answer."""
    context = ssl.create_default_context(cafile=sim.ca_path)
    port = int(sim.url.rsplit(":", 1)[1])
    auth = f"PVEAPIToken={sim.token_id}={sim.token_secret}"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname="127.0.0.1") as conn:
            request = f"GET /api2/json/version HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\n\r\n".encode()
            answers = []
            for _attempt in range(2):
                conn.sendall(request)
                head = b""
                while b"\r\n\r\n" not in head:
                    head += conn.recv(1)
                length = int(next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")))
                body = b""
                while len(body) < length:
                    body += conn.recv(length - len(body))
                answers.append(json.loads(body)["data"]["version"])
    assert answers == ["9.2.11", "9.2.11"]
