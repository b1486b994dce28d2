# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Contract test: the simulator's routes and answers against the official API schema (apidata.json).

The schema is data outside the project (`../shared/pve-api/apidata.json` next to the repository);
the test skips when it is not there. The simulator itself never reads it.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from pvesim.api import build_routes
from pvesim.params import ParamSpec
from pvesim.router import Route
from pvesim.versions import PROFILES
from pvesim_client import Api

REPO_ROOT = Path(__file__).resolve().parents[3]
# PVEOPS_APIDATA points elsewhere (a git worktree has no ../shared next to it).
APIDATA = Path(os.environ.get("PVEOPS_APIDATA") or REPO_ROOT.parent / "shared" / "pve-api" / "apidata.json")

pytestmark = pytest.mark.skipif(not APIDATA.is_file(), reason=f"{APIDATA} not available")

# apidata.json is the pve-docs API viewer of April 2026: the routes of that time's release (9.1), not the newest.
SCHEMA_PROFILE = PROFILES["9.1"]
ROUTES = build_routes(SCHEMA_PROFILE).routes()


@pytest.fixture(scope="module")
def schema() -> dict[tuple[str, str], dict[str, Any]]:
    """apidata.json flattened to {(path, method): info}."""
    flat: dict[tuple[str, str], dict[str, Any]] = {}

    def walk(node: dict[str, Any]) -> None:
        for method, info in (node.get("info") or {}).items():
            flat[(node["path"], method)] = info
        for child in node.get("children") or []:
            walk(child)

    document = json.loads(APIDATA.read_text(encoding="utf-8"))
    for root in document if isinstance(document, list) else [document]:
        walk(root)
    return flat


def _spec_facts(spec: ParamSpec) -> dict[str, Any]:
    return {
        "type": spec.type, "optional": spec.optional, "enum": list(spec.enum) if spec.enum else None,
        "minimum": spec.minimum, "maximum": spec.maximum, "maxLength": spec.max_length, "requires": spec.requires,
    }


def _schema_facts(prop: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": prop.get("type"), "optional": bool(prop.get("optional")), "enum": prop.get("enum"),
        "minimum": prop.get("minimum"), "maximum": prop.get("maximum"), "maxLength": prop.get("maxLength"),
        "requires": prop.get("requires"),
    }


@pytest.mark.parametrize("route", ROUTES, ids=[f"{r.method} {r.path}" for r in ROUTES])
def test_route_matches_schema(schema: dict[tuple[str, str], dict[str, Any]], route: Route) -> None:
    info = schema.get((route.path, route.method))
    assert info is not None, f"{route.method} {route.path} is not in apidata.json"
    props = info.get("parameters", {}).get("properties", {})
    assert sorted(p.name for p in route.params) == sorted(props), "parameter names differ"
    for spec in route.params:
        assert _spec_facts(spec) == _schema_facts(props[spec.name]), f"parameter {spec.name} differs"
    assert route.protected == bool(info.get("protected")), "protected flag differs"
    assert route.proxyto == info.get("proxyto"), "proxyto differs"
    assert route.allowtoken == bool(info.get("allowtoken", 1)), "allowtoken differs"
    permissions = info.get("permissions", {})
    check = permissions.get("check")
    if check and check[0] == "perm":
        assert route.perm is not None, "permission check missing"
        assert (route.perm.path, list(route.perm.privs), route.perm.any_of) == (check[1], check[2], "any" in check[3:])
    else:
        assert route.perm is None, "route declares a check apidata.json does not have"
    assert route.noauth == (permissions.get("user") == "world")


# --- live answers against `returns` --------------------------------------------------------------------

def _problems(value: Any, schema: dict[str, Any], where: str) -> list[str]:
    """A small validator for the PVE return schema dialect: type, required properties, enum, nesting."""
    kind = schema.get("type")
    if value is None:
        return [] if kind in (None, "null") or schema.get("optional") else [f"{where}: null"]
    checks = {
        "object": lambda v: isinstance(v, dict),
        "array": lambda v: isinstance(v, list),
        "string": lambda v: isinstance(v, str),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        "boolean": lambda v: v in (0, 1) and not isinstance(v, bool),
        "null": lambda v: v is None,
    }
    if isinstance(kind, str) and kind in checks and not checks[kind](value):
        return [f"{where}: expected {kind}, got {type(value).__name__} {value!r:.60}"]
    problems: list[str] = []
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{where}: {value!r} not in {schema['enum']}")
    if isinstance(value, dict):
        for name, prop in (schema.get("properties") or {}).items():
            if name.endswith("[n]"):
                continue
            if name not in value:
                if not prop.get("optional"):
                    problems.append(f"{where}.{name}: missing")
                continue
            problems.extend(_problems(value[name], prop, f"{where}.{name}"))
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            problems.extend(_problems(item, schema["items"], f"{where}[{index}]"))
    return problems


LIVE_GETS = [
    ("/version", "/version", {}),
    ("/cluster/status", "/cluster/status", {}),
    ("/cluster/resources", "/cluster/resources", {}),
    ("/nodes", "/nodes", {}),
    ("/nodes/{node}/status", "/nodes/pve1/status", {}),
    ("/nodes/{node}/time", "/nodes/pve2/time", {}),
    ("/nodes/{node}/lxc", "/nodes/pve1/lxc", {}),
    ("/nodes/{node}/lxc/{vmid}/status/current", "/nodes/pve1/lxc/100/status/current", {}),
    ("/nodes/{node}/lxc/{vmid}/status/current", "/nodes/pve3/lxc/110/status/current", {}),
    ("/nodes/{node}/lxc/{vmid}/config", "/nodes/pve1/lxc/100/config", {}),
    ("/nodes/{node}/lxc/{vmid}/interfaces", "/nodes/pve1/lxc/100/interfaces", {}),
    ("/nodes/{node}/journal", "/nodes/pve1/journal", {"lastentries": 5}),
    ("/nodes/{node}/qemu", "/nodes/pve1/qemu", {}),
    ("/nodes/{node}/tasks", "/nodes/pve1/tasks", {"source": "all"}),
    ("/pools", "/pools", {"poolid": "apps"}),
    ("/pools/{poolid}", "/pools/apps", {}),
    ("/nodes/{node}/qemu/{vmid}/status/current", "/nodes/pve1/qemu/200/status/current", {}),
    ("/nodes/{node}/qemu/{vmid}/status/current", "/nodes/pve2/qemu/201/status/current", {}),
    ("/nodes/{node}/qemu/{vmid}/config", "/nodes/pve1/qemu/200/config", {}),
    ("/nodes/{node}/qemu/{vmid}/snapshot", "/nodes/pve1/qemu/200/snapshot", {}),
    ("/nodes/{node}/lxc/{vmid}/snapshot", "/nodes/pve1/lxc/100/snapshot", {}),
    ("/nodes/{node}/qemu/{vmid}/agent/network-get-interfaces", "/nodes/pve1/qemu/200/agent/network-get-interfaces", {}),
    ("/nodes/{node}/network", "/nodes/pve1/network", {}),
]


@pytest.mark.parametrize(("template", "path", "params"), LIVE_GETS, ids=[p for _t, p, _q in LIVE_GETS])
def test_live_get_matches_returns(schema: dict[tuple[str, str], dict[str, Any]], api: Api, template: str, path: str, params: dict[str, Any]) -> None:
    data = api.data(path, **params)
    assert _problems(data, schema[(template, "GET")]["returns"], "data") == []


def test_live_task_and_login_match_returns(schema: dict[tuple[str, str], dict[str, Any]], api: Api) -> None:
    upid = api.action("pve1", 102, "start")
    assert _problems(upid, schema[("/nodes/{node}/lxc/{vmid}/status/start", "POST")]["returns"], "data") == []
    api.wait_task(upid)
    for suffix in ("status", "log"):
        data = api.data(f"/nodes/pve1/tasks/{upid}/{suffix}")
        assert _problems(data, schema[(f"/nodes/{{node}}/tasks/{{upid}}/{suffix}", "GET")]["returns"], "data") == []
    api.wait_task(api.action("pve1", 102, "stop"))
    login = Api(api.sim, "none").login(api.sim.user, api.sim.password)
    assert _problems(login, schema[("/access/ticket", "POST")]["returns"], "data") == []
