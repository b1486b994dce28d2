# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Waiting on an event the system under test makes true (a file, a logged request), never on a fixed sleep."""
from __future__ import annotations

import time
import typing as t


def wait_for(condition: t.Callable[[], bool], seconds: float = 60.0) -> bool:
    """Poll ``condition`` until it is true (True) or ``seconds`` have passed (False)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False
