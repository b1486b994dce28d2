# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Ticket and CSRF token minting/verification (Ticket.pm formats, pve-protocol.md 1.1, 1.3, 1.4)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from typing import Callable
from urllib.parse import quote, unquote

GRACE_PERIOD = 300
"""Tickets up to 5 minutes "from the future" are accepted (auth_graceperiod, 1.4)."""
VNC_LIFETIME = 40
"""VNC tickets are valid for 40 s (age window -20 ... 40 s, AccessControl.pm, 4.1)."""
VNC_GRACE = 20

_TICKET = re.compile(r"PVE:([^:]+):([0-9A-F]{8})::([A-Za-z0-9+/=]+)")
_VNC = re.compile(r"PVEVNC:([0-9A-F]{8})::([A-Za-z0-9+/=]+)")
_CSRF = re.compile(r"([0-9A-F]{8}):([A-Za-z0-9+/]{43})")


class TicketSigner:
    """Signs with a per-run secret; the signature is 256 bytes like an RSA-2048 one, so it has `+`, `/`, `=`."""

    def __init__(self, secret: bytes, lifetime: int, clock: Callable[[], float] = time.time, vnc_lifetime: int = VNC_LIFETIME) -> None:
        self._secret = secret
        self.lifetime = lifetime
        self.vnc_lifetime = vnc_lifetime
        self._clock = clock

    def _signature(self, data: str) -> str:
        # Four HMAC-SHA512 blocks = 256 bytes -> 344 base64 chars ending in "==", the shape of a real ticket.
        blob = b"".join(hmac.new(self._secret, f"{i}:{data}".encode(), hashlib.sha512).digest() for i in range(4))
        return base64.b64encode(blob).decode()

    def _age_ok(self, hextime: str) -> bool:
        age = self._clock() - int(hextime, 16)
        return -GRACE_PERIOD < age < self.lifetime

    def ticket(self, userid: str) -> str:
        """`PVE:<userid, ':' escaped>:<HEX8>::<base64 sig>` (1.1)."""
        data = f"PVE:{quote(userid, safe='@!.-_')}:{int(self._clock()):08X}"
        return f"{data}::{self._signature(data)}"

    def verify_ticket(self, ticket: str) -> str | None:
        """The user id of a valid, unexpired ticket, else None (-> `Authentication failed!`, 1.6)."""
        match = _TICKET.fullmatch(ticket.strip())
        if not match:
            return None
        data = ticket.strip().rsplit("::", 1)[0]
        if not hmac.compare_digest(self._signature(data), match.group(3)):
            return None
        if not self._age_ok(match.group(2)):
            return None
        return unquote(match.group(1))

    def csrf(self, userid: str) -> str:
        """`<HEX8>:<base64 HMAC-SHA256 of "time:userid", no padding>` (43 chars, 1.1)."""
        stamp = f"{int(self._clock()):08X}"
        return f"{stamp}:{self._csrf_sig(stamp, userid)}"

    def _csrf_sig(self, stamp: str, userid: str) -> str:
        digest = hmac.new(self._secret, f"{stamp}:{userid}".encode(), hashlib.sha256).digest()
        return base64.b64encode(digest).decode().rstrip("=")

    def verify_csrf(self, userid: str, token: str | None) -> bool:
        """Bound to the user id, not to a ticket; same age window as tickets (1.3)."""
        match = _CSRF.fullmatch((token or "").strip())
        if not match:
            return False
        if not hmac.compare_digest(self._csrf_sig(match.group(1), userid), match.group(2)):
            return False
        return self._age_ok(match.group(1))

    def vnc_ticket(self, authid: str, path: str, port: int) -> str:
        """`PVEVNC:<HEX8>::<sig>`: authid, path and port live only in the signed data (1.1, 4.1)."""
        stamp = f"{int(self._clock()):08X}"
        return f"PVEVNC:{stamp}::{self._signature(self._vnc_data(stamp, authid, path, port))}"

    @staticmethod
    def _vnc_data(stamp: str, authid: str, path: str, port: int) -> str:
        return f"PVEVNC:{stamp}\0{authid}\0{path}\0{port}"

    def verify_vnc_ticket(self, ticket: str, authid: str, path: str, port: int) -> bool:
        """True for a ticket issued to exactly this authid, path and port, at most `vnc_lifetime` s old (4.3)."""
        match = _VNC.fullmatch(ticket)
        if not match:
            return False
        if not hmac.compare_digest(self._signature(self._vnc_data(match.group(1), authid, path, port)), match.group(2)):
            return False
        age = self._clock() - int(match.group(1), 16)
        return -VNC_GRACE < age < self.vnc_lifetime
