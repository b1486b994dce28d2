# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The connection options are defined once: spec, both doc fragment variants and the option list agree."""
from __future__ import annotations

import yaml

from ansible_collections.pveops.proxmox.plugins.doc_fragments._api import ModuleDocFragment
from ansible_collections.pveops.proxmox.plugins.module_utils._config import CONNECTION_OPTIONS
from ansible_collections.pveops.proxmox.plugins.module_utils._module import API_ARGUMENT_SPEC


def test_spec_and_option_list_agree() -> None:
    assert tuple(API_ARGUMENT_SPEC) == CONNECTION_OPTIONS


def test_module_fragment_matches_spec() -> None:
    doc = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"]
    assert set(doc) == set(API_ARGUMENT_SPEC)
    for name, spec in API_ARGUMENT_SPEC.items():
        assert doc[name]["type"] == spec["type"], name
        assert doc[name].get("default") == spec.get("default", doc[name].get("default")), name
        assert doc[name].get("aliases", []) == spec.get("aliases", []), name
        for env in spec.get("fallback", (None, []))[1]:  # node_urls (a map) has no environment variable
            assert f"E({env})" in " ".join(doc[name]["description"]), (name, env)


def test_plugin_fragment_matches_spec() -> None:
    doc = yaml.safe_load(ModuleDocFragment.PLUGINS)["options"]
    assert set(doc) == set(API_ARGUMENT_SPEC)
    for name, spec in API_ARGUMENT_SPEC.items():
        assert doc[name]["type"] == spec["type"], name
        env_names = [entry["name"] for entry in doc[name].get("env", [])]
        # The config system lets the last match win: our PVE_* names must come last.
        assert list(reversed(env_names)) == spec.get("fallback", (None, []))[1], name
        assert doc[name]["vars"] == [{"name": "pve_" + name}], name


def test_secrets_are_no_log() -> None:
    assert API_ARGUMENT_SPEC["api_password"]["no_log"] is True
    assert API_ARGUMENT_SPEC["api_token_secret"]["no_log"] is True
    assert API_ARGUMENT_SPEC["api_token_id"]["no_log"] is False
