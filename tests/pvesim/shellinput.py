# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The record of every byte a terminal's pty received, per session (`GET /_sim/shell-input`).

Tests use it to prove what reached a shell as typed text (for example that user data never did).
Bounded: at most MAX_SESSIONS sessions (oldest dropped) and MAX_BYTES per session (then `truncated`).
"""
from __future__ import annotations

import base64
import itertools
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

MAX_SESSIONS = 500
MAX_BYTES = 32 * 1024 * 1024
_LINE_BREAK = re.compile(rb"\r\n|\r|\n")


@dataclass
class InputRecord:
    """The input of one terminal session."""

    id: int
    node: str
    authid: str
    kind: str
    vmid: int | None
    started: float
    data: bytearray = field(default_factory=bytearray)
    truncated: bool = False

    def as_json(self) -> dict[str, Any]:
        """`input_b64` is exact; `lines` splits on CR, LF and CRLF (decoded as UTF-8, undecodable bytes escaped)."""
        raw = bytes(self.data)
        return {
            "id": self.id, "node": self.node, "authid": self.authid, "kind": self.kind, "vmid": self.vmid,
            "started": self.started, "bytes": len(raw), "truncated": self.truncated,
            "input_b64": base64.b64encode(raw).decode("ascii"),
            "lines": [part.decode("utf-8", "backslashreplace") for part in _LINE_BREAK.split(raw)],
        }


class ShellInputLog:
    """Thread-safe list of InputRecords."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[InputRecord] = []
        self._ids = itertools.count(1)

    def open(self, node: str, authid: str, kind: str, vmid: int | None = None, session_id: int | None = None) -> InputRecord:
        """Start the record of a new session (with the terminal's session id, else a counter of its own)."""
        with self._lock:
            record = InputRecord(next(self._ids) if session_id is None else session_id, node, authid, kind, vmid, time.time())
            self._records.append(record)
            del self._records[:-MAX_SESSIONS]
            return record

    def add(self, record: InputRecord, data: bytes) -> None:
        """Append bytes that were handed to the pty."""
        with self._lock:
            room = MAX_BYTES - len(record.data)
            if len(data) > room:
                record.truncated = True
            record.data += data[:max(room, 0)]

    def sessions(self, node: str | None = None, session: int | None = None) -> list[dict[str, Any]]:
        """All records (optionally of one node, or the one of a session id), oldest first; updated as the pty accepts input."""
        with self._lock:
            return [r.as_json() for r in self._records if (node is None or r.node == node) and (session is None or r.id == session)]

    def clear(self) -> int:
        """Forget every record; returns how many there were."""
        with self._lock:
            count = len(self._records)
            self._records.clear()
            return count
