# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""UPIDs, exit statuses, polling and the startup property."""
from __future__ import annotations

import itertools

import pytest

from ansible_collections.pveops.proxmox.plugins.module_utils._errors import ConfigError, PveError
from ansible_collections.pveops.proxmox.plugins.module_utils._power import ACTIONS, parse_startup, plan, startup_with_down
from ansible_collections.pveops.proxmox.plugins.module_utils._tasks import is_success, parse_upid, poll_intervals


def test_parse_upid() -> None:
    upid = parse_upid("UPID:pve:0003A2F1:0C4B1D2E:6716A1B2:vzstart:101:root@pam:")
    assert (upid.node, upid.type, upid.id, upid.user, upid.starttime) == ("pve", "vzstart", "101", "root@pam", 0x6716A1B2)
    token = parse_upid("UPID:pve-2:0003A2F1:0C4B1D2E:6716A1B2:vncshell::root@pam!ansible:")
    assert token.id == "" and token.user == "root@pam!ansible"


@pytest.mark.parametrize("bad", ["", "UPID:pve:1:2:3:vzstart:101:root@pam:", "UPID:pve:0003A2F1:0C4B1D2E:6716A1B2:vzstart:101:root@pam",
                                 "OK", None, 12, "UPID:-pve:0003A2F1:0C4B1D2E:6716A1B2:vzstart:101:root@pam:"])
def test_bad_upids(bad: object) -> None:
    with pytest.raises(PveError, match="task id"):
        parse_upid(bad)


def test_exit_statuses() -> None:
    assert is_success("OK") and is_success("WARNINGS: 3")
    assert not is_success("CT is locked (backup)") and not is_success("WARNINGS: x") and not is_success("unexpected status")


def test_polling_starts_fast_and_caps_at_200_ms() -> None:
    delays = list(itertools.islice(poll_intervals(), 12))
    assert delays[0] < 0.1
    assert delays == sorted(delays)
    assert max(delays) == 0.2


@pytest.mark.parametrize(("action", "status", "endpoint"), [
    ("start", "stopped", "start"), ("start", "running", None),
    ("stop", "running", "stop"), ("stop", "stopped", None),
    ("shutdown", "running", "shutdown"), ("shutdown", "stopped", None),
    ("reboot", "running", "reboot"), ("reboot", "stopped", "start"),
    ("suspend", "running", "suspend"), ("suspend", "stopped", None),
    ("resume", "stopped", "resume"), ("resume", "running", None),
])
def test_plan(action: str, status: str, endpoint: str | None) -> None:
    assert plan(action, status) == endpoint


def test_every_action_ends_in_a_real_container_status() -> None:
    assert {spec.target for spec in ACTIONS.values()} == {"running", "stopped"}  # LXC never reports "suspended"


@pytest.mark.parametrize(("current", "down", "expected"), [
    (None, 60, "down=60"),
    ("", 60, "down=60"),
    ("order=2,up=30,down=60", 120, "order=2,up=30,down=120"),
    ("2,up=30", 45, "order=2,up=30,down=45"),
    ("down=5,order=1", 5, "order=1,down=5"),
])
def test_startup_keeps_order_and_up(current: str | None, down: int, expected: str) -> None:
    assert startup_with_down(current, down) == expected


def test_bad_startup_property() -> None:
    with pytest.raises(ConfigError, match="startup property 'order=x'"):
        parse_startup("order=x")
