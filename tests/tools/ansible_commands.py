# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run real ansible, ansible-playbook and ansible-inventory commands against a simulator.

Used by the integration tests and the benchmarks: the collection is on
ANSIBLE_COLLECTIONS_PATH, the connection in PVE_* environment variables (the modules'
documented fallbacks), and a recording callback keeps every task result.
"""
from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import subprocess
import sys
import typing as t

from collection_tree import COLLECTIONS_PATH
from pvesim.harness import SimProcess

TESTS_DIR = pathlib.Path(__file__).resolve().parents[1]
CALLBACKS = TESTS_DIR / "integration" / "callback_plugins"
PLAYBOOKS = TESTS_DIR / "integration" / "playbooks"
BIN = pathlib.Path(sys.executable).parent
COMMAND_TIMEOUT = 300


@dataclasses.dataclass
class Run:
    """One ansible command: its exit code, output and recorded task results."""

    rc: int
    stdout: str
    stderr: str
    results: list[dict[str, t.Any]]

    def task(self, name: str, host: str | None = None) -> dict[str, t.Any]:
        """The (last) recorded result of the task called ``name``."""
        found = [entry for entry in self.results if entry["task"] == name and (host is None or entry["host"] == host)]
        assert found, f"no result for task {name!r}; tasks: {[entry['task'] for entry in self.results]}\n{self.stdout}\n{self.stderr}"
        return found[-1]

    @property
    def result(self) -> dict[str, t.Any]:
        """The result of the only task (ad-hoc commands)."""
        assert len(self.results) == 1, f"expected one result, got {len(self.results)}\n{self.stdout}\n{self.stderr}"
        return dict(self.results[0]["result"])

    @property
    def output(self) -> str:
        """stdout and stderr together, for searching."""
        return self.stdout + self.stderr


class Ansible:
    """Runs ansible commands against one simulator."""

    def __init__(self, sim: SimProcess, workdir: pathlib.Path) -> None:
        self.sim = sim
        self.workdir = workdir
        self.counter = 0

    def env(self, auth: str = "password", **extra: str) -> dict[str, str]:
        """Environment for a command; ``auth`` is ``password``, ``token``, ``readonly`` or ``none``."""
        env = {key: value for key, value in os.environ.items() if not key.startswith(("PVE_", "PROXMOX_", "ANSIBLE_"))}
        env.update({
            "ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS_PATH),
            "ANSIBLE_CALLBACK_PLUGINS": str(CALLBACKS),
            "ANSIBLE_CALLBACKS_ENABLED": "result_log",
            "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1",  # ad-hoc `ansible` loads callbacks only with this
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_FORCE_COLOR": "0",
            "ANSIBLE_LOCALHOST_WARNING": "0",
            "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0",
            "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
            "ANSIBLE_HOME": str(self.workdir / "ansible-home"),
            "ANSIBLE_LOCAL_TEMP": str(self.workdir / "ansible-tmp"),
            "ANSIBLE_RETRY_FILES_ENABLED": "0",
            "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
            "PVE_URL": self.sim.url,
            "PVE_CA_PATH": self.sim.ca_path,
        })
        if auth == "password":
            env.update({"PVE_USER": self.sim.user, "PVE_PASSWORD": self.sim.password})
        elif auth == "token":
            env.update({"PVE_TOKEN_ID": self.sim.token_id, "PVE_TOKEN_SECRET": self.sim.token_secret})
        elif auth == "readonly":
            env.update({"PVE_TOKEN_ID": self.sim.info["ro_token_id"], "PVE_TOKEN_SECRET": self.sim.info["ro_token_secret"]})
        env.update(extra)
        return env

    def run(self, argv: list[str], auth: str = "password", env: dict[str, str | None] | None = None,
            timeout: float = COMMAND_TIMEOUT) -> Run:
        """Run an ansible command and collect its results; ``env`` values of None remove variables."""
        self.counter += 1
        log = self.workdir / f"results-{self.counter}.jsonl"
        full_env = self.env(auth, PVEOPS_RESULT_LOG=str(log))
        for key, value in (env or {}).items():
            if value is None:
                full_env.pop(key, None)
            else:
                full_env[key] = value
        command = [str(BIN / argv[0])] + argv[1:]
        done = subprocess.run(command, env=full_env, cwd=self.workdir, capture_output=True, text=True, timeout=timeout, check=False)
        results = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
        return Run(done.returncode, done.stdout, done.stderr, results)

    def playbook(self, name: str, *args: str, auth: str = "password", extra_vars: dict[str, t.Any] | None = None,
                 env: dict[str, str | None] | None = None) -> Run:
        """``ansible-playbook playbooks/<name>`` with optional extra vars (passed as JSON)."""
        argv = ["ansible-playbook", "-i", "localhost,", "-c", "local", str(PLAYBOOKS / name), *args]
        if extra_vars:
            argv += ["-e", json.dumps(extra_vars)]
        return self.run(argv, auth=auth, env=env)

    def module(self, module: str, module_args: str, *args: str, auth: str = "password", env: dict[str, str | None] | None = None) -> Run:
        """Ad-hoc ``ansible localhost -m pveops.proxmox.<module> -a <args>``."""
        return self.run(["ansible", "localhost", "-i", "localhost,", "-c", "local", "-m", f"pveops.proxmox.{module}",
                         "-a", module_args, *args], auth=auth, env=env)
