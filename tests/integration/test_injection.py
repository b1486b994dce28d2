# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Property-based: no user-controlled byte is ever typed into the node shell as text.

Hypothesis generates values for every option that reaches a command line (argv, cmd, shell,
chdir, environment, stdin, services, files, node and container names). After each example
the simulator's record of what the node shell received must be exactly one fixed bootstrap
line and base64 — and the command must have seen the values unchanged.
"""
from __future__ import annotations

import os
import shlex
import typing as t

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.pveops.proxmox.plugins.module_utils._api import ApiClient, api_path
from ansible_collections.pveops.proxmox.plugins.module_utils._config import connection_config
from ansible_collections.pveops.proxmox.plugins.module_utils._errors import ConfigError, NotFound, PveError
from ansible_collections.pveops.proxmox.plugins.module_utils._exec import container_argv, run_capture, validate_word
from ansible_collections.pveops.proxmox.plugins.module_utils._logs import journalctl_argv, tail_argv, validate_files, validate_services
from ansible_collections.pveops.proxmox.plugins.module_utils._tasks import Deadline
from pvesim.harness import SimProcess
from shell_record import check_all

EXAMPLES = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

# Text that tries hard: shell syntax, quotes, newlines, control characters, non-ASCII.
PIECES = list(";&|$`'\"\\<>!*?(){}[]#~=- \t\n\r\x07\x1bé✓ab") + ["touch /tmp/PWNED", "$(id)", "'; ", "\n;"]
nasty = st.lists(st.sampled_from(PIECES), max_size=12).map("".join)
safe_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40)


@pytest.fixture(scope="module")
def sim() -> t.Iterator[SimProcess]:
    with SimProcess() as process:
        yield process


@pytest.fixture(scope="module")
def client(sim: SimProcess) -> t.Iterator[ApiClient]:
    with ApiClient(connection_config({"api_url": sim.url, "api_password": sim.password, "ca_path": sim.ca_path})) as api:
        yield api


def assert_only_base64_typed(sim: SimProcess) -> None:
    check_all(sim.control("GET", "shell-input"))
    sim.control("DELETE", "shell-input")


def run_in_101(client: ApiClient, argv: list[str], **kwargs: t.Any) -> t.Any:
    return run_capture(client, "pve1", container_argv(101, argv, **kwargs.pop("wrap", {})), deadline=Deadline(60), **kwargs)


@EXAMPLES
@given(argv=st.lists(nasty | safe_text, min_size=1, max_size=4), stdin=st.binary(max_size=200))
def test_argv_and_stdin(sim: SimProcess, client: ApiClient, argv: list[str], stdin: bytes) -> None:
    # printf '%s\0' prints every argument back, NUL-separated: they must arrive unchanged.
    result = run_in_101(client, ["sh", "-c", 'printf "%s\\0" "$@"; cat >&2', "sh", *argv], stdin=stdin)
    assert result.rc == 0
    assert result.stdout.split(b"\0")[:-1] == [arg.encode() for arg in argv]
    assert result.stderr == stdin
    assert_only_base64_typed(sim)


@EXAMPLES
@given(directory=nasty, environment=st.dictionaries(st.from_regex(r"[A-Z_][A-Z0-9_]{0,8}", fullmatch=True), nasty | safe_text, max_size=3))
def test_chdir_and_environment(sim: SimProcess, client: ApiClient, directory: str, environment: dict[str, str]) -> None:
    target = "/tmp/" + directory.replace("/", "_").replace("\0", "")
    assert run_in_101(client, ["mkdir", "-p", "--", target]).rc in (0, 1)
    # pwd, then the environment NUL-separated: values may hold any character, newlines included.
    result = run_in_101(client, ["sh", "-c", 'printf "%s\\0" "$PWD"; env -0'], wrap={"chdir": target, "environment": environment})
    entries = result.stdout.decode("utf-8", "surrogateescape").split("\0")
    if result.rc == 0:
        assert entries[0] == os.path.normpath(target)
        for key, value in environment.items():
            assert f"{key}={value}" in entries
    assert_only_base64_typed(sim)


@EXAMPLES
@given(script=nasty)
def test_shell_scripts_run_in_the_container_not_on_the_node(sim: SimProcess, client: ApiClient, script: str) -> None:
    run_in_101(client, ["/bin/sh", "-c", script + "\ntrue"])
    assert_only_base64_typed(sim)


@EXAMPLES
@given(cmd=nasty)
def test_cmd_strings_are_validated_or_passed_as_arguments(sim: SimProcess, client: ApiClient, cmd: str) -> None:
    try:
        words = shlex.split(cmd)
        for index, word in enumerate(words):
            validate_word(word, "cmd", allow_leading_dash=index > 0)
    except (ValueError, ConfigError):
        return  # refused before anything was sent
    if not words:
        return
    run_in_101(client, ["printf", "%s"] + words)
    assert_only_base64_typed(sim)


@EXAMPLES
@given(services=st.lists(nasty, min_size=1, max_size=2), files=st.lists(nasty, min_size=1, max_size=2))
def test_services_and_files(sim: SimProcess, client: ApiClient, services: list[str], files: list[str]) -> None:
    try:
        checked_services = validate_services(services)
    except ConfigError:
        checked_services = []
    try:
        checked_files = validate_files(["/" + name for name in files])
    except ConfigError:
        checked_files = []
    if checked_services:
        run_capture(client, "pve1", journalctl_argv(5, checked_services, None, None, None, False), deadline=Deadline(60))
        assert_only_base64_typed(sim)
    if checked_files:
        run_capture(client, "pve1", tail_argv(checked_files, 5, False), deadline=Deadline(60))
        assert_only_base64_typed(sim)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(node=nasty | safe_text)
def test_node_names_only_reach_quoted_api_paths(sim: SimProcess, client: ApiClient, node: str) -> None:
    before = len(sim.requests())
    try:
        client.get(api_path("nodes", node, "status"))
    except (NotFound, PveError):
        pass
    for entry in sim.requests()[before:]:
        assert entry["path"].startswith("/api2/json/nodes/") and entry["path"].endswith("/status")
