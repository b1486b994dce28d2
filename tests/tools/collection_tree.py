# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Make the repository importable and loadable as ``ansible_collections.pveops.proxmox``.

Creates ``tests/output/collections/ansible_collections/pveops/proxmox`` as a symlink to the
repository root (ansible-core and Python imports follow it; ansible-test does not, which is
why sanity copies the tree instead). Used by the tests' conftest, mypy and the demo.
"""
from __future__ import annotations

import os
import pathlib

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
COLLECTIONS_PATH = REPO_ROOT / "tests" / "output" / "collections"


def ensure_collection_tree() -> pathlib.Path:
    """Create the symlink when missing and return the collections path (for ANSIBLE_COLLECTIONS_PATH)."""
    link = COLLECTIONS_PATH / "ansible_collections" / "pveops" / "proxmox"
    if not link.is_symlink():
        link.parent.mkdir(parents=True, exist_ok=True)
        target = os.path.relpath(REPO_ROOT, link.parent)
        try:
            link.symlink_to(target, target_is_directory=True)
        except FileExistsError:  # created concurrently by another test worker
            pass
    return COLLECTIONS_PATH


if __name__ == "__main__":
    print(ensure_collection_tree())
