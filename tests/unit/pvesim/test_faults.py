# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fault injection: every kind happens, is logged (request log `fault` key and GET /_sim/faults), and does
what its real counterpart does to the request (applied or not); rates, seeds, run-time changes, terminal drops."""
from __future__ import annotations

import re
import socket
import ssl
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests

from pvesim.cli import build_parser, options_from_args
from pvesim.faults import ALL_KINDS
from pvesim.harness import SimError, SimProcess
from pvesim_client import Api
from term_client import Term

PROMPT = b"\x1b[?2004hroot@pve1:~# "


@pytest.fixture(scope="module")
def fsim() -> Iterator[SimProcess]:
    """A private simulator: faults are switched on and off here, and its request log holds only this module's calls."""
    with SimProcess("--task-seconds", "0.2", "--fault-seed", "5", "--slow-ms", "100") as process:
        yield process


@pytest.fixture(autouse=True)
def faults_off(fsim: SimProcess) -> Iterator[None]:
    """Every test starts and ends with faults off and an empty injected list."""
    fsim.set_faults(rate=0, kinds=list(ALL_KINDS), slow_ms=100)
    fsim.faults(clear=True)
    fsim.mark()
    yield
    fsim.set_faults(rate=0)


@pytest.fixture(scope="module")
def token(fsim: SimProcess) -> Api:
    """root@pam!ansible on the private simulator."""
    return Api(fsim, "token")


@pytest.fixture(scope="module")
def root(fsim: SimProcess) -> Api:
    """A root@pam ticket on the private simulator (logged in while faults are off)."""
    return Api(fsim, "ticket")


def _tasks(api: Api, node: str, vmid: int) -> list[dict[str, Any]]:
    tasks: list[dict[str, Any]] = api.data(f"/nodes/{node}/tasks", vmid=vmid, source="all")
    return tasks


def _raw_get(sim: SimProcess, path: str) -> tuple[str, dict[str, str], bytes]:
    """One GET on a fresh TLS connection, read until the server is gone: (status line, headers, body)."""
    port = int(sim.url.rsplit(":", 1)[1])
    context = ssl.create_default_context(cafile=sim.ca_path)
    with context.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10), server_hostname="127.0.0.1") as conn:
        conn.sendall(f"GET /api2/json{path} HTTP/1.1\r\nHost: pve\r\nAuthorization: PVEAPIToken={sim.token_id}={sim.token_secret}\r\n\r\n".encode())
        data = b""
        while True:
            try:
                chunk = conn.recv(65536)
            except (ssl.SSLError, OSError):
                break
            if not chunk:
                break
            data += chunk
    head, _sep, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    return lines[0], headers, body


def _entry(sim: SimProcess, suffix: str) -> dict[str, Any]:
    """The last request-log line whose path ends with `suffix`."""
    return [e for e in sim.requests() if e["path"].endswith(suffix)][-1]


# --- settings ----------------------------------------------------------------------------------------------

def test_settings_cli_and_validation(fsim: SimProcess) -> None:
    settings = fsim.faults()
    assert settings["rate"] == 0.0 and settings["kinds"] == list(ALL_KINDS) and settings["seed"] == 5
    assert settings["injected"] == [] and settings["armed_drop"] is None and settings["forgotten"] == 0
    changed = fsim.set_faults(rate=0.05, kinds=["500", "reset-after"], seed=1, slow_ms=500)
    assert changed == {"rate": 0.05, "kinds": ["500", "reset-after"], "seed": 1, "slow_ms": 500.0, "armed_drop": None, "match": None,
                       "nested_login_race": 0.0, "armed_hangups": 0, "link_rate": 0, "link_stall_ms": 0.0, "link_stall_every_ms": 1000.0,
                       "link_stall_side": "both"}
    for bad in ({"rate": 2}, {"rate": "0.5"}, {"kinds": ["500", "teapot"]}, {"slow_ms": -1}, {"seed": "x"}, {"colour": 1}):
        with pytest.raises(SimError, match="400"):
            fsim.set_faults(**bad)
    assert fsim.faults()["kinds"] == ["500", "reset-after"]  # a refused update changes nothing
    options = options_from_args(build_parser().parse_args(
        ["serve", "--fault-rate", "0.25", "--fault-kinds", "ws-drop,500", "--fault-seed", "9", "--slow-ms", "50"]))
    assert (options.fault_rate, options.fault_kinds, options.fault_seed, options.slow_ms) == (0.25, ("500", "ws-drop"), 9, 50.0)
    defaults = options_from_args(build_parser().parse_args(["serve"]))
    assert (defaults.fault_rate, defaults.fault_kinds, defaults.fault_seed, defaults.slow_ms) == (0.0, ALL_KINDS, None, 2000.0)
    for argv in (["--fault-rate", "1.5"], ["--fault-kinds", "500,bogus"], ["--slow-ms", "-5"]):
        with pytest.raises(SystemExit) as exc:
            build_parser().parse_args(["serve", *argv])
        assert exc.value.code == 2


def test_rates_zero_and_one(fsim: SimProcess, token: Api) -> None:
    for _attempt in range(5):
        assert token.get("/version").status_code == 200
    assert all("fault" not in e for e in fsim.requests()) and fsim.faults()["injected"] == []
    fsim.set_faults(rate=1, kinds=["slow"], slow_ms=0)
    fsim.mark()
    for _attempt in range(5):
        assert token.get("/version").status_code == 200
    assert [e.get("fault") for e in fsim.requests()] == ["slow"] * 5
    # Terminal kinds never touch plain API requests.
    fsim.set_faults(rate=1, kinds=["ws-drop", "lost-bytes"])
    fsim.mark()
    assert token.get("/version").status_code == 200 and "fault" not in fsim.requests()[0]
    assert len(fsim.faults()["injected"]) == 5


def test_seeded_sequence_repeats(fsim: SimProcess, token: Api) -> None:
    def run() -> list[str | None]:
        fsim.set_faults(rate=0.5, kinds=["500", "slow"], slow_ms=0, seed=11)
        fsim.mark()
        for _attempt in range(12):
            token.get("/version")
        return [e.get("fault") for e in fsim.requests()]

    first = run()
    assert first == run()
    assert None in first and "500" in first and "slow" in first


# --- the API kinds -----------------------------------------------------------------------------------------

def test_500_is_not_applied(fsim: SimProcess, token: Api) -> None:
    fsim.set_faults(rate=1, kinds=["500"])
    response = token.post("/nodes/pve2/lxc/103/status/start")
    assert (response.status_code, response.reason, response.content) == (500, "Internal Server Error", b"")
    assert response.headers["Connection"] == "close" and "Content-Type" not in response.headers
    fsim.set_faults(rate=0)
    entry = _entry(fsim, "/lxc/103/status/start")
    assert (entry["status"], entry["fault"], entry["authid"]) == (500, "500", "root@pam!ansible")
    [injected] = fsim.faults()["injected"]
    assert {k: injected[k] for k in ("kind", "method", "path", "authid")} == {
        "kind": "500", "method": "POST", "path": "/api2/json/nodes/pve2/lxc/103/status/start", "authid": "root@pam!ansible"}
    assert _tasks(token, "pve2", 103) == [] and token.data("/nodes/pve2/lxc/103/status/current")["status"] == "stopped"


def test_reset_before_is_not_applied(fsim: SimProcess, token: Api) -> None:
    fsim.set_faults(rate=1, kinds=["reset-before"])
    with pytest.raises(requests.ConnectionError):
        token.post("/nodes/pve2/lxc/103/status/start")
    fsim.set_faults(rate=0)
    entry = _entry(fsim, "/lxc/103/status/start")
    assert (entry["status"], entry["fault"], entry["authid"]) == (None, "reset-before", "root@pam!ansible")
    assert [e["kind"] for e in fsim.faults()["injected"]] == ["reset-before"]
    time.sleep(0.3)
    assert _tasks(token, "pve2", 103) == [] and token.data("/nodes/pve2/lxc/103/status/current")["status"] == "stopped"


def test_reset_after_applies_the_post(fsim: SimProcess, token: Api) -> None:
    fsim.set_faults(rate=1, kinds=["reset-after"])
    with pytest.raises(requests.ConnectionError):
        token.post("/nodes/pve1/lxc/102/status/start")
    fsim.set_faults(rate=0)
    entry = _entry(fsim, "/lxc/102/status/start")
    assert (entry["status"], entry["fault"]) == (200, "reset-after")
    # The action really started: its task exists and the container comes up.
    [task] = _tasks(token, "pve1", 102)
    assert task["type"] == "vzstart" and task["user"] == "root@pam" and task["tokenid"] == "ansible"
    assert token.wait_status("pve1", 102, "running") == "running"
    assert token.wait_task(token.action("pve1", 102, "stop"))["exitstatus"] == "OK"


def test_slow_and_truncate(fsim: SimProcess, token: Api) -> None:
    fsim.set_faults(rate=1, kinds=["slow"], slow_ms=300)
    started = time.monotonic()
    assert token.data("/version")["version"] == "9.2.11"
    assert time.monotonic() - started >= 0.3
    assert _entry(fsim, "/version")["ms"] >= 300
    fsim.set_faults(kinds=["truncate"])
    status, headers, body = _raw_get(fsim, "/cluster/resources")
    length = int(headers["Content-Length"])
    assert status == "HTTP/1.1 200 OK" and length > 100 and len(body) == length // 2
    with pytest.raises(requests.RequestException):
        token.get("/nodes")
    fsim.set_faults(rate=0)
    assert [e.get("fault") for e in fsim.requests()] == ["slow", "truncate", "truncate"]
    assert [e["kind"] for e in fsim.faults()["injected"]] == ["slow", "truncate", "truncate"]


def test_ticket_login_gets_faults_and_delete_clears(fsim: SimProcess) -> None:
    fsim.set_faults(rate=1, kinds=["500"])
    response = Api(fsim, "none").post("/access/ticket", data={"username": "root@pam", "password": fsim.password})
    assert response.status_code == 500 and response.reason == "Internal Server Error"
    fsim.set_faults(rate=0)
    entry = _entry(fsim, "/access/ticket")
    assert entry["fault"] == "500" and entry["authid"] is None and entry["params"]["password"] == "***"
    assert fsim.control("DELETE", "faults") == {"cleared": 1}
    assert fsim.faults()["injected"] == []


# --- terminals -----------------------------------------------------------------------------------------------

def _gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return not Path(f"/proc/{pid}").exists()


def test_ws_drop_random(fsim: SimProcess, root: Api) -> None:
    term = Term(root)
    # The termproxy POST is a plain request; faults switched on now only hit the websocket session.
    fsim.set_faults(rate=1, kinds=["ws-drop", "500"])
    fsim.mark()
    started = time.monotonic()
    with term.connect():
        term.login()
        term.read_to_end(5)
    assert term.closed and not term.close_frame and time.monotonic() - started < 3
    fsim.set_faults(rate=0)
    assert root.wait_task(term.upid)["exitstatus"] == "OK"  # termproxy saw its client go: exit 0
    assert _entry(fsim, "/nodes/pve1/vncwebsocket")["fault"] == "ws-drop"
    injected = [e for e in fsim.faults()["injected"] if e["kind"] == "ws-drop"]
    assert len(injected) == 1 and 0.2 <= injected[0]["after_s"] <= 1.5 and injected[0]["upid"] == term.upid
    assert injected[0]["session"] == fsim.shell_input()[-1]["id"] and injected[0]["authid"] == "root@pam"


def test_lost_bytes(fsim: SimProcess, root: Api) -> None:
    term = Term(root)
    fsim.set_faults(rate=1, kinds=["lost-bytes"])
    with term.connect():
        assert term.login() == b""  # like --drop-last-bytes: OK never shares its frame
        term.read_until(PROMPT)
        fsim.set_faults(rate=0)
        term.type("printf 'KEPT%s\\n' '-1'; sleep 0.6; printf 'LOST%s\\n' '-2'; exit\r")
        out = term.read_to_end().decode()
    assert "KEPT-1" in out and "LOST-2" not in out and term.closed and not term.close_frame
    assert _entry(fsim, "/nodes/pve1/vncwebsocket")["fault"] == "lost-bytes"
    assert [e["kind"] for e in fsim.faults()["injected"]] == ["lost-bytes"]


def test_drop_now(fsim: SimProcess, root: Api) -> None:
    term = Term(root)
    with term.connect():
        term.login()
        term.read_until(PROMPT)
        start = len(term.output)
        term.type("echo PID=$$; echo EN''D\r")
        term.read_until(lambda data: b"END\r\n" in data[start:])
        match = re.search(rb"PID=(\d+)", term.output[start:])
        assert match
        assert fsim.control("POST", "terminals/drop", {}) == {"dropped": 1}
        term.read_to_end(3)
    assert term.closed and not term.close_frame
    assert _gone(int(match.group(1)), 5)  # the shell got its hang-up
    assert root.wait_task(term.upid)["exitstatus"] == "OK"
    [injected] = fsim.faults()["injected"]
    assert injected["kind"] == "ws-drop" and injected["trigger"] == "control" and injected["upid"] == term.upid
    assert injected["path"] == "/api2/json/nodes/pve1/vncwebsocket" and injected["session"] == fsim.shell_input()[-1]["id"]
    assert fsim.control("POST", "terminals/drop", {}) == {"dropped": 0}
    with pytest.raises(SimError, match="400"):
        fsim.control("POST", "terminals/drop", {"after_bytes": -1})


def test_drop_after_bytes(fsim: SimProcess, root: Api) -> None:
    assert fsim.control("POST", "terminals/drop", {"after_bytes": 10}) == {"armed": {"after_bytes": 10}}
    assert fsim.faults()["armed_drop"] == {"after_bytes": 10}
    term = Term(root)
    with term.connect():
        term.login()
        term.read_to_end(5)
    # Exactly 10 payload bytes arrived ("OK" + the banner's first 8), then the connection was gone.
    assert term.output == b"OKLinux pve1 "[:10] and term.closed and not term.close_frame
    assert fsim.faults()["armed_drop"] is None  # one-shot
    [injected] = fsim.faults()["injected"]
    assert (injected["kind"], injected["trigger"], injected["after_bytes"]) == ("ws-drop", "control", 10)
    assert _entry(fsim, "/nodes/pve1/vncwebsocket")["fault"] == "ws-drop"


def test_match_aims_faults_at_some_requests(fsim: SimProcess, token: Api) -> None:
    """`match` limits plain-request faults to the calls whose "METHOD /path" matches."""
    fsim.set_faults(rate=1.0, kinds=["500"], match=r"^GET /nodes/pve2/")
    try:
        assert token.session.get(token.base + "/nodes/pve1/status").status_code == 200
        assert token.session.get(token.base + "/nodes/pve2/status").status_code == 500
        assert [entry["path"] for entry in fsim.faults()["injected"]] == ["/api2/json/nodes/pve2/status"]
        assert fsim.faults()["match"] == "^GET /nodes/pve2/"
    finally:
        fsim.set_faults(match=None)
