# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""SimProcess: run `python -m pvesim serve` in a subprocess for tests, benchmarks and the demo (stdlib only)."""
from __future__ import annotations

import json
import os
import selectors
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

TESTS_DIR = Path(__file__).resolve().parent.parent
READY_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0


class SimError(RuntimeError):
    """The simulator did not start, or a control call failed."""


class SimProcess:
    """Start `python -m pvesim serve` in a subprocess and stop it.

    Extra CLI arguments go in `*args` (e.g. `"--task-seconds", "0.2"`); `--port 0` is added unless
    a port is given. With `request_log=True` every API request is logged to a private file that
    `requests()` reads. Use as a context manager: the process is always stopped on exit.
    """

    def __init__(self, *args: str, request_log: bool = True) -> None:
        self.args = list(args)
        self._workdir = Path(tempfile.mkdtemp(prefix="pvesim-harness-"))
        self.log_path: Path | None = self._workdir / "requests.jsonl" if request_log else None
        self.stderr_path = self._workdir / "stderr.txt"
        self._proc: subprocess.Popen[bytes] | None = None
        self._mark = 0
        self.info: dict[str, Any] = {}

    # --- lifecycle -------------------------------------------------------------------------------

    def __enter__(self) -> SimProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Launch the simulator and wait (bounded) for its ready line."""
        cmd = [sys.executable, "-m", "pvesim", "serve", "--stop-on-stdin-eof"]
        if "--port" not in self.args:
            cmd += ["--port", "0"]
        if self.log_path is not None:
            cmd += ["--request-log", str(self.log_path)]
        cmd += self.args
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(TESTS_DIR), env.get("PYTHONPATH", "")) if p)
        with open(self.stderr_path, "wb") as stderr_file:
            self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr_file, env=env)
        try:
            self.info = json.loads(self._read_ready_line())
        except (SimError, ValueError) as exc:
            stderr = self.stderr_text()[-2000:]
            self.stop()
            raise SimError(f"simulator did not start: {exc}; stderr: {stderr}") from exc

    def _read_ready_line(self) -> str:
        if self._proc is None or self._proc.stdout is None:
            raise SimError("not started")
        deadline = time.monotonic() + READY_TIMEOUT
        buffer = b""
        with selectors.DefaultSelector() as selector:
            selector.register(self._proc.stdout, selectors.EVENT_READ)
            while b"\n" not in buffer:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise SimError(f"no ready line within {READY_TIMEOUT:.0f} s")
                if not selector.select(remaining):
                    continue
                chunk = os.read(self._proc.stdout.fileno(), 65536)
                if not chunk:
                    raise SimError(f"exited with status {self._proc.wait(5)}")
                buffer += chunk
        return buffer.split(b"\n", 1)[0].decode("utf-8")

    def stop(self) -> None:
        """SIGTERM, wait (bounded), then SIGKILL; remove the private work directory."""
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(STOP_TIMEOUT)
            for pipe in (proc.stdin, proc.stdout):
                if pipe is not None:
                    pipe.close()
            # A simulator that was killed (tests do that on purpose) could not remove its own
            # temporary state dir; a --state-dir given by the caller is the caller's to keep.
            state_dir = self.info.get("state_dir")
            if proc.returncode != 0 and state_dir and "--state-dir" not in self.args:
                shutil.rmtree(str(state_dir), ignore_errors=True)
        shutil.rmtree(self._workdir, ignore_errors=True)

    @property
    def returncode(self) -> int | None:
        """Exit status once stopped (None while running or never started)."""
        return None if self._proc is None else self._proc.poll()

    @property
    def pid(self) -> int:
        """The simulator's process id."""
        return int(self.info["pid"])

    # --- ready-line values -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """`https://127.0.0.1:PORT` (without /api2/json)."""
        return str(self.info["url"])

    @property
    def api(self) -> str:
        """`url` + `/api2/json`."""
        return self.url + "/api2/json"

    @property
    def user(self) -> str:
        """`root@pam`."""
        return str(self.info["user"])

    @property
    def password(self) -> str:
        """root@pam's random password."""
        return str(self.info["password"])

    @property
    def token_id(self) -> str:
        """`root@pam!ansible` (privsep 0)."""
        return str(self.info["token_id"])

    @property
    def token_secret(self) -> str:
        """Secret of token_id."""
        return str(self.info["token_secret"])

    @property
    def ca_path(self) -> str:
        """PEM file of the simulator's CA."""
        return str(self.info["ca_path"])

    @property
    def state_dir(self) -> Path:
        """The simulator's state dir (node shells, tools and container filesystems live here, see README.md)."""
        return Path(str(self.info["state_dir"]))

    def node_tool(self, node: str, name: str) -> Path:
        """An installed node tool, e.g. `node_tool("pve1", "pct")`, runnable straight from a test."""
        return self.state_dir / "nodes" / node / "bin" / name

    @property
    def fingerprint(self) -> str:
        """SHA-256 fingerprint of the server certificate (upper hex, colons)."""
        return str(self.info["fingerprint"])

    # --- request log and control -------------------------------------------------------------------

    def _log_lines(self) -> list[str]:
        if self.log_path is None or not self.log_path.exists():
            return []
        return self.log_path.read_text(encoding="utf-8").splitlines()

    def requests(self) -> list[dict[str, Any]]:
        """Parsed request-log lines since start (or since the last mark())."""
        return [json.loads(line) for line in self._log_lines()[self._mark:] if line.strip()]

    def mark(self) -> None:
        """Later requests() calls only return lines written after this point."""
        self._mark = len(self._log_lines())

    def control(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """Call a /_sim control endpoint (`path` like `/_sim/state` or `state`) and return its JSON."""
        result: dict[str, Any] = self._control(method, path, body)
        return result

    def _control(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        if not path.startswith("/"):
            path = "/_sim/" + path
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("X-Pvesim-Control", str(self.info["control_token"]))
        if data is not None:
            request.add_header("Content-Type", "application/json")
        context = ssl.create_default_context(cafile=self.ca_path)
        opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=context))
        try:
            with opener.open(request, timeout=30) as response:
                return json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
            raise SimError(f"control {method} {path}: {exc.code} {exc.read().decode('utf-8', 'replace')}") from exc

    def shell_input(self, clear: bool = False) -> list[dict[str, Any]]:
        """`GET /_sim/shell-input`: every terminal session's pty input (then forget it with clear=True)."""
        sessions: list[dict[str, Any]] = self._control("GET", "shell-input")
        if clear:
            self._control("DELETE", "shell-input")
        return sessions

    def faults(self, clear: bool = False) -> dict[str, Any]:
        """`GET /_sim/faults`: fault settings and every injected fault so far (then forget them with clear=True)."""
        result: dict[str, Any] = self._control("GET", "faults")
        if clear:
            self._control("DELETE", "faults")
        return result

    def set_faults(self, **settings: Any) -> dict[str, Any]:
        """`POST /_sim/faults` with any of rate, kinds, seed, slow_ms, match; returns the new settings (`rate=0` turns faults off)."""
        result: dict[str, Any] = self._control("POST", "faults", settings)
        return result

    def terminals(self) -> list[dict[str, Any]]:
        """`GET /_sim/terminals`: the live terminal sessions and the last ended ones (ids, node, state, byte counts, shell_started)."""
        result: list[dict[str, Any]] = self._control("GET", "terminals")
        return result

    def hangup_next(self, count: int = 1) -> int:
        """`POST /_sim/terminals/hangup-next`: the next `count` ssh-hop sessions hang up before their shell is ready."""
        return int(self._control("POST", "terminals/hangup-next", {"count": count})["armed_hangups"])

    def stderr_text(self) -> str:
        """What the simulator wrote to stderr (diagnostics, tracebacks)."""
        try:
            return self.stderr_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
