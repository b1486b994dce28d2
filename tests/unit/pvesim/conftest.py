# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixtures for the simulator's own tests: one shared simulator plus API clients per identity."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Iterator

import pytest

# `pvesim` lives in tests/; make it importable however pytest was started (plain pytest or ansible-test units).
_HERE = Path(__file__).resolve().parent
for _path in (str(_HERE.parent.parent), str(_HERE)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

from pvesim.harness import SimProcess
from pvesim_client import Api


@pytest.fixture(scope="session")
def sim() -> Iterator[SimProcess]:
    """The shared default-scenario simulator (short tasks, live resource numbers). Tests that change state use their own vmids."""
    with SimProcess("--task-seconds", "0.2", "--stats-refresh", "0") as process:
        yield process


@pytest.fixture(scope="session")
def api(sim: SimProcess) -> Api:
    """Client authenticated with the root@pam!ansible token."""
    return Api(sim, "token")


@pytest.fixture(scope="session")
def ticket_api(sim: SimProcess) -> Api:
    """Client authenticated with a root@pam ticket + CSRF token."""
    return Api(sim, "ticket")


@pytest.fixture(scope="session")
def ro_api(sim: SimProcess) -> Api:
    """Client authenticated with the read-only audit@pve!readonly token."""
    return Api(sim, "ro")
