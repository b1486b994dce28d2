# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""pve_lxc_stats and pve_node_logs against the simulator."""
from __future__ import annotations

import json
import pathlib
import threading
import time

import pytest

from conftest import Ansible


def args(**values: object) -> str:
    """Ad-hoc module arguments as JSON."""
    return json.dumps(values)


def resource_requests(ansible: Ansible) -> int:
    return sum(1 for entry in ansible.sim.requests() if entry["path"] == "/api2/json/cluster/resources")


# ------------------------------------------------------------------------------------ stats

def test_stats_of_one_several_and_all(ansible: Ansible) -> None:
    one = ansible.module("pve_lxc_stats", args(vmid=[101]), auth="readonly")
    assert one.rc == 0, one.output
    (db,) = one.result["containers"]
    assert db["vmid"] == 101 and db["name"] == "db" and db["status"] == "running"
    assert db["mem_limit"] == 4 * 1024 ** 3 and 0 < db["mem_used"] < db["mem_limit"]
    fields = db["line"].split("|")
    assert len(fields) == 6 and fields[0] == "running" and fields[2].endswith("/4GiB")
    several = ansible.module("pve_lxc_stats", args(vmid=[100, 102], name=["alpine"]))
    assert [entry["vmid"] for entry in several.result["containers"]] == [100, 102, 107]
    assert several.result["table"][0].startswith("CT ID")
    everything = ansible.module("pve_lxc_stats", "")
    assert len(everything.result["containers"]) == 14
    stopped = next(entry for entry in everything.result["containers"] if entry["vmid"] == 103)
    assert stopped["line"].startswith("stopped|0.0%|0B/1GiB|0.00%|0B/0B|0B/0B")


def test_three_samples_one_listing_each_with_rates(ansible: Ansible) -> None:
    ansible.sim.mark()
    run = ansible.module("pve_lxc_stats", args(vmid=[100, 101], samples=3, interval=0.5))
    assert run.rc == 0, run.output
    assert resource_requests(ansible) == 3  # one request per sample serves every container
    # pvestatd refreshes /cluster/resources every 10 s: samples 0.5 s apart repeat themselves, and the module says so.
    assert "changes only every 10 s (pvestatd)" in run.output
    for entry in run.result["containers"]:
        assert len(entry["samples"]) == 3
        rates = entry["rates"]
        assert rates["seconds"] >= 0.9
        assert rates["net_in_per_second"] is not None and rates["net_in_per_second"] >= 0
        assert rates["line"].startswith("running|")


def test_status_current_samples_give_exact_rates(ansible: Ansible) -> None:
    ansible.sim.mark()
    run = ansible.module("pve_lxc_stats", args(vmid=[100, 101], samples=3, interval=0.5, source="status_current"))
    assert run.rc == 0, run.output
    assert "changes only every" not in run.output
    assert resource_requests(ansible) == 1  # the first listing finds them; then each container's own status
    polls = [e for e in ansible.sim.requests() if e["path"].endswith(("/lxc/100/status/current", "/lxc/101/status/current"))]
    assert len(polls) == 6
    for entry in run.result["containers"]:
        rates = entry["rates"]
        assert rates["net_in_per_second"] > 0 and rates["block_write_per_second"] > 0


def test_node_stats(ansible: Ansible) -> None:
    run = ansible.module("pve_lxc_stats", args(node="pve2", node_stats=True, container_stats=False), auth="readonly")
    assert run.rc == 0, run.output
    (node,) = run.result["nodes"]
    assert node["node"] == "pve2" and node["kernel_version"] == "6.17.4-1-pve"
    assert node["pve_version"].startswith("pve-manager/9.2.11/")
    assert node["mem_total"] == "32GiB" and node["uptime"][-1] == "m" and node["raw"]["mem_total"] == 32 * 1024 ** 3
    assert "containers" not in run.result


def test_unknown_container_in_stats(ansible: Ansible) -> None:
    run = ansible.module("pve_lxc_stats", args(vmid=[101, 4242]))
    assert run.rc != 0 and run.result["msg"] == "container 4242 not found in the cluster"


# ------------------------------------------------------------------------------------ logs

def test_node_journal_with_a_token_and_its_cursor(ansible: Ansible) -> None:
    first = ansible.module("pve_node_logs", args(node="pve1", lines=5), auth="readonly")
    assert first.rc == 0, first.output
    assert first.result["source"] == "journal-api" and len(first.result["lines"]) == 5
    cursor = first.result["cursor"]
    ansible.sim.control("POST", "journal/pve1", {"lines": ["marker one", "marker two"], "identifier": "pveops-test"})
    second = ansible.module("pve_node_logs", args(node="pve1", cursor=cursor), auth="readonly")
    new = second.result["lines"]
    markers = [line for line in new if "marker" in line]  # the node keeps logging meanwhile
    assert len(markers) == 2 and "marker one" in markers[0] and "marker two" in markers[1]
    assert not set(new) & set(first.result["lines"])  # no repeats
    third = ansible.module("pve_node_logs", args(node="pve1", cursor=second.result["cursor"]), auth="readonly")
    assert all("marker" not in line for line in third.result["lines"])


def test_services_with_a_token_and_with_root(ansible: Ansible) -> None:
    ansible.sim.control("POST", "journal/pve2", {"lines": ["proxy line"], "identifier": "pveproxy", "unit": "pveproxy.service"})
    ansible.sim.control("POST", "journal/pve2", {"lines": ["daemon line"], "identifier": "pvedaemon", "unit": "pvedaemon.service"})
    # The default simulator plays 9.2.11: the journal API's unit filter serves both, with a cursor.
    for auth in ("readonly", "password"):
        run = ansible.module("pve_node_logs", args(node="pve2", services=["pveproxy"], lines=20), auth=auth)
        assert run.rc == 0, run.output
        assert run.result["source"] == "journal-api" and "unit filter" in run.result["source_note"] and run.result["cursor"]
        assert any("proxy line" in line for line in run.result["lines"])
        assert not any("daemon line" in line for line in run.result["lines"])


def test_several_services_merge_by_time_and_continue_per_unit(ansible: Ansible) -> None:
    first = ansible.module("pve_node_logs", args(node="pve3", services=["pveproxy", "pvedaemon"], lines=5), auth="readonly")
    assert first.rc == 0, first.output
    assert first.result["cursor"].startswith("pveops-units:")
    for number in range(3):
        ansible.sim.control("POST", "journal/pve3", {"lines": [f"proxy {number}"], "identifier": "pveproxy"})
        ansible.sim.control("POST", "journal/pve3", {"lines": [f"daemon {number}"], "identifier": "pvedaemon"})
    second = ansible.module("pve_node_logs", args(node="pve3", services=["pveproxy", "pvedaemon"], cursor=first.result["cursor"]),
                            auth="readonly")
    mine = [line.rsplit(": ", 1)[-1] for line in second.result["lines"] if ": proxy " in line or ": daemon " in line]
    # Merged by their times; the lines carry whole seconds, so within one second each unit keeps its own order.
    assert sorted(mine) == ["daemon 0", "daemon 1", "daemon 2", "proxy 0", "proxy 1", "proxy 2"]
    assert [m for m in mine if m.startswith("proxy")] == ["proxy 0", "proxy 1", "proxy 2"]
    assert not set(second.result["lines"]) & set(first.result["lines"])
    third = ansible.module("pve_node_logs", args(node="pve3", services=["pveproxy", "pvedaemon"], cursor=second.result["cursor"]),
                           auth="readonly")
    assert not [line for line in third.result["lines"] if ": proxy " in line or ": daemon " in line]  # nothing twice


def test_lines_zero_never_asks_for_the_whole_journal(ansible: Ansible) -> None:
    ansible.sim.mark()
    run = ansible.module("pve_node_logs", args(node="pve1", lines=0), auth="readonly")
    assert run.rc == 0, run.output
    assert run.result["lines"] == [] and run.result["cursor"]
    (request,) = [e for e in ansible.sim.requests() if e["path"].endswith("/nodes/pve1/journal")]
    assert request["params"].get("lastentries") == "1"  # lastentries=0 would be dropped by PVE: the whole journal


@pytest.mark.parametrize("auth", ["readonly", "password"])
def test_an_invalid_cursor_is_named(ansible: Ansible, auth: str) -> None:
    for extra in ({}, {"services": ["pveproxy"]}):
        run = ansible.module("pve_node_logs", args(node="pve1", cursor="not-a-cursor", **extra), auth=auth)
        assert run.rc != 0
        assert run.result["msg"].startswith("cursor 'not-a-cursor' is not a journal cursor"), run.result["msg"]


def test_file_tail_on_the_node_and_in_a_container(ansible: Ansible, tmp_path: pathlib.Path) -> None:
    log = tmp_path / "app.log"
    log.write_text("".join(f"node line {number}\n" for number in range(10)))
    node = ansible.module("pve_node_logs", args(node="pve1", files=[str(log)], lines=3))
    assert node.rc == 0, node.output
    assert node.result["lines"] == ["node line 7", "node line 8", "node line 9"] and node.result["source"] == "tail"
    assert ansible.module("pve_lxc_exec", args(vmid=101, shell="seq 1 20 > /var/log/app.log")).rc == 0
    container = ansible.module("pve_node_logs", args(vmid=101, files=["/var/log/app.log"], lines=2))
    assert container.result["lines"] == ["19", "20"] and container.result["vmid"] == 101


def test_container_journal_and_messages_fallback(ansible: Ansible) -> None:
    systemd = ansible.module("pve_node_logs", args(vmid=101, lines=5))
    assert systemd.rc == 0, systemd.output
    assert systemd.result["source"] == "journalctl" and len(systemd.result["lines"]) == 5
    openrc = ansible.module("pve_node_logs", args(name="alpine", lines=5))
    assert openrc.rc == 0, openrc.output
    assert openrc.result["source"] == "/var/log/messages" and "no systemd journal" in openrc.result["source_note"]
    assert len(openrc.result["lines"]) == 5


def test_follow_returns_what_was_written_meanwhile(ansible: Ansible) -> None:
    sim = ansible.sim
    sim.mark()

    def write_once_following() -> None:
        # The follow has started once the module asked for the journal; a line written after that must come back.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any(
                entry.get("method") == "GET" and str(entry.get("path", "")).endswith("/nodes/pve3/journal") for entry in sim.requests()):
            time.sleep(0.05)
        sim.control("POST", "journal/pve3", {"lines": ["written during follow"], "identifier": "pveops-follow"})

    writer = threading.Thread(target=write_once_following)
    writer.start()
    started = time.monotonic()
    run = ansible.module("pve_node_logs", args(node="pve3", lines=1, follow=2), auth="readonly")
    writer.join()
    assert run.rc == 0, run.output
    assert any("written during follow" in line for line in run.result["lines"])
    assert time.monotonic() - started >= 2

    # In a container: lines appended to a file while the module follows it (written until the module returns).
    log = sim.state_dir / "containers" / "101" / "rootfs" / "var" / "log" / "pveops-follow.log"
    log.write_text("before\n")
    done = threading.Event()

    def append_until_done() -> None:
        count = 0
        while not done.wait(0.2) and count < 600:
            count += 1
            with log.open("a") as handle:
                handle.write(f"appended {count}\n")

    appender = threading.Thread(target=append_until_done)
    appender.start()
    try:
        container = ansible.module("pve_node_logs", args(vmid=101, files=["/var/log/pveops-follow.log"], lines=1, follow=2))
    finally:
        done.set()
        appender.join()
    assert container.rc == 0, container.output
    lines = container.result["lines"]
    # The last line when the tail started (lines: 1), then lines appended while it followed.
    assert len(lines) >= 2 and all(line.startswith("appended ") for line in lines[1:]), lines


def test_invalid_names_fail_clearly(ansible: Ansible) -> None:
    for values, message in [
        ({"node": "pve1", "services": ["pveproxy; reboot"]}, "services 'pveproxy; reboot' contains ;, which is not allowed here"),
        ({"node": "pve1", "services": ["-f"]}, "services '-f' starts with '-', which the command would take for an option"),
        ({"node": "pve1", "files": ["relative/path"]}, "files 'relative/path' is not an absolute path"),
        ({"node": "pve1", "files": ["/var/log/$(id)"]}, "files '/var/log/$(id)' contains $, which is not allowed here"),
        ({"node": "pve1", "files": ["/var/log/a\nb"]}, "files '/var/log/a\\nb' contains a control character or newline, which is not allowed"),
        ({"node": "pve1", "since": "yesterday"}, "since 'yesterday' is neither UNIX epoch seconds nor YYYY-MM-DD HH:MM:SS"),
    ]:
        run = ansible.module("pve_node_logs", args(**values))
        assert run.rc != 0
        assert run.result["msg"] == message


def test_terminal_sources_need_root(ansible: Ansible) -> None:
    run = ansible.module("pve_node_logs", args(vmid=101), auth="readonly")
    assert run.rc != 0 and "this log source needs a root@pam password login" in run.result["msg"]


def test_a_file_that_never_ends_is_stopped_with_a_reason(ansible: Ansible) -> None:
    """issue 12 item 14: `tail` of a device never ends; it used to end after about 60 s as a bare "exit code 137"."""
    run = ansible.module("pve_node_logs", args(vmid=101, files=["/dev/zero"], lines=5, timeout=3))
    assert run.rc != 0
    assert "did not finish within" in run.result["msg"] and "a file that never ends" in run.result["msg"], run.result["msg"]
