# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Messages every module shares: one wording of "not found", and a vmid and a name that disagree said as such."""
from __future__ import annotations

import json
import re
import typing as t

import pytest
import yaml

from collection_tree import REPO_ROOT
from conftest import Ansible
from pvesim.harness import SimProcess

# The default scenario: 101 is "db" on pve1, 100 is "web" on pve1.
MODULES_WITH_ONE_CONTAINER = [
    ("pve_lxc_info", {}),
    ("pve_lxc_action", {"action": "start"}),
    ("pve_lxc_exec", {"argv": ["true"]}),
    ("pve_node_logs", {}),
]


@pytest.mark.parametrize(("module", "extra"), MODULES_WITH_ONE_CONTAINER + [("pve_lxc_stats", {})], ids=str)
def test_not_found_is_worded_the_same_everywhere(ansible: Ansible, module: str, extra: dict[str, object]) -> None:
    vmid: object = [4242] if module == "pve_lxc_stats" else 4242
    name: object = ["nope"] if module == "pve_lxc_stats" else "nope"
    by_vmid = ansible.module(module, json.dumps({"vmid": vmid, **extra}))
    by_name = ansible.module(module, json.dumps({"name": name, **extra}))
    assert by_vmid.rc != 0 and by_vmid.result["msg"] == "container 4242 not found in the cluster"
    assert by_name.rc != 0 and by_name.result["msg"] == "container named 'nope' not found in the cluster"


@pytest.mark.parametrize(("module", "extra"), MODULES_WITH_ONE_CONTAINER, ids=str)
def test_vmid_and_name_that_disagree_say_so(ansible: Ansible, module: str, extra: dict[str, object]) -> None:
    """Before, the message said "container 101 not found" although 101 exists."""
    ansible.sim.mark()
    run = ansible.module(module, json.dumps({"vmid": 101, "name": "web", **extra}))
    assert run.rc != 0
    assert run.result["msg"] == ("vmid 101 and name 'web' disagree: vmid 101 is container 101 (db) on pve1, "
                                 "name 'web': container 100 (web) on pve1; give only one of them")
    assert not [entry for entry in ansible.sim.requests() if entry["method"] != "GET" and not entry["path"].endswith("/access/ticket")]


@pytest.fixture(scope="module")
def offline(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[Ansible]:
    """The `offline-node` scenario: pve3 (with container 102) is offline, its calls answer 595."""
    with SimProcess("--scenario", "offline-node", "--task-seconds", "0.2") as sim:
        yield Ansible(sim, tmp_path_factory.mktemp("offline"))


@pytest.mark.parametrize(("module", "args"), [
    ("pve_lxc_action", {"vmid": 102, "action": "start"}),
    ("pve_lxc_stats", {"node": "pve3", "node_stats": True, "container_stats": False}),
])
def test_an_offline_node_is_named_as_the_problem(offline: Ansible, module: str, args: dict[str, object]) -> None:
    """Instead of leading with "HTTP 595 ... proxy handshake"."""
    run = offline.module(module, json.dumps(args))
    assert run.rc != 0
    assert run.result["msg"].startswith("node pve3 is offline or cannot be reached from the node that answered the API call: GET /nodes/pve3/")


def documented(message: str) -> list[str]:
    """The quotes of docs/troubleshooting.md that match ``message`` (``<placeholder>`` stands for any text, ``...`` for the rest)."""
    text = (REPO_ROOT / "docs" / "troubleshooting.md").read_text()
    found = []
    for _ticks, quote in re.findall(r"\*\*(`+)(.+?)\1\*\*", text):
        pattern = "".join(".+?" if part.startswith("<") else re.escape(part).replace(r"\.\.\.", ".*")
                          for part in re.split(r"(<[^>]+>)", quote))
        if re.fullmatch(pattern, message):
            found.append(quote)
    return found


@pytest.mark.parametrize("case", ["module without api_url", "lookup without api_url", "wrong tls_fingerprint"])
def test_troubleshooting_quotes_the_real_messages(ansible: Ansible, case: str) -> None:
    """The guide quoted a missing api_url and a fingerprint mismatch differently from what users see."""
    if case == "module without api_url":
        message = ansible.module("pve_lxc_info", "vmid=101", env={"PVE_URL": None}).result["msg"]
    elif case == "lookup without api_url":
        run = ansible.run(["ansible", "localhost", "-i", "localhost,", "-c", "local", "-m", "ansible.builtin.debug",
                           "-a", "msg={{ lookup('pveops.proxmox.pve_node', 'pve1') }}"], env={"PVE_URL": None})
        message = run.result["msg"].rsplit("pveops.proxmox.pve_node: ", 1)[-1]
    else:
        run = ansible.module("pve_lxc_info", "vmid=101", env={"PVE_CA_PATH": None, "PVE_TLS_FINGERPRINT": "AB" * 32})
        message = run.result["msg"]
        assert ansible.sim.fingerprint in message  # the real one, written as `pvenode cert info` writes it
    message = message.replace(ansible.sim.url, "https://pve1:8006")  # the guide's examples use the default port
    assert documented(message), message


def test_the_cmd_documentation_says_what_cmd_does(ansible: Ansible) -> None:
    """It said ' " and \\ are refused, but they quote and escape as in a shell; only what is left in an argument is refused."""
    from ansible_collections.pveops.proxmox.plugins.modules import pve_lxc_exec  # pylint: disable=import-outside-toplevel

    described = " ".join(yaml.safe_load(pve_lxc_exec.DOCUMENTATION)["options"]["cmd"]["description"])
    assert "quoting is not available" not in described and "quote and a backslash escapes as in a shell" in described
    quoted = ansible.module("pve_lxc_exec", json.dumps({"vmid": 101, "cmd": "printf '[%s]' 'a b' \"c d\" e\\ f"}))
    assert quoted.rc == 0 and quoted.result["stdout"] == "[a b][c d][e f]" and quoted.result["cmd"] == ["printf", "[%s]", "a b", "c d", "e f"]
    left_in_an_argument = ansible.module("pve_lxc_exec", json.dumps({"vmid": 101, "cmd": "echo \"it's\""}))
    assert left_in_an_argument.rc != 0 and left_in_an_argument.result["msg"] == "cmd \"it's\" contains ', which is not allowed here"
