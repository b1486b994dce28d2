#!/usr/bin/python
# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: pve_node_logs
short_description: Journal and log files of Proxmox VE nodes and containers, with cursors and follow mode
version_added: 0.1.0
description:
  - Reads the last lines of a node's systemd journal through the API (C(GET /nodes/{node}/journal)); this works with an API token
    that has C(Sys.Syslog). The result carries a O(cursor) to continue exactly where this run stopped.
  - O(services) filters by systemd unit. On Proxmox VE 9.2.4 and later the journal API's unit filter serves it, one request per
    service, with a cursor, for an API token as well. On older releases a V(root@pam) password login runs C(journalctl -u) through the
    node terminal (exact, several units, cursor); with only an API token it falls back to C(GET /nodes/{node}/syslog) once per unit
    (exact unit filter, lines of several units merged by their times, no cursor, the last 24 hours unless O(since) is given).
    RV(source) and RV(source_note) say which one was used and why; the release is asked once per run (C(GET /version)).
  - The readers' own lines (C(-- No entries --), C(-- Boot ... --), C(-- Reboot --)) are never returned as log lines.
  - O(files) tails files on the node or, with O(vmid) or O(name), in a container (needs V(root@pam)).
  - With O(vmid) or O(name), reads the container's journal, or C(/var/log/messages) for containers without systemd (needs V(root@pam)).
  - O(follow) keeps reading for that many seconds and returns everything seen.
author:
  - pveops contributors (@pveops)
requirements:
  - websocket-client >= 1.6
extends_documentation_fragment:
  - pveops.proxmox._api
  - pveops.proxmox._attributes
  - pveops.proxmox._attributes.INFO_MODULE
options:
  node:
    description:
      - Node whose logs to read. Required unless O(vmid) or O(name) selects a container.
    type: str
  vmid:
    description:
      - Read the logs of this container instead of the node's.
    type: int
  name:
    description:
      - Read the logs of the container with this name instead of the node's.
    type: str
  lines:
    description:
      - How many of the newest lines to return. With O(cursor) or O(since), at most this many of the newest new lines.
      - V(0) returns no lines (only the cursor to continue from); it never makes the node dump its whole journal.
      - With O(follow), it applies to what is there when following starts; with a cursor on the C(journalctl) source everything
        after the cursor comes.
    type: int
    default: 50
  since:
    description:
      - Only entries at or after this time, as UNIX epoch seconds or V(YYYY-MM-DD HH:MM:SS) (local time of the controller).
    type: str
  until:
    description:
      - Only entries before this time, in the same formats as O(since).
      - With O(until) no RV(cursor) is returned (the journal reader's last cursor is then the first entry after the range).
    type: str
  cursor:
    description:
      - Continue after this journal cursor. Pass the RV(cursor) of an earlier run to get only what is new since then.
      - Node journal only. A value that is not a journal cursor (C(s=...;i=...;b=...;m=...;t=...;x=...)), or a cursor this module
        returned for several services, is refused before anything is sent.
      - On the C(syslog-api) source (an API token before Proxmox VE 9.2.4) the cursor's time is used instead, with a warning.
    type: str
  services:
    description:
      - Only these systemd units (C(journalctl -u)). Names containing C(& | $ ; ' " ` < > \ !), control characters or starting with C(-) are refused.
    type: list
    elements: str
  files:
    description:
      - Tail these absolute paths instead of reading the journal (the same characters are refused).
    type: list
    elements: str
  follow:
    description:
      - Keep reading new lines for this many seconds and return everything seen; V(0) returns a snapshot.
    type: float
    default: 0
  timeout:
    description:
      - Seconds reading the logs may take, on top of O(follow). A command still reading then (C(tail) of a device or a FIFO never ends) is
        stopped on the node and the module fails with a message that says so.
    type: int
    default: 120
"""

EXAMPLES = r"""
- name: The last 100 journal lines of node pve1 (an API token with Sys.Syslog is enough)
  pveops.proxmox.pve_node_logs:
    node: pve1
    lines: 100
  register: journal

- name: Later, only what is new since then
  pveops.proxmox.pve_node_logs:
    node: pve1
    cursor: "{{ journal.cursor }}"

- name: One service, continued later without repeats (Proxmox VE 9.2.4+ also with an API token)
  pveops.proxmox.pve_node_logs:
    node: pve1
    services: [pveproxy]
  register: proxy

- name: What pveproxy logged since
  pveops.proxmox.pve_node_logs:
    node: pve1
    services: [pveproxy]
    cursor: "{{ proxy.cursor }}"

- name: A file inside container 101, following it for 10 seconds
  pveops.proxmox.pve_node_logs:
    vmid: 101
    files: [/var/log/nginx/error.log]
    follow: 10
"""

RETURN = r"""
lines:
  description: The log lines, oldest first.
  returned: success
  type: list
  elements: str
  sample: ["Nov 25 10:00:01 pve1 pvedaemon[1234]: <root@pam> starting task UPID:pve1:..."]
source:
  description:
    - Where the lines come from, V(journal-api), V(syslog-api), V(journalctl), V(tail) or V(/var/log/messages).
  returned: success
  type: str
  sample: journal-api
source_note:
  description: What RV(source) means for the result (how it was filtered).
  returned: success
  type: str
cursor:
  description:
    - Journal cursor of the newest line; pass it as O(cursor) next time. V(null) where no cursor is available (C(syslog-api),
      container logs, O(until)).
    - With several O(services) on the journal API it holds one cursor per service (C(pveops-units:...)); pass it back unchanged.
  returned: success
  type: str
node:
  description: The node.
  returned: success
  type: str
vmid:
  description: The container, when one was selected.
  returned: success
  type: int
"""

import datetime
import typing as t

from ansible_collections.pveops.proxmox.plugins.module_utils._errors import ConfigError, PveError
from ansible_collections.pveops.proxmox.plugins.module_utils._exec import TRANSFER_MARGIN
from ansible_collections.pveops.proxmox.plugins.module_utils._journal import check_cursor
from ansible_collections.pveops.proxmox.plugins.module_utils._logs import (
    SOURCE_NOTES,
    container_logs,
    node_logs,
    require_root_login,
    validate_files,
    validate_services,
)
from ansible_collections.pveops.proxmox.plugins.module_utils._lxc import current_status
from ansible_collections.pveops.proxmox.plugins.module_utils._module import PveModule
from ansible_collections.pveops.proxmox.plugins.module_utils._numbers import MAX_SECONDS, bounded_number
from ansible_collections.pveops.proxmox.plugins.module_utils._tasks import Deadline


def parse_time(value: str | None, option: str) -> int | None:
    """Epoch seconds from ``1732528800`` or ``2026-11-25 10:00[:00]`` (local time of the controller)."""
    if value is None or value == "":
        return None
    text = str(value).strip()
    if text.isdigit():
        return int(text)
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"{option} {value!r} is neither UNIX epoch seconds nor YYYY-MM-DD HH:MM:SS") from None
    return int(moment.timestamp())


def main() -> None:
    """Run the module."""
    module = PveModule(
        argument_spec={
            "node": {"type": "str"},
            "vmid": {"type": "int"},
            "name": {"type": "str"},
            "lines": {"type": "int", "default": 50},
            "since": {"type": "str"},
            "until": {"type": "str"},
            "cursor": {"type": "str", "no_log": False},
            "services": {"type": "list", "elements": "str"},
            "files": {"type": "list", "elements": "str"},
            "follow": {"type": "float", "default": 0},
            "timeout": {"type": "int", "default": 120},
        },
        required_one_of=[("node", "vmid", "name")],
        mutually_exclusive=[("services", "files"), ("cursor", "since")],
        supports_check_mode=True,
    )
    params = module.params
    result: dict[str, t.Any] = {"changed": False, "lines": [], "cursor": None}
    with module.pve_errors(**result):
        if params["lines"] < 0:
            raise ConfigError(f"lines must not be negative, got {params['lines']}")
        bounded_number("follow", params["follow"], 0, MAX_SECONDS)
        bounded_number("timeout", params["timeout"], 1, MAX_SECONDS, integer=True)
        services = validate_services(params["services"] or [])
        files = validate_files(params["files"] or [])
        since = parse_time(params["since"], "since")
        until = parse_time(params["until"], "until")
        cursor = check_cursor(params["cursor"]) if params["cursor"] else None
        lines, follow = params["lines"], params["follow"]
        deadline = Deadline(params["timeout"] + follow + TRANSFER_MARGIN)
        client = module.client
        cluster = module.cluster()
        container = params["vmid"] is not None or params["name"] is not None
        cluster.check_node(params["node"])
        if container:
            if cursor:
                raise ConfigError("cursor applies to the node journal only, not to container logs")
            require_root_login(client)
            guest = cluster.find_container(params["vmid"], params["name"], params["node"])
            status = current_status(client, guest.node, guest.vmid).get("status")
            if status != "running":
                raise PveError(f"{guest.describe()} is {status}; its logs can be read only while it runs")
            found, source = container_logs(client, guest.node, guest.vmid, lines, services, files, follow, deadline)
            result.update(node=guest.node, vmid=guest.vmid, lines=found, source=source, source_note=SOURCE_NOTES[source], cursor=None)
        else:
            if files:
                require_root_login(client)
            logs = node_logs(client, params["node"], lines, services, files, since, until, cursor, follow, deadline)
            for warning in logs.warnings:
                module.warn(warning)
            result.update(node=params["node"], lines=logs.lines, source=logs.source, source_note=logs.note, cursor=logs.cursor)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
