# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this plugin util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""One node shell serving many commands in that node's containers (the connection plugin's engine).

A node terminal is opened the way ``_nodeshell.py`` opens one, but the script it runs is a
request loop: it waits for a fixed-size request record, receives the request's command line and
its stdin (base64, acknowledged chunks), runs the command in its own session, and reports the
result framed like a capture (markers carry the session's nonce and the request's number), then
waits for the next record. Commands reach containers with ``lxc-attach`` (one C program; ``pct
exec`` adds Perl's start-up to every command), as the remote user's uid and gid, with a cleared
environment set explicitly; ``pct exec`` is the fallback where ``lxc-attach`` is missing.

Nothing the user supplied is parsed by a shell on the node: command lines are single-quoted by
the client, data is base64, and a container's files are read and written by programs that take
the path as an argument.
"""

from __future__ import annotations

import base64
import dataclasses
import gzip
import hashlib
import re
import threading
import time
import typing as t

from ansible_collections.pveops.proxmox.plugins.module_utils._api import ApiClient
from ansible_collections.pveops.proxmox.plugins.module_utils._errors import PveConnectionError, PveError, PveTimeout
from ansible_collections.pveops.proxmox.plugins.module_utils._exec import ExecResult, parse_capture, result_header
from ansible_collections.pveops.proxmox.plugins.module_utils._nodescript import KILL_GRACE, report_result, sh_join, sh_quote
from ansible_collections.pveops.proxmox.plugins.module_utils._nodeshell import DEFAULT_SPOOL, NodeShell
from ansible_collections.pveops.proxmox.plugins.module_utils._tasks import Deadline

RECORD = 256
"""Size of a request record (read with ``head -c``: no shell reads a tty line by line reliably in raw mode)."""
SESSION_SECONDS = 24 * 3600.0
"""A node shell's own bound; requests have their own deadlines."""
COMPRESS_MIN = 4096
CONTAINER_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_USER = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?$")
_NUMERIC = re.compile(r"^[0-9]+$")

# Exit statuses of the session check (far from what the programs themselves return).
CHECK_NOT_HERE = 81
CHECK_NOT_RUNNING = 82
CHECK_NO_SH = 83
CHECK_NO_USER = 84


def agent_script(nonce: str, idle: int) -> bytes:
    """The request loop, sourced by the loader (``rx``, ``fail``, ``fin``, ``$d`` and ``$n`` exist).

    Record: ``PVEOPS-REQ <id> <spec-len> <stdin-len> <z|p> <sha256|-> <timeout> <want-sha 0|1>``,
    padded to RECORD bytes. ``Q`` instead of ``PVEOPS-REQ`` ends the loop. Without a record for
    ``idle`` seconds the shell leaves by itself.
    """
    n = nonce.encode()
    return b"\n".join([
        b"printf '\\nPVEOPS-STARTED-%s\\n'" % n,
        b"while :; do",
        b"  printf '\\nPVEOPS-IDLE-%s\\n'" % n,
        b"  h=$(timeout --foreground %d head -c %d) || break" % (idle, RECORD),
        b"  set -- $h",
        b'  [ "$1" = PVEOPS-REQ ] || break',
        b'  q="$n-$2"; rm -rf "$d/r"; mkdir "$d/r" || fail request',
        b'  rx "$d/r/s" "$3" && rx "$d/r/j" "$4" || fail request',
        b'  if [ "$5" = z ]; then gzip -dc < "$d/r/j" > "$d/r/i" || fail input; else mv "$d/r/j" "$d/r/i"; fi',
        b'  if [ "$6" != - ] && [ "$(sha256sum < "$d/r/i" | cut -d " " -f 1)" != "$6" ]; then',
        b"    printf '\\nPVEOPS-BADSUM-%s\\nPVEOPS-END-%s\\n' \"$q\" \"$q\"; continue",
        b"  fi",
        b'  l=; [ "$7" -gt 0 ] && l="timeout -k %d $7"' % KILL_GRACE,
        b"  printf '\\nPVEOPS-STARTED-%s\\n' \"$q\"",
        b'  ( umask 022; exec setsid $l /bin/sh "$d/r/s" 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- ) < "$d/r/i" > "$d/r/o" 2> "$d/r/e" & c=$!',
        b'  wait $c; r=$?; c=',
        b'  s=-; [ "$8" = 1 ] && s=$(sha256sum < "$d/r/o" | cut -d " " -f 1)',
    ] + [b"  " + line for line in report_result(b'"$q"', b'"$d/r/o"', b'"$d/r/e"', b"$s")] + [
        b"  printf '\\nPVEOPS-END-%s\\n' \"$q\"",
        b'  rm -rf "$d/r"',
        b"done",
        b'rm -rf "$d"',
        b"exit 0",
        b"",
    ])


@dataclasses.dataclass(frozen=True)
class Account:
    """A user inside a container, as ``getent passwd`` reports it."""

    name: str
    uid: int
    gid: int
    home: str
    shell: str


def parse_passwd(line: str, user: str) -> Account:
    """One ``getent passwd`` line; raises PveError when it is not the user's."""
    fields = line.strip().split(":")
    if len(fields) < 7 or fields[0] != user or not (_NUMERIC.match(fields[2]) and _NUMERIC.match(fields[3])):
        raise PveError(f"unexpected passwd entry for {user!r}: {line.strip()[:200]!r}")
    return Account(user, int(fields[2]), int(fields[3]), fields[5] or "/", fields[6] or "/bin/sh")


def _compresses(data: bytes) -> bool:
    """Whether gzip is worth it: a 64 KiB sample shrinks by a quarter (random data would only cost time)."""
    sample = data[:65536]
    return len(gzip.compress(sample, 1)) < len(sample) * 3 // 4


def check_user_name(user: str) -> str:
    """A user name as useradd accepts it (no shell metacharacters, no leading dash)."""
    if not _USER.match(user):
        raise PveError(f"remote_user {user!r} is not a valid user name")
    return user


def attach_argv(vmid: int, argv: t.Sequence[str], account: Account | None, attach: str = "lxc-attach") -> list[str]:
    """The node-side command line that runs ``argv`` in container ``vmid`` as ``account`` (root when None).

    ``lxc-attach --clear-env`` with the environment set explicitly (what sshd gives a session:
    PATH, HOME, USER, LOGNAME, SHELL; plus LANG and TERM), as the account's uid and gid. The
    fallback ``pct exec`` runs as root only.
    """
    if attach == "pct":
        if account is not None and account.uid != 0:
            raise PveError(f"lxc-attach is not available on the node, and pct exec runs commands as root only (remote_user {account.name})")
        return ["pct", "exec", str(int(vmid)), "--", "env", "-i", f"PATH={CONTAINER_PATH}", "HOME=/root", "USER=root", "LOGNAME=root",
                "SHELL=/bin/sh", "LANG=C.UTF-8", "TERM=dumb"] + list(argv)
    who = account or Account("root", 0, 0, "/root", "/bin/sh")
    env = {"PATH": CONTAINER_PATH, "HOME": who.home, "USER": who.name, "LOGNAME": who.name, "SHELL": who.shell,
           "LANG": "C.UTF-8", "TERM": "dumb"}
    command = ["lxc-attach", "-n", str(int(vmid)), "--clear-env"]
    for key, value in env.items():
        command += ["-v", f"{key}={value}"]
    if who.uid != 0:
        command += ["-u", str(who.uid), "-g", str(who.gid)]
    return command + ["--"] + list(argv)


def check_spec(vmid: int, user: str) -> bytes:
    """The once-per-session check of a container: on this node, running, with /bin/sh, and the user's passwd entry."""
    v = str(int(vmid)).encode()
    return b"\n".join([
        b"s=$(pct status %s 2>&1) || { printf '%%s\\n' \"$s\"; exit %d; }" % (v, CHECK_NOT_HERE),
        b'case $s in *running*) ;; *) printf \'%%s\\n\' "$s"; exit %d;; esac' % CHECK_NOT_RUNNING,
        b"a=lxc-attach; command -v lxc-attach >/dev/null 2>&1 || a=pct; echo \"attach=$a\"",
        b'if [ "$a" = pct ]; then pct exec %s -- /bin/sh -c "exit 0" || exit %d; '
        b"pct exec %s -- getent passwd %s || exit %d; exit 0; fi" % (v, CHECK_NO_SH, v, sh_quote(user), CHECK_NO_USER),
        b'lxc-attach -n %s --clear-env -- /bin/sh -c "exit 0" || exit %d' % (v, CHECK_NO_SH),
        b"lxc-attach -n %s --clear-env -- getent passwd %s || exit %d" % (v, sh_quote(user), CHECK_NO_USER),
        b"",
    ])


class AgentSession:
    """A node shell running the request loop; thread-safe (one request at a time)."""

    def __init__(self, client: ApiClient, node: str, idle: int = 600, spool_dir: str = DEFAULT_SPOOL) -> None:
        self.node = node
        self.idle = idle
        self.shell = NodeShell(client, node, Deadline(SESSION_SECONDS), spool_dir)
        self.lock = threading.Lock()
        self.requests = 0
        self.last_used = time.monotonic()
        self.accounts: dict[tuple[int, str], tuple[Account, str]] = {}
        self.broken = False

    @property
    def upid(self) -> str:
        """The node's ``vncshell`` task of this session (for logs)."""
        session = self.shell.session
        return session.upid if session is not None else ""

    def open(self) -> None:
        """Open the terminal and start the request loop."""
        try:
            self.shell.open()
            self.shell.run(agent_script(self.shell.nonce, self.idle))
            self.shell.wait_for(b"PVEOPS-IDLE-" + self.shell.nonce.encode(), "the request loop")
        except BaseException:
            self.broken = True
            self.shell.close()
            raise

    def close(self) -> None:
        """End the loop (a ``Q`` record) and close the terminal."""
        try:
            if not self.broken and self.shell.session is not None:
                self.shell.send(b"Q".ljust(RECORD, b" "))
        except PveError:
            pass
        self.shell.close()

    def usable(self) -> bool:
        """An idle session that can take a request: not broken, its terminal open and silent."""
        session = self.shell.session
        return not self.broken and session is not None and session.quiet()

    def abort(self) -> None:
        """Close the terminal now, from another thread: the node shell gets its hang-up and stops the command."""
        self.broken = True
        session, self.shell.session = self.shell.session, None
        if session is not None:
            session.close()

    def run(self, command: t.Sequence[str], stdin: bytes = b"", timeout: float = 0, deadline: Deadline | None = None,
            want_sha: bool = False) -> tuple[ExecResult, str | None]:
        """Run a node-side command line; returns its result and, with ``want_sha``, the SHA-256 the node computed of stdout."""
        with self.lock:
            if self.broken:
                raise PveConnectionError(f"the terminal of node {self.node} is no longer usable")
            try:
                return self._run(command, stdin, timeout, deadline or Deadline(max(timeout, 0) + 3600), want_sha)
            except BaseException:
                self.broken = True  # what the node shell reads next is unknown: never reuse it
                raise
            finally:
                self.last_used = time.monotonic()

    def _run(self, command: t.Sequence[str], stdin: bytes, timeout: float, deadline: Deadline, want_sha: bool) -> tuple[ExecResult, str | None]:
        shell = self.shell
        self.requests += 1
        request = f"{shell.nonce}-{self.requests}"
        spec = base64.b64encode(sh_join(command) + b"\n")
        zipped = len(stdin) >= COMPRESS_MIN and _compresses(stdin)
        packed = gzip.compress(stdin, 1) if zipped else stdin
        data = base64.b64encode(packed)
        digest = hashlib.sha256(stdin).hexdigest() if stdin else "-"
        fields = (self.requests, len(spec), len(data), b"z" if zipped else b"p", digest.encode(), int(timeout), 1 if want_sha else 0)
        header = b"PVEOPS-REQ %d %d %d %s %s %d %d" % fields
        # The previous request's output is done with: keep only what came after the loop said it is ready.
        idle_marker = b"PVEOPS-IDLE-" + shell.nonce.encode()
        shell.wait_for(idle_marker, "the request loop", seconds=30)
        shell.drop_through(idle_marker)
        shell.send(header.ljust(RECORD, b" "))
        shell.upload(spec)
        shell.upload(data)
        shell.wait_for(b"PVEOPS-STARTED-" + request.encode(), "the command's start")
        while True:
            if shell.buffer.find(b"PVEOPS-BADSUM-" + request.encode()) >= 0:
                raise PveError(f"the input for the command on node {self.node} arrived damaged (SHA-256 mismatch)")
            result = parse_capture(shell.buffer, request, None)
            if result is not None:
                break
            try:
                alive = shell.receive(deadline, "result of the command")
            except PveTimeout:
                raise PveTimeout(f"no result from the command on node {self.node} within {deadline.seconds:g} s; exit status unknown") from None
            if not alive:
                raise PveConnectionError(f"the terminal connection to node {self.node} was lost after {shell.age():.1f} s; exit status unknown")
        answer = result_header(shell.buffer, request)
        sha = answer.extra if want_sha and answer is not None and answer.extra != "-" else None
        return result, sha

    def account(self, vmid: int, user: str) -> tuple[Account, str]:
        """Check the container once per session; returns the user's account and the attach program (lxc-attach or pct)."""
        key = (int(vmid), user)
        if key in self.accounts:
            return self.accounts[key]
        check_user_name(user)
        result, _sha = self.run(["/bin/sh", "-c", check_spec(vmid, user).decode()], timeout=60)
        output = result.stdout.decode("utf-8", "replace")
        text = (output + result.stderr.decode("utf-8", "replace")).strip()[-500:]
        if result.rc == CHECK_NOT_HERE:
            raise PveError(f"container {vmid} is not on node {self.node} ({text}); set pve_node to the container's node, or leave it out")
        if result.rc == CHECK_NOT_RUNNING:
            raise PveError(f"container {vmid} on node {self.node} is not running ({text}); start it first (pveops.proxmox.pve_lxc_action)")
        if result.rc == CHECK_NO_SH:
            raise PveError(f"container {vmid} has no /bin/sh ({text}); Ansible modules need a shell and Python in the container "
                           "(an OCI application container cannot run them)")
        if result.rc == CHECK_NO_USER:
            raise PveError(f"user {user!r} does not exist in container {vmid}")
        if result.rc != 0:
            raise PveError(f"checking container {vmid} on node {self.node} failed with exit code {result.rc}: {text}")
        lines = output.splitlines()
        attach = "pct" if "attach=pct" in lines else "lxc-attach"
        entry = next((line for line in lines if line.startswith(user + ":")), "")
        self.accounts[key] = (parse_passwd(entry, user), attach)
        return self.accounts[key]
