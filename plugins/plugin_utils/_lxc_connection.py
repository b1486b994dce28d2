# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this plugin util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""What the ``pve_lxc`` connection plugin does for one task, without Ansible's plugin machinery.

A ContainerLink finds the container's node (unless given), gets a node shell — from the broker,
or its own when there is no broker — checks the container there once (on this node, running,
with a shell, the remote user's uid and gid) and then runs commands and copies files. Errors of
the core become Ansible's connection errors here and nowhere else.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import typing as t

from ansible.errors import AnsibleConnectionFailure, AnsibleError, AnsibleFileNotFound

from ansible_collections.pveops.proxmox.plugins.module_utils._api import ApiClient
from ansible_collections.pveops.proxmox.plugins.module_utils._cluster import Cluster
from ansible_collections.pveops.proxmox.plugins.module_utils._config import ConnectionConfig
from ansible_collections.pveops.proxmox.plugins.module_utils._errors import PveConnectionError, PveError
from ansible_collections.pveops.proxmox.plugins.module_utils._exec import ExecResult
from ansible_collections.pveops.proxmox.plugins.module_utils._terminal import LOGIN_REQUIRED_MESSAGE, root_login_configured
from ansible_collections.pveops.proxmox.plugins.plugin_utils._lxc_agent import Account, AgentSession, attach_argv
from ansible_collections.pveops.proxmox.plugins.plugin_utils._lxc_broker import BrokerClient, BrokerUnavailable, ensure_broker

# Write stdin to a temporary file next to the target, then rename it into place (the path is an argument).
_PUT = 't="$1.pveops-part.$$"; cat > "$t" && mv -f "$t" "$1" || { r=$?; rm -f "$t"; exit "$r"; }'


class ContainerLink:
    """Commands and files in one container, over a node shell of the broker or of our own."""

    def __init__(self, config: ConnectionConfig, vmid: int, node: str | None, user: str, broker_idle: int, per_node: int,
                 broker_dir: str, spool_dir: str, log: t.Callable[[str], None]) -> None:
        self.config = config
        self.vmid = vmid
        self.node = node
        self.user = user
        self.broker_idle = broker_idle
        self.per_node = per_node
        self.broker_dir = os.path.expanduser(broker_dir)
        self.spool_dir = spool_dir
        self.log = log
        self.broker: BrokerClient | None = None
        self.local: AgentSession | None = None
        self.client: ApiClient | None = None
        self.account: Account | None = None
        self.attach = "lxc-attach"
        self.upid = ""

    # ------------------------------------------------------------------ opening

    def open(self) -> None:
        """Find the node, get a shell and check the container; AnsibleConnectionFailure says what to do when it fails."""
        try:
            if not root_login_configured(self.config):
                raise AnsibleConnectionFailure(LOGIN_REQUIRED_MESSAGE + f" (configured: {self.config.authid})")
            if self.node is None:
                self.node = self._find_node()
            if self.broker_idle > 0:
                try:
                    self.broker = ensure_broker(self.config, self.broker_dir, self.broker_idle, self.per_node, self.spool_dir)
                    self.account, self.attach, self.upid = self.broker.account(self.node, self.vmid, self.user)
                except BrokerUnavailable as exc:
                    self.log(f"PVE_LXC broker unavailable ({exc}); using a node shell of this worker")
                    self._close_broker()
            if self.account is None:
                self._open_local()
        except PveError as exc:
            self.close()
            raise AnsibleConnectionFailure(f"container {self.vmid}: {exc.message}") from None
        uid = self.account.uid if self.account is not None else "?"
        self.log(f"ESTABLISH PVE_LXC CONNECTION FOR USER: {self.user} (uid {uid}) to container {self.vmid} on node "
                 f"{self.node} via {'the broker' if self.broker else 'an own node shell'} ({self.upid})")

    def _api(self) -> ApiClient:
        if self.client is None:
            self.client = ApiClient(self.config)
        return self.client

    def _node(self) -> str:
        if self.node is None:
            raise PveError("the container's node is not known yet")
        return self.node

    def _find_node(self) -> str:
        guest = Cluster(self._api()).find_container(self.vmid, None, None)
        return guest.node

    def _open_local(self) -> None:
        session = AgentSession(self._api(), self._node(), idle=600, spool_dir=self.spool_dir)
        self.local = session
        session.open()
        self.upid = session.upid
        self.account, self.attach = session.account(self.vmid, self.user)

    # ------------------------------------------------------------------ running

    def run(self, argv: t.Sequence[str], stdin: bytes = b"", want_sha: bool = False) -> tuple[ExecResult, str | None]:
        """Run ``argv`` in the container as the remote user."""
        node = self._node()
        command = attach_argv(self.vmid, argv, self.account, self.attach)
        try:
            if self.broker is not None:
                try:
                    result, sha, upid = self.broker.run(node, command, stdin, want_sha=want_sha)
                    self.upid = upid or self.upid
                    return result, sha
                except BrokerUnavailable as exc:
                    # Nothing was started on the node: the same request is safe in a shell of our own.
                    self.log(f"PVE_LXC broker lost before the command started ({exc}); using a node shell of this worker")
                    self._close_broker()
                    self._open_local()
            if self.local is None:
                raise PveConnectionError("no node shell is open")
            return self.local.run(command, stdin, want_sha=want_sha)
        except PveConnectionError as exc:
            raise AnsibleConnectionFailure(f"container {self.vmid}: {exc.message}") from None
        except PveError as exc:
            raise AnsibleError(f"container {self.vmid}: {exc.message}") from None

    def exec_shell(self, executable: str, cmd: str, stdin: bytes) -> tuple[int, bytes, bytes]:
        """``executable -c cmd`` with ``stdin``: exit code, stdout, stderr."""
        self.log(f"EXEC {executable} -c {cmd!r}{f' with {len(stdin)} bytes of stdin' if stdin else ''} in container {self.vmid} "
                 f"({self.upid})")
        result, _sha = self.run([executable, "-c", cmd], stdin)
        return result.rc, result.stdout, result.stderr

    def put_file(self, in_path: str, out_path: str) -> None:
        """A controller file into the container; the node checks its SHA-256 before it is written."""
        if not os.path.isfile(in_path):
            raise AnsibleFileNotFound(f"file or module does not exist: {in_path}")
        with open(in_path, "rb") as handle:
            data = handle.read()
        target = out_path if out_path.startswith("/") else "/" + out_path
        self.log(f"PUT {in_path} TO {target} ({len(data)} bytes) in container {self.vmid} ({self.upid})")
        result, _sha = self.run(["/bin/sh", "-c", _PUT, "pveops-put", target], data)
        if result.rc != 0:
            raise AnsibleError(f"container {self.vmid}: writing {target} failed (exit code {result.rc}): "
                               f"{result.stderr.decode('utf-8', 'replace').strip()[:500]}")

    def fetch_file(self, in_path: str, out_path: str) -> None:
        """A container file to the controller, compared with the SHA-256 the node computed, renamed into place."""
        source = in_path if in_path.startswith("/") else "/" + in_path
        self.log(f"FETCH {source} TO {out_path} from container {self.vmid} ({self.upid})")
        result, sha = self.run(["cat", "--", source], want_sha=True)
        if result.rc != 0:
            message = result.stderr.decode("utf-8", "replace").strip()[:500]
            if "No such file" in message:
                raise AnsibleFileNotFound(f"container {self.vmid}: {source} does not exist")
            raise AnsibleError(f"container {self.vmid}: reading {source} failed (exit code {result.rc}): {message}")
        if sha is None or hashlib.sha256(result.stdout).hexdigest() != sha:
            raise AnsibleError(f"container {self.vmid}: {source} arrived damaged (SHA-256 mismatch)")
        directory = os.path.dirname(os.path.abspath(out_path))
        handle, temporary = tempfile.mkstemp(prefix=".pveops-fetch-", dir=directory)
        try:
            with os.fdopen(handle, "wb") as target:
                target.write(result.stdout)
            os.replace(temporary, out_path)
        except BaseException:
            if os.path.exists(temporary):
                os.unlink(temporary)
            raise

    # ------------------------------------------------------------------ closing

    def _close_broker(self) -> None:
        broker, self.broker = self.broker, None
        if broker is not None:
            broker.close()

    def close(self) -> None:
        """Close this task's own node shell and API client; broker shells stay with the broker."""
        self._close_broker()
        local, self.local = self.local, None
        if local is not None:
            local.close()
        client, self.client = self.client, None
        if client is not None:
            client.close()

    def forget(self) -> None:
        """Forget the container check (``reset_connection``)."""
        self.account = None
