# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""termproxy + vncwebsocket over the wire: tickets, upgrade checks, auth line, task endings (pve-protocol.md 4.1-4.5)."""
from __future__ import annotations

import re
import time

import pytest
import websocket

from pvesim.harness import SimProcess
from pvesim_client import Api
from term_client import Term

TICKET = re.compile(r"PVEVNC:[0-9A-F]{8}::[A-Za-z0-9+/=]+")
UPID = re.compile(r"UPID:pve1:[0-9A-F]{8}:[0-9A-F]{8,9}:[0-9A-F]{8}:vncshell::(?P<user>[^:]+):")
TERMPROXY_ERROR = ("command '/usr/bin/termproxy {port} --path /nodes/pve1 --perm Sys.Console --vncticket-endpoint --verify-port "
                   "--ticket-fd 3 -- {cmd}' failed: exit code 1")


def test_termproxy_answer(ticket_api: Api) -> None:
    term = Term(ticket_api)
    info = term.info
    assert info["user"] == "root@pam" and isinstance(info["port"], int) and 5900 <= info["port"] <= 5999
    assert TICKET.fullmatch(info["ticket"])
    match = UPID.fullmatch(info["upid"])
    assert match and match.group("user") == "root@pam"
    assert ticket_api.data(f"/nodes/pve1/tasks/{term.upid}/status")["status"] == "running"
    # Without an Upgrade header the same URL is a plain API call (4.3); the port comes back as a string.
    response = ticket_api.session.get(term.url().replace("wss://", "https://"), timeout=30)
    assert response.status_code == 200 and response.json() == {"data": {"port": str(info["port"])}}
    with term.connect():
        assert term.login() is not None


def test_upgrade_headers_and_ok(ticket_api: Api) -> None:
    term = Term(ticket_api).connect(subprotocols=["binary"])
    with term:
        headers = term.ws.getheaders()
        assert term.ws.getstatus() == 101
        assert headers["upgrade"] == "websocket" and headers["connection"] == "upgrade"
        assert headers["sec-websocket-protocol"] == "binary" and "server" not in headers
        term.login()
        term.read_until(b"root@pve1:~# ")
        assert b"root@pve1:~# " in term.output
    # Offering two protocols: the whole list comes back verbatim (what strict clients reject, 4.3).
    raw = Term(ticket_api)
    ws = websocket.WebSocket(sslopt={"ca_certs": ticket_api.sim.ca_path})
    ws.connect(raw.url(), header=raw.auth_headers() + ["Sec-WebSocket-Protocol: binary, base64"], timeout=10)
    assert ws.getheaders()["sec-websocket-protocol"] == "binary, base64"
    ws.close()


def test_no_subprotocol_no_header(ticket_api: Api) -> None:
    term = Term(ticket_api)
    ws = websocket.WebSocket(sslopt={"ca_certs": ticket_api.sim.ca_path})
    ws.connect(term.url(), header=term.auth_headers(), timeout=10)
    assert "sec-websocket-protocol" not in ws.getheaders()
    ws.close()


def test_vnc_ticket_checks(ticket_api: Api, api: Api) -> None:
    term = Term(ticket_api)
    other = Term(ticket_api)
    wrong = [
        term.url(ticket=other.info["ticket"]),  # another port's ticket
        term.url(ticket=term.info["ticket"][:-6] + "AAAA=="),
    ]
    for url in wrong:
        response = ticket_api.session.get(url.replace("wss://", "https://"), headers={"Upgrade": "websocket"}, timeout=30)
        assert response.status_code == 401 and response.reason == "permission denied - invalid PVEVNC ticket"
        assert response.json()["message"] == "permission denied - invalid PVEVNC ticket\n"
    # The token of root@pam is another authid: root@pam's ticket is not valid for it (4.3).
    response = api.session.get(term.url().replace("wss://", "https://"), timeout=30)
    assert response.status_code == 401


def test_upgrade_preconditions(ticket_api: Api) -> None:
    term = Term(ticket_api)
    url = term.url().replace("wss://", "https://")
    base = {"Upgrade": "websocket", "Connection": "Upgrade"}
    response = ticket_api.session.get(url, headers=dict(base, **{"Sec-WebSocket-Version": "12", "Sec-WebSocket-Key": "x"}), timeout=30)
    assert response.status_code == 500 and response.reason == "unsupported websocket-version '12'"
    response = ticket_api.session.get(url, headers=dict(base, **{"Sec-WebSocket-Version": "13"}), timeout=30)
    assert response.status_code == 500 and response.reason == "missing websocket-key"


def test_permissions_and_unknown_node(ro_api: Api, ticket_api: Api) -> None:
    response = ro_api.post("/nodes/pve1/termproxy")
    assert response.status_code == 403 and response.reason == "Permission check failed (/nodes/pve1, Sys.Console)"
    response = ticket_api.post("/nodes/pve9/termproxy")
    assert response.status_code == 500 and response.reason == "no such cluster node 'pve9'"


def test_wrong_authid_closes_without_a_word(ticket_api: Api) -> None:
    term = Term(ticket_api).connect()
    term.send_raw(f"ops@pve:{term.info['ticket']}\n".encode())
    assert term.read_to_end() == b"" and not term.close_frame
    status = ticket_api.wait_task(term.upid)
    assert status["exitstatus"] == TERMPROXY_ERROR.format(port=term.info["port"], cmd="/bin/login -f root")
    assert any(line.startswith("invalid authentication") for line in ticket_api.log(term.upid))


def test_close_before_the_auth_line(ticket_api: Api) -> None:
    term = Term(ticket_api).connect()
    term.close()
    status = ticket_api.wait_task(term.upid)
    assert status["exitstatus"].startswith("command '/usr/bin/termproxy")
    assert "failed reading ticket: connection closed before authentication" in ticket_api.log(term.upid)
    # The tasks are listed like any other (typefilter, userfilter).
    listed = ticket_api.data("/nodes/pve1/tasks", typefilter="vncshell", userfilter="root@pam", limit=500)
    assert any(task["upid"] == term.upid and task["status"] == status["exitstatus"] for task in listed)


def test_token_gets_a_login_prompt(api: Api) -> None:
    with Term(api).connect() as term:
        assert term.info["user"] == "root@pam!ansible"
        term.login()
        term.read_until(b"pve1 login: ")
        assert term.output.startswith(b"OK\r\npve1 login: ")
        term.type("root\r")
        term.read_until(b"Password: ")
        term.type("secret\r")
        term.read_until(b"Login incorrect\r\npve1 login: ", 5)
        assert b"secret" not in term.output  # no echo for the password
    records = [r for r in api.sim.shell_input() if r["authid"] == "root@pam!ansible"]
    assert records and records[-1]["kind"] == "login" and records[-1]["lines"][:2] == ["root", "secret"]


def test_other_users_get_a_login_prompt(sim: SimProcess) -> None:
    ops = Api(sim, "ops")
    with Term(ops).connect() as term:
        term.login()
        assert b"pve1 login: " in term.read_until(b"pve1 login: ")


def test_client_close_ends_the_task_ok(ticket_api: Api) -> None:
    with Term(ticket_api).connect() as term:
        term.login()
        term.read_until(b"~# ")
        upid = term.upid
    status = ticket_api.wait_task(upid)
    assert status["exitstatus"] == "OK"
    assert ticket_api.log(upid)[0].startswith("client connection: 127.0.0.1:")
    # Dropping the TCP connection without a Close frame ends it the same way.
    term = Term(ticket_api).connect()
    term.login()
    term.ws.sock.close()
    assert ticket_api.wait_task(term.upid)["exitstatus"] == "OK"


def test_shell_exit_drops_the_connection_without_close_frame(ticket_api: Api) -> None:
    with Term(ticket_api).connect() as term:
        term.login()
        term.read_until(b"~# ")
        term.type("exit 3\r")
        term.read_to_end()
        assert term.closed and not term.close_frame
    status = ticket_api.wait_task(term.upid)
    assert status["exitstatus"] == TERMPROXY_ERROR.format(port=term.info["port"], cmd="/bin/login -f root")
    log = ticket_api.log(term.upid)
    assert log[-2:] == ["error reading from pty: Input/output error (os error 5)", "TASK ERROR: " + status["exitstatus"]]


def test_ping_pong_and_unmasked_frames(ticket_api: Api) -> None:
    with Term(ticket_api).connect() as term:
        term.login()
        term.ws.ping(b"are you there")
        term.ws.settimeout(5)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            opcode, data = term.ws.recv_data(control_frame=True)
            if opcode == websocket.ABNF.OPCODE_PONG:
                assert data == b"are you there"
                break
        else:
            raise AssertionError("no pong")
        # An unmasked client frame makes the proxy drop the connection.
        term.ws.sock.send(b"\x82\x02hi")
        term.read_to_end()
        assert term.closed and not term.close_frame
    assert ticket_api.wait_task(term.upid)["exitstatus"] == "OK"


def test_port_is_reused_and_one_connection_only(ticket_api: Api) -> None:
    term = Term(ticket_api).connect()
    term.login()
    second = websocket.WebSocket(sslopt={"ca_certs": ticket_api.sim.ca_path})
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        second.connect(term.url(), header=term.auth_headers(), timeout=10)
    assert refused.value.status_code == 500
    term.close()
    ticket_api.wait_task(term.upid)
    assert Term(ticket_api).info["port"] <= term.info["port"]


def test_timeouts_and_expiry() -> None:
    """Short hidden timeouts: termproxy gives up waiting for the websocket; the VNC ticket expires."""
    with SimProcess("--termproxy-timeout", "1", "--vnc-ticket-lifetime", "2", request_log=False) as sim:
        api = Api(sim, "ticket")
        unused = Term(api)
        late = Term(api)
        quiet = Term(api).connect()  # connects but never sends the auth line
        time.sleep(2.5)
        response = api.session.get(late.url().replace("wss://", "https://"), headers={"Upgrade": "websocket"}, timeout=30)
        assert response.status_code == 401
        assert api.wait_task(unused.upid)["exitstatus"] == "failed waiting for client: timed out"
        assert quiet.read_to_end(5) == b"" and quiet.closed
        log = api.log(quiet.upid)
        assert "failed reading ticket: timed out" in log and log[-1].startswith("TASK ERROR: command '/usr/bin/termproxy")
