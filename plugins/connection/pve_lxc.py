# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: pve_lxc
short_description: Run tasks inside Proxmox VE containers through the API, without SSH
version_added: 0.2.0
description:
  - Runs every module inside an LXC container through the Proxmox VE API alone, like an SSH connection would, but with no SSH server or key
    in the container and no SSH to the node.
  - Commands go through the container's node terminal (C(termproxy) and its websocket), where a small request loop attaches to the container
    with C(lxc-attach) as the remote user, with the exit code, stdout and stderr of every command kept apart and exact. Files travel the same
    way, gzip-compressed when that helps, SHA-256-checked, written to a temporary file and renamed into place.
  - Node shells are shared between tasks and forks by a broker process on the controller (like SSH's ControlPersist), so most tasks need no
    new terminal. Set O(broker_idle_timeout=0) to have every task open its own.
  - >-
    Needs a V(root@pam) password login (O(api_user=root@pam) and O(api_password)); Proxmox VE gives a root shell on the node terminal only
    to it. With an API token as well, the token serves the API calls and the password only the terminal.
author:
  - pveops contributors (@pveops)
requirements:
  - websocket-client >= 1.6
extends_documentation_fragment:
  - pveops.proxmox._api.PLUGINS
options:
  vmid:
    description:
      - Id of the container. The inventory plugin C(pveops.proxmox.pve) sets it (as V(pve_vmid)) on every container host.
    type: int
    required: true
    vars:
      - name: pve_vmid
  node:
    description:
      - Node of the container. Looked up through the API when not set (one request per task); the inventory sets it.
    type: str
    vars:
      - name: pve_node
  remote_user:
    description:
      - The user commands run as inside the container; its uid and gid are looked up once per node shell (C(getent passwd)).
    type: str
    default: root
    vars:
      - name: ansible_user
    env:
      - name: ANSIBLE_REMOTE_USER
    ini:
      - section: defaults
        key: remote_user
    cli:
      - name: user
    keyword:
      - name: remote_user
  pipelining:
    description:
      - Send a module with its command (one request per task) instead of copying it into the container first.
    type: bool
    default: true
    vars:
      - name: ansible_pipelining
      - name: ansible_pve_lxc_pipelining
    env:
      - name: ANSIBLE_PVE_LXC_PIPELINING
  broker_idle_timeout:
    description:
      - Seconds the broker keeps its node shells after the last request; V(0) runs without a broker (one terminal per task).
    type: int
    default: 60
    vars:
      - name: pve_broker_idle_timeout
    env:
      - name: PVE_BROKER_IDLE_TIMEOUT
  broker_shells_per_node:
    description:
      - Most node shells the broker keeps open per node (Proxmox VE has 100 terminal ports per node).
    type: int
    default: 4
    vars:
      - name: pve_broker_shells_per_node
    env:
      - name: PVE_BROKER_SHELLS_PER_NODE
  broker_dir:
    description:
      - Private directory (mode 0700) of the broker's socket and process id file; by default C(pveops) in Ansible's home directory
        (E(ANSIBLE_HOME), usually C(~/.ansible)).
    type: path
    vars:
      - name: pve_broker_dir
    env:
      - name: PVE_BROKER_DIR
  spool_dir:
    description:
      - Directory on the node for the input and output files of commands while they run.
    type: str
    default: /var/tmp
    vars:
      - name: pve_spool_dir
notes:
  - Secrets are never written to disk, to host variables or to the inventory cache; give the password with E(PVE_PASSWORD) or a
    vaulted V(pve_api_password).
  - C(become) works with C(sudo) (the password, when one is needed, is given on standard input with C(sudo -S)), C(runuser) and C(su) without
    a password (as root). Methods that read a password from a terminal fail with a message saying so.
  - Async tasks keep running after their task's connection is closed.
seealso:
  - plugin: pveops.proxmox.pve
    plugin_type: inventory
  - module: pveops.proxmox.pve_lxc_exec
"""

EXAMPLES = r"""
# inventory, pve.yml: every container reachable without SSH
# plugin: pveops.proxmox.pve
# connection_type: pve_lxc

- name: Configure containers through the Proxmox VE API
  hosts: pve_running
  tasks:
    - name: Install nginx
      ansible.builtin.apt:
        name: nginx
        state: present

- name: One host by hand
  hosts: web
  vars:
    ansible_connection: pveops.proxmox.pve_lxc
    pve_vmid: 101
    pve_api_url: https://pve.example.com:8006
    pve_ca_path: /etc/ansible/pve-root-ca.pem
  tasks:
    - name: Who am I
      ansible.builtin.command: id
      changed_when: false
"""

import os
import typing as t

from ansible import constants as C
from ansible.errors import AnsibleError
from ansible.plugins.connection import ConnectionBase
from ansible.utils.display import Display

from ansible_collections.pveops.proxmox.plugins.plugin_utils._client import config_from, plugin_connection_options
from ansible_collections.pveops.proxmox.plugins.plugin_utils._lxc_connection import ContainerLink

display = Display()


class Connection(ConnectionBase):
    """Commands and files in a Proxmox VE container through its node terminal."""

    transport = "pveops.proxmox.pve_lxc"
    has_pipelining = True
    has_tty = False

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self._link: ContainerLink | None = None
        self._connected: bool = False

    def _connect(self) -> Connection:
        if self._connected:
            return self
        config = config_from(plugin_connection_options(self), where="pve_lxc: ")
        self._link = ContainerLink(
            config, int(self.get_option("vmid")), self.get_option("node"), self.get_option("remote_user") or "root",
            broker_idle=int(self.get_option("broker_idle_timeout")), per_node=int(self.get_option("broker_shells_per_node")),
            broker_dir=str(self.get_option("broker_dir") or os.path.join(C.ANSIBLE_HOME, "pveops")), spool_dir=str(self.get_option("spool_dir")), log=self._log)
        self._link.open()
        self._connected = True
        return self

    def _log(self, message: str) -> None:
        display.vvv(message, host=self._play_context.remote_addr)

    def _require_link(self) -> ContainerLink:
        if self._link is None:
            self._connect()
        if self._link is None:  # _connect sets it or raises
            raise AnsibleError("pve_lxc: the connection could not be set up")
        return self._link

    def exec_command(self, cmd: str, in_data: bytes | None = None, sudoable: bool = True) -> tuple[int, bytes, bytes]:
        """Run ``cmd`` with the shell in the container; ``in_data`` is its stdin (the module, when pipelining)."""
        super().exec_command(cmd, in_data=in_data, sudoable=sudoable)
        link = self._require_link()
        stdin = in_data or b""
        if sudoable and self.become and self.become.expect_prompt():
            stdin = self._become_password() + stdin
        executable = getattr(self._play_context, "executable", None) or "/bin/sh"
        return link.exec_shell(executable, cmd, stdin)

    def _become_password(self) -> bytes:
        become = self.become
        if become is None:
            return b""
        method = str(getattr(become, "name", "")).rsplit(".", 1)[-1]
        if method != "sudo":
            raise AnsibleError(
                f"become_method {method} asks for its password on a terminal, and pveops.proxmox.pve_lxc runs commands without one "
                "(so that nothing in the container can reach the node's terminal); use become_method sudo, which reads the password "
                "from standard input, or a become setup that needs no password")
        password = become.get_option("become_pass", playcontext=self._play_context) or ""
        return str(password).encode("utf-8", "surrogateescape") + b"\n"

    def put_file(self, in_path: str, out_path: str) -> None:
        """Copy a controller file into the container (as the remote user, renamed into place)."""
        super().put_file(in_path, out_path)
        self._require_link().put_file(in_path, out_path)

    def fetch_file(self, in_path: str, out_path: str) -> None:
        """Copy a container file to the controller (checked with SHA-256, renamed into place)."""
        super().fetch_file(in_path, out_path)
        self._require_link().fetch_file(in_path, out_path)

    def close(self) -> None:
        """Give back or close the node shell of this task."""
        link, self._link = self._link, None
        if link is not None:
            link.close()
        self._connected = False

    def reset(self) -> None:
        """``meta: reset_connection``: close what this connection opened; the next task checks the container again."""
        link = self._link
        self.close()
        if link is not None:
            link.forget()
