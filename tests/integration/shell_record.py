# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the node shell may receive from us: one fixed start-up line as text, then only base64 (design §4).

The simulator records every byte a terminal's pty received (`GET /_sim/shell-input`); these
checks say that nothing the user supplied was ever typed as text the node shell parses.
"""
from __future__ import annotations

import base64
import re
import typing as t

STARTUP = re.compile(rb"^ unset HISTFILE; stty raw -echo; printf '%s%s\\n' 'PVEOPS-RE' 'ADY-[0-9a-f]{24}'; "
                     rb"while \[ \"\$\(head -c 64\)\" != 'PVEOPS-GO-[0-9a-f]{24}\.+' \]; do :; done; "
                     rb"exec /bin/sh -c \"\$\(head -c \d+ \| base64 -d\)\" *\r$")
# After the start-up line (typed once or twice): the go record, the loader, the script's length,
# base64, and the final acknowledgement byte.
AFTER_STARTUP = re.compile(rb"^PVEOPS-GO-[0-9a-f]{24}\.+[A-Za-z0-9+/=]*\d+\n[A-Za-z0-9+/=]*A?$")


def check_session(typed: bytes) -> None:
    """Assert that one session's input is the start-up line (at most twice) followed by base64 only."""
    rest = typed
    for _copy in range(2):
        line, sep, after = rest.partition(b"\r")
        if not (sep and STARTUP.match(line + b"\r")):
            break
        rest = after
    assert rest != typed, typed[:300]
    assert AFTER_STARTUP.match(rest), rest[:300]


def check_all(sessions: t.Sequence[dict[str, t.Any]], forbidden: bytes = b"PWNED") -> None:
    """Every recorded session passes check_session and none carries ``forbidden``."""
    assert sessions, "no terminal session was recorded"
    for session in sessions:
        typed = base64.b64decode(session["input_b64"])
        assert forbidden not in typed, typed[:500]
        check_session(typed)
