# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Our exec, measured with the collection found in a given collections path (this tree, or an older checkout).

Usage: exec_probe.py COLLECTIONS_PATH URL PASSWORD CA_PATH RUNS OUTPUT_BYTES — prints JSON: the seconds of
RUNS single commands (a new login and terminal each) and of two 50 MiB outputs (random, text).
bench_exec runs it for this tree and, with PVEOPS_BENCH_BASELINE, for a baseline tree in the same run, so
that a change to the exec path is measured against what was there before on the same simulator.
"""
from __future__ import annotations

import json
import sys
import time


def main() -> None:
    collections, url, password, ca_path, runs, size = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6])
    sys.path.insert(0, collections)
    # pylint: disable=import-outside-toplevel  # the collection to measure is chosen on the command line
    from ansible_collections.pveops.proxmox.plugins.module_utils._api import ApiClient
    from ansible_collections.pveops.proxmox.plugins.module_utils._config import connection_config
    from ansible_collections.pveops.proxmox.plugins.module_utils._exec import container_argv, run_capture

    def once(argv: list[str]) -> tuple[float, int]:
        started = time.monotonic()
        with ApiClient(connection_config({"api_url": url, "api_password": password, "ca_path": ca_path})) as client:
            result = run_capture(client, "pve1", container_argv(101, argv), timeout=120)
        if result.rc != 0:
            raise SystemExit(f"exec failed: {result.rc} {result.stderr[-500:]!r}")
        return time.monotonic() - started, len(result.stdout)

    once(["true"])  # warm-up: container filesystem, caches
    singles = [once(["hostname"])[0] for _index in range(runs)]
    outputs = {}
    for label, command in (("random", f"head -c {size} /dev/urandom"),
                           ("text", f"yes \"Nov 25 10:00:01 web nginx[1234]: 10.0.0.1 GET /index.html 200\" | head -c {size}")):
        seconds, length = once(["sh", "-c", command])
        if length != size:
            raise SystemExit(f"{label}: {length} of {size} bytes")
        outputs[label] = seconds
    print(json.dumps({"singles": singles, "outputs": outputs}))


if __name__ == "__main__":
    main()
