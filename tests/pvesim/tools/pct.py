# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A `pct` look-alike for the simulated node shell: exec, push, pull, status, list, config, enter (pve-protocol.md 5).

Installed by pvesim.tools.install() into the node's bin dir with the simulator's interpreter as
shebang and `_CONFIG_JSON` filled in (node name, container state dir, bubblewrap, bind list).
It reads the per-container state files the simulator writes atomically (`<containers>/<vmid>.json`)
and runs commands inside the container's own filesystem with bubblewrap: the rootfs as `/`, the
machine's `/usr` read-only, the container's `usr/local` over it, new pid/ipc/uts namespaces.
"""
from __future__ import annotations

import json
import os
import posixpath
import shutil
import signal
import subprocess
import sys
from types import FrameType
from typing import Any

_CONFIG_JSON = "{}"  # replaced by pvesim.tools.install()

STD_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
MAX_SYMLINKS = 40
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
    def require_running(state: dict[str, Any]) -> None:
        """`container '<vmid>' not running!` (exit 255, 5)."""
        if state.get("status") != "running":
            raise PctError(f"container '{state.get('vmid')}' not running!")

    # --- paths inside the container -----------------------------------------------------------------

    @staticmethod
    def host_path(rootfs: str, path: str) -> str:
        """Where a normalised container path lives on the machine (without following symlinks)."""
        if path == "/usr/local" or path.startswith("/usr/local/"):
            return rootfs + path
        if path == "/usr" or path.startswith("/usr/"):
            return path
        return rootfs + path if path != "/" else rootfs

    def resolve(self, rootfs: str, path: str, last: bool = True) -> str:
        """The machine path of a container path, following symlinks the way the container sees them."""
        pending = [part for part in posixpath.normpath("/" + path).split("/") if part]
        current = "/"
        hops = 0
        while pending:
            part = pending.pop(0)
            candidate = posixpath.normpath(posixpath.join(current, part))
            host = self.host_path(rootfs, candidate)
            if os.path.islink(host) and (pending or last):
                hops += 1
                if hops > MAX_SYMLINKS:
                    raise PctError(f"too many levels of symbolic links in '{path}'")
                target = os.readlink(host)
                base = "/" if target.startswith("/") else current
                pending = [p for p in posixpath.normpath(posixpath.join(base, target)).split("/") if p] + pending
                current = "/"
                continue
            current = candidate
        return self.host_path(rootfs, current)

    def find_program(self, rootfs: str, program: str, env: dict[str, str]) -> tuple[int, str] | None:
        """lxc-attach's exec failure mapping: (127, not found) or (126, not executable); None when it can run."""
        if "/" in program:
            candidates = [program if program.startswith("/") else "/" + program]
        else:
            candidates = [posixpath.join(d or "/", program) for d in env.get("PATH", STD_PATH).split(":")]
        for candidate in candidates:
            host = self.resolve(rootfs, candidate)
            if os.path.isfile(host):
                if os.access(host, os.X_OK):
                    return None
                return 126, "Permission denied"
        return 127, "No such file or directory"

    # --- commands ------------------------------------------------------------------------------------

    def run(self, argv: list[str]) -> int:
        """Dispatch a subcommand; returns the exit status."""
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

    def cmd_exec(self, args: list[str]) -> int:
        """`pct exec <vmid> [--keep-env 0|1] -- <argv...>`: the command's exit status, 128+n on signal n."""
        positional, options, extra = self._options("exec", args, ("keep-env",))
        if not positional:
            raise _usage_error("exec", "400 not enough arguments")
        state = self.load(positional[0], "exec")
        keep_env = options.get("keep-env", "1")
        if keep_env not in ("0", "1"):
            raise _usage_error("exec", f"400 Parameter verification failed.\nkeep-env: type check ('boolean') failed - got '{keep_env}'")
        self.require_running(state)
        command = positional[1:] + extra
        if not command:
            raise PctError("missing command")
        env = self.container_env(keep_env == "1")
        return self.sandbox(state, command, env)

    def cmd_enter(self, args: list[str]) -> int:
        """`pct enter <vmid>`: a root shell in the container with a cleared environment."""
        positional, _options, _extra = self._options("enter", args, ("keep-env",))
        if not positional:
            raise _usage_error("enter", "400 not enough arguments")
        state = self.load(positional[0], "enter")
        self.require_running(state)
        env = self.container_env(False)
        env["TERM"] = os.environ.get("TERM", "linux")
        shell = "/bin/bash" if state.get("ostype") not in ("alpine",) else "/bin/sh"
        return self.sandbox(state, [shell], env)

    def container_env(self, keep: bool) -> dict[str, str]:
        """lxc-attach `--keep-env` (the default) or `--clear-env`; pct drops SSL_CERT_FILE/SSL_CERT_DIR (5)."""
        if not keep:
            return {"container": "lxc", "PATH": STD_PATH}
        env = dict(os.environ)
        for name in ["SSL_CERT_FILE", "SSL_CERT_DIR"] + list(self.config.get("strip_env", [])):
            env.pop(name, None)
        return env

    def sandbox(self, state: dict[str, Any], command: list[str], env: dict[str, str]) -> int:
        """Run `command` in the container's filesystem with bubblewrap; forward TERM/INT/HUP; pass the status through."""
        bwrap = self.config.get("bwrap")
        if not bwrap or not os.access(str(bwrap), os.X_OK):
            raise PctError("pvesim: bubblewrap is required for pct exec; apt-get install bubblewrap")
        rootfs = str(state["rootfs"])
        failure = self.find_program(rootfs, command[0], env)
        if failure is not None:
            sys.stderr.write(f"lxc-attach: {state['vmid']}: ../src/lxc/attach.c: lxc_attach_run_command: 1841 "
                             f"{failure[1]} - Failed to exec \"{command[0]}\"\n")
            return failure[0]
        read_fd, write_fd = os.pipe()
        argv = [str(bwrap), "--bind", rootfs, "/", "--ro-bind", "/usr", "/usr", "--bind", rootfs + "/usr/local", "/usr/local"]
        for source, target in self.config.get("ro_binds", []):
            argv += ["--ro-bind", str(source), str(target)]
        argv += [
            "--proc", "/proc", "--dev", "/dev", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
            "--hostname", str(state.get("hostname") or f"CT{state['vmid']}"), "--die-with-parent", "--chdir", "/",
            "--info-fd", str(write_fd), "--",
        ] + command
        forwarder = _Forwarder()
        try:
            proc = subprocess.Popen(argv, env=env, pass_fds=(write_fd,))
        finally:
            os.close(write_fd)
        forwarder.proc = proc
        forwarder.child = _read_child_pid(read_fd)
        forwarder.flush()
        status = proc.wait()
        return 128 - status if status < 0 else status

    def cmd_push(self, args: list[str]) -> int:
        """`pct push <vmid> <file> <destination> [--perms N]`: node file -> container."""
        positional, options, extra = self._options("push", args, ("perms", "user", "group"))
        positional += extra
        if len(positional) != 3:
            raise _usage_error("push", "400 wrong number of arguments")
        state = self.load(positional[0], "push")
        self.require_running(state)
        source, dest = positional[1], positional[2]
        target = self.resolve(str(state["rootfs"]), dest)
        if target.startswith("/usr/") and not target.startswith(str(state["rootfs"])):
            raise PctError(f"error opening '{dest}': Read-only file system")
        raw_perms = options.get("perms", "0644")
        perms = int(raw_perms, 16) if raw_perms.startswith("0x") else int(raw_perms, 8)
        _copy(source, source, target, dest)
        os.chmod(target, perms)
        return 0

    def cmd_pull(self, args: list[str]) -> int:
        """`pct pull <vmid> <path> <destination>`: container file -> node."""
        positional, options, extra = self._options("pull", args, ("perms", "user", "group"))
        positional += extra
        if len(positional) != 3:
            raise _usage_error("pull", "400 wrong number of arguments")
        state = self.load(positional[0], "pull")
        self.require_running(state)
        source, dest = self.resolve(str(state["rootfs"]), positional[1]), positional[2]
        _copy(source, positional[1], dest, dest)
        if "perms" in options:
            os.chmod(dest, int(options["perms"], 8))
        return 0

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


class _Forwarder:
    """Forwards TERM/INT/HUP to the command inside the sandbox (its init ignores them), queued until it is known."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self.child: int | None = None
        self.pending: list[int] = []
        for signum in FORWARDED:
            signal.signal(signum, self.handle)

    def handle(self, signum: int, frame: FrameType | None) -> None:
        """Signal handler: forward now, or remember for flush()."""
        if self.proc is None:
            self.pending.append(signum)
        else:
            self.forward(signum)

    def forward(self, signum: int) -> None:
        """To the command (the children of bwrap's pid-1 helper); to bwrap itself when they are unknown."""
        targets = _children(self.child) if self.child else []
        if not targets and self.proc is not None:
            targets = [self.proc.pid]
        for pid in targets:
            try:
                os.kill(pid, signum)
            except OSError:
                pass

    def flush(self) -> None:
        """Deliver signals that arrived before the sandbox was up."""
        pending, self.pending = self.pending, []
        for signum in pending:
            self.forward(signum)


def apply_layout(rootfs: str, ops: list[list[Any]]) -> None:
    """Create a container filesystem from the simulator's recipe (ctfs.layout), atomically.

    Built in a temporary sibling directory and renamed into place, so neither a concurrent pct nor
    the simulator's log writer ever sees half a filesystem. Operations: `["dir", rel, mode]`,
    `["file", rel, text, mode]`, `["link", rel, target]`, `["copy", rel, source, mode]`.
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
    try:
        os.rename(temp, rootfs)
    except OSError:
        shutil.rmtree(temp, ignore_errors=True)  # another process was first
        if not os.path.isdir(rootfs):
            raise


def _copy(source: str, source_name: str, target: str, target_name: str) -> None:
    """Copy a file; errors name the paths as the user gave them."""
    try:
        src = open(source, "rb")  # pylint: disable=consider-using-with
    except OSError as exc:
        raise PctError(f"error opening '{source_name}': {exc.strerror}") from None
    with src:
        try:
            with open(target, "wb") as dst:
                shutil.copyfileobj(src, dst)
        except OSError as exc:
            raise PctError(f"error opening '{target_name}': {exc.strerror}") from None


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as handle:
            return [int(item) for item in handle.read().split()]
    except OSError:
        return []


def _read_child_pid(fd: int) -> int | None:
    """bwrap's `--info-fd` JSON: `child-pid` is its helper (pid 1 inside); the fd closes once the sandbox is set up."""
    data = b""
    try:
        while True:
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            data += chunk
    finally:
        os.close(fd)
    try:
        return int(json.loads(data.decode("utf-8"))["child-pid"])
    except (ValueError, KeyError, TypeError):
        return None


def main(argv: list[str] | None = None) -> int:
    """Entry point of the installed script."""
    pct = Pct(json.loads(_CONFIG_JSON))
    try:
        return pct.run(sys.argv[1:] if argv is None else argv)
    except PctError as exc:
        sys.stderr.write(f"{exc}\n")
        return exc.status


if __name__ == "__main__":
    sys.exit(main())
