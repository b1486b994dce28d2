# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The request log: one JSON object per API request, flushed per line, secrets replaced by "***"."""
from __future__ import annotations

import json
import threading
from typing import IO, Any, Mapping

_SECRET_FRAGMENTS = ("password", "ticket", "token", "secret", "otp", "tfa", "csrf")


def is_secret_key(key: str) -> bool:
    """True for parameters whose values must never reach a file (password, vncticket, new-password, ...)."""
    low = key.lower()
    return any(fragment in low for fragment in _SECRET_FRAGMENTS)


def redact(params: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of the parameters with every secret value replaced by `***`."""
    return {key: ("***" if is_secret_key(key) else value) for key, value in params.items()}


class RequestLog:
    """Appends lines to a file; thread-safe. Line keys: ts, method, path, params, status, authid, ms, node (+ fault)."""

    def __init__(self, path: str) -> None:
        self._lock = threading.Lock()
        self._file: IO[str] | None = open(path, "a", encoding="utf-8")
        self.count = 0

    def write(self, ts: float, method: str, path: str, params: Mapping[str, Any], status: int | None, authid: str | None, ms: float,
              fault: str | None = None, node: str | None = None) -> None:
        """Write one request; params are redacted here so no caller can forget it. `fault` only when one was injected;
        `node`: the node that answered (whose listener received it)."""
        entry: dict[str, Any] = {
            "ts": round(ts, 6), "method": method, "path": path, "params": redact(params),
            "status": status, "authid": authid, "ms": round(ms, 3), "node": node,
        }
        if fault is not None:
            entry["fault"] = fault
        line = json.dumps(entry, separators=(",", ":"), default=str)
        with self._lock:
            if self._file is None:
                return
            self._file.write(line + "\n")
            self._file.flush()
            self.count += 1

    def close(self) -> None:
        """Close the file; later writes are dropped."""
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None
