# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Numeric options are finite and bounded, options an action would ignore are refused: messages, never tracebacks."""
from __future__ import annotations

import typing as t

import pytest

from ansible_collections.pveops.proxmox.plugins.modules import pve_lxc_action, pve_lxc_info, pve_lxc_stats, pve_node_logs

NAN, INF = float("nan"), float("inf")
RunModule = t.Callable[..., t.Dict[str, t.Any]]  # the run_module fixture of conftest.py


@pytest.mark.parametrize(("module", "args", "message"), [
    (pve_lxc_stats, {"samples": 2, "interval": NAN}, "interval nan is not a number from 0 to 86400 (seconds)"),
    (pve_lxc_stats, {"samples": 2, "interval": INF}, "interval inf is not a number from 0 to 86400 (seconds)"),
    (pve_lxc_stats, {"samples": 2, "interval": 1e308}, "interval 1e+308 is not a number from 0 to 86400 (seconds)"),
    (pve_lxc_stats, {"samples": 2, "interval": -1}, "interval -1.0 is not a number from 0 to 86400 (seconds)"),
    (pve_node_logs, {"node": "pve1", "follow": NAN}, "follow nan is not a number from 0 to 86400 (seconds)"),
    (pve_node_logs, {"node": "pve1", "follow": 1e308}, "follow 1e+308 is not a number from 0 to 86400 (seconds)"),
    (pve_lxc_info, {"concurrency": 0}, "concurrency 0 is not a whole number from 1 to 256 (parallel requests)"),
    (pve_lxc_action, {"vmid": 101, "action": "start", "timeout": 10 ** 12}, "timeout 1000000000000 is not a number from 1 to 86400"),
    (pve_lxc_action, {"vmid": 101, "action": "shutdown", "shutdown_timeout": -1}, "shutdown_timeout -1 is not a number from 0 to 86400"),
    (pve_lxc_action, {"vmid": 101, "startup_down": 0}, "startup_down 0 is not a number from 1 to 86400"),
    (pve_lxc_action, {"vmid": 101, "action": "start", "force_stop": True}, "force_stop applies only to action=shutdown"),
    (pve_lxc_action, {"vmid": 101, "action": "reboot", "force_stop": True}, "force_stop applies only to action=shutdown"),
    (pve_lxc_action, {"vmid": 101, "action": "start", "shutdown_timeout": 30}, "shutdown_timeout applies only to action=shutdown and"),
    (pve_lxc_info, {"api_timeout": 10 ** 12}, "api_timeout 1000000000000 is not a number from 1 to 86400 (seconds)"),
    (pve_lxc_info, {"api_url": "https://[::1"}, "api_url 'https://[::1' is not a valid URL"),
])
def test_bad_values_fail_with_a_message_that_names_them(run_module: RunModule, module: t.Any, args: dict[str, t.Any], message: str) -> None:
    result = run_module(module, **args)
    assert result["failed"] and result["msg"].startswith(message), result
    assert "unexpected error" not in result["msg"] and "exception" not in result


def test_the_action_result_keeps_its_documented_keys_when_an_option_is_refused(run_module: RunModule) -> None:
    result = run_module(pve_lxc_action, vmid=101, action="start", force_stop=True)
    assert {key: result[key] for key in ("vmid", "action", "upid", "exitstatus", "changed")} == {
        "vmid": 101, "action": "start", "upid": None, "exitstatus": None, "changed": False}
