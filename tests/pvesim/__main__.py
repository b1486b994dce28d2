# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Entry point for ``python -m pvesim``."""
from __future__ import annotations

import sys

from pvesim.cli import main

sys.exit(main())
