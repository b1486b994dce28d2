# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run by the peer's interpreter: `pct exec` over SSH with paramiko, as proxmox_pct_remote does.

Usage: peer_ssh_exec.py PORT KEY VMID RUNS OUTPUT_COMMAND... — prints JSON: per-exec seconds
(a new SSH connection each time, as a new ansible process makes one), and for each output
command (run in the container) the seconds and bytes it took to receive its output.
"""
from __future__ import annotations

import json
import sys
import time

import paramiko


def connect(port: int, key: str) -> paramiko.SSHClient:
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    client.connect("127.0.0.1", port=port, username="root", key_filename=key, look_for_keys=False, allow_agent=False, timeout=10)
    return client


def run(client: paramiko.SSHClient, command: str) -> tuple[int, bytes]:
    _stdin, stdout, _stderr = client.exec_command(command, timeout=60)
    data = stdout.read()
    return stdout.channel.recv_exit_status(), data


def main() -> None:
    port, key, vmid, runs, commands = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5:]
    singles = []
    for _index in range(runs):
        started = time.monotonic()
        client = connect(port, key)
        code, data = run(client, f"/usr/sbin/pct exec {vmid} -- hostname")
        client.close()
        assert code == 0 and data.strip(), (code, data)
        singles.append(time.monotonic() - started)
    outputs = []
    for command in commands:
        client = connect(port, key)
        started = time.monotonic()
        code, data = run(client, f"/usr/sbin/pct exec {vmid} -- sh -c '{command}'")
        outputs.append({"seconds": time.monotonic() - started, "bytes": len(data)})
        client.close()
        assert code == 0, code
    print(json.dumps({"singles": singles, "outputs": outputs}))


if __name__ == "__main__":
    main()
