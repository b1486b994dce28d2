# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Journal files for the simulated `journalctl` (tools/journalctl.py): one JSON object per line.

Line format: `{"seq": N, "cursor": "s=...;i=<N hex>;...", "ts": <epoch float>, "unit": "x.service" | null,
"ident": "pveproxy", "pid": 1342 | null, "message": "..."}`. Lines are only ever appended whole
(a reader ignores a last line without newline); when a file grows past `max_lines` it is replaced
atomically by its newest `keep` lines, and followers re-read it and skip what they saw by `seq`.
"""
from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any, Iterable


class LineFile:
    """An append-only, size-bounded text file (e.g. a container's /var/log/messages); thread-safe."""

    def __init__(self, path: Path, max_lines: int = 60000, keep: int = 40000) -> None:
        self.path = path
        self.max_lines = max_lines
        self.keep = keep
        self._lock = threading.Lock()
        try:
            with open(path, "rb") as handle:
                self._lines = sum(1 for _line in handle)
        except OSError:
            self._lines = 0

    def append_lines(self, lines: Iterable[str]) -> None:
        """Append lines in one write, so a reader sees whole lines or nothing new."""
        data = "".join(f"{line}\n" for line in lines)
        if not data:
            return
        with self._lock:
            with open(self.path, "a", encoding="utf-8") as handle:
                handle.write(data)
            self._lines += data.count("\n")
            if self._lines > self.max_lines:
                self._trim()

    def _trim(self) -> None:
        lines = self.path.read_bytes().splitlines(keepends=True)[-self.keep:]
        temp = self.path.with_name(f".{self.path.name}.tmp")
        temp.write_bytes(b"".join(lines))
        os.replace(temp, self.path)
        self._lines = len(lines)


class JsonlJournal(LineFile):
    """A journal file: records become JSON lines."""

    def append(self, records: Iterable[dict[str, Any]]) -> None:
        """Append records."""
        self.append_lines(json.dumps(r, separators=(",", ":"), ensure_ascii=False) for r in records)
