# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Test-only callback: every task result as one JSON line, so tests assert on real results."""
from __future__ import annotations

DOCUMENTATION = r"""
name: result_log
type: notification
short_description: Write task results as JSON lines (pveops.proxmox integration tests)
description:
  - Appends one JSON object per task result to the file named by E(PVEOPS_RESULT_LOG).
options: {}
"""

import json
import os
import typing as t

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    """Record results for the integration tests."""

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "notification"
    CALLBACK_NAME = "result_log"
    CALLBACK_NEEDS_ENABLED = True

    def _write(self, status: str, result: t.Any) -> None:
        path = os.environ.get("PVEOPS_RESULT_LOG")
        if not path:
            return
        entry = {"task": result.task_name, "host": result._host.get_name(), "status": status,  # pylint: disable=protected-access
                 "result": result._result}  # pylint: disable=protected-access
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry, default=str) + "\n")

    def v2_runner_on_ok(self, result: t.Any) -> None:
        """A task succeeded (changed or not)."""
        self._write("changed" if result._result.get("changed") else "ok", result)  # pylint: disable=protected-access

    def v2_runner_on_failed(self, result: t.Any, ignore_errors: bool = False) -> None:
        """A task failed."""
        self._write("failed", result)

    def v2_runner_on_skipped(self, result: t.Any) -> None:
        """A task was skipped."""
        self._write("skipped", result)
