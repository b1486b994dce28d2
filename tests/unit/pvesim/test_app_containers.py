# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The `app-containers` scenario (an OCI application container without /bin/sh) and `--pct-startup-ms`."""
from __future__ import annotations

import subprocess
import time
from typing import Iterator

import pytest

from pvesim.cli import build_parser
from pvesim.harness import SimProcess
from pvesim.scenario import build_cluster, load_document
from term_client import NEEDS_BWRAP

STARTUP_MS = 400


@pytest.fixture(scope="module")
def app_sim() -> Iterator[SimProcess]:
    """The app-containers scenario with a pct start-up cost."""
    with SimProcess("--scenario", "app-containers", "--pct-startup-ms", str(STARTUP_MS), request_log=False) as process:
        yield process


def run(sim: SimProcess, name: str, *args: str) -> subprocess.CompletedProcess[bytes]:
    """A node tool of node `pve`."""
    return subprocess.run([str(sim.node_tool("pve", name)), *args], capture_output=True, timeout=30, check=False)


def test_the_config_is_what_pve_container_writes_for_an_oci_image() -> None:
    config = build_cluster(load_document("app-containers"), 0.0).guests[120].config
    assert config["entrypoint"] == "/usr/bin/python3 /app/server.py" and config["cmode"] == "console"
    assert config["env"] == "APP_MODE=production\0PATH=/usr/local/bin:/usr/bin"


@NEEDS_BWRAP
@pytest.mark.parametrize("program", ["/bin/sh", "sh", "/usr/bin/sh", "bash"])
def test_no_shell_fails_as_lxc_attach_fails(app_sim: SimProcess, program: str) -> None:
    result = run(app_sim, "pct", "exec", "120", "--", program, "-c", "true")
    assert (result.returncode, result.stderr) == (
        127, f'lxc-attach: 120: ../src/lxc/attach.c: lxc_attach_run_command: 1841 No such file or directory - Failed to exec "{program}"\n'.encode())
    no_command = run(app_sim, "lxc-attach", "-n", "120")
    assert no_command.returncode == 255 and no_command.stderr.endswith(b"No such file or directory - Failed to execute shell\n")


@NEEDS_BWRAP
def test_the_image_runs_its_own_programs_with_its_runtime_environment(app_sim: SimProcess) -> None:
    result = run(app_sim, "pct", "exec", "120", "--keep-env", "0", "--", "/usr/bin/python3", "-c",
                 "import os; print(os.environ['APP_MODE'], os.environ['PATH'], os.path.exists('/bin'))")
    assert result.stdout == b"production /usr/local/bin:/usr/bin False\n", result.stderr
    system = run(app_sim, "pct", "exec", "101", "--", "sh", "-c", "echo $APP_MODE")
    assert system.stdout == b"\n"


@NEEDS_BWRAP
def test_pct_startup_cost_and_none_for_lxc_attach(app_sim: SimProcess) -> None:
    started = time.monotonic()
    assert run(app_sim, "pct", "status", "101").stdout == b"status: running\n"
    assert time.monotonic() - started >= STARTUP_MS / 1000
    started = time.monotonic()
    assert run(app_sim, "pct", "exec", "101", "--", "true").returncode == 0
    assert time.monotonic() - started >= STARTUP_MS / 1000
    # The cost is pct's (Perl) alone: lxc-attach is C and gets none baked in.
    assert f'\\"startup_ms\\": {STARTUP_MS}' in app_sim.node_tool("pve", "pct").read_text()
    assert "startup_ms" not in app_sim.node_tool("pve", "lxc-attach").read_text()


@pytest.mark.parametrize("value", ["-1", "nan", "60001", "soon"])
def test_pct_startup_ms_is_checked(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        build_parser().parse_args(["serve", "--pct-startup-ms", value])
    assert caught.value.code == 2 and "--pct-startup-ms" in capsys.readouterr().err
