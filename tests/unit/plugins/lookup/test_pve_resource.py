# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The pve_resource lookup refuses what the modules refuse, before it connects."""
from __future__ import annotations

import pytest
from ansible.errors import AnsibleError
from ansible.plugins.loader import init_plugin_loader, lookup_loader
from ansible.utils.collection_loader import AnsibleCollectionConfig

from collection_tree import COLLECTIONS_PATH

# Nothing listens on port 9: a lookup that got as far as connecting fails differently.
CONNECTION = {"api_url": "https://127.0.0.1:9", "api_password": "unit-test-password", "api_timeout": 1}


@pytest.fixture(scope="module", autouse=True)
def collection_loader() -> None:
    """Let lookup_loader find the collection (once per process: the finder can be installed only once)."""
    if AnsibleCollectionConfig.collection_finder is None:
        init_plugin_loader([str(COLLECTIONS_PATH)])


@pytest.mark.parametrize("concurrency", [0, -1, 100000])
def test_concurrency_out_of_bounds_is_refused(concurrency: int) -> None:
    lookup = lookup_loader.get("pveops.proxmox.pve_resource")
    with pytest.raises(AnsibleError) as info:
        lookup.run(["10.0.0.1"], variables={}, concurrency=concurrency, **CONNECTION)
    assert f"pveops.proxmox.pve_resource: concurrency {concurrency} is not a whole number from 1 to 256" in str(info.value)
