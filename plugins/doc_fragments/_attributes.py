# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this doc fragment is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Module attributes shared by every module of the collection."""

from __future__ import annotations


class ModuleDocFragment:
    """Attribute definitions; each module states its own support levels."""

    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
  action_group:
    description: Use C(group/pveops.proxmox.pve) in C(module_defaults) to set the connection options once for every module of this collection.
    support: full
    membership:
      - pveops.proxmox.pve
"""

    # For modules that only read.
    INFO_MODULE = r"""
options: {}
attributes:
  check_mode:
    support: full
    details: This module only reads; it runs unchanged in check mode.
  diff_mode:
    support: N/A
    details: This module only reads.
"""
