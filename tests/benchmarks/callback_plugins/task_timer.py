# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark-only callback: how long each task took on each host, as JSON lines."""
from __future__ import annotations

DOCUMENTATION = r"""
name: task_timer
type: notification
short_description: Write per-host task durations as JSON lines (pveops.proxmox benchmarks)
description:
  - Appends one JSON object per finished task and host to the file named by E(PVEOPS_TASK_TIMES).
options: {}
"""

import json
import os
import time
import typing as t

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    """Time tasks per host (from the worker's start to its result)."""

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "notification"
    CALLBACK_NAME = "task_timer"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self) -> None:
        super().__init__()
        self._started: dict[tuple[str, str], float] = {}

    def v2_runner_on_start(self, host: t.Any, task: t.Any) -> None:
        """A worker starts the task on the host."""
        self._started[(host.get_name(), task._uuid)] = time.monotonic()  # pylint: disable=protected-access

    def _done(self, result: t.Any, status: str) -> None:
        path = os.environ.get("PVEOPS_TASK_TIMES")
        key = (result._host.get_name(), result._task._uuid)  # pylint: disable=protected-access
        started = self._started.pop(key, None)
        if not path or started is None:
            return
        entry = {"task": result.task_name, "host": key[0], "status": status, "seconds": time.monotonic() - started}
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry) + "\n")

    def v2_runner_on_ok(self, result: t.Any) -> None:
        """Finished."""
        self._done(result, "ok")

    def v2_runner_on_failed(self, result: t.Any, ignore_errors: bool = False) -> None:
        """Failed."""
        self._done(result, "failed")

    def v2_runner_on_unreachable(self, result: t.Any) -> None:
        """Unreachable."""
        self._done(result, "unreachable")
