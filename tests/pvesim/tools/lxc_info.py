# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""`lxc-info -n NAME [-s] [-p] [-H]` on the simulated node: a container's state and its init's pid.

As lxc src/lxc/tools/lxc_info.c: `State:` RUNNING/STOPPED (462-463), `PID:` of the init only while
running (465-472), labels padded to 15 (`%-15s`) unless `-H` with a single item (403-414); no item
asked -> `Name:`, state and pid (457-460; IPs and stats are not simulated); a name that is neither
running nor defined on this node -> `<name> doesn't exist`, exit 1 (451-455). The pid is that of the
container's real init on the machine (started now if the container had none yet), so
`nsenter -t "$(lxc-info -n 101 -p -H)"` works; the API's `status/current` `pid` is the model's.
Standard library only.
"""
from __future__ import annotations

import json
import os
import sys

from pvesim.tools.ctns import InitUnavailable, container_init  # inlined by pvesim.tools.install()

_CONFIG_JSON = "{}"  # replaced by pvesim.tools.install()


def parse(argv: list[str]) -> tuple[str, list[str], bool]:
    """(name, items in order of lxc_info.c's output, humanize)."""
    name = ""
    wanted: set[str] = set()
    humanize = True
    index = 0
    while index < len(argv):
        arg = argv[index]
        index += 1
        if arg in ("-n", "--name"):
            if index >= len(argv):
                raise ValueError("lxc-info: option requires an argument -- 'n'")
            name = argv[index]
            index += 1
        elif arg.startswith("--name="):
            name = arg.split("=", 1)[1]
        elif arg.startswith("-n") and len(arg) > 2:
            name = arg[2:]
        elif arg in ("-s", "--state"):
            wanted.add("state")
        elif arg in ("-p", "--pid"):
            wanted.add("pid")
        elif arg in ("-H", "--no-humanize"):
            humanize = False
        elif arg.startswith("-"):
            raise ValueError(f"lxc-info: option {arg} is not simulated (only -n, -s, -p, -H)")
        elif not name:
            name = arg
        else:
            raise ValueError(f"lxc-info: unexpected argument '{arg}'")
    if not name:
        raise ValueError("lxc-info: No container name specified")
    return name, [item for item in ("state", "pid") if item in wanted], humanize


def main(argv: list[str] | None = None) -> int:
    """Entry point of the installed script."""
    config = json.loads(_CONFIG_JSON)
    try:
        name, items, humanize = parse(sys.argv[1:] if argv is None else argv)
    except ValueError as exc:
        sys.stderr.write(f"{exc}\n")
        return 1
    state: dict[str, object] = {}
    if name.isdigit():
        try:
            with open(os.path.join(str(config.get("containers", "")), f"{int(name)}.json"), encoding="utf-8") as handle:
                state = json.load(handle)
        except (OSError, ValueError):
            state = {}
    if state.get("node") != config.get("node"):
        sys.stderr.write(f"{name} doesn't exist\n")
        return 1
    labelled = humanize or len(items) != 1
    lines = []
    if not items:
        items = ["state", "pid"]
        lines.append(f"{'Name:':<15} {name}")
    running = state.get("status") == "running"
    if "state" in items:
        lines.append(f"{'State:':<15} {'RUNNING' if running else 'STOPPED'}" if labelled else ("RUNNING" if running else "STOPPED"))
    if "pid" in items and running:
        try:
            pid, pidfd = container_init(str(config.get("runtime", "")), int(name), str(config.get("node", "")))
            os.close(pidfd)
            lines.append(f"{'PID:':<15} {pid}" if labelled else str(pid))
        except InitUnavailable:
            pass  # stopped in between: lxc prints no PID line
    for line in lines:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
