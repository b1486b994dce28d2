# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Inventory: this plugin (cold, cache hit, refresh) against community.proxmox's inventory, same simulator.

3 nodes x 200 containers, 20 ms per request, spent in one of a node's 3 pvedaemon workers (protected
calls) or 3 pveproxy workers (the others), as on a real node. The peer in two configurations: its
fastest that yields addresses (want_facts + a compose expression) and its leanest (defaults, no
addresses). A cache hit is set against `ansible-inventory` over a static YAML file with the same
hosts and variables. At 3 x 1000 containers without latency: peak memory and wall time, ours with
and without address discovery. Reported: wall time of `ansible-inventory --list` (medians where
several runs are cheap), requests the server saw, hosts that got an `ansible_host`, peak RSS.
"""
from __future__ import annotations

import json
import os
import pathlib
import shutil
import sys
import tempfile
import typing as t

import yaml

from common import PEER_NAME, PEER_VENV, Measured, Row, ensure_peer_venv, measure, median, with_peer

from collection_tree import ensure_collection_tree
from pvesim.harness import SimProcess

NAME = "inventory 3x200, 20 ms"
BIG = "inventory 3x1000, no latency"
SIM_ARGS = ("--nodes", "3", "--containers-per-node", "200", "--latency-ms", "20", "--protected-concurrency", "3", "--proxy-workers", "3",
            "--seed", "7")
BIG_ARGS = ("--nodes", "3", "--containers-per-node", "1000", "--seed", "7")
RUNS = 3  # runs of the quick measurements; their median is reported
# What a community.proxmox user writes to get an address: running containers from their
# interfaces (want_facts), stopped ones from net0 — there is no ansible_host otherwise.
PEER_COMPOSE = (
    "((proxmox_lxc_interfaces | default([]) | rejectattr('name', 'equalto', 'lo') | selectattr('inet', 'defined')"
    " | map(attribute='inet') | list) + [(proxmox_net0 | default('') | regex_search('ip=[0-9.]+/') | default('', true))"
    " | regex_replace('^ip=', '')]) | select | first | default('') | regex_replace('/.*$', '')"
)
PEER_FACTS = f"{PEER_NAME}, want_facts + compose"
PEER_LEAN = f"{PEER_NAME}, defaults (no addresses)"
Result = t.Dict[str, t.Any]


def _plain(item: t.Any) -> t.Any:
    """ansible-core 2.19 marks untrusted strings in its JSON output; the plain value."""
    if isinstance(item, dict):
        if set(item) == {"__ansible_unsafe"}:
            return item["__ansible_unsafe"]
        return {key: _plain(value) for key, value in item.items()}
    if isinstance(item, list):
        return [_plain(value) for value in item]
    return item


def _counts(stdout: str) -> tuple[int, int]:
    """Hosts, and containers with an ansible_host, in `ansible-inventory --list` output (ours or the peer's)."""
    data = json.loads(stdout)
    hostvars = _plain(data.get("_meta", {}).get("hostvars", {}))
    containers = set(data.get("pve_lxc", {}).get("hosts", [])) | set(data.get("proxmox_all_lxc", {}).get("hosts", []))
    return len(hostvars), sum(1 for name in containers if hostvars.get(name, {}).get("ansible_host"))


def _result(runs: list[Measured], requests: int) -> Result:
    hosts, addressed = _counts(runs[-1].stdout)
    return {"seconds": median([run.seconds for run in runs]), "rss": max(run.max_rss_mib for run in runs), "requests": requests,
            "hosts": hosts, "addressed": addressed, "stdout": runs[-1].stdout}


def _clean_env() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if not key.startswith(("PVE_", "PROXMOX_", "ANSIBLE_"))}


def _ansible_inventory(sim: SimProcess, workdir: pathlib.Path, source: pathlib.Path, extra: t.Sequence[str] = (), runs: int = 1,
                       before: t.Callable[[], None] | None = None) -> Result:
    """Run our `ansible-inventory --list` ``runs`` times against ``sim``; requests are those of the last run."""
    env = _clean_env()
    env.update({"ANSIBLE_COLLECTIONS_PATH": str(ensure_collection_tree()), "ANSIBLE_HOME": str(workdir / "home"),
                "PVE_URL": sim.url, "PVE_TOKEN_ID": sim.token_id, "PVE_TOKEN_SECRET": sim.token_secret, "PVE_CA_PATH": sim.ca_path})
    command = [str(pathlib.Path(sys.executable).parent / "ansible-inventory"), "-i", str(source), "--list", *extra]
    done = []
    for _run in range(runs):
        if before is not None:
            before()
        sim.mark()
        run = measure(command, env, cwd=workdir)
        if run.rc != 0 or "Failed to parse" in run.stderr:
            raise RuntimeError(f"ansible-inventory -i {source.name} failed: {run.stderr[-2000:]}")
        done.append(run)
    return _result(done, len(sim.requests()))


def _ours(sim: SimProcess, workdir: pathlib.Path) -> dict[str, Result]:
    """Cold (no cache), cache hit, and a refresh where nothing changed, with the inventory cache on."""
    cache = workdir / "cache"
    inventory = workdir / "pve.yml"
    inventory.write_text(f"plugin: pveops.proxmox.pve\ncache: true\ncache_plugin: ansible.builtin.jsonfile\n"
                         f"cache_connection: {cache}\ncache_timeout: 3600\n")
    return {
        "cold": _ansible_inventory(sim, workdir, inventory, runs=RUNS, before=lambda: shutil.rmtree(cache, ignore_errors=True)),
        "cache hit": _ansible_inventory(sim, workdir, inventory, runs=RUNS),
        "refresh": _ansible_inventory(sim, workdir, inventory, ["--flush-cache"]),
    }


def _static_yaml(sim: SimProcess, workdir: pathlib.Path, listing: str) -> Result:
    """`ansible-inventory` over a YAML file with the hosts, groups and variables of ``listing`` (our --list output)."""
    data = _plain(json.loads(listing))
    groups = {name: {"hosts": {host: None for host in group.get("hosts", [])}} for name, group in data.items()
              if name not in ("_meta", "all", "ungrouped") and group.get("hosts")}
    static = workdir / "static.yml"
    static.write_text(yaml.safe_dump({"all": {"hosts": data["_meta"]["hostvars"], "children": groups}}))
    return _ansible_inventory(sim, workdir, static, runs=RUNS)


def _peer(sim: SimProcess, workdir: pathlib.Path, want_facts: bool, runs: int = 1) -> Result | None:
    if ensure_peer_venv() is None:
        return None
    user, _sep, token_name = sim.token_id.partition("!")
    content = (f"plugin: community.proxmox.proxmox\nurl: {sim.url}\nuser: {user}\ntoken_id: {token_name}\n"
               f"token_secret: {sim.token_secret}\nvalidate_certs: true\nwant_facts: {str(want_facts).lower()}\n")
    if want_facts:
        content += f"compose:\n  ansible_host: \"{PEER_COMPOSE}\"\n"
    inventory = workdir / f"peer-{want_facts}.proxmox.yml"
    inventory.write_text(content)
    env = _clean_env()
    # The peer has no CA option; requests honours REQUESTS_CA_BUNDLE (it even overrides verify=false).
    env.update({"ANSIBLE_HOME": str(workdir / "peer-home"), "ANSIBLE_INVENTORY_ENABLED": "community.proxmox.proxmox",
                "REQUESTS_CA_BUNDLE": sim.ca_path})
    done = []
    for _run in range(runs):
        sim.mark()
        run = measure([str(PEER_VENV / "bin" / "ansible-inventory"), "-i", str(inventory), "--list"], with_peer(env), cwd=workdir)
        if run.rc != 0 or "Failed to parse" in run.stderr:
            print(f"benchmarks: community.proxmox inventory failed: {run.stderr[-1500:]}", file=sys.stderr)
            return None
        done.append(run)
    return _result(done, len(sim.requests()))


def _get(result: Result | None, key: str) -> float | None:
    return None if result is None else float(result[key])


def _small(workdir: pathlib.Path) -> list[Row]:
    with SimProcess(*SIM_ARGS) as sim:
        ours = _ours(sim, workdir)
        static = _static_yaml(sim, workdir, ours["cache hit"]["stdout"])
        lean = _peer(sim, workdir, want_facts=False, runs=RUNS)
        facts = _peer(sim, workdir, want_facts=True)
    cold, hit, refresh = ours["cold"], ours["cache hit"], ours["refresh"]
    return [
        Row(NAME, f"cold: wall time (median of {RUNS})", cold["seconds"], _get(lean, "seconds"), PEER_LEAN, "s",
            "<= 2.0 s and <= 1.5x peer (ratio >= 0.67x)"),
        Row(NAME, "cold: wall time", cold["seconds"], _get(facts, "seconds"), PEER_FACTS, "s"),
        Row(NAME, "cold: requests", cold["requests"], _get(facts, "requests"), PEER_FACTS, "requests"),
        Row(NAME, "cold: containers with ansible_host", cold["addressed"], _get(facts, "addressed"), PEER_FACTS, "hosts",
            lower_is_better=False),
        Row(NAME, "cold: requests", cold["requests"], _get(lean, "requests"), PEER_LEAN, "requests"),
        Row(NAME, "cold: containers with ansible_host", cold["addressed"], _get(lean, "addressed"), PEER_LEAN, "hosts", lower_is_better=False),
        Row(NAME, "cold: peak memory", cold["rss"], _get(lean, "rss"), PEER_LEAN, "MiB"),
        Row(NAME, f"cache hit ({hit['requests']} requests): wall time (median of {RUNS})", hit["seconds"], static["seconds"],
            "ansible-inventory over static YAML, same hosts and variables", "s", "little more than the static file"),
        Row(NAME, "refresh, nothing changed: requests", refresh["requests"], _get(facts, "requests"), PEER_FACTS, "requests", "<= 3"),
        Row(NAME, "refresh, nothing changed: wall time", refresh["seconds"], _get(facts, "seconds"), PEER_FACTS, "s"),
    ]


def _big(workdir: pathlib.Path) -> list[Row]:
    with SimProcess(*BIG_ARGS) as sim:
        (workdir / "pve.yml").write_text("plugin: pveops.proxmox.pve\n")
        (workdir / "no-ips.pve.yml").write_text("plugin: pveops.proxmox.pve\ndiscover_ips: false\n")
        ours = _ansible_inventory(sim, workdir, workdir / "pve.yml")
        ours_lean = _ansible_inventory(sim, workdir, workdir / "no-ips.pve.yml", runs=RUNS)
        lean = _peer(sim, workdir, want_facts=False, runs=RUNS)
        facts = _peer(sim, workdir, want_facts=True)
    return [
        Row(BIG, "peak memory of ansible-inventory", ours["rss"], _get(lean, "rss"), PEER_LEAN, "MiB", "<= 1.25x peer (ratio >= 0.8x)"),
        Row(BIG, "peak memory of ansible-inventory", ours["rss"], _get(facts, "rss"), PEER_FACTS, "MiB"),
        Row(BIG, "peak memory, discover_ips: false", ours_lean["rss"], _get(lean, "rss"), PEER_LEAN, "MiB"),
        Row(BIG, f"discover_ips: false, wall time (median of {RUNS})", ours_lean["seconds"], _get(lean, "seconds"), PEER_LEAN, "s",
            "<= peer (ratio >= 1.0x)"),
        Row(BIG, "hosts listed (the peer merges guests that share a name)", ours_lean["hosts"], _get(lean, "hosts"), PEER_LEAN, "hosts",
            lower_is_better=False),
        Row(BIG, "with addresses: wall time", ours["seconds"], _get(facts, "seconds"), PEER_FACTS, "s"),
        Row(BIG, "with addresses: requests", ours["requests"], _get(facts, "requests"), PEER_FACTS, "requests"),
        Row(BIG, "with addresses: containers with ansible_host", ours["addressed"], _get(facts, "addressed"), PEER_FACTS, "hosts",
            lower_is_better=False),
    ]


def run() -> list[Row]:
    """Measure and return the rows."""
    with tempfile.TemporaryDirectory(prefix="bench-inventory-") as tmp:
        workdir = pathlib.Path(tmp)
        (workdir / "big").mkdir()
        return _small(workdir) + _big(workdir / "big")
