# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The one check for numeric options: finite and within bounds, or a ConfigError naming the option and the value.

Ansible's ``type: float`` accepts ``nan``, ``inf`` and ``1e308``, and ``type: int`` any size; handed
on unchecked they end in ``time.sleep`` or a socket timeout as a ValueError or OverflowError
traceback instead of a message.
"""

from __future__ import annotations

import math
import typing as t

from ansible_collections.pveops.proxmox.plugins.module_utils._errors import ConfigError

# The longest duration any option accepts: one day. Longer waits are a typo (or 1e308).
MAX_SECONDS = 86400
# The most parallel requests any option asks for; pveproxy runs only a few workers per node anyway.
MAX_CONCURRENCY = 256


def bounded_number(option: str, value: t.Any, minimum: float, maximum: float, unit: str = "seconds", integer: bool = False) -> float:
    """Return ``value`` as a float when it is a finite number from ``minimum`` to ``maximum`` (both included).

    Anything else (not a number, NaN, an infinity, out of bounds, a fraction where ``integer``
    is asked for) raises ConfigError naming the option, the value, the bounds and the unit.
    """
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        number = math.nan
    valid = not isinstance(value, bool) and math.isfinite(number) and minimum <= number <= maximum
    if not valid or (integer and not number.is_integer()):
        kind = "a whole number" if integer else "a number"
        raise ConfigError(f"{option} {value!r} is not {kind} from {minimum:g} to {maximum:g} ({unit})")
    return number
