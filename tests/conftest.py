# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Make ``ansible_collections.pveops.proxmox`` and the simulator (``pvesim``) importable in every test."""
from __future__ import annotations

import pathlib
import sys

TESTS_DIR = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(TESTS_DIR))
sys.path.insert(0, str(TESTS_DIR / "tools"))

from collection_tree import ensure_collection_tree  # noqa: E402  pylint: disable=wrong-import-position

sys.path.insert(0, str(ensure_collection_tree()))
