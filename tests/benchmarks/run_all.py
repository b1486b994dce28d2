# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""`make bench`: run every benchmark under tests/benchmarks and print one table.

Usage: python tests/benchmarks/run_all.py [name ...]   (names: inventory, actions, exec)
"""
from __future__ import annotations

import importlib
import pathlib
import sys
import time
import traceback

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from common import Row, print_table  # noqa: E402  pylint: disable=wrong-import-position

BENCHMARKS = ("actions", "exec", "inventory")


def main(argv: list[str]) -> int:
    """Run the chosen benchmarks (all by default) and print the table."""
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
            rows += importlib.import_module(f"bench_{name}").run()
        except Exception:  # pylint: disable=broad-exception-caught  # report and go on with the others
            traceback.print_exc()
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
