# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Container addresses when /interfaces answers null for a running container (no proxyto before pve-container 5.2.0)."""
from __future__ import annotations

import typing as t

from ansible_collections.pveops.proxmox.plugins.module_utils._lxc import container_addresses

CONFIG = {"net0": "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:00:68,ip=203.0.113.10/24,type=veth", "digest": "x"}


class Client:
    def __init__(self, status: str) -> None:
        self.status = status

    def get(self, path: str, params: t.Any = None) -> t.Any:
        if path.endswith("/interfaces"):
            return None
        if path.endswith("/status/current"):
            return {"status": self.status}
        return CONFIG


def test_null_for_a_running_container_is_reported_and_falls_back_to_the_config() -> None:
    ips, warning = container_addresses(Client("running"), "pve2", 104, True)  # type: ignore[arg-type]
    assert ips == ["203.0.113.10"]
    assert warning is not None and "container 104 on pve2 runs but GET .../interfaces answered null" in warning


def test_null_because_it_stopped_meanwhile_is_not_a_problem() -> None:
    # /cluster/resources said running (it lags up to 10 s); status/current says it stopped.
    assert container_addresses(Client("stopped"), "pve2", 104, True) == (["203.0.113.10"], None)  # type: ignore[arg-type]
