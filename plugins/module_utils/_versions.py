# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The Proxmox VE release behind an API client, asked once per client (``GET /version``, any user).

Features that arrived in a known pve-manager release are named here, with the commit, so callers ask
``supports(client, JOURNAL_UNIT_FILTER)`` instead of comparing version strings.
"""

from __future__ import annotations

import threading
import typing as t
import weakref

from ansible_collections.pveops.proxmox.plugins.module_utils._api import ApiClient

# pve-manager 9.2.4: GET /nodes/{node}/journal takes `unit` (051a47be) and the other filters; before, a 400.
JOURNAL_UNIT_FILTER = (9, 2, 4)
# pve-manager 9.0.13 (49395b74): an API token may open the node termproxy; before, a 500 from verify_username.
TOKEN_NODE_SHELL = (9, 0, 13)
# Proxmox VE 8.2: `pct exec --keep-env` (pve-container 5.0.9, 069553d, March 2024; 8.1 shipped 5.0.8, which knows no
# such option and refuses it). Its default is still 1 ("FIXME: switch to default 0 with pve 9", pct.pm): asked for explicitly
# where it exists, so the environment a command gets does not change when that default does.
PCT_KEEP_ENV = (8, 2, 0)

_CACHE: weakref.WeakKeyDictionary[ApiClient, tuple[int, ...]] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def parse_version(text: t.Any) -> tuple[int, ...]:
    """``9.2.11`` -> (9, 2, 11); anything unparsable -> (0,) (treated as older than every feature)."""
    parts = []
    for piece in str(text or "").split("."):
        digits = ""
        for char in piece:
            if not char.isdigit():
                break
            digits += char
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts) or (0,)


def server_version(client: ApiClient) -> tuple[int, ...]:
    """The pve-manager version of the node ``client`` talks to; one ``/version`` request per client."""
    with _LOCK:
        known = _CACHE.get(client)
    if known is not None:
        return known
    answer = client.get("/version") or {}
    version = parse_version(answer.get("version") if isinstance(answer, dict) else None)
    with _LOCK:
        _CACHE[client] = version
    return version


def supports(client: ApiClient, feature: tuple[int, ...]) -> bool:
    """Whether the node's release has ``feature`` (one of the constants above)."""
    return server_version(client) >= feature


def describe(client: ApiClient) -> str:
    """``9.1.19`` for messages."""
    return ".".join(str(part) for part in server_version(client))
