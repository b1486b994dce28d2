# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Secrets never leak, TLS refuses what it must, tickets expire under a running playbook."""
from __future__ import annotations

import json
import pathlib
import re
import typing as t

import pytest

from ansible_collections.pveops.proxmox.plugins.module_utils._api import ApiClient
from ansible_collections.pveops.proxmox.plugins.module_utils._config import connection_config
from ansible_collections.pveops.proxmox.plugins.module_utils._errors import PveError
from conftest import Ansible
from pvesim.harness import SimProcess

# Shapes of what the server hands out (pve-protocol.md §1.1, §4.1): tickets, VNC tickets, CSRF tokens.
TICKET = re.compile(r"PVE(VNC)?:[^\s\"']*::[A-Za-z0-9+/=]{16,}")
CSRF = re.compile(r"\b[0-9A-F]{8}:[A-Za-z0-9+/]{43}\b")


@pytest.fixture(scope="module")
def sim_args() -> list[str]:
    return ["--task-seconds", "0.3"]


def all_text_under(path: pathlib.Path) -> str:
    texts = []
    for item in path.rglob("*"):
        if item.is_file():
            texts.append(item.read_bytes().decode("utf-8", "replace"))
    return "\n".join(texts)


def test_no_secret_anywhere_at_vvvv(ansible: Ansible, tmp_path: pathlib.Path) -> None:
    sim = ansible.sim
    secrets = [sim.password, sim.token_secret, sim.info["ro_token_secret"], sim.info["ops_password"]]
    inventory = tmp_path / "secret.pve.yml"
    inventory.write_text(f"plugin: pveops.proxmox.pve\ncache: true\ncache_plugin: ansible.builtin.jsonfile\ncache_connection: {tmp_path / 'cache'}\n")
    runs = [
        ansible.module("pve_lxc_info", "vmid=101", "-vvvv"),
        ansible.module("pve_lxc_action", "vmid=103 action=start", "-vvvv"),
        ansible.module("pve_lxc_exec", json.dumps({"vmid": 101, "cmd": "true"}), "-vvvv"),
        ansible.module("pve_lxc_exec", json.dumps({"vmid": 101, "cmd": "true"}), "-vvvv", auth="token",
                       env={"PVE_USER": sim.user, "PVE_PASSWORD": sim.password}),
        ansible.module("pve_lxc_stats", "", "-vvvv", auth="token"),
        ansible.module("pve_node_logs", "node=pve1 lines=3", "-vvvv"),
        ansible.module("pve_lxc_info", "vmid=101", "-vvvv", env={"PVE_PASSWORD": sim.password + "-wrong"}),
        ansible.module("pve_lxc_exec", json.dumps({"vmid": 101, "cmd": "true"}), "-vvvv", auth="token"),  # login prompt failure
        ansible.run(["ansible-inventory", "-i", str(inventory), "--list", "-vvvv"], auth="token"),
        ansible.playbook("lookups.yml", "-vvvv", auth="token"),
    ]
    captured = "\n".join(run.output + json.dumps(run.results) for run in runs)
    captured += all_text_under(tmp_path / "cache") + all_text_under(ansible.workdir)
    captured += json.dumps(sim.requests()) + sim.stderr_text()
    for secret in secrets:
        assert secret not in captured
        assert secret + "-wrong" not in captured
    assert not TICKET.search(captured), TICKET.search(captured)
    assert not CSRF.search(captured), CSRF.search(captured)
    # The runs really used the secrets and got tickets: the searches above were not vacuous.
    assert runs[2].rc == 0 and runs[3].rc == 0 and runs[7].rc != 0 and runs[6].rc != 0


# Every module, the inventory and both lookups: what each needs to run at all.
EVERY_ENTRY_POINT = [
    ("pve_lxc_info", "vmid=101"),
    ("pve_lxc_action", "vmid=101 action=start"),
    ("pve_lxc_exec", json.dumps({"vmid": 101, "cmd": "true"})),
    ("pve_lxc_stats", ""),
    ("pve_node_logs", "node=pve1 lines=3"),
    ("inventory", ""),
    ("lookup", "pveops.proxmox.pve_resource"),
    ("lookup", "pveops.proxmox.pve_node"),
]


@pytest.mark.parametrize("verbosity", [[], ["-vvvv"]], ids=["default", "vvvv"])
@pytest.mark.parametrize(("entry", "arguments"), EVERY_ENTRY_POINT, ids=[f"{entry}-{args.split('.')[-1][:12]}" for entry, args in EVERY_ENTRY_POINT])
def test_a_secret_no_header_can_carry_is_refused_before_any_request(ansible: Ansible, tmp_path: pathlib.Path, entry: str, arguments: str,
                                                                    verbosity: list[str]) -> None:
    """A trailing newline (YAML ``|``, ``echo``) used to put the escaped secret into every error message."""
    sim = ansible.sim
    env: dict[str, str | None] = {"PVE_TOKEN_SECRET": sim.token_secret + "\n"}
    if entry == "inventory":
        inventory = tmp_path / "newline.pve.yml"
        inventory.write_text("plugin: pveops.proxmox.pve\n")
        argv = ["ansible-inventory", "-i", str(inventory), "--list", *verbosity]
        env["ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED"] = "1"  # else an inventory that fails is only a warning
    elif entry == "lookup":
        argv = ["ansible", "localhost", "-i", "localhost,", "-c", "local", "-m", "ansible.builtin.debug",
                "-a", f"msg={{{{ lookup('{arguments}', '10.0.0.11') }}}}", *verbosity]
    else:
        argv = ["ansible", "localhost", "-i", "localhost,", "-c", "local", "-m", f"pveops.proxmox.{entry}", "-a", arguments, *verbosity]
    sim.mark()
    run = ansible.run(argv, auth="token", env=env)
    assert run.rc != 0, run.output
    assert "api_token_secret ends with a line break" in run.output, run.output
    assert sim.token_secret not in run.output + json.dumps(run.results)
    assert sim.requests() == []  # refused before anything was sent


def test_exceptions_do_not_carry_secrets() -> None:
    """The core's errors and reprs (what a traceback would show) hold no secret."""
    with SimProcess() as sim:
        client = ApiClient(connection_config({"api_url": sim.url, "api_password": sim.password + "x", "ca_path": sim.ca_path}))
        with pytest.raises(PveError) as failure:
            client.get("/version")
        texts = [str(failure.value), repr(failure.value), repr(failure.value.details), repr(client.config)]
        good = ApiClient(connection_config({"api_url": sim.url, "api_password": sim.password, "ca_path": sim.ca_path}))
        good.get("/version")
        texts.append(repr(good.config))
        with pytest.raises(PveError) as missing:
            good.get("/nodes/pve1/lxc/999/status/current")
        texts += [str(missing.value), repr(missing.value.details)]
    joined = "\n".join(texts)
    assert sim.password not in joined and not TICKET.search(joined) and not CSRF.search(joined)


def test_a_wrong_ca_is_refused_with_the_fix(ansible: Ansible) -> None:
    with SimProcess() as other:
        run = ansible.module("pve_lxc_info", "vmid=101", env={"PVE_CA_PATH": other.ca_path})
    assert run.rc != 0
    message = run.result["msg"]
    assert f"ca_path {other.ca_path!r} did not verify it" in message and "tls_fingerprint" in message


def test_tls_for_the_terminal_too(ansible: Ansible) -> None:
    """The websocket is verified like every request: a wrong pin refuses before credentials are sent."""
    run = ansible.module("pve_lxc_exec", json.dumps({"vmid": 101, "cmd": "true"}),
                         env={"PVE_CA_PATH": None, "PVE_TLS_FINGERPRINT": ansible.sim.fingerprint})
    assert run.rc == 0, run.output


class TestShortTickets:
    """Tickets that live 2 s: a playbook (and a single long wait) outlives several."""

    @pytest.fixture(scope="class")
    @classmethod
    def short(cls, tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[Ansible]:
        with SimProcess("--ticket-lifetime", "2", "--task-seconds", "4") as sim:
            yield Ansible(sim, tmp_path_factory.mktemp("short"))

    def test_long_wait_renews(self, short: Ansible) -> None:
        short.sim.mark()
        run = short.module("pve_lxc_action", "vmid=102 action=start timeout=30")
        assert run.rc == 0, run.output
        assert run.result["status"] == "running" and run.result["elapsed"] >= 4
        logins = [entry for entry in short.sim.requests() if entry["path"].endswith("/access/ticket")]
        refused = [entry for entry in short.sim.requests() if entry["status"] == 401]
        assert len(logins) >= 2 and refused  # the ticket expired during the wait and was replaced

    def test_playbook_longer_than_the_ticket(self, short: Ansible) -> None:
        run = short.playbook("long.yml")
        assert run.rc == 0, run.output
        assert all(entry["status"] in ("ok", "changed") for entry in run.results)


def test_plain_http_is_refused_before_anything_is_sent(ansible: Ansible) -> None:
    sim = ansible.sim
    ansible.sim.mark()
    run = ansible.module("pve_lxc_info", "vmid=101", env={"PVE_URL": sim.url.replace("https://", "http://")})
    assert run.rc != 0
    assert run.result["msg"].startswith(f"api_url '{sim.url.replace('https://', 'http://')}' uses plain http://, which sends the password")
    assert sim.requests() == [] and sim.password not in run.output


def test_allowed_http_to_the_https_port_warns_and_names_the_scheme(ansible: Ansible) -> None:
    """The simulator answers like pveproxy: a redirect to https:// for plain HTTP on its TLS port."""
    plain = ansible.sim.url.replace("https://", "http://")
    run = ansible.module("pve_lxc_info", "vmid=101", env={"PVE_URL": plain, "PVE_ALLOW_HTTP": "true"})
    assert run.rc != 0
    assert f"allow_http is set: credentials and tickets travel unencrypted to {plain}" in run.output
    assert f"{plain} answers with a redirect to {ansible.sim.url}/api2/json/access/ticket: it speaks HTTPS" in run.result["msg"]
