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
      - A script larger than 64 KiB is copied into the container (C(pct push) to C(/tmp)) and run as O(executable) with the file's path
        instead, so scripts of any size work; the file is removed afterwards.
    type: str
  executable:
    description:
      - The shell that runs O(shell), inside the container.
    type: str
    default: /bin/sh
  chdir:
    description:
      - Change into this directory (inside the container) before running the command; O(creates) and O(removes) are relative to it.
      - When it cannot be entered, the module fails without running the command and without a return code, like M(ansible.builtin.command).
    type: str
  environment:
    description:
      - Environment variables for the command.
      - >-
        The command otherwise gets C(PATH) (the node root shell's, on Proxmox VE
        C(/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin)), C(HOME=/root), C(LANG=C.UTF-8), C(TERM=dumb),
        C(container=lxc) (set by C(lxc-attach)) and the C(lxc.environment) entries of the container's configuration.
      - Each value, like each argument, can hold at most 131071 bytes (a Linux limit for every program); pass large data with O(stdin).
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
      - Sending the input and fetching the output may take up to 30 seconds more.
    type: int
    default: 3600
  spool_dir:
    description:
      - Directory on the node for the command's input and output files while it runs (a private subdirectory, removed afterwards).
      - The default is on disk; C(/tmp) is in memory on Proxmox VE 9 (Debian 13), which large outputs would fill.
    type: str
    default: /var/tmp
  output_limit:
    description:
      - Largest stdout or stderr, in bytes, the module accepts. A command that writes more is stopped (checked once a second on the node)
        and the module fails with a message that says so; nothing beyond the limit is transferred.
    type: int
    default: 268435456
  strip_empty_ends:
    description:
      - Strip trailing newlines from stdout and stderr.
    type: bool
    default: true
notes:
  - Output is decoded as UTF-8; bytes that are not valid UTF-8 are replaced.
  - The container must be running.
  - >-
    The command runs in a session of its own on the node, without a controlling terminal: a program that opens C(/dev/tty) (a password
    prompt, C(stty)) gets an error at once instead of reaching the node's terminal.
  - >-
    Each run opens one node terminal, a C(vncshell) task of V(root@pam) in the node's task list, and logs root in on it (C(/bin/login -f root));
    auth logs show these logins.
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
import secrets
import shlex
import typing as t

from ansible_collections.pveops.proxmox.plugins.module_utils._errors import ConfigError, PveError
from ansible_collections.pveops.proxmox.plugins.module_utils._exec import (
    DEFAULT_OUTPUT_LIMIT,
    TRANSFER_MARGIN,
    Precheck,
    container_command,
    run_capture,
    validate_env_name,
    validate_word,
)
from ansible_collections.pveops.proxmox.plugins.module_utils._lxc import current_status
from ansible_collections.pveops.proxmox.plugins.module_utils._module import PveModule
from ansible_collections.pveops.proxmox.plugins.module_utils._nodeshell import DEFAULT_SPOOL
from ansible_collections.pveops.proxmox.plugins.module_utils._numbers import MAX_SECONDS, bounded_number
from ansible_collections.pveops.proxmox.plugins.module_utils._tasks import Deadline
from ansible_collections.pveops.proxmox.plugins.module_utils._terminal import LOGIN_REQUIRED_MESSAGE, has_root_login
from ansible_collections.pveops.proxmox.plugins.module_utils._versions import PCT_KEEP_ENV, supports


def command_argv(params: dict[str, t.Any]) -> list[str] | None:
    """The argument list to run inside the container, from cmd or argv; None for shell."""
    if params["cmd"] is not None:
        if "\n" in params["cmd"] or "\r" in params["cmd"] or "\x00" in params["cmd"]:
            raise ConfigError(f"cmd {params['cmd']!r} contains a newline or NUL byte; use argv, or shell for several commands")
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
    if params["shell"] == "":
        raise ConfigError("shell is empty")
    return None


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
            "spool_dir": {"type": "str", "default": DEFAULT_SPOOL},
            "output_limit": {"type": "int", "default": DEFAULT_OUTPUT_LIMIT},
        },
        required_one_of=[("vmid", "name"), ("cmd", "argv", "shell")],
        mutually_exclusive=[("cmd", "argv", "shell")],
        supports_check_mode=True,
    )
    params = module.params
    result: dict[str, t.Any] = {"changed": False, "rc": None, "stdout": "", "stderr": "", "stdout_lines": [], "stderr_lines": [],
                                "cmd": None, "start": None, "end": None, "delta": None, "msg": "", "vmid": params["vmid"]}
    with module.pve_errors(**result):
        bounded_number("timeout", params["timeout"], 1, MAX_SECONDS, integer=True)
        bounded_number("output_limit", params["output_limit"], 1, MAX_OUTPUT_LIMIT, unit="bytes", integer=True)
        argv = command_argv(params)
        result["cmd"] = argv if argv is not None else [params["executable"], "-c", params["shell"]]
        environment = {validate_env_name(str(key)): str(value) for key, value in (params["environment"] or {}).items()}
        spool_dir = check_spool_dir(params["spool_dir"])
        if not has_root_login(module.client):
            raise PveError(LOGIN_REQUIRED_MESSAGE + f" (configured: {module.client.authid})")
        guest = module.cluster().find_container(params["vmid"], params["name"], params["node"])
        result.update(vmid=guest.vmid, node=guest.node)
        status = current_status(module.client, guest.node, guest.vmid).get("status")
        if status != "running":
            raise PveError(f"{guest.describe()} is {status}; commands run only in a running container (start it with pveops.proxmox.pve_lxc_action)")

        check = Precheck(guest.vmid, params["chdir"], params["creates"], params["removes"])
        if module.check_mode and not check:
            result.update(rc=0, msg="Command would have run if not in check mode", skipped=True)
            module.exit_json(**result)

        stdin = params["stdin"] or ""
        if params["stdin"] is not None and params["stdin_add_newline"]:
            stdin += "\n"
        nonce = secrets.token_hex(8)
        command = container_command(guest.vmid, nonce, argv, params["shell"] if argv is None else None, params["executable"],
                                    params["chdir"], environment, keep_env=supports(module.client, PCT_KEEP_ENV))
        start = datetime.datetime.now()
        outcome = run_capture(module.client, guest.node, command.argv, b"" if module.check_mode else stdin.encode("utf-8", "surrogateescape"),
                              timeout=params["timeout"], deadline=Deadline(params["timeout"] + TRANSFER_MARGIN),
                              check=check if check else None, dry_run=module.check_mode, push=command.push, push_data=command.push_data,
                              spool_dir=spool_dir, output_limit=params["output_limit"])
        end = datetime.datetime.now()

    if outcome.chdir_error is not None:
        # As ansible.builtin.command reports it: failed, not changed, no return code.
        result["msg"] = f"Unable to change directory before execution: {outcome.chdir_error}: {params['chdir']!r}"
        module.fail_json(**result)
    verb = "Would" if module.check_mode else "Did"
    if outcome.skipped_by is not None:
        reason = "exists" if outcome.skipped_by == "creates" else "does not exist"
        path = params[outcome.skipped_by]
        result.update(rc=0, msg=f"{verb} not run command since '{path}' {reason}", stdout=f"skipped, since {path} {reason}")
        result["stdout_lines"] = lines(result["stdout"])
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


MAX_OUTPUT_LIMIT = 16 * 1024 * 1024 * 1024  # what a module result can carry is far less; this only keeps the number sane


def check_spool_dir(path: str) -> str:
    """An absolute directory on the node (quoted there, so any other character is fine)."""
    if not path.startswith("/") or any(char in path for char in "\n\r\x00"):
        raise ConfigError(f"spool_dir {path!r} must be an absolute path on the node without newlines")
    return path.rstrip("/") or "/"


if __name__ == "__main__":
    main()
