# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""`make bench`: run every benchmark under tests/benchmarks and print one table.

Usage: python tests/benchmarks/run_all.py [name ...]   (names: actions, exec, inventory, connection, startup)
"""
from __future__ import annotations

import dataclasses
import importlib
import json
import pathlib
import subprocess
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from common import Row, print_table  # noqa: E402  pylint: disable=wrong-import-position

BENCHMARKS = ("actions", "exec", "inventory", "connection", "startup")


def run_one(name: str) -> list[Row]:
    """Run one benchmark in a fresh interpreter.

    A child forked from a big process starts with the parent's memory, which the kernel counts
    in the child's peak RSS: each benchmark gets its own small process so that the memory
    figures it reports are the measured program's own.
    """
    done = subprocess.run([sys.executable, str(HERE / "run_all.py"), "--one", name], stdout=subprocess.PIPE, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"benchmark {name} failed (exit {done.returncode})")
    return [Row(**fields) for fields in json.loads(done.stdout)]


def main(argv: list[str]) -> int:
    """Run the chosen benchmarks (all by default) and print the table."""
    if argv[:1] == ["--one"]:
        rows = importlib.import_module(f"bench_{argv[1]}").run()
        print(json.dumps([dataclasses.asdict(row) for row in rows]))
        return 0
    chosen = argv or list(BENCHMARKS)
    unknown = sorted(set(chosen) - set(BENCHMARKS))
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    rows: list[Row] = []
    failed = []
    for name in chosen:
        started = time.monotonic()
        print(f"benchmarks: running {name} ...", file=sys.stderr, flush=True)
        try:
            rows += run_one(name)
        except RuntimeError as exc:
            print(f"benchmarks: {exc}", file=sys.stderr)
            failed.append(name)
        print(f"benchmarks: {name} took {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
    print()
    print_table(rows)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
