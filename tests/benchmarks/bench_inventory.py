# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Inventory: this plugin (cold, cache hit, refresh) against community.proxmox's inventory, same simulator.

3 nodes x 200 containers, 20 ms latency per request, 3 protected calls at a time per node (as
pvedaemon). Reported: wall time of `ansible-inventory --list`, requests the server saw, hosts
that got an `ansible_host`, and the peak memory of `ansible-inventory` at 3 x 1000 containers.
"""
from __future__ import annotations

import json
import os
import pathlib
import sys
import tempfile
import typing as t

from common import PEER_NAME, PEER_VENV, Row, ensure_peer_venv, measure, with_peer

from collection_tree import ensure_collection_tree
from pvesim.harness import SimProcess

NAME = "inventory 3x200, 20 ms"
SIM_ARGS = ("--nodes", "3", "--containers-per-node", "200", "--latency-ms", "20", "--protected-concurrency", "3", "--seed", "7")
BIG_ARGS = ("--nodes", "3", "--containers-per-node", "1000", "--seed", "7")
# What a community.proxmox user writes to get an address: running containers from their
# interfaces (want_facts), stopped ones from net0 — there is no ansible_host otherwise.
PEER_COMPOSE = (
    "((proxmox_lxc_interfaces | default([]) | rejectattr('name', 'equalto', 'lo') | selectattr('inet', 'defined')"
    " | map(attribute='inet') | list) + [(proxmox_net0 | default('') | regex_search('ip=[0-9.]+/') | default('', true))"
    " | regex_replace('^ip=', '')]) | select | first | default('') | regex_replace('/.*$', '')"
)


def _hosts_with_address(stdout: str) -> int:
    data = json.loads(stdout)
    hostvars = data.get("_meta", {}).get("hostvars", {})

    def value(item: t.Any) -> t.Any:
        return item.get("__ansible_unsafe") if isinstance(item, dict) else item

    return sum(1 for name, variables in hostvars.items()
               if value(variables.get("ansible_host")) and value(variables.get("pve_type", variables.get("proxmox_vmtype"))) == "lxc")


def _ours(sim: SimProcess, workdir: pathlib.Path) -> dict[str, t.Any]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PVE_", "PROXMOX_", "ANSIBLE_"))}
    env.update({"ANSIBLE_COLLECTIONS_PATH": str(ensure_collection_tree()), "ANSIBLE_HOME": str(workdir / "home"),
                "PVE_URL": sim.url, "PVE_TOKEN_ID": sim.token_id, "PVE_TOKEN_SECRET": sim.token_secret, "PVE_CA_PATH": sim.ca_path})
    inventory = workdir / "pve.yml"
    inventory.write_text(f"plugin: pveops.proxmox.pve\ncache: true\ncache_plugin: ansible.builtin.jsonfile\n"
                         f"cache_connection: {workdir / 'cache'}\ncache_timeout: 3600\n")
    command = [str(pathlib.Path(sys.executable).parent / "ansible-inventory"), "-i", str(inventory), "--list"]
    results = {}
    for label, extra in (("cold", []), ("cache hit", []), ("refresh", ["--flush-cache"])):
        sim.mark()
        run = measure(command + extra, env, cwd=workdir)
        if run.rc != 0 or "Failed to parse" in run.stderr:
            raise RuntimeError(f"our inventory failed ({label}): {run.stderr[-2000:]}")
        results[label] = {"seconds": run.seconds, "requests": len(sim.requests()), "hosts": _hosts_with_address(run.stdout),
                          "rss": run.max_rss_mib}
    return results


def _peer(sim: SimProcess, workdir: pathlib.Path, want_facts: bool) -> dict[str, t.Any] | None:
    if ensure_peer_venv() is None:
        return None
    user, _sep, token_name = sim.token_id.partition("!")
    content = (f"plugin: community.proxmox.proxmox\nurl: {sim.url}\nuser: {user}\ntoken_id: {token_name}\n"
               f"token_secret: {sim.token_secret}\nvalidate_certs: true\nwant_facts: {str(want_facts).lower()}\n")
    if want_facts:
        content += f"compose:\n  ansible_host: \"{PEER_COMPOSE}\"\n"
    inventory = workdir / f"peer-{want_facts}.proxmox.yml"
    inventory.write_text(content)
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PVE_", "PROXMOX_", "ANSIBLE_"))}
    # The peer has no CA option; requests honours REQUESTS_CA_BUNDLE (it even overrides verify=false).
    env.update({"ANSIBLE_HOME": str(workdir / "peer-home"), "ANSIBLE_INVENTORY_ENABLED": "community.proxmox.proxmox",
                "REQUESTS_CA_BUNDLE": sim.ca_path})
    sim.mark()
    run = measure([str(PEER_VENV / "bin" / "ansible-inventory"), "-i", str(inventory), "--list"], with_peer(env), cwd=workdir)
    if run.rc != 0 or "Failed to parse" in run.stderr:
        print(f"benchmarks: community.proxmox inventory failed: {run.stderr[-1500:]}", file=sys.stderr)
        return None
    return {"seconds": run.seconds, "requests": len(sim.requests()), "hosts": _hosts_with_address(run.stdout), "rss": run.max_rss_mib}


def run() -> list[Row]:
    """Measure and return the rows."""
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="bench-inventory-") as tmp:
        workdir = pathlib.Path(tmp)
        with SimProcess(*SIM_ARGS) as sim:
            ours = _ours(sim, workdir)
            plain = _peer(sim, workdir, want_facts=False)
            facts = _peer(sim, workdir, want_facts=True)
        best = facts  # the peer's only configuration that yields addresses
        peer_name = f"{PEER_NAME}, want_facts + compose"
        rows += [
            Row(NAME, "cold: wall time", ours["cold"]["seconds"], best and best["seconds"], peer_name, "s", "<= 2.5 s, >= 3x"),
            Row(NAME, "cold: requests", ours["cold"]["requests"], best and best["requests"], peer_name, "requests"),
            Row(NAME, "cold: hosts with ansible_host", ours["cold"]["hosts"], best and best["hosts"], peer_name, "hosts",
                lower_is_better=False),
            Row(NAME, "peer without facts: wall time", ours["cold"]["seconds"], plain and plain["seconds"],
                f"{PEER_NAME}, defaults", "s"),
            Row(NAME, "peer without facts: hosts with ansible_host", ours["cold"]["hosts"], plain and plain["hosts"],
                f"{PEER_NAME}, defaults", "hosts", lower_is_better=False),
            Row(NAME, "cache hit: wall time / requests", ours["cache hit"]["seconds"], None, "(peer has a cache too; not measured)", "s",
                f"{ours['cache hit']['requests']} requests"),
            Row(NAME, "refresh, nothing changed: requests", ours["refresh"]["requests"], best and best["requests"], peer_name, "requests",
                "<= 3"),
            Row(NAME, "refresh, nothing changed: wall time", ours["refresh"]["seconds"], best and best["seconds"], peer_name, "s"),
        ]
        (workdir / "big").mkdir()
        with SimProcess(*BIG_ARGS) as big:
            ours_big = _ours(big, workdir / "big")
            peer_big = _peer(big, workdir, want_facts=False)
        rows.append(Row("inventory 3x1000", "peak memory of ansible-inventory (cold)", ours_big["cold"]["rss"],
                        peer_big and peer_big["rss"], f"{PEER_NAME}, defaults", "MiB"))
        rows.append(Row("inventory 3x1000", "cold: wall time (no latency)", ours_big["cold"]["seconds"], peer_big and peer_big["seconds"],
                        f"{PEER_NAME}, defaults (no addresses)", "s"))
    return rows
