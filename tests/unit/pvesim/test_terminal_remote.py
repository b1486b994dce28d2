# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Another node's shell through ssh, the nested login before PVE 9.2 and its race, and per-node API listeners (audit S5, #4)."""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from pvesim.harness import SimError, SimProcess
from pvesim.nodeshell import version_tuple
from pvesim.scenario import SCENARIO_DIR
from pvesim_client import Api
from term_client import Term

SSH = "/usr/bin/ssh -e none -o BatchMode=yes -o HostKeyAlias=pve2 -t root@10.0.0.12 --"


def _scenario(tmp_path: Path, version: str) -> str:
    document = json.loads((SCENARIO_DIR / "default.json").read_text(encoding="utf-8"))
    document["version"] = version
    path = tmp_path / f"pve-{version}.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return str(path)


def _entry(sim: SimProcess, term: Term) -> dict[str, Any]:
    entry: dict[str, Any] = next(t for t in sim.terminals() if t["upid"] == term.upid)
    return entry


def _command_line(api: Api, term: Term) -> str:
    status = api.wait_task(term.upid)
    return str(status["exitstatus"]).split(" -- ", 1)[1].removesuffix("' failed: exit code 1")


@pytest.fixture(scope="module")
def old(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimProcess]:
    """PVE 9.1 (pve-manager 9.1.x: the nested-login guard tests the wrong variable)."""
    with SimProcess("--scenario", _scenario(tmp_path_factory.mktemp("scenario"), "9.1.5"), "--ssh-latency-ms", "50", request_log=False) as process:
        yield process


def test_version_tuple() -> None:
    assert version_tuple("9.2.11") == (9, 2, 11) and version_tuple("9.1.0~rc1") == (9, 1, 0) and version_tuple("8.4") == (8, 4)


def test_another_nodes_shell_goes_through_ssh(ticket_api: Api) -> None:
    with Term(ticket_api, "/nodes/pve2").connect() as term:
        began = time.monotonic()
        term.login()
        text = term.read_until(b"root@pve2:~# ", 20).decode()
        waited = time.monotonic() - began
        # PVE 9.2: `ssh -t root@<ip> --` alone is an sshd login session: its banner names the answering node.
        assert "Last login: " in text and " from 10.0.0.11\r\n" in text
        entry = _entry(ticket_api.sim, term)
        assert entry["ssh_hop"] and not entry["nested_login"] and entry["shell_started"]
        term.type("exit\r")
        term.read_to_end()
    assert waited >= 0.3  # --ssh-latency-ms defaults to 300 (a lower bound only)
    assert _command_line(ticket_api, term) == SSH


def test_pve_9_1_nests_login_only_with_an_explicit_cmd(old: SimProcess) -> None:
    api = Api(old, "ticket")
    for data, nested in (({"cmd": "login"}, True), ({}, False)):
        with Term(api, "/nodes/pve2", data=data).connect() as term:
            term.login()
            text = term.read_until(b"root@pve2:~# ", 20).decode()
            assert (" on pts/0\r\n" in text) is nested and (" from 10.0.0.11\r\n" in text) is not nested
            assert _entry(old, term)["nested_login"] is nested
            term.type("exit\r")
            term.read_to_end()
        assert _command_line(api, term) == SSH + (" /bin/login -f root" if nested else "")


def test_hangup_next_ends_remote_sessions_before_the_shell(old: SimProcess) -> None:
    api = Api(old, "ticket")
    old.faults(clear=True)
    assert old.hangup_next(1) == 1
    with Term(api, "/nodes/pve2").connect() as term:
        term.login()
        term.read_to_end(20)
        assert term.closed and not term.close_frame
        assert term.output.endswith(b"Connection to 10.0.0.12 closed.\r\n")
        assert b"login" not in term.output and b"# " not in term.output
    entry = _entry(old, term)
    assert entry["hangup"] == "control" and not entry["shell_started"] and entry["end"] == "shell-exited"
    injected = [e for e in old.faults()["injected"] if e["kind"] == "nested-login-race"]
    assert len(injected) == 1 and injected[0]["session"] == entry["id"] and injected[0]["trigger"] == "control"
    assert injected[0]["upid"] == term.upid and injected[0]["node"] == "pve2"
    # One-shot: the next session is fine, and a local one never counts.
    assert old.faults()["armed_hangups"] == 0
    with Term(api, "/nodes/pve2").connect() as term:
        term.login()
        term.read_until(b"root@pve2:~# ", 20)
    with pytest.raises(SimError, match="count must be an integer from 0 to 1000, got -1"):
        old.hangup_next(-1)


def test_the_random_race_hits_only_nested_logins(tmp_path: Path) -> None:
    with SimProcess("--scenario", _scenario(tmp_path, "9.1.5"), "--nested-login-race", "1", "--ssh-latency-ms", "0", request_log=False) as sim:
        api = Api(sim, "ticket")
        with Term(api, "/nodes/pve2", data={"cmd": "login"}).connect() as term:
            term.login()
            assert term.read_to_end(20).endswith(b"Connection to 10.0.0.12 closed.\r\n")
        assert _entry(sim, term)["hangup"] == "random"
        # No nested login without cmd on 9.1 (pve-manager 145642be): no race either.
        with Term(api, "/nodes/pve2").connect() as term:
            term.login()
            term.read_until(b"root@pve2:~# ", 20)
            assert _entry(sim, term)["hangup"] is None
        assert sim.faults()["nested_login_race"] == 1.0


def test_login_flush_on_a_nested_login_loses_what_was_typed_during_ssh(tmp_path: Path) -> None:
    with SimProcess("--scenario", _scenario(tmp_path, "9.0.5"), "--login-flush-input", "--ssh-latency-ms", "2000", request_log=False) as sim:
        api = Api(sim, "ticket")
        with Term(api, "/nodes/pve2").connect() as term:  # 9.0.5: a nested login even without cmd
            term.login()
            term.type("echo TY''PED-$((3*3))\r")  # while ssh connects: echoed by the local pty, then flushed by login
            term.read_until(b"root@pve2:~# ", 20)
            start = len(term.output)
            term.type("echo AFT''ER-$((4*4))\r")
            term.read_until(b"AFTER-16", 10)
            assert b"TYPED-9" not in term.output and b"AFTER-16" in term.output[start:]


# --- per-node listeners -------------------------------------------------------------------------------------


def test_node_listeners_answer_as_their_node() -> None:
    with SimProcess("--node-listeners") as sim:
        urls = sim.info["node_urls"]
        assert set(urls) == {"pve1", "pve2", "pve3"} and urls["pve1"] == sim.url and len(set(urls.values())) == 3
        api2 = Api(sim, "ticket", url=urls["pve2"])
        local = [n["name"] for n in api2.data("/cluster/status") if n.get("local")]
        assert local == ["pve2"]
        with Term(api2, "/nodes/pve2").connect() as term:
            term.login()
            text = term.read_until(b"root@pve2:~# ", 20).decode()
            # pve2's own shell: login(1), no ssh.
            assert " on pts/0\r\n" in text and not _entry(sim, term)["ssh_hop"]
            assert term.upid.split(":")[1] == "pve2"
        # A terminal started through pve2's API lives on pve2: pve1's pveproxy cannot reach it.
        pending = Term(api2, "/nodes/pve2")
        pending.api = Api(sim, "ticket")
        pending.api.session = api2.session
        with pytest.raises(Exception, match="500"):
            pending.connect()
        entries = [e for e in sim.requests() if e["path"] == "/api2/json/cluster/status"]
        assert entries and entries[-1]["node"] == "pve2"
    with SimProcess() as plain:
        assert "node_urls" not in plain.info
