# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""`ansible-playbook -f 20` over 60 containers running exec and stats at once."""
from __future__ import annotations

import pytest

from ansible_commands import PLAYBOOKS
from conftest import Ansible


@pytest.fixture(scope="module")
def sim_args() -> list[str]:
    return ["--nodes", "3", "--containers-per-node", "20", "--seed", "3", "--latency-ms", "5"]


def test_twenty_forks_over_sixty_containers(ansible: Ansible) -> None:
    inventory = ansible.workdir / "fleet.pve.yml"
    inventory.write_text("---\nplugin: pveops.proxmox.pve\n")
    state = ansible.sim.control("GET", "state")
    running = sorted(guest["vmid"] for guest in state["guests"] if guest["type"] == "lxc" and guest["status"] == "running"
                     and not guest.get("template"))
    assert len(state["guests"]) >= 60 and len(running) >= 20
    run = ansible.run(["ansible-playbook", "-i", str(inventory), "-f", "20", str(PLAYBOOKS / "fleet.yml")], auth="password")
    assert run.rc == 0, run.output[-3000:]
    execs = [entry for entry in run.results if entry["task"] == "Exec"]
    stats = [entry for entry in run.results if entry["task"] == "Stats"]
    assert len(execs) == len(stats) == len(running)
    assert all(entry["status"] == "changed" and entry["result"]["stdout"].endswith(" 42") for entry in execs)
    assert sorted(entry["result"]["containers"][0]["vmid"] for entry in stats) == running
    protected = ansible.sim.control("GET", "state")["protected"]
    assert all(node["max"] <= node["limit"] == 3 for node in protected.values()), protected
