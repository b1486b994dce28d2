# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Exec against the simulator's model of the real chain (pveproxy's buffers, termproxy's stream parser, slow links, login shells, other nodes).

Each test turns on the switch that makes the simulator fail the way a real node fails
(tests/pvesim/README.md "The terminal chain") and checks that the collection copes: the
output's tail is not lost when the link is slow (audit #1), stalled sends do not time out
(#2), big scripts run and oversized arguments fail at once (#3), big stdin arrives exact
through short misaligned reads (#5), a root shell that never runs our script fails fast (#6),
other nodes' shells survive an early hang-up and a flushed start-up line (#4, #17), history stays
clean (#19), and nothing in a container reaches the node's terminal (issue 12 item 2).
"""
from __future__ import annotations

import hashlib
import json
import os
import resource
import subprocess
import time
import typing as t

import pytest

from ansible_collections.pveops.proxmox.plugins.module_utils._api import ApiClient
from ansible_collections.pveops.proxmox.plugins.module_utils._config import connection_config
from ansible_collections.pveops.proxmox.plugins.module_utils._errors import ConfigError, PveError
from ansible_collections.pveops.proxmox.plugins.module_utils._exec import container_argv, container_command, run_capture
from ansible_collections.pveops.proxmox.plugins.module_utils._tasks import Deadline
from ansible_commands import BIN, Ansible
from pvesim.harness import SimProcess

MB = 1000 * 1000


def client_for(sim: SimProcess, **extra: t.Any) -> ApiClient:
    return ApiClient(connection_config(dict({"api_url": sim.url, "api_password": sim.password, "ca_path": sim.ca_path}, **extra)))


def run(sim: SimProcess, argv: list[str], stdin: bytes = b"", node: str = "pve1", vmid: int = 101, timeout: int = 300,
        **extra: t.Any) -> t.Any:
    with client_for(sim, **extra) as client:
        return run_capture(client, node, container_argv(vmid, argv), stdin, timeout=timeout, deadline=Deadline(timeout + 60))


@pytest.fixture(scope="module")
def chain() -> t.Iterator[SimProcess]:
    """One simulator whose client link is changed per test (POST /_sim/faults link_*)."""
    with SimProcess("--termproxy-short-reads", "--fault-seed", "5") as sim:
        yield sim
        sim.set_faults(link_rate=0, link_stall_ms=0)


@pytest.fixture(scope="module")
def ansible_home(chain: SimProcess, tmp_path_factory: pytest.TempPathFactory) -> Ansible:
    """ansible commands against the chain simulator."""
    return Ansible(chain, tmp_path_factory.mktemp("ansible"))


def test_output_tail_arrives_over_a_slow_link(chain: SimProcess) -> None:
    """#1: 20 MB at 1 MB/s takes far longer than the old 5 s linger; every byte and the real exit code arrive."""
    chain.set_faults(link_rate=MB, link_stall_ms=0)
    try:
        result = run(chain, ["sh", "-c", "f=/tmp/pveops-slow.bin; head -c 20000000 /dev/urandom > $f; sha256sum < $f >&2; cat $f; rm $f; exit 7"])
    finally:
        chain.set_faults(link_rate=0)
    assert result.rc == 7
    assert hashlib.sha256(result.stdout).hexdigest() == result.stderr.split()[0].decode()
    assert len(result.stdout) == 20000000


@pytest.mark.parametrize("stall_ms,every_ms", [(200, 1000), (2000, 2500)])
def test_stdin_arrives_exact_through_stalls(chain: SimProcess, stall_ms: int, every_ms: int) -> None:
    """#2: the client's sends stall (the simulator stops reading); they wait, and 20 MB of stdin arrive byte-exact."""
    data = os.urandom(20 * MB)
    chain.set_faults(link_stall_ms=stall_ms, link_stall_every_ms=every_ms, link_stall_side="send")
    try:
        result = run(chain, ["sha256sum"], data)
    finally:
        chain.set_faults(link_stall_ms=0)
    assert result.rc == 0 and result.stdout.split()[0].decode() == hashlib.sha256(data).hexdigest()


def test_fifty_mib_of_stdin_through_short_misaligned_reads(chain: SimProcess) -> None:
    """#5: termproxy's 4 KiB buffer refilled at misaligned offsets (--termproxy-short-reads): nothing lost or garbled."""
    data = os.urandom(50 * 1024 * 1024)
    result = run(chain, ["sha256sum"], data, timeout=900)
    assert result.rc == 0 and result.stdout.split()[0].decode() == hashlib.sha256(data).hexdigest()


def test_big_inputs(chain: SimProcess, ansible_home: Ansible) -> None:
    """#3: a 1 MiB shell script runs (copied into the container); a 1 MiB argument or environment value fails at once, named."""
    script = "total=0\n" + "".join(f"total=$((total + {index % 7}))\n" for index in range(60000)) + 'echo "sum $total"\n'
    assert len(script) > 1024 * 1024 - 200000
    workdir = ansible_home.workdir
    (workdir / "big.json").write_text(json.dumps({"big_script": script, "big_word": "x" * 1024 * 1024}))
    (workdir / "big.yml").write_text("\n".join([
        "- name: Big inputs", "  hosts: localhost", "  connection: local", "  gather_facts: false", "  tasks:",
        "    - name: A 1 MiB script", "      pveops.proxmox.pve_lxc_exec:", "        vmid: 101", "        shell: \"{{ big_script }}\"",
        "    - name: A 1 MiB argument", "      pveops.proxmox.pve_lxc_exec:", "        vmid: 101",
        "        argv: [printf, '%s', \"{{ big_word }}\"]", "      ignore_errors: true",
        "    - name: A 1 MiB environment value", "      pveops.proxmox.pve_lxc_exec:", "        vmid: 101", "        cmd: 'true'",
        "        environment:", "          BIG: \"{{ big_word }}\"", "      ignore_errors: true", ""]))
    started = time.monotonic()
    book = ansible_home.run(["ansible-playbook", "-i", "localhost,", str(workdir / "big.yml"), "-e", f"@{workdir / 'big.json'}"])
    assert book.rc == 0, book.output[-2000:]
    assert book.task("A 1 MiB script")["result"]["stdout"] == f"sum {sum(index % 7 for index in range(60000))}"
    for task, message in [("A 1 MiB argument", "argv[2] is 1048576 bytes"), ("A 1 MiB environment value", "environment variable BIG is 1048579 bytes")]:
        entry = book.task(task)
        assert entry["status"] == "failed" and message in entry["result"]["msg"] and "MAX_ARG_STRLEN" in entry["result"]["msg"], entry
    assert time.monotonic() - started < 120  # the old code waited timeout + 30 s (3630 s by default) for each
    with pytest.raises(ConfigError, match="argv\\[1\\] contains a NUL byte"):
        container_command(101, "n", argv=["printf", "a\x00b"])


def test_nothing_in_the_container_reaches_the_node_terminal(chain: SimProcess, ansible_home: Ansible) -> None:
    """Issue 12 item 2: /dev/tty is not the node's terminal any more (the command runs in its own session)."""
    started = time.monotonic()
    result = run(chain, ["sh", "-c", "stty sane < /dev/tty; echo real"], timeout=60)
    assert result.stdout == b"real\n" and time.monotonic() - started < 30
    # Measured around a real module run: the old code grew to gigabytes while `yes` wrote into its stream.
    env = ansible_home.env("password")
    command = [str(BIN / "ansible"), "localhost", "-i", "localhost,", "-c", "local", "-m", "pveops.proxmox.pve_lxc_exec", "-a",
               json.dumps({"vmid": 101, "shell": 'timeout 30 sh -c "yes > /dev/tty"', "timeout": 60})]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, check=False)
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    assert "/dev/tty" in done.stdout, done.stdout[-2000:]
    assert peak_mib < 200 or before / 1024 >= 200, f"peak {peak_mib:.0f} MiB"


@pytest.mark.parametrize("shell,message", [
    ("reject", "did not run our start-up line within"),
    ("rbash", "no sign of"),
])
def test_a_root_shell_that_never_runs_the_script_fails_fast(shell: str, message: str) -> None:
    """#6: a csh-like shell, and a restricted bash (no exec): a message naming the node and what the shell printed, in seconds."""
    with SimProcess("--root-shell", f"pve1={shell}") as sim:
        started = time.monotonic()
        with pytest.raises(PveError) as info:
            run(sim, ["true"], timeout=3600)
        took = time.monotonic() - started
    assert took < 35 + (30 if shell == "rbash" else 0), f"{took:.1f} s"
    text = str(info.value)
    assert message in text and "pve1" in text
    assert ("Command not found" in text) if shell == "reject" else ("restricted" in text), text


def test_another_nodes_shell_survives_an_early_hangup_and_a_flushed_line() -> None:
    """#4 and #17: on 9.0.5 a remote root shell nests a login that flushes typed-ahead input; one early hang-up is retried."""
    with SimProcess("--pve-version", "9.0.5", "--login-flush-input", "--ssh-latency-ms", "2500") as sim:
        assert run(sim, ["hostname"], node="pve2", vmid=104).stdout == b"proxy\n"  # 104 runs on pve2; api_url answers as pve1
        sim.hangup_next(1)
        assert run(sim, ["hostname"], node="pve2", vmid=104).stdout == b"proxy\n"
        hangups = [fault for fault in sim.faults()["injected"] if fault["kind"] == "nested-login-race"]
        assert len(hangups) == 1


def test_a_nodes_own_address_opens_its_terminal_there() -> None:
    """#4: with node_urls the terminal of a container on pve2 opens on pve2's own API (no ssh hop)."""
    with SimProcess("--node-listeners") as sim:
        urls = sim.info["node_urls"]
        result = run(sim, ["hostname"], node="pve2", vmid=104, node_urls={"pve2": urls["pve2"]})
        assert result.stdout == b"proxy\n"
        sessions = [session for session in sim.terminals() if session.get("node") == "pve2"]
        assert sessions and not any(session.get("ssh_hop") for session in sessions)
        # An address that cannot be reached: a warning, and the terminal goes through api_url.
        with client_for(sim, node_urls={"pve2": "https://127.0.0.1:1"}) as client:
            fallback = run_capture(client, "pve2", container_argv(104, ["hostname"]), timeout=60, deadline=Deadline(120))
            assert fallback.stdout == b"proxy\n"
            assert any("could not be used" in warning for warning in client.warnings)


def test_history_stays_clean(chain: SimProcess) -> None:
    """#19: bash saves history when it execs; the start-up line unsets HISTFILE first."""
    history = chain.state_dir / "nodes" / "pve1" / "home" / ".bash_history"
    run(chain, ["true"], timeout=60)
    assert not history.exists() or "PVEOPS" not in history.read_text(errors="replace")
