# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Ready line, TLS facts and clean shutdown (SIGTERM, stdin EOF, kept --state-dir)."""
from __future__ import annotations

import hashlib
import os
import ssl
import time
from pathlib import Path

from pvesim.harness import SimProcess
from pvesim_client import Api

READY_KEYS = {
    "url", "user", "password", "ops_user", "ops_password", "token_id", "token_secret", "ro_token_id", "ro_token_secret",
    "ca_path", "fingerprint", "control_token", "pid", "state_dir",
}


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_ready_line_and_sigterm_cleanup() -> None:
    sim = SimProcess(request_log=False)
    sim.start()
    try:
        info = sim.info
        assert set(info) == READY_KEYS
        assert info["url"].startswith("https://127.0.0.1:") and info["user"] == "root@pam"
        assert info["token_id"] == "root@pam!ansible" and info["ro_token_id"] == "audit@pve!readonly"
        state_dir = Path(info["state_dir"])
        assert Path(info["ca_path"]) == state_dir / "ca.pem" and state_dir.is_dir()
        port = int(info["url"].rsplit(":", 1)[1])
        der = ssl.PEM_cert_to_DER_cert(ssl.get_server_certificate(("127.0.0.1", port)))
        assert info["fingerprint"] == ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest())
        assert Api(sim, "token").get("/version").status_code == 200
        pid = sim.pid
        proc = sim._proc
    finally:
        sim.stop()
    assert proc is not None and proc.returncode == 0
    assert _gone(pid)
    assert not state_dir.exists()


def test_state_dir_kept_and_stdin_eof(tmp_path: Path) -> None:
    state = tmp_path / "state"
    sim = SimProcess("--state-dir", str(state), request_log=False)
    sim.start()
    try:
        proc = sim._proc
        assert proc is not None and proc.stdin is not None
        # The parent going away (its end of the stdin pipe closing) stops the simulator.
        proc.stdin.close()
        deadline = time.monotonic() + 10
        while proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert proc.returncode == 0
    finally:
        sim.stop()
    assert (state / "ca.pem").is_file()


def test_unknown_scenario_fails_cleanly(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"nodes": [{"name": "pve1"}], "guests": [{"vmid": 100, "node": "pve9"}]}', encoding="utf-8")
    sim = SimProcess("--scenario", str(bad), request_log=False)
    try:
        sim.start()
        raise AssertionError("simulator started with a broken scenario")
    except RuntimeError as exc:
        assert "guest 100: node 'pve9': not a node of the scenario" in str(exc)
