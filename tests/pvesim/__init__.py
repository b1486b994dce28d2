# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""pvesim: a Proxmox VE API look-alike used by the tests, the demo and the benchmarks."""
from __future__ import annotations
