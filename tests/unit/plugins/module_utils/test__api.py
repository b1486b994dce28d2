# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The HTTP client against a scripted session: auth, CSRF, renewal, retries, error mapping."""
from __future__ import annotations

import dataclasses
import json
import pathlib
import socket
import time
import typing as t

import pytest
import requests

from ansible_collections.pveops.proxmox.plugins.module_utils import _api
from ansible_collections.pveops.proxmox.plugins.module_utils._api import ApiClient, api_path, encode_params
from ansible_collections.pveops.proxmox.plugins.module_utils._config import connection_config
from ansible_collections.pveops.proxmox.plugins.module_utils._tls import open_socket
from ansible_collections.pveops.proxmox.plugins.module_utils._errors import (
    ApiError,
    AuthError,
    NodeUnreachable,
    NotFound,
    PermissionDenied,
    PveConnectionError,
    PveError,
    PveTimeout,
)

TICKET = "PVE:root@pam:6716A1B2::c2lnbmF0dXJl+/="
CSRF = "6716A1B2:abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ"


class FakeResponse:
    """Just enough of requests.Response."""

    def __init__(self, status: int, body: t.Any = None, reason: str | None = None, raw: bytes | None = None) -> None:
        self.status_code = status
        self.reason = reason if reason is not None else ("OK" if status == 200 else "")
        self._raw = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
        self.content = self._raw
        self.headers: dict[str, str] = {}

    def json(self) -> t.Any:
        if not self._raw:
            raise ValueError("empty body")
        return json.loads(self._raw)


class FakeSession:
    """Replays scripted answers and records every call."""

    def __init__(self, answers: list[t.Any]) -> None:
        self.answers = list(answers)
        self.calls: list[dict[str, t.Any]] = []

    def request(self, method: str, url: str, **kwargs: t.Any) -> FakeResponse:
        self.calls.append({"method": method, "url": url, **kwargs})
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def close(self) -> None:
        pass


def ok(data: t.Any) -> FakeResponse:
    return FakeResponse(200, {"data": data})


def login_ok() -> FakeResponse:
    return ok({"ticket": TICKET, "CSRFPreventionToken": CSRF, "username": "root@pam"})


def make_client(answers: list[t.Any], **options: t.Any) -> tuple[ApiClient, FakeSession]:
    base = {"api_url": "https://pve.test:8006", "api_password": "hunter2"}
    base.update(options)
    client = ApiClient(connection_config(base))
    session = FakeSession(answers)
    client._session = session  # pylint: disable=protected-access
    return client, session


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    slept: list[float] = []
    monkeypatch.setattr(_api.time, "sleep", slept.append)
    return slept


def test_path_segments_are_quoted() -> None:
    assert api_path("nodes", "pve1", "tasks", "UPID:pve1:0001:x:", "status") == "/nodes/pve1/tasks/UPID%3Apve1%3A0001%3Ax%3A/status"
    assert api_path("pools", "a/b") == "/pools/a%2Fb"


def test_booleans_are_sent_as_1_and_0() -> None:
    assert encode_params({"forceStop": True, "current": False, "timeout": 30, "skip": None}) == {
        "forceStop": "1", "current": "0", "timeout": "30"}


def test_ticket_login_then_cookie_and_csrf_only_on_post() -> None:
    client, session = make_client([login_ok(), ok({"version": "9.2.11"}), ok("UPID:pve:1:2:3:vzstart:101:root@pam:")])
    assert client.get("/version") == {"version": "9.2.11"}
    client.post("/nodes/pve/lxc/101/status/start")
    login, get, post = session.calls
    assert login["url"] == "https://pve.test:8006/api2/json/access/ticket"
    assert login["data"] == {"username": "root@pam", "password": "hunter2"}
    assert get["cookies"] == {"PVEAuthCookie": TICKET}
    assert "CSRFPreventionToken" not in (get["headers"] or {})
    assert post["headers"]["CSRFPreventionToken"] == CSRF
    assert post["cookies"] == {"PVEAuthCookie": TICKET}


def test_token_header_and_no_csrf() -> None:
    client, session = make_client([ok("UPID")], api_password=None, api_token_id="root@pam!ansible", api_token_secret="uuid")
    client.post("/nodes/pve/lxc/101/status/start")
    (call,) = session.calls
    assert call["headers"] == {"Authorization": "PVEAPIToken=root@pam!ansible=uuid"}
    assert call["cookies"] == {}


def test_wrong_password_is_an_auth_error_without_the_password() -> None:
    client, _session = make_client([FakeResponse(401, {"data": None, "message": "authentication failure\n"}, "authentication failure")])
    with pytest.raises(AuthError) as info:
        client.get("/version")
    assert "authentication failed for root@pam" in str(info.value)
    assert "hunter2" not in str(info.value)


def test_expired_ticket_relogs_in_once_and_replays() -> None:
    client, session = make_client([login_ok(), FakeResponse(401, reason="Authentication failed!"), login_ok(), ok([1])])
    assert client.get("/cluster/resources") == [1]
    assert [call["url"].rsplit("/json", 1)[1] for call in session.calls] == [
        "/access/ticket", "/cluster/resources", "/access/ticket", "/cluster/resources"]


def test_second_401_is_raised() -> None:
    client, _session = make_client([login_ok(), FakeResponse(401, reason="Authentication failed!"), login_ok(),
                                    FakeResponse(401, reason="Permission denied - invalid csrf token")])
    with pytest.raises(AuthError, match="invalid csrf token"):
        client.post("/nodes/pve/lxc/101/status/start")


def test_proactive_renewal_posts_the_ticket(monkeypatch: pytest.MonkeyPatch) -> None:
    client, session = make_client([login_ok(), ok(1), login_ok(), ok(2)])
    clock = [1000.0]
    monkeypatch.setattr(_api.time, "monotonic", lambda: clock[0])
    assert client.get("/a") == 1
    clock[0] += _api.TICKET_RENEW_AFTER + 1
    assert client.get("/b") == 2
    renewal = session.calls[2]
    assert renewal["data"] == {"username": "root@pam", "password": TICKET}


def test_token_401_names_the_token_not_the_secret() -> None:
    client, _session = make_client([FakeResponse(401, reason="Authentication failed!")], api_password=None,
                                   api_token_id="root@pam!ansible", api_token_secret="uuid-secret")
    with pytest.raises(AuthError) as info:
        client.get("/version")
    assert "root@pam!ansible" in str(info.value)
    assert "uuid-secret" not in str(info.value)


def test_403_is_permission_denied_and_not_a_relogin() -> None:
    client, session = make_client([login_ok(), FakeResponse(403, {"data": None, "message": "Permission check failed (/vms/101, VM.PowerMgmt)\n"},
                                                            "Permission check failed (/vms/101, VM.PowerMgmt)")])
    with pytest.raises(PermissionDenied, match=r"Permission check failed \(/vms/101, VM.PowerMgmt\)"):
        client.post("/nodes/pve/lxc/101/status/start")
    assert len(session.calls) == 2


def test_reason_phrase_wins_over_message() -> None:
    client, _session = make_client([login_ok(), FakeResponse(500, {"data": None, "message": "other\n"}, "CT 101 already running")])
    with pytest.raises(ApiError, match="CT 101 already running") as info:
        client.post("/nodes/pve/lxc/101/status/start")
    assert info.value.status == 500
    assert info.value.path == "/nodes/pve/lxc/101/status/start"


def test_message_used_when_reason_is_standard() -> None:
    client, _session = make_client([login_ok(), FakeResponse(500, {"data": None, "message": "CT 101 not running\n"}, "Internal Server Error")])
    with pytest.raises(ApiError, match="CT 101 not running"):
        client.post("/nodes/pve/lxc/101/status/stop")


def test_parameter_errors_are_listed() -> None:
    body = {"data": None, "errors": {"vmid": "value must have a minimum value of 100"}, "message": "Parameter verification failed.\n"}
    client, _session = make_client([login_ok(), FakeResponse(400, body, "Parameter verification failed.")])
    with pytest.raises(ApiError, match="vmid: value must have a minimum value of 100"):
        client.get("/nodes/pve/lxc/5/status/current")


def test_missing_config_is_not_found_and_not_retried() -> None:
    reason = "Configuration file 'nodes/pve/lxc/999.conf' does not exist"
    client, session = make_client([login_ok(), FakeResponse(500, {"data": None, "message": reason + "\n"}, reason)])
    with pytest.raises(NotFound, match="999.conf"):
        client.get("/nodes/pve/lxc/999/status/current")
    assert len(session.calls) == 2


def test_transient_errors_of_a_get_are_retried_with_backoff(no_sleep: list[float]) -> None:
    client, session = make_client([login_ok(), FakeResponse(503, reason="Service Unavailable"),
                                   FakeResponse(500, reason="Internal Server Error"),
                                   requests.exceptions.ConnectionError("reset"), ok("fine")])
    assert client.get("/version") == "fine"
    assert len(session.calls) == 5
    assert len(no_sleep) == 3
    assert no_sleep[0] < no_sleep[2]


def test_get_retries_are_bounded() -> None:
    client, session = make_client([login_ok()] + [FakeResponse(503, reason="Service Unavailable")] * _api.MAX_ATTEMPTS)
    with pytest.raises(ApiError, match="503"):
        client.get("/version")
    assert len(session.calls) == 1 + _api.MAX_ATTEMPTS


def test_post_is_never_replayed_after_a_reset() -> None:
    client, session = make_client([login_ok(), requests.exceptions.ConnectionError("Connection aborted.")])
    with pytest.raises(PveConnectionError, match="lost the connection"):
        client.post("/nodes/pve/lxc/101/status/start")
    assert len(session.calls) == 2


def test_post_is_not_retried_on_a_500() -> None:
    client, session = make_client([login_ok(), FakeResponse(500, reason="Internal Server Error")])
    with pytest.raises(ApiError):
        client.post("/nodes/pve/lxc/101/status/start")
    assert len(session.calls) == 2


def test_offline_node_is_node_unreachable() -> None:
    client, _session = make_client([login_ok()] + [FakeResponse(595, reason="Errors during connection establishment, proxy handshake")] * 4)
    with pytest.raises(NodeUnreachable, match="595"):
        client.get("/nodes/pve3/lxc/106/status/current")


def test_non_api_answer() -> None:
    client, _session = make_client([login_ok(), FakeResponse(200, raw=b"<html>")])
    with pytest.raises(ApiError, match="not JSON"):
        client.get("/version")


def test_envelope_keeps_total() -> None:
    client, _session = make_client([login_ok(), FakeResponse(200, {"data": [{"n": 1, "t": "TASK OK"}], "total": 1})])
    assert client.request("GET", "/x", envelope=True)["total"] == 1


def test_validate_certs_false_warns() -> None:
    client = ApiClient(connection_config({"api_url": "pve", "api_password": "x", "validate_certs": False}))
    assert any("validate_certs is false" in warning for warning in client.warnings)


SECRET = "6d94626e-5342-4b1e-8f3f-50c8d1d71853"


@pytest.mark.parametrize("raised", [
    requests.exceptions.InvalidHeader("Invalid leading whitespace, reserved character(s), or return character(s) in header value: "
                                      f"'PVEAPIToken=root@pam!ansible={SECRET}\\n'"),
    ValueError(f"Invalid header value b'PVEAPIToken=root@pam!ansible={SECRET}\\r\\n'"),
    UnicodeEncodeError("latin-1", f"PVEAPIToken=root@pam!ansible={SECRET}€", 65, 66, "ordinal not in range(256)"),
])
def test_a_refused_header_is_reported_without_its_text(raised: BaseException) -> None:
    client, session = make_client([raised, ok("never")], api_password=None, api_token_id="root@pam!ansible", api_token_secret=SECRET)
    with pytest.raises(PveError) as info:
        client.get("/version")
    assert "could not be sent" in str(info.value) and "header" in str(info.value)
    assert SECRET not in str(info.value) and SECRET not in repr(info.value.details)
    assert info.value.__context__ is None and info.value.__cause__ is None  # no traceback carries it either
    assert len(session.calls) == 1  # not retried: it would fail the same way


def test_the_http_library_itself_never_puts_a_header_into_our_message() -> None:
    """A header http.client cannot encode, through the real requests stack (plain HTTP to a socket that only listens)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        config = dataclasses.replace(connection_config({"api_url": "https://127.0.0.1:9", "api_token_id": "root@pam!ansible",
                                                        "api_token_secret": SECRET}),
                                     base_url=f"http://127.0.0.1:{listener.getsockname()[1]}", token_secret=SECRET + "€")
        with ApiClient(config) as client, pytest.raises(PveError) as info:
            client.get("/version")
    assert "could not be sent" in str(info.value) and SECRET not in str(info.value)


def test_allowed_plain_http_warns() -> None:
    client = ApiClient(connection_config({"api_url": "http://pve:8006", "api_password": "x", "allow_http": True}))
    assert any(warning.startswith("allow_http is set: credentials and tickets travel unencrypted") for warning in client.warnings)


def test_http_to_the_https_port_says_to_use_https() -> None:
    """pveproxy answers plain HTTP on its TLS port with 301/308 to https:// (AnyEvent.pm ensure_tls_connection)."""
    redirect = FakeResponse(308, raw=b"Permanent Redirect", reason="Permanent Redirect")
    redirect.headers["Location"] = "https://pve:8006/api2/json/access/ticket"
    client, _session = make_client([redirect], api_url="http://pve:8006", allow_http=True)
    with pytest.raises(ApiError) as info:
        client.get("/version")
    assert "http://pve:8006 answers with a redirect to https://pve:8006/api2/json/access/ticket: it speaks HTTPS, " \
           "so api_url must start with https://" in str(info.value)


def test_http_connection_lost_hints_at_the_scheme() -> None:
    client, _session = make_client([requests.exceptions.ConnectionError("('Connection aborted.', RemoteDisconnected('closed'))"),
                                    requests.exceptions.ConnectionError("again")] * 2, api_url="http://pve:8006", allow_http=True)
    with pytest.raises(PveConnectionError, match="if that port serves HTTPS, api_url must start with https://"):
        client.login()


def test_login_is_retried_on_transient_errors_like_a_get(no_sleep: list[float]) -> None:
    """A login changes nothing on the server: a lost or failed answer is safe to ask for again."""
    client, session = make_client([requests.exceptions.ConnectionError("('Connection aborted.', ConnectionResetError(104))"),
                                   FakeResponse(503, reason="Service Unavailable"), FakeResponse(500, reason="Internal Server Error"),
                                   login_ok(), ok("fine")])
    assert client.get("/version") == "fine"
    assert [call["url"].rsplit("/json", 1)[1] for call in session.calls] == ["/access/ticket"] * 4 + ["/version"]
    assert len(no_sleep) == 3


def test_login_retries_are_bounded_and_a_401_is_final() -> None:
    client, session = make_client([FakeResponse(503, reason="Service Unavailable")] * _api.MAX_ATTEMPTS)
    with pytest.raises(ApiError, match="503"):
        client.login()
    assert len(session.calls) == _api.MAX_ATTEMPTS
    refused, session = make_client([FakeResponse(401, {"data": None, "message": "authentication failure\n"}, "authentication failure")])
    with pytest.raises(AuthError):
        refused.login()
    assert len(session.calls) == 1


def test_a_post_marked_idempotent_is_retried() -> None:
    answer = {"user": "root@pam", "ticket": "PVEVNC:x", "port": 5900, "upid": "UPID:pve:1:2:3:vncshell::root@pam:"}
    client, session = make_client([login_ok(), requests.exceptions.ConnectionError("('Connection aborted.', RemoteDisconnected('x'))"),
                                   FakeResponse(502, reason="Bad Gateway"), ok(answer)])
    assert client.post("/nodes/pve/termproxy", idempotent=True) == answer
    assert len(session.calls) == 4


def test_a_stalled_tls_handshake_is_named_as_such(monkeypatch: pytest.MonkeyPatch) -> None:
    """It used to read "got no answer within 30 s (api_timeout)" although it gave up after the 10 s connect bound."""
    monkeypatch.setattr(_api, "CONNECT_TIMEOUT_MAX", 0.3)
    with socket.socket() as listener:  # accepts (the kernel's backlog) but never speaks TLS
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        url = f"https://127.0.0.1:{listener.getsockname()[1]}"
        with ApiClient(connection_config({"api_url": url, "api_password": "x", "api_timeout": 60})) as client:
            started = time.monotonic()
            with pytest.raises(PveConnectionError) as info:
                client.login()
            took = time.monotonic() - started
    assert str(info.value) == (f"POST /access/ticket: {url} accepted the connection, but the TLS handshake did not complete within "
                               "0.3 s; is api_url the Proxmox VE API and pveproxy responsive?")
    assert took < 30  # four attempts of 0.3 s, not the 60 s read timeout


def test_a_slow_answer_is_still_a_timeout_of_api_timeout() -> None:
    client, _session = make_client([login_ok()] + [requests.exceptions.ReadTimeout("Read timed out. (read timeout=30)")] * _api.MAX_ATTEMPTS,
                                   api_timeout=2)
    with pytest.raises(PveTimeout, match=r"GET /version got no answer from https://pve.test:8006 within 2 s \(api_timeout\)"):
        client.get("/version")


def test_offline_node_is_named_first() -> None:
    client, _session = make_client([login_ok()] + [FakeResponse(595, reason="Errors during connection establishment, proxy handshake")] * 4)
    with pytest.raises(NodeUnreachable) as info:
        client.get("/nodes/pve3/lxc/106/status/current")
    assert str(info.value) == ("node pve3 is offline or cannot be reached from the node that answered the API call: "
                               "GET /nodes/pve3/lxc/106/status/current failed with HTTP 595: Errors during connection establishment, proxy handshake")
    assert info.value.node == "pve3" and info.value.status == 595


def test_fingerprint_mismatch_shows_the_real_fingerprint_as_pvenode_does() -> None:
    config = connection_config({"api_url": "https://pve:8006", "api_password": "x", "tls_fingerprint": "ab" * 32})
    cause = requests.exceptions.SSLError(f'Fingerprints did not match. Expected "{"ab" * 32}", got "{"0f" * 32}"')
    assert _api.tls_error_message(config, cause) == (
        f"the certificate of https://pve:8006 does not match tls_fingerprint (its SHA-256 fingerprint is {':'.join(['0F'] * 32)}); "
        "check the fingerprint with `pvenode cert info` on the node")


def test_597_is_retried_like_595_and_596() -> None:
    client, session = make_client([login_ok(), FakeResponse(597, reason="Broken pipe"), ok([1])])
    assert client.get("/nodes/pve2/lxc") == [1]
    assert len(session.calls) == 3
    client, _session = make_client([login_ok()] + [FakeResponse(597, reason="Broken pipe")] * 4)
    with pytest.raises(NodeUnreachable):
        client.get("/nodes/pve2/lxc")


def test_an_empty_journal_answer_says_the_reader_refused() -> None:
    client, _session = make_client([login_ok(), FakeResponse(200, raw=b"")])
    with pytest.raises(ApiError) as info:
        client.get("/nodes/pve1/journal", {"startcursor": "x"})
    assert "the node's journal reader returned nothing: it refused the request" in str(info.value)
    client, _session = make_client([login_ok(), FakeResponse(200, raw=b"")])
    with pytest.raises(ApiError, match="the answer is not JSON"):
        client.get("/version")


def test_a_deadline_bounds_each_request_and_stops_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr(_api.time, "monotonic", lambda: clock[0])
    client, session = make_client([login_ok(), FakeResponse(503), ok([1])])
    client.set_deadline(1002.5)
    assert client.get("/cluster/resources") == [1]
    assert all(call["timeout"][1] <= 2.5 for call in session.calls)  # never longer than what is left
    clock[0] = 1003.0
    with pytest.raises(PveTimeout, match="was not sent: the operation's time limit"):
        client.get("/cluster/resources")
    client.set_deadline(None)
    session.answers.append(ok([2]))
    assert client.get("/cluster/resources") == [2]


class RecordingAdapter(requests.adapters.HTTPAdapter):
    """Keeps what the session sends instead of sending it; answers 200 with an empty envelope."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[requests.PreparedRequest, dict[str, t.Any]]] = []

    def send(self, request: requests.PreparedRequest, **kwargs: t.Any) -> requests.Response:  # type: ignore[override]
        self.sent.append((request, kwargs))
        response = requests.Response()
        response.status_code, response.reason, response._content = 200, "OK", b'{"data": null}'  # pylint: disable=protected-access
        response.request = request
        return response


@pytest.mark.parametrize("call", [
    {"method": "GET", "params": {"type": "vm", "q": "a b/c&d"}, "cookies": {"PVEAuthCookie": TICKET}},
    {"method": "GET", "headers": {"Authorization": "PVEAPIToken=root@pam!t=secret"}},
    {"method": "POST", "data": {"username": "root@pam", "password": "p&w=1 ü"}},
    {"method": "POST", "data": {}, "headers": {"CSRFPreventionToken": CSRF}, "cookies": {"PVEAuthCookie": TICKET}},
    {"method": "PUT", "data": {"onboot": "1"}},
    {"method": "DELETE"},
])
def test_the_lean_session_sends_what_requests_would(call: dict[str, t.Any], tmp_path: pathlib.Path) -> None:
    """Method, URL, headers and body match requests' own preparation; the timeout and TLS settings reach the adapter."""
    ca_path = tmp_path / "ca.pem"
    ca_path.write_text("not read here\n")
    client = ApiClient(connection_config({"api_url": "https://pve.test:8006", "api_password": "x", "ca_path": str(ca_path)}))
    session = client.session
    adapter = RecordingAdapter()
    session.mount("https://", adapter)
    url = "https://pve.test:8006/api2/json/nodes/pve1/lxc/101/config"
    call = dict(call)
    method = call.pop("method")
    session.request(method, url, timeout=(3, 7), allow_redirects=False, **call)
    expected = requests.Session().prepare_request(requests.Request(method, url, headers=dict(session.headers, **call.get("headers", {})),
                                                                   params=call.get("params") or {}, data=call.get("data") or {},
                                                                   cookies=call.get("cookies")))
    (sent, kwargs), = adapter.sent
    assert (sent.method, sent.url, sent.body) == (expected.method, expected.url, expected.body)
    assert dict(sent.headers) == dict(expected.headers)
    assert kwargs == {"stream": False, "timeout": (3, 7), "verify": str(ca_path), "cert": None, "proxies": {}}


def test_the_lean_session_refuses_a_header_requests_refuses() -> None:
    client = ApiClient(connection_config({"api_url": "https://pve.test:8006", "api_password": "x"}))
    client.session.mount("https://", RecordingAdapter())
    with pytest.raises(requests.exceptions.InvalidHeader):
        client.session.request("GET", "https://pve.test:8006/api2/json/version", headers={"Authorization": " PVEAPIToken=a=b"},
                               allow_redirects=False)


def test_the_terminal_socket_sends_small_messages_without_nagle_delay() -> None:
    """Back-to-back small websocket messages (a length line, then a chunk) must not wait for the node's delayed ACK (40 ms)."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        config = connection_config({"api_url": f"http://127.0.0.1:{port}", "api_password": "x", "allow_http": True})
        with open_socket(config, 5) as sock:
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
