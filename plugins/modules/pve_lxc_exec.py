#!/usr/bin/python
# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: pve_lxc_exec
short_description: Run a command inside a Proxmox VE container through the API, with its exit code, stdout and stderr
version_added: 0.1.0
description:
  - Runs a command inside an LXC container through the Proxmox VE API alone, like M(ansible.builtin.command) or M(ansible.builtin.shell)
    would on the container itself. No SSH to the node or the container, no agent, no Python in the container.
  - Proxmox VE has no exec API for containers; the module opens the node's terminal over the API (C(termproxy) and its websocket) and runs
    C(pct exec) there. Input and arguments travel base64-encoded, outputs come back byte-exact and separate, with the real exit code.
  - Needs a V(root@pam) password login (O(api_user=root@pam) and O(api_password)). Proxmox VE gives API tokens and other users a C(login:)
    prompt instead of a root shell on the node terminal; the module then fails with a message that says so.
  - Fails when the return code is not 0, like M(ansible.builtin.command).
author:
  - pveops contributors (@pveops)
requirements:
  - websocket-client >= 1.6
extends_documentation_fragment:
  - pveops.proxmox._api
  - pveops.proxmox._attributes
attributes:
  check_mode:
    support: partial
    details:
      - With O(creates) or O(removes), check mode runs only that test in the container and reports whether the command would run.
      - Without them the task is skipped in check mode, as M(ansible.builtin.command) does.
  diff_mode:
    support: none
options:
  vmid:
    description:
      - Id of the container. One of O(vmid) and O(name) is required.
    type: int
  name:
    description:
      - Name of the container; fails and lists the candidates when several containers share it.
    type: str
  node:
    description:
      - Node of the container; found from the cluster when not given.
    type: str
  cmd:
    description:
      - >-
        The command as one string, split into arguments like M(ansible.builtin.command) does: C(') and C(") quote and a backslash
        escapes as in a shell (C(echo 'a b') passes the one argument C(a b)), but nothing else of a shell happens. The arguments that
        result must not contain C(& | $ ; ' " ` < > \ !) or control characters (so a quote that is part of an argument, as in C("it's"),
        is refused), and the program must not start with C(-).
      - Use O(argv) for arbitrary arguments and O(shell) for pipes and redirections.
      - Exactly one of O(cmd), O(argv) and O(shell) is required.
    type: str
  argv:
    description:
      - The command as a list of arguments; every byte of every argument is passed unchanged.
    type: list
    elements: str
  shell:
    description:
      - A script run by O(executable) C(-c) inside the container; pipes, redirections and variables work there.
    type: str
  executable:
    description:
      - The shell that runs O(shell), inside the container.
    type: str
    default: /bin/sh
  chdir:
    description:
      - Change into this directory (inside the container) before running the command. The command fails when it does not exist.
    type: str
  environment:
    description:
      - Environment variables for the command. The command otherwise gets only C(PATH), C(HOME=/root), C(LANG=C.UTF-8) and C(TERM=dumb).
    type: dict
  stdin:
    description:
      - Data passed to the command's standard input.
    type: str
  stdin_add_newline:
    description:
      - Append a newline to O(stdin).
    type: bool
    default: true
  creates:
    description:
      - A path (glob patterns allowed) inside the container; when it exists, the command does not run.
    type: str
  removes:
    description:
      - A path (glob patterns allowed) inside the container; when it does not exist, the command does not run.
    type: str
  timeout:
    description:
      - Seconds the command may run. When they are up, it gets C(TERM), then C(KILL) 5 seconds later, and the module fails.
    type: int
    default: 3600
  strip_empty_ends:
    description:
      - Strip trailing newlines from stdout and stderr.
    type: bool
    default: true
notes:
  - Output is decoded as UTF-8; bytes that are not valid UTF-8 are replaced.
  - The container must be running.
seealso:
  - module: ansible.builtin.command
  - module: ansible.builtin.shell
"""

EXAMPLES = r"""
- name: Run a command in container 101
  pveops.proxmox.pve_lxc_exec:
    vmid: 101
    cmd: cat /etc/os-release
  register: os_release

- name: A pipeline, in the container "web"
  pveops.proxmox.pve_lxc_exec:
    name: web
    shell: ps aux | grep -c nginx

- name: Arguments with spaces and quotes, passed unchanged
  pveops.proxmox.pve_lxc_exec:
    vmid: 101
    argv:
      - /usr/bin/printf
      - "%s\n"
      - "it's a \"quoted\" value"

- name: Only once (creates is checked inside the container)
  pveops.proxmox.pve_lxc_exec:
    vmid: 101
    shell: apt-get update && touch /var/lib/bootstrap.done
    creates: /var/lib/bootstrap.done
    timeout: 600

- name: Feed stdin, set the directory and environment
  pveops.proxmox.pve_lxc_exec:
    vmid: 101
    argv: [sh, -c, 'cat > "$TARGET"']
    chdir: /etc
    environment:
      TARGET: motd
    stdin: Managed by Ansible
"""

RETURN = r"""
rc:
  description: Exit code of the command (V(0) when it did not run because of O(creates) or O(removes)).
  returned: always
  type: int
  sample: 0
stdout:
  description: Standard output of the command.
  returned: always
  type: str
  sample: hello
stderr:
  description: Standard error of the command.
  returned: always
  type: str
  sample: ""
stdout_lines:
  description: RV(stdout) split into lines.
  returned: always
  type: list
  elements: str
  sample: [hello]
stderr_lines:
  description: RV(stderr) split into lines.
  returned: always
  type: list
  elements: str
  sample: []
cmd:
  description: The command as run inside the container (an argument list).
  returned: always
  type: list
  elements: str
  sample: [cat, /etc/os-release]
start:
  description: When the command started.
  returned: when it ran
  type: str
  sample: "2026-11-25 10:00:00.000001"
end:
  description: When the command ended.
  returned: when it ran
  type: str
  sample: "2026-11-25 10:00:00.200001"
delta:
  description: How long the command ran.
  returned: when it ran
  type: str
  sample: "0:00:00.200000"
msg:
  description: What happened, when it is not the plain success.
  returned: always
  type: str
  sample: non-zero return code
vmid:
  description: Id of the container.
  returned: always
  type: int
  sample: 101
node:
  description: Node of the container.
  returned: success
  type: str
  sample: pve1
"""

import datetime
import shlex
import typing as t

from ansible_collections.pveops.proxmox.plugins.module_utils._errors import ConfigError, PveError
from ansible_collections.pveops.proxmox.plugins.module_utils._exec import TRANSFER_MARGIN, Guard, container_argv, run_capture, validate_word
from ansible_collections.pveops.proxmox.plugins.module_utils._lxc import current_status
from ansible_collections.pveops.proxmox.plugins.module_utils._module import PveModule
from ansible_collections.pveops.proxmox.plugins.module_utils._tasks import Deadline

# Glob-aware existence test inside the container, as ansible.builtin.command's creates/removes:
# the pattern arrives as an argument; an empty IFS keeps spaces in it literal.
_EXISTS = 'IFS=; for p in $1; do [ -e "$p" ] && exit 0; done; exit 1'


def command_argv(params: dict[str, t.Any]) -> list[str]:
    """The argument list to run inside the container, from cmd, argv or shell."""
    if params["cmd"] is not None:
        try:
            words = shlex.split(params["cmd"])
        except ValueError as exc:
            raise ConfigError(f"cmd {params['cmd']!r} cannot be split into arguments: {exc}") from None
        if not words:
            raise ConfigError("cmd is empty")
        for index, word in enumerate(words):
            validate_word(word, "cmd", allow_leading_dash=index > 0)
        return words
    if params["argv"] is not None:
        if not params["argv"]:
            raise ConfigError("argv is empty")
        return [str(arg) for arg in params["argv"]]
    return [params["executable"], "-c", params["shell"]]


def lines(text: str) -> list[str]:
    """Split like Ansible's stdout_lines."""
    return text.splitlines()


def main() -> None:
    """Run the module."""
    module = PveModule(
        argument_spec={
            "vmid": {"type": "int"},
            "name": {"type": "str"},
            "node": {"type": "str"},
            "cmd": {"type": "str"},
            "argv": {"type": "list", "elements": "str"},
            "shell": {"type": "str"},
            "executable": {"type": "str", "default": "/bin/sh"},
            "chdir": {"type": "str"},
            "environment": {"type": "dict"},
            "stdin": {"type": "str"},
            "stdin_add_newline": {"type": "bool", "default": True},
            "creates": {"type": "str"},
            "removes": {"type": "str"},
            "timeout": {"type": "int", "default": 3600},
            "strip_empty_ends": {"type": "bool", "default": True},
        },
        required_one_of=[("vmid", "name"), ("cmd", "argv", "shell")],
        mutually_exclusive=[("cmd", "argv", "shell")],
        supports_check_mode=True,
    )
    params = module.params
    result: dict[str, t.Any] = {"changed": False, "rc": None, "stdout": "", "stderr": "", "stdout_lines": [], "stderr_lines": [],
                                "cmd": None, "start": None, "end": None, "delta": None, "msg": "", "vmid": params["vmid"]}
    if params["timeout"] <= 0:
        result["msg"] = f"timeout must be a positive number of seconds, got {params['timeout']}"
        module.fail_json(**result)

    with module.pve_errors(**result):
        argv = command_argv(params)
        result["cmd"] = argv
        environment = {str(key): str(value) for key, value in (params["environment"] or {}).items()}
        guest = module.cluster().find_container(params["vmid"], params["name"], params["node"])
        result.update(vmid=guest.vmid, node=guest.node)
        status = current_status(module.client, guest.node, guest.vmid).get("status")
        if status != "running":
            raise PveError(f"{guest.describe()} is {status}; commands run only in a running container (start it with pveops.proxmox.pve_lxc_action)")

        guards = []
        if params["creates"]:
            guards.append(Guard(tuple(container_argv(guest.vmid, ["/bin/sh", "-c", _EXISTS, "creates", params["creates"]])), True))
        if params["removes"]:
            guards.append(Guard(tuple(container_argv(guest.vmid, ["/bin/sh", "-c", _EXISTS, "removes", params["removes"]])), False))
        if module.check_mode and not guards:
            result.update(rc=0, msg="Command would have run if not in check mode", skipped=True)
            module.exit_json(**result)

        stdin = params["stdin"] or ""
        if params["stdin"] is not None and params["stdin_add_newline"]:
            stdin += "\n"
        node_argv = container_argv(guest.vmid, argv, chdir=params["chdir"], environment=environment)
        start = datetime.datetime.now()
        outcome = run_capture(module.client, guest.node, node_argv, stdin.encode("utf-8", "surrogateescape"),
                              timeout=params["timeout"], deadline=Deadline(params["timeout"] + TRANSFER_MARGIN),
                              guards=guards, dry_run=module.check_mode)
        end = datetime.datetime.now()

    verb = "Would" if module.check_mode else "Did"
    if outcome.skipped_by is not None:
        guard_option = "creates" if params["creates"] and outcome.skipped_by == 0 else "removes"
        reason = "exists" if guard_option == "creates" else "does not exist"
        result.update(rc=0, msg=f"{verb} not run command since '{params[guard_option]}' {reason}")
        module.exit_json(**result)
    if not outcome.ran:
        result.update(rc=0, changed=True, msg="Command would have run if not in check mode")
        module.exit_json(**result)

    stdout = outcome.stdout.decode("utf-8", "replace")
    stderr = outcome.stderr.decode("utf-8", "replace")
    if params["strip_empty_ends"]:
        stdout, stderr = stdout.rstrip("\r\n"), stderr.rstrip("\r\n")
    result.update(changed=True, rc=outcome.rc, stdout=stdout, stderr=stderr, stdout_lines=lines(stdout), stderr_lines=lines(stderr),
                  start=str(start), end=str(end), delta=str(end - start))
    if outcome.timed_out:
        result["msg"] = f"the command did not finish within {params['timeout']} s (timeout) and was killed"
        module.fail_json(**result)
    if outcome.rc != 0:
        result["msg"] = "non-zero return code"
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
