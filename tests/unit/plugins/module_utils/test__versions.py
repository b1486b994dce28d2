# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The release behind a client: parsed once, compared by number."""
from __future__ import annotations

import typing as t

from ansible_collections.pveops.proxmox.plugins.module_utils._versions import JOURNAL_UNIT_FILTER, describe, parse_version, supports


class Client:
    def __init__(self, version: str) -> None:
        self.version = version
        self.asked = 0

    def get(self, path: str, params: t.Any = None) -> t.Any:
        assert path == "/version"
        self.asked += 1
        return {"version": self.version, "release": "x", "repoid": "y"}


def test_parse() -> None:
    assert parse_version("9.2.11") == (9, 2, 11)
    assert parse_version("8.1.4~rc1") == (8, 1, 4)
    assert parse_version(None) == (0,)


def test_asked_once_per_client() -> None:
    client = Client("9.2.4")
    assert supports(client, JOURNAL_UNIT_FILTER) and supports(client, (9, 0, 13))  # type: ignore[arg-type]
    assert describe(client) == "9.2.4" and client.asked == 1  # type: ignore[arg-type]
    assert not supports(Client("9.2.3"), JOURNAL_UNIT_FILTER)  # type: ignore[arg-type]
