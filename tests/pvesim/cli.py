# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Command line: `python -m pvesim serve [options]`; prints one JSON ready line, stops on SIGTERM/SIGINT."""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from types import FrameType
from typing import Any, Callable

from pvesim.faults import ALL_KINDS, check_rate, check_slow_ms, parse_kinds
from pvesim.link import LinkSettings, STALL_SIDES, check_ms, check_rate as check_link_rate
from pvesim.options import SimOptions
from pvesim.pveproxy import SOCKET_BYTES
from pvesim.rootshell import ROOT_SHELLS, parse_root_shell
from pvesim.runtime import Simulator, StartupError
from pvesim.scenario import ScenarioError
from pvesim.versions import DEFAULT_NAME, PROFILES, find_profile


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; option names and defaults are a contract (see README.md)."""
    parser = argparse.ArgumentParser(prog="python -m pvesim", description="Proxmox VE API simulator for tests and demos.")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the simulator until SIGTERM/SIGINT")
    serve.add_argument("--host", default="127.0.0.1", choices=("127.0.0.1", "::1", "localhost"), help="listen address (loopback only)")
    serve.add_argument("--port", type=int, default=8006, help="listen port; 0 = any free port")
    serve.add_argument("--scenario", default="default", help="JSON file, or name of a file in tests/pvesim/scenarios/")
    serve.add_argument("--nodes", type=int, help="generate a scenario with this many nodes (default 3)")
    serve.add_argument("--containers-per-node", type=int, help="generate a scenario with this many containers per node (default 4)")
    serve.add_argument("--seed", type=int, default=1, help="seed of the scenario generator")
    serve.add_argument("--latency-ms", type=float, default=0.0, help="added to every API request before it is handled")
    serve.add_argument("--protected-concurrency", type=_arg(_workers("--protected-concurrency"), int), default=3,
                       help="per node, max concurrent protected calls: pvedaemon's workers (others queue)")
    serve.add_argument("--proxy-workers", type=_arg(_workers("--proxy-workers"), int), default=3,
                       help="per node, max concurrent unprotected calls: pveproxy's workers (others queue)")
    serve.add_argument("--task-seconds", type=float, default=1.0, help="how long a power-action task runs")
    serve.add_argument("--request-log", help="append one JSON line per API request to this file")
    serve.add_argument("--ticket-lifetime", type=int, default=7200, help="ticket validity in seconds")
    serve.add_argument("--auth-delay", action="store_true", help="delay every 401 to >= 3 s like the real server")
    serve.add_argument("--state-dir", help="keep certificates etc. here (default: a temp dir removed on exit)")
    serve.add_argument("--stop-on-stdin-eof", action="store_true", help="also stop when stdin reaches EOF (parent died)")
    serve.add_argument("--drop-last-bytes", action="store_true", help="lose a terminal's last output when its shell exits (4.4 step 8)")
    serve.add_argument("--fault-rate", type=_arg(check_rate, float), default=0.0, help="probability (0..1) that an API request gets a fault")
    serve.add_argument("--fault-kinds", type=_arg(parse_kinds, str), default=None,
                       help="comma list of 500, reset-before, reset-after, slow, truncate, ws-drop, lost-bytes (default: all)")
    serve.add_argument("--fault-seed", type=int, default=None, help="seed of the fault RNG (default: random)")
    serve.add_argument("--slow-ms", type=_arg(check_slow_ms, float), default=2000.0, help="how long a `slow` fault delays the answer")
    serve.add_argument("--pct-startup-ms", type=_arg(check_startup_ms, float), default=0.0,
                       help="every pct invocation spends this long before doing anything (0..60000; a real node: see README)")
    serve.add_argument("--pve-version", type=_arg(_profile_name, str), default=None,
                       help=f"Proxmox VE release to play: {', '.join(PROFILES)} (default: the scenario's version, else {DEFAULT_NAME})")
    serve.add_argument("--stats-refresh", type=_arg(_refresh, float), default=10.0,
                       help="seconds between pvestatd updates of /cluster/resources and /nodes numbers (default 10; 0 = live values)")
    # The terminal chain (README "The terminal chain").
    serve.add_argument("--termproxy-socket-bytes", type=_arg(_check_socket_bytes, int), default=SOCKET_BYTES,
                       help="capacity of pveproxy's localhost connection to termproxy (pveproxy keeps the rest in its write buffer)")
    serve.add_argument("--termproxy-short-reads", action="store_true",
                       help="the pty accepts at most a random 1..512 bytes per termproxy loop, so reads land at misaligned offsets")
    serve.add_argument("--link-rate", type=_arg(check_link_rate, int), default=0, metavar="BYTES_PER_S",
                       help="throttle what terminal sessions send to the client (0 = unlimited)")
    serve.add_argument("--link-stall-ms", type=_arg(lambda v: check_ms("link_stall_ms", v), float), default=0.0, metavar="MS",
                       help="every --link-stall-every-ms the client link stalls this long (0 = never)")
    serve.add_argument("--link-stall-every-ms", type=_arg(lambda v: check_ms("link_stall_every_ms", v, 1.0), float), default=1000.0, metavar="MS",
                       help="period of the link stalls")
    serve.add_argument("--link-stall-side", choices=STALL_SIDES, default="both",
                       help="recv: the simulator sends nothing; send: it reads nothing from the client; both")
    serve.add_argument("--login-flush-input", action="store_true",
                       help="login(1) flushes the pty input when it sets up the tty (util-linux login, PVE 9)")
    serve.add_argument("--root-shell", action="append", default=[], type=_arg(parse_root_shell, str), metavar="[NODE=]SHELL",
                       help=f"root@pam's login shell: {', '.join(ROOT_SHELLS)} (repeatable; without NODE= for every node)")
    serve.add_argument("--ssh-latency-ms", type=_arg(lambda v: check_ms("ssh_latency_ms", v), float), default=300.0, metavar="MS",
                       help="connection time of the ssh hop to another node's shell")
    serve.add_argument("--nested-login-race", type=_arg(lambda v: check_rate(v, "nested_login_race"), float), default=0.0, metavar="RATE",
                       help="probability (0..1) that a nested login under ssh (PVE < 9.2) hangs up before the shell is ready")
    serve.add_argument("--node-listeners", action="store_true",
                       help="one more API listener per further node, answered by that node (ready line: node_urls)")
    # Hidden switches for the simulator's own tests.
    serve.add_argument("--vnc-ticket-lifetime", type=int, default=40, help=argparse.SUPPRESS)
    serve.add_argument("--termproxy-timeout", type=float, default=10.0, help=argparse.SUPPRESS)
    serve.add_argument("--bwrap", default=None, help=argparse.SUPPRESS)
    return parser


def _arg(check: Callable[[Any], Any], convert: Callable[[str], Any]) -> Callable[[str], Any]:
    """An argparse `type` that converts, then checks; a ValueError becomes argparse's usage error (exit 2)."""
    def parse(text: str) -> Any:
        try:
            return check(convert(text))
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from exc
    return parse


def check_startup_ms(value: float) -> float:
    """--pct-startup-ms: a finite number of milliseconds in 0..60000."""
    if not 0 <= value <= 60000:  # also false for nan
        raise ValueError(f"--pct-startup-ms must be between 0 and 60000, got {value}")
    return value


def _profile_name(name: str) -> str:
    return find_profile(name).name


def _refresh(seconds: float) -> float:
    if not 0 <= seconds <= 3600:
        raise ValueError(f"--stats-refresh must be between 0 and 3600 seconds, got {seconds:g}")
    return seconds


def _check_socket_bytes(value: int) -> int:
    if value < 1:
        raise ValueError(f"--termproxy-socket-bytes must be at least 1, got {value}")
    return value


MAX_WORKERS = 256


def _workers(option: str) -> Callable[[int], int]:
    """A check for a worker count: a real node has 3 of each (limiter.py); 1..MAX_WORKERS are accepted."""
    def check(value: int) -> int:
        if not 1 <= value <= MAX_WORKERS:
            raise ValueError(f"{option} must be between 1 and {MAX_WORKERS}, got {value}")
        return value
    return check


def options_from_args(args: argparse.Namespace) -> SimOptions:
    """Map parsed arguments to SimOptions (a usage error, exit 2, for a link setting that cannot work)."""
    try:
        link = LinkSettings(args.link_rate, args.link_stall_ms, args.link_stall_every_ms, args.link_stall_side)
    except ValueError as exc:
        build_parser().error(str(exc))
    return SimOptions(
        host=args.host, port=args.port, scenario=args.scenario, nodes=args.nodes,
        containers_per_node=args.containers_per_node, seed=args.seed, latency_ms=args.latency_ms,
        protected_concurrency=args.protected_concurrency, proxy_workers=args.proxy_workers, task_seconds=args.task_seconds,
        request_log=args.request_log, ticket_lifetime=args.ticket_lifetime, auth_delay=args.auth_delay,
        state_dir=args.state_dir, stop_on_stdin_eof=args.stop_on_stdin_eof, drop_last_bytes=args.drop_last_bytes,
        fault_rate=args.fault_rate, fault_kinds=ALL_KINDS if args.fault_kinds is None else args.fault_kinds,
        fault_seed=args.fault_seed, slow_ms=args.slow_ms, pct_startup_ms=args.pct_startup_ms,
        pve_version=args.pve_version, stats_refresh=args.stats_refresh,
        termproxy_socket_bytes=args.termproxy_socket_bytes, termproxy_short_reads=args.termproxy_short_reads, link=link,
        login_flush_input=args.login_flush_input, root_shells=tuple(args.root_shell), ssh_latency_ms=args.ssh_latency_ms,
        nested_login_race=args.nested_login_race, node_listeners=args.node_listeners,
        vnc_ticket_lifetime=args.vnc_ticket_lifetime, termproxy_timeout=args.termproxy_timeout, bwrap=args.bwrap,
    )


def _watch_stdin(stop: threading.Event) -> None:
    # Ends when the parent closes the pipe or dies; then the simulator stops too (no orphans).
    # os.read on the raw fd: a thread blocked in sys.stdin.buffer would hold its lock at interpreter exit.
    try:
        while os.read(sys.stdin.fileno(), 4096):
            pass
    except (OSError, ValueError):
        pass
    stop.set()


def main(argv: list[str] | None = None) -> int:
    """Run the `serve` command; returns the process exit code."""
    args = build_parser().parse_args(argv)
    options = options_from_args(args)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    sim = Simulator(options)
    try:
        try:
            sim.start()
        except (ScenarioError, StartupError, OSError) as exc:
            sys.stderr.write(f"pvesim: {exc}\n")
            return 2
        print(json.dumps(sim.ready_info()), flush=True)
        if options.stop_on_stdin_eof:
            threading.Thread(target=_watch_stdin, args=(stop,), name="pvesim-stdin", daemon=True).start()
        while not stop.wait(0.1):
            pass
        return 0
    finally:
        sim.stop()
