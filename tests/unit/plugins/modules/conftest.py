# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run a module's main() in-process with patch_module_args and return what it printed as its result."""
from __future__ import annotations

import json
import typing as t

import pytest
from ansible.module_utils.testing import patch_module_args

# Enough to build the connection; tests that get this far without a fake client fail on purpose
# (nothing listens on port 9).
CONNECTION = {"api_url": "https://127.0.0.1:9", "api_password": "unit-test-password", "api_timeout": 1}


@pytest.fixture
def run_module(capsys: pytest.CaptureFixture[str]) -> t.Callable[..., dict[str, t.Any]]:
    """``run_module(module, **args)``: the result dict of ``module.main()`` (exit_json or fail_json)."""
    def run(module: t.Any, **args: t.Any) -> dict[str, t.Any]:
        with patch_module_args(dict(CONNECTION, **args)), pytest.raises(SystemExit):
            module.main()
        result: dict[str, t.Any] = json.loads(capsys.readouterr().out)
        return result
    return run
