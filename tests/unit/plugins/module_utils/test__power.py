# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Power actions: HA-managed containers (their state, relocation, error) and what a lost connection leaves known."""
from __future__ import annotations

import typing as t

import pytest

from ansible_collections.pveops.proxmox.plugins.module_utils import _tasks
from ansible_collections.pveops.proxmox.plugins.module_utils._api import ApiNotFound
from ansible_collections.pveops.proxmox.plugins.module_utils._errors import PveConnectionError, PveError
from ansible_collections.pveops.proxmox.plugins.module_utils._power import ha_managed, run_action, wait_status
from ansible_collections.pveops.proxmox.plugins.module_utils._tasks import Deadline

UPID = "UPID:pve1:0003A2F1:0C4B1D2E:6716A1B2:vzstart:101:root@pam:"


class Client:
    """GET answers by path prefix, in order; POST returns a UPID."""

    def __init__(self, answers: dict[str, list[t.Any]]) -> None:
        self.answers = answers
        self.paths: list[str] = []

    def get(self, path: str, params: t.Any = None) -> t.Any:
        self.paths.append(path)
        for prefix, queue in self.answers.items():
            if path.startswith(prefix) and queue:
                answer = queue.pop(0) if len(queue) > 1 else queue[0]
                if isinstance(answer, BaseException):
                    raise answer
                return answer
        raise AssertionError(f"unexpected GET {path}")

    def post(self, path: str, data: t.Any = None) -> t.Any:
        self.paths.append("POST " + path)
        return UPID


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_tasks.time, "sleep", lambda seconds: None)


def test_ha_managed() -> None:
    assert ha_managed({"ha": {"managed": 1, "state": "started"}})
    assert not ha_managed({"ha": {"managed": 0}}) and not ha_managed({})


def test_the_wait_follows_a_relocated_container() -> None:
    gone = ApiNotFound(500, "GET", "/nodes/pve2/lxc/103/status/current", "Configuration file 'nodes/pve2/lxc/103.conf' does not exist")
    client = Client({
        "/nodes/pve2/lxc/103/status/current": [{"status": "stopped", "ha": {"managed": 1, "state": "relocate"}}, gone],
        "/cluster/resources": [[{"vmid": 103, "node": "pve3"}]],
        "/nodes/pve3/lxc/103/status/current": [{"status": "running", "ha": {"managed": 1, "state": "started"}}],
    })
    assert wait_status(client, "pve2", 103, "running", Deadline(30), ha=True) == ("running", "pve3")  # type: ignore[arg-type]
    with pytest.raises(ApiNotFound):  # without HA a vanished config stays an error
        wait_status(Client({"/nodes/pve2/lxc/103/status/current": [gone]}), "pve2", 103, "running", Deadline(30))  # type: ignore[arg-type]


def test_ha_error_ends_the_wait_at_once() -> None:
    client = Client({"/nodes/pve1/lxc/105/status/current": [{"status": "running", "ha": {"managed": 1, "state": "error"}}]})
    with pytest.raises(PveError) as info:
        wait_status(client, "pve1", 105, "stopped", Deadline(600), ha=True)  # type: ignore[arg-type]
    assert "entered HA state error while it is running" in str(info.value)
    assert info.value.details == {"last_status": "running", "node": "pve1", "ha_state": "error"}


def test_a_lost_connection_after_the_task_started_keeps_the_upid() -> None:
    lost = PveConnectionError("GET /nodes/pve1/tasks/UPID%3A.../status: lost the connection to https://pve:8006: reset")
    client = Client({"/nodes/pve1/tasks/": [lost]})
    with pytest.raises(PveError) as info:
        run_action(client, "pve1", 101, "start", "stopped", Deadline(30))  # type: ignore[arg-type]
    assert info.value.details == {"upid": UPID, "changed": True, "outcome": "unknown"}
    assert f"task {UPID} of container 101 was started, but the connection was lost" in str(info.value)
    assert "whether it succeeded is unknown" in str(info.value)
