# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A `pct` look-alike for the simulated node shell: exec, push, pull, status, list, config, enter (pve-protocol.md 5).

Installed by pvesim.tools.install() into the node's bin dir with the simulator's interpreter as
shebang and `_CONFIG_JSON` filled in (node name, container state dir, runtime socket, lxc-attach,
start-up cost). It reads the per-container state files the simulator writes atomically
(`<containers>/<vmid>.json`). Like the real one (pve-container src/PVE/CLI/pct.pm), `exec` and
`enter` check the container and then exec `lxc-attach` (238-253, 200-211), and `push`/`pull` enter
the mount namespace of the container's init to open the file there (657-690, 760-800).
"""
from __future__ import annotations

import grp
import json
import os
import pwd
import shutil
import sys
import time
from typing import Any, Callable

from pvesim.tools.ctns import CLONE_NEWNS, InitUnavailable, container_init, setns  # inlined by pvesim.tools.install()

_CONFIG_JSON = "{}"  # replaced by pvesim.tools.install()

USAGE = {
    "exec": "pct exec <vmid> [<extra-args>] [OPTIONS]",
    "push": "pct push <vmid> <file> <destination> [OPTIONS]",
    "pull": "pct pull <vmid> <path> <destination> [OPTIONS]",
    "status": "pct status <vmid> [OPTIONS]",
    "list": "pct list",
    "config": "pct config <vmid> [OPTIONS]",
    "enter": "pct enter <vmid> [OPTIONS]",
}


class PctError(Exception):
    """A Perl `die`: the message goes to stderr, the exit status is 255 (2 for a missing config, like $! = ENOENT)."""

    def __init__(self, message: str, status: int = 255) -> None:
        super().__init__(message)
        self.status = status


def _usage_error(command: str, text: str) -> PctError:
    return PctError(f"{text}\n{USAGE.get(command, 'pct <COMMAND> [ARGS] [OPTIONS]')}")


class Pct:
    """One invocation; `config` is the install-time configuration of this node's copy."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.node = str(config.get("node", "localhost"))

    # --- container state --------------------------------------------------------------------------

    def load(self, raw_vmid: str, command: str) -> dict[str, Any]:
        """The state of a container on *this* node, else the `Configuration file ... does not exist` die (exit 2)."""
        if not raw_vmid.isdigit() or not 100 <= int(raw_vmid) <= 999999999:
            raise _usage_error(command, f"400 Parameter verification failed.\nvmid: type check ('integer') failed - got '{raw_vmid}'")
        vmid = int(raw_vmid)
        path = os.path.join(str(self.config.get("containers", "")), f"{vmid}.json")
        try:
            with open(path, encoding="utf-8") as handle:
                state: dict[str, Any] = json.load(handle)
        except (OSError, ValueError):
            state = {}
        if state.get("node") != self.node:
            raise PctError(f"Configuration file 'nodes/{self.node}/lxc/{vmid}.conf' does not exist", 2)
        # Filesystems of big generated scenarios are created on first use.
        apply_layout(str(state["rootfs"]), list(state.get("layout", [])))
        return state

    @staticmethod
    def require_running(state: dict[str, Any], message: str = "container '{vmid}' not running!") -> None:
        """`container '<vmid>' not running!` (exit 255, 5); push and pull say it their way."""
        if state.get("status") != "running":
            raise PctError(message.format(vmid=state.get("vmid")))

    # --- commands ------------------------------------------------------------------------------------

    def run(self, argv: list[str]) -> int:
        """Dispatch a subcommand; returns the exit status (exec and enter do not return)."""
        if not argv:
            raise PctError("ERROR: no command specified\nUSAGE: pct <COMMAND> [ARGS] [OPTIONS]")
        command, rest = argv[0], argv[1:]
        handlers = {
            "exec": self.cmd_exec, "push": self.cmd_push, "pull": self.cmd_pull, "status": self.cmd_status,
            "list": self.cmd_list, "config": self.cmd_config, "enter": self.cmd_enter,
        }
        if command not in handlers:
            raise PctError(f"unknown command 'pct {command}'\nUSAGE: pct <COMMAND> [ARGS] [OPTIONS]")
        return handlers[command](rest)

    @staticmethod
    def _options(command: str, args: list[str], known: tuple[str, ...]) -> tuple[list[str], dict[str, str], list[str]]:
        """Getopt::Long as PVE's CLIHandler uses it: options anywhere before `--`, everything after it is positional."""
        positional: list[str] = []
        options: dict[str, str] = {}
        index = 0
        while index < len(args):
            arg = args[index]
            index += 1
            if arg == "--":
                return positional, options, args[index:]
            if arg.startswith("-") and len(arg) > 1:
                name, eq, value = arg.lstrip("-").partition("=")
                if name not in known:
                    raise _usage_error(command, f"Unknown option: {name}\n400 unable to parse option")
                if not eq:
                    if index >= len(args):
                        raise _usage_error(command, f"Option {name} requires an argument\n400 unable to parse option")
                    value = args[index]
                    index += 1
                options[name] = value
            else:
                positional.append(arg)
        return positional, options, []

    def _env_options(self) -> tuple[str, ...]:
        """`--keep-env` exists from pve-container 5.0.9 on (069553d); older pct knows no option here."""
        return ("keep-env",) if self.config.get("keep_env_option", True) else ()

    @staticmethod
    def _keep_env(command: str, options: dict[str, str]) -> bool:
        """`--keep-env`, default 1 ("FIXME: switch to default 0 with pve 9", pct.pm 232, 240)."""
        value = options.get("keep-env", "1")
        if value not in ("0", "1"):
            raise _usage_error(command, f"400 Parameter verification failed.\nkeep-env: type check ('boolean') failed - got '{value}'")
        return value == "1"

    def cmd_exec(self, args: list[str]) -> int:
        """`pct exec <vmid> [--keep-env 0|1] -- <argv...>`: checks, then exec lxc-attach (pct.pm 238-253)."""
        positional, options, extra = self._options("exec", args, self._env_options())
        if not positional:
            raise _usage_error("exec", "400 not enough arguments")
        keep_env = self._keep_env("exec", options)
        state = self.load(positional[0], "exec")
        self.require_running(state)
        command = positional[1:] + extra
        if not command:
            raise PctError("missing command")
        return self.exec_lxc_attach(state, keep_env, ["--"] + command)

    def cmd_enter(self, args: list[str]) -> int:
        """`pct enter <vmid> [--keep-env 0|1]`: lxc-attach without a command, i.e. root's shell (pct.pm 196-211)."""
        positional, options, _extra = self._options("enter", args, self._env_options())
        if not positional:
            raise _usage_error("enter", "400 not enough arguments")
        keep_env = self._keep_env("enter", options)
        state = self.load(positional[0], "enter")
        self.require_running(state)
        return self.exec_lxc_attach(state, keep_env, [])

    def exec_lxc_attach(self, state: dict[str, Any], keep_env: bool, tail: list[str]) -> int:
        """clean_environment (SSL_CERT_FILE/DIR, pct.pm 162-169), then replace this process by lxc-attach."""
        bwrap = self.config.get("bwrap")
        if not bwrap or not os.access(str(bwrap), os.X_OK):
            raise PctError("pvesim: bubblewrap is required for pct exec; apt-get install bubblewrap")
        for name in ("SSL_CERT_FILE", "SSL_CERT_DIR"):
            os.environ.pop(name, None)
        # The real pct runs `lxc-attach` from PATH; this one the copy installed next to it.
        lxc_attach = str(self.config.get("lxc_attach", "lxc-attach"))
        argv = [lxc_attach, "-n", str(state["vmid"]), "--keep-env" if keep_env else "--clear-env"] + tail
        sys.stdout.flush()
        sys.stderr.flush()
        os.execv(lxc_attach, argv)
        return 255  # not reached

    def in_container(self, state: dict[str, Any], work: Callable[[], None]) -> int:
        """Run `work` in a child that entered the container's mount namespace (pct.pm 670-690: fork_worker + setns)."""
        try:
            _pid, pidfd = container_init(str(self.config.get("runtime", "")), int(state["vmid"]), self.node)
        except InitUnavailable as exc:
            raise PctError(f"can't open container's mount namespace: {exc}") from None
        sys.stdout.flush()
        sys.stderr.flush()
        child = os.fork()
        if child == 0:
            status = 0
            try:
                setns(pidfd, CLONE_NEWNS)
                os.chdir("/")
                work()
            except PctError as exc:
                sys.stderr.write(f"{exc}\n")
                status = exc.status
            except OSError as exc:
                sys.stderr.write(f"{exc}\n")
                status = 255
            sys.stderr.flush()
            os._exit(status)
        os.close(pidfd)
        _pid_done, raw = os.waitpid(child, 0)
        return os.WEXITSTATUS(raw) if os.WIFEXITED(raw) else 255

    def cmd_push(self, args: list[str]) -> int:
        """`pct push <vmid> <file> <destination> [--perms N] [--user U] [--group G]`: node file -> container."""
        positional, options, extra = self._options("push", args, ("perms", "user", "group"))
        positional += extra
        if len(positional) != 3:
            raise _usage_error("push", "400 wrong number of arguments")
        state = self.load(positional[0], "push")
        self.require_running(state, "can only push files to a running CT")
        source, dest = positional[1], positional[2]
        try:
            source_fd = os.open(source, os.O_RDONLY)  # opened before entering the container (pct.pm 771-772)
        except OSError:
            raise PctError(f"failed to open {source} for reading") from None

        def write() -> None:
            # Inside, names resolve in the container's /etc/passwd and symlinks cannot leave it.
            with create_file(dest, options.get("perms"), options.get("user"), options.get("group")) as target:
                with os.fdopen(source_fd, "rb") as src:
                    shutil.copyfileobj(src, target)

        return self.in_container(state, write)

    def cmd_pull(self, args: list[str]) -> int:
        """`pct pull <vmid> <path> <destination> [--perms N] [--user U] [--group G]`: container file -> node."""
        positional, options, extra = self._options("pull", args, ("perms", "user", "group"))
        positional += extra
        if len(positional) != 3:
            raise _usage_error("pull", "400 wrong number of arguments")
        state = self.load(positional[0], "pull")
        self.require_running(state, "can only pull files from a running VM")  # sic, pct.pm 654
        path, dest = positional[1], positional[2]
        target = create_file(dest, options.get("perms"), options.get("user"), options.get("group"))  # on the node (pct.pm 661)

        def read() -> None:
            try:
                src = open(path, "rb")  # pylint: disable=consider-using-with
            except OSError as exc:
                raise PctError(f"failed to open {path}: {exc.strerror}") from None
            with src, target:
                shutil.copyfileobj(src, target)

        try:
            return self.in_container(state, read)
        finally:
            target.close()

    def cmd_status(self, args: list[str]) -> int:
        """`status: running|stopped`."""
        positional, _options, _extra = self._options("status", args, ("verbose",))
        if not positional:
            raise _usage_error("status", "400 not enough arguments")
        state = self.load(positional[0], "status")
        print(f"status: {state.get('status', 'stopped')}")
        return 0

    def cmd_list(self, args: list[str]) -> int:
        """The containers of this node, like `pct list`."""
        rows = []
        directory = str(self.config.get("containers", ""))
        for name in sorted(os.listdir(directory)) if os.path.isdir(directory) else []:
            if not name.endswith(".json"):
                continue
            try:
                with open(os.path.join(directory, name), encoding="utf-8") as handle:
                    state = json.load(handle)
            except (OSError, ValueError):
                continue
            if state.get("node") == self.node:
                rows.append(state)
        print(f"{'VMID':<10} {'Status':<10} {'Lock':<12} {'Name':<20}")
        for state in sorted(rows, key=lambda s: int(s.get("vmid", 0))):
            lock = str(state.get("config", {}).get("lock") or "")
            print(f"{state.get('vmid')!s:<10} {state.get('status')!s:<10} {lock:<12} {state.get('hostname')!s:<20}")
        return 0

    def cmd_config(self, args: list[str]) -> int:
        """The container's config as `key: value` lines."""
        positional, _options, _extra = self._options("config", args, ("current", "snapshot"))
        if not positional:
            raise _usage_error("config", "400 not enough arguments")
        state = self.load(positional[0], "config")
        for key, value in sorted(dict(state.get("config", {})).items()):
            print(f"{key}: {value}")
        return 0


def create_file(path: str, perms: str | None, user: str | None, group: str | None) -> Any:
    """pct.pm create_file (514-566): O_EXCL first (mode from umask), else truncate; explicit perms and owner.

    Permissions are octal unless `0x` (a missing leading 0 is added, pct.pm 651); user and group are
    names or numbers, looked up where the call runs (inside the container for push).
    """
    uid = gid = -1
    if user is not None:
        uid = int(user) if user.isdigit() else _lookup(pwd.getpwnam, user, f"failed to get uid for: {user}")
    if group is not None:
        gid = int(group) if group.isdigit() else _lookup(grp.getgrnam, group, f"failed to get gid for: {group}")
    mode = None
    if perms is not None:
        text = perms if perms.startswith("0") else "0" + perms
        try:
            mode = int(text, 16) if text.lower().startswith("0x") else int(text, 8)
        except ValueError:
            raise PctError(f"invalid mode: '{perms}'") from None
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except FileExistsError:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        except OSError as exc:
            raise PctError(f"failed to create file: {path}: {exc.strerror}") from None
    except OSError as exc:
        raise PctError(f"failed to create file: {path}: {exc.strerror}") from None
    if mode is not None:
        os.fchmod(fd, mode)
    if uid != -1 or gid != -1:
        os.fchown(fd, uid, gid)
    return os.fdopen(fd, "wb")


def _lookup(function: Callable[[str], Any], name: str, message: str) -> int:
    try:
        return int(function(name)[2])
    except KeyError:
        raise PctError(message) from None


def apply_layout(rootfs: str, ops: list[list[Any]]) -> None:
    """Create a container filesystem from the simulator's recipe (ctfs.layout), atomically.

    Built in a temporary sibling directory and renamed into place, so neither a concurrent pct nor
    the simulator's log writer ever sees half a filesystem. Operations: `["dir", rel, mode]`,
    `["file", rel, text, mode]`, `["link", rel, target]`, `["copy", rel, source, mode]`, `["chown", rel, uid, gid]`.
    """
    if os.path.isdir(rootfs):
        return
    temp = f"{rootfs}.tmp-{os.getpid()}"
    shutil.rmtree(temp, ignore_errors=True)
    os.makedirs(temp)
    for op in ops:
        path = os.path.join(temp, str(op[1]))
        if op[0] == "dir":
            os.makedirs(path, exist_ok=True)
            os.chmod(path, int(op[2]))
        elif op[0] == "file":
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(str(op[2]))
            os.chmod(path, int(op[3]))
        elif op[0] == "link":
            os.symlink(str(op[2]), path)
        elif op[0] == "copy":
            shutil.copyfile(str(op[2]), path)
            os.chmod(path, int(op[3]))
        elif op[0] == "chown":
            os.lchown(path, int(op[2]), int(op[3]))
    try:
        os.rename(temp, rootfs)
    except OSError:
        shutil.rmtree(temp, ignore_errors=True)  # another process was first
        if not os.path.isdir(rootfs):
            raise


def main(argv: list[str] | None = None) -> int:
    """Entry point of the installed script; first the start-up cost a real pct has (Perl, --pct-startup-ms)."""
    config = json.loads(_CONFIG_JSON)
    startup = float(config.get("startup_ms", 0) or 0)
    if startup > 0:
        time.sleep(startup / 1000.0)
    pct = Pct(config)
    try:
        return pct.run(sys.argv[1:] if argv is None else argv)
    except PctError as exc:
        sys.stderr.write(f"{exc}\n")
        return exc.status


if __name__ == "__main__":
    sys.exit(main())
