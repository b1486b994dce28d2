# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Integration tests: real ansible-playbook, ansible-inventory and ansible commands against the simulator.

Each test module gets its own simulator (``sim``); ``ansible`` runs commands with the
collection on ANSIBLE_COLLECTIONS_PATH, the connection in PVE_* environment variables (the
modules' documented fallbacks) and a recording callback, and returns the results.
"""
from __future__ import annotations

import pathlib
import typing as t

import pytest

from ansible_commands import Ansible
from pvesim.harness import SimProcess

HERE = pathlib.Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def sim_args() -> list[str]:
    """Simulator options; test modules override this fixture to change them."""
    return ["--task-seconds", "0.3"]


@pytest.fixture(scope="module")
def sim(sim_args: list[str]) -> t.Iterator[SimProcess]:
    """A simulator for one test module, always stopped afterwards."""
    with SimProcess(*sim_args) as process:
        yield process


@pytest.fixture(scope="module")
def ansible(sim: SimProcess, tmp_path_factory: pytest.TempPathFactory) -> Ansible:
    """Runs ansible commands against ``sim``."""
    return Ansible(sim, tmp_path_factory.mktemp("ansible"))
