# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What differs between Proxmox VE releases, on every release the simulator plays (`--pve-version`, pvesim/versions.py)."""
from __future__ import annotations

import json

import pytest

from conftest import Ansible
from pvesim.versions import PROFILES, PveVersion, version_tuple


@pytest.fixture(scope="module", params=list(PROFILES))
def sim_args(request: pytest.FixtureRequest) -> list[str]:
    return ["--pve-version", request.param, "--task-seconds", "0.3", "--stats-refresh", "0"]


@pytest.fixture(scope="module")
def profile(sim_args: list[str]) -> PveVersion:
    return PROFILES[sim_args[1]]


def args(**values: object) -> str:
    return json.dumps(values)


def has_unit_filter(profile: PveVersion) -> bool:
    return version_tuple(profile.manager) >= (9, 2, 4)


def markers(lines: list[str], word: str) -> list[str]:
    return [line.rsplit(": ", 1)[-1] for line in lines if f": {word} " in line]


def test_the_version_is_the_profiles(ansible: Ansible, profile: PveVersion) -> None:
    run = ansible.module("pve_lxc_stats", args(node="pve1", node_stats=True, container_stats=False), auth="readonly")
    assert run.rc == 0, run.output
    assert run.result["nodes"][0]["pve_version"] == f"pve-manager/{profile.manager}/{profile.repoid}"


def test_unit_logs_with_a_token_continue_without_repeats(ansible: Ansible, profile: PveVersion) -> None:
    """issue 13: services with a cursor and an API token, no password."""
    first = ansible.module("pve_node_logs", args(node="pve2", services=["pveproxy"], lines=5), auth="readonly")
    assert first.rc == 0, first.output
    if has_unit_filter(profile):
        assert first.result["source"] == "journal-api" and first.result["cursor"]
        cursor = first.result["cursor"]
    else:
        # No unit filter before 9.2.4 and no root@pam login: /syslog, and the note says why.
        assert first.result["source"] == "syslog-api" and first.result["cursor"] is None
        assert f"no unit filter before Proxmox VE 9.2.4 (the API answers {profile.manager})" in first.result["source_note"]
        cursor = ansible.module("pve_node_logs", args(node="pve2", lines=1), auth="readonly").result["cursor"]
    for number in range(3):
        ansible.sim.control("POST", "journal/pve2", {"lines": [f"tick {number}"], "identifier": "pveproxy"})
    ansible.sim.control("POST", "journal/pve2", {"lines": ["tick other"], "identifier": "pvedaemon"})
    second = ansible.module("pve_node_logs", args(node="pve2", services=["pveproxy"], cursor=cursor), auth="readonly")
    assert second.rc == 0, second.output
    assert markers(second.result["lines"], "tick") == ["tick 0", "tick 1", "tick 2"]
    if has_unit_filter(profile):
        assert not set(second.result["lines"]) & set(first.result["lines"])
        third = ansible.module("pve_node_logs", args(node="pve2", services=["pveproxy"], cursor=second.result["cursor"]), auth="readonly")
        assert third.rc == 0 and markers(third.result["lines"], "tick") == []
    else:
        # It says what it fell back to: the cursor's time on /syslog, and no cursor to continue with.
        assert "cursor: /syslog has no cursors" in second.output and second.result["cursor"] is None
        assert "the cursor was turned into its time" in second.result["source_note"]


def test_root_unit_logs_keep_only_the_newest_lines(ansible: Ansible, profile: PveVersion) -> None:
    """issue 12 item 9: `lines` with services and a cursor or since (journalctl before 9.2.4, the journal API after)."""
    # A unit of its own: the node's daemons keep logging meanwhile.
    ansible.sim.control("POST", "journal/pve1", {"lines": ["cap start"], "identifier": "pveops-cap"})
    start = ansible.module("pve_node_logs", args(node="pve1", services=["pveops-cap"], lines=1))
    assert start.rc == 0, start.output
    assert start.result["source"] == ("journal-api" if has_unit_filter(profile) else "journalctl")
    for number in range(3):
        ansible.sim.control("POST", "journal/pve1", {"lines": [f"cap {number}"], "identifier": "pveops-cap"})
    after = ansible.module("pve_node_logs", args(node="pve1", services=["pveops-cap"], lines=1, cursor=start.result["cursor"]))
    assert after.rc == 0, after.output
    assert len(after.result["lines"]) == 1 and after.result["lines"][0].endswith(": cap 2"), after.result["lines"]
    recent = ansible.module("pve_node_logs", args(node="pve1", services=["pveops-cap"], lines=1, since="1"))
    assert len(recent.result["lines"]) == 1 and recent.result["lines"][0].endswith(": cap 2"), recent.result["lines"]


def test_addresses_of_a_running_container_on_another_node(ansible: Ansible, profile: PveVersion) -> None:
    """/interfaces has proxyto only from pve-container 5.2.0: before, a warning and the configured addresses."""
    ansible.sim.control("POST", "guests/103", {"status": "running"})  # DHCP, on pve2 (the API answers on pve1)
    try:
        run = ansible.module("pve_lxc_info", args(node="pve2"))
        assert run.rc == 0, run.output
        ips = {entry["vmid"]: entry["ips"] for entry in run.result["containers"]}
        assert ips[104] == ["203.0.113.10", "100.64.0.10"]  # static: right either way
        if profile.interfaces_proxyto:
            assert ips[103] == ["192.168.10.103"] and "answered null" not in run.output
        else:
            assert ips[103] == [] and "container 103 on pve2 runs but GET .../interfaces answered null" in run.output
    finally:
        ansible.sim.control("POST", "guests/103", {"status": "stopped"})


def test_exec_and_its_environment_on_every_release(ansible: Ansible, profile: PveVersion) -> None:
    """`--keep-env 1` is passed where pct has it (8.2+); 8.1's pct would refuse it ("Unknown option: keep-env")."""
    run = ansible.module("pve_lxc_exec", args(vmid=101, shell='printf "%s|%s|%s" "$HOME" "$LANG" "$container"'))
    assert run.rc == 0, run.output
    assert run.result["stdout"] == "/root|C.UTF-8|lxc"


def test_token_only_exec_says_what_it_needs(ansible: Ansible, profile: PveVersion) -> None:
    """Before 9.0.13 a token's termproxy is a raw 500 (`does not look like a valid user name`); every release gets our message."""
    run = ansible.module("pve_lxc_exec", args(vmid=101, cmd="true"), auth="token")
    assert run.rc != 0
    assert "command execution needs a root@pam password login" in run.result["msg"]
    assert "valid user name" not in run.output
