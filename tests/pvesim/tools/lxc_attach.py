# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""`lxc-attach` on the simulated node: run a command (or the user's shell) inside a running container.

Installed by pvesim.tools.install() into the node's bin dir next to `pct` (which execs it, as the
real pct does: pve-container src/PVE/CLI/pct.pm 248-253). It does what lxc's does (lxc
src/lxc/tools/lxc_attach.c, src/lxc/attach.c; line numbers below are lxc's git HEAD, the messages
carry the numbers of PVE's lxc 6.0 build):

* gets the container's init from the simulator (ctns.container_init), joins its pid namespace for
  its children, forks, and the child joins the mount, uts and ipc namespaces: the command runs in
  the container, its orphans are reparented to the container's init, and stopping the container
  kills it (the status is then 137, `WTERMSIG + 128`, lxc_attach.c 446-449);
* environment as lxc_attach_set_environment builds it (attach.c 797-910): `--keep-env` (default)
  keeps ours, `--clear-env` clears it but for `--keep-var`s and sets the default PATH unless PATH was
  kept; then always `container=lxc`, the config's runtime environment (`env`), then `-v VAR=VALUE`;
* no new session and no new terminal unless one of fds 0-2 is a terminal (lxc_attach.c 293-305,
  400-401): the command keeps our session, process group and controlling terminal (it can open
  /dev/tty), and every inherited descriptor (attach.c 1296-1331 only touches 0-2). With a terminal,
  a new pty from the container's devpts is the command's controlling terminal and stdio, and this
  process copies between it and ours (raw mode), like lxc's terminal mainloop;
* `-u UID`/`-g GID` (default 0): supplementary groups are dropped (attach.c 1255-1262, the command
  line cannot set them), stdio that is not /dev/null is chowned to the uid and made 0600
  (utils.c fix_stdio_permissions, attach.c 1354), then setresgid/setresuid;
* the program is looked up as execvp does (glibc: PATH of the new environment, EACCES remembered,
  ENOEXEC run by /bin/sh); failure -> `Failed to exec` with 126 (EACCES, ENOEXEC), 127 (ENOENT),
  255 otherwise (attach.c 1827-1846); without a command the user's passwd shell, else /bin/sh;
* SIGINT and SIGQUIT are ignored by this process once the command runs (attach.c 1736-1740); a
  SIGTERM ends it and leaves the command running.

Needs the simulator to run as root. Standard library only.
"""
from __future__ import annotations

import errno
import fcntl
import json
import os
import pwd
import select
import signal
import socket
import struct
import sys
import termios
import tty
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

from pvesim.tools.ctns import CLONE_NEWIPC, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWUTS, InitUnavailable, container_init, setns  # inlined by pvesim.tools.install()

_CONFIG_JSON = "{}"  # replaced by pvesim.tools.install()

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
"""attach.c 870: the PATH of a cleared environment."""
EXECVP_PATH = "/bin:/usr/bin"
"""glibc's execvp when PATH is unset (confstr _CS_PATH)."""
NOT_FOUND_ERRNOS = (errno.ENOENT, errno.ENOTDIR, errno.ESTALE, errno.ENODEV, errno.ETIMEDOUT)
"""glibc execvpe: try the next PATH entry after these."""
HELP = """\
Usage: lxc-attach --name=NAME [-- COMMAND]

Execute the specified COMMAND - enter the container NAME

Options :
  -n, --name=NAME   NAME of the container
  -e, --elevated-privileges=PRIVILEGES
                    Use elevated privileges instead of those of the
                    container. If you don't specify privileges to be
                    elevated as OR'd list: CAP, CGROUP and LSM (capabilities,
                    cgroup and restrictions, respectively) then all of them
                    will be elevated.
                    WARNING: This may leak privileges into the container.
                    Use with care.
  -a, --arch=ARCH   Use ARCH for program instead of container's own
                    architecture.
  -s, --namespaces=FLAGS
                    Don't attach to all the namespaces of the container
                    but just to the following OR'd list of flags:
                    MOUNT, PID, UTSNAME, IPC, USER or NETWORK.
                    WARNING: Using -s implies -e with all privileges
                    elevated, it may therefore leak privileges into the
                    container. Use with care.
  -R, --remount-sys-proc
                    Remount /sys and /proc if not attaching to the
                    mount namespace when using -s in order to properly
                    reflect the correct namespace context. See the
                    lxc-attach(1) manual page for details.
      --clear-env   Clear all environment variables before attaching.
                    The attached shell/program will start with only
                    container=lxc set.
      --keep-env    Keep all current environment variables. This
                    is the current default behaviour, but is likely to
                    change in the future.
  -L, --pty-log=FILE
                    Log pty output to FILE
  -v, --set-var     Set an additional variable that is seen by the
                    attached program in the container. May be specified
                    multiple times.
      --keep-var    Keep an additional environment variable. Only
                    applicable if --clear-env is specified. May be used
                    multiple times.
  -f, --rcfile=FILE
                    Load configuration file FILE
  -u, --uid=UID     Execute COMMAND with UID inside the container
  -g, --gid=GID     Execute COMMAND with GID inside the container
  -c, --context=context
                    SELinux Context to transition into

Common options :
  -o, --logfile=FILE               Output log to FILE instead of stderr
  -l, --logpriority=LEVEL          Set log priority to LEVEL
  -q, --quiet                      Don't produce any output
  -P, --lxcpath=PATH               Use specified container path
  -?, --help                       Give this help list
      --usage                      Give a short usage message
      --version                    Print the version number

Mandatory or optional arguments to long options are also mandatory or optional
for any corresponding short options.

See the lxc-attach man page for further information.

"""
# Long options (name -> (short key, takes an argument)); lxc_attach.c 65-81 and LXC_COMMON_OPTIONS.
LONG_OPTIONS = {
    "elevated-privileges": ("e", True), "arch": ("a", True), "namespaces": ("s", True), "remount-sys-proc": ("R", False),
    "clear-env": ("clear-env", False), "keep-env": ("keep-env", False), "keep-var": ("keep-var", True), "set-var": ("v", True),
    "pty-log": ("L", True), "rcfile": ("f", True), "uid": ("u", True), "gid": ("g", True), "context": ("c", True),
    "name": ("n", True), "help": ("h", False), "usage": ("usage", False), "version": ("version", False), "quiet": ("q", False),
    "logfile": ("o", True), "logpriority": ("l", True), "lxcpath": ("P", True),
}
SHORT_WITH_ARGUMENT = set("asvLfugcnolP")
SHORT_FLAGS = set("Rhq?")
NOT_SIMULATED = {"e", "a", "s", "R", "L", "f", "c", "P", "usage"}
"""Accepted by lxc-attach but not simulated: an error that says so rather than silently doing nothing."""


class UsageError(Exception):
    """A command line lxc-attach refuses: message on stderr, exit 1 (0 for --help)."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Options:
    """The parsed command line."""

    name: str = ""
    clear_env: bool = False
    keep_vars: list[str] = field(default_factory=list)
    set_vars: list[str] = field(default_factory=list)
    uid: int | None = None
    gid: int | None = None
    quiet: bool = False
    command: list[str] = field(default_factory=list)


def parse(argv: list[str]) -> Options:
    """getopt_long as lxc_arguments_parse uses it (GNU permutation: options anywhere before `--`)."""
    options = Options()
    rest: list[str] = []
    pairs: list[tuple[str, str]] = []
    index = 0
    while index < len(argv):
        arg = argv[index]
        index += 1
        if arg == "--":
            rest += argv[index:]
            break
        if arg.startswith("--"):
            name, eq, value = arg[2:].partition("=")
            matches = [long for long in LONG_OPTIONS if long == name] or [long for long in LONG_OPTIONS if long.startswith(name)]
            if len(matches) != 1:
                kind = "ambiguous" if matches else "unrecognized"
                raise UsageError(f"lxc-attach: {kind} option '--{name}'\n{HELP}")
            key, needs = LONG_OPTIONS[matches[0]]
            if needs and not eq:
                if index >= len(argv):
                    raise UsageError(f"lxc-attach: option '--{matches[0]}' requires an argument\n{HELP}")
                value = argv[index]
                index += 1
            elif not needs and eq:
                raise UsageError(f"lxc-attach: option '--{matches[0]}' doesn't allow an argument\n{HELP}")
            pairs.append((key, value))
        elif arg.startswith("-") and len(arg) > 1:
            letters = arg[1:]
            while letters:
                letter, letters = letters[0], letters[1:]
                if letter == "e":  # optional argument: only attached (-eCAP)
                    pairs.append(("e", letters))
                    break
                if letter in SHORT_WITH_ARGUMENT:
                    if not letters:
                        if index >= len(argv):
                            raise UsageError(f"lxc-attach: option requires an argument -- '{letter}'\n{HELP}")
                        letters = argv[index]
                        index += 1
                    pairs.append((letter, letters))
                    break
                if letter not in SHORT_FLAGS:
                    raise UsageError(f"lxc-attach: invalid option -- '{letter}'\n{HELP}")
                pairs.append((letter, ""))
        else:
            rest.append(arg)
    for key, value in pairs:
        _apply(options, key, value)
    if not options.name:
        if not rest:
            raise UsageError("lxc-attach: No container name specified")
        options.name = rest.pop(0)
    options.command = rest
    return options


def _apply(options: Options, key: str, value: str) -> None:
    if key in ("h", "?"):
        raise UsageError(HELP.rstrip("\n") + "\n", 0 if key == "h" else 1)
    if key == "version":
        print("6.0.5")
        raise SystemExit(0)
    if key in NOT_SIMULATED:
        raise UsageError(f"pvesim: lxc-attach option {'--' + key if len(key) > 1 else '-' + key} is not simulated")
    if key == "n":
        options.name = value
    elif key == "clear-env":
        options.clear_env = True
    elif key == "keep-env":
        options.clear_env = False
    elif key == "keep-var":
        options.keep_vars.append(value)
    elif key == "v":
        options.set_vars.append(value)
    elif key in ("u", "g"):
        if not value.isdigit() or int(value) > 0xFFFFFFFE:  # lxc_safe_uint
            raise UsageError("lxc-attach: could not parse command line")
        setattr(options, "uid" if key == "u" else "gid", int(value))
    elif key == "q":
        options.quiet = True


def environment(options: Options, base: dict[str, str], runtime_env: list[str]) -> dict[str, str]:
    """lxc_attach_set_environment (attach.c 797-910) applied to `base`."""
    if options.clear_env:
        env = {name: base[name] for name in options.keep_vars if name in base}
        if "PATH" not in env:
            env["PATH"] = DEFAULT_PATH
    else:
        env = dict(base)
    env["container"] = "lxc"
    for item in runtime_env + options.set_vars:  # putenv: NAME=VALUE sets, a bare NAME unsets
        name, eq, value = item.partition("=")
        if eq:
            env[name] = value
        else:
            env.pop(name, None)
    return env


def execvp(program: str, argv: list[str], env: dict[str, str]) -> int:
    """glibc's execvpe; returns the errno when nothing could be executed."""
    if "/" in program:
        candidates = [program]
    else:
        candidates = [os.path.join(directory or ".", program) for directory in env.get("PATH", EXECVP_PATH).split(":")]
    saw_eacces = False
    last = errno.ENOENT
    for candidate in candidates:
        try:
            os.execve(candidate, argv, env)
        except OSError as exc:
            code = exc.errno or errno.ENOENT
            if code == errno.ENOEXEC:  # a script without #!: run by the shell
                try:
                    os.execve("/bin/sh", ["/bin/sh", candidate] + argv[1:], env)
                except OSError as shell_exc:
                    code = shell_exc.errno or errno.ENOENT
            if code == errno.EACCES:
                saw_eacces = True
            elif code not in NOT_FOUND_ERRNOS:
                return code
            last = code
    return errno.EACCES if saw_eacces else last


class Attach:
    """One attach: the parent side (waits, maybe copies a terminal) and the attached child."""

    def __init__(self, options: Options, config: dict[str, Any]) -> None:
        self.options = options
        self.config = config
        self.name = options.name

    def log_error(self, function: str, line: int, message: str) -> None:
        """An lxc ERROR line on stderr (the tools log at ERROR to stderr unless -q)."""
        if not self.options.quiet:
            sys.stderr.write(f"lxc-attach: {self.name}: ../src/lxc/attach.c: {function}: {line} {message}\n")
            sys.stderr.flush()

    def runtime_environment(self) -> list[str]:
        """The container config's `env` (NUL-separated; lxc.environment.runtime, attach.c 886)."""
        try:
            with open(os.path.join(str(self.config.get("containers", "")), f"{int(self.name)}.json"), encoding="utf-8") as handle:
                value = json.load(handle).get("config", {}).get("env")
        except (OSError, ValueError):
            return []
        return [item for item in str(value).split("\0") if item] if value else []

    def run(self) -> int:
        """Attach and wait; the exit status lxc-attach gives."""
        try:
            vmid = int(self.name) if self.name.isdigit() else -1
            if vmid < 0:
                raise InitUnavailable("not-running")
            _pid, pidfd = container_init(str(self.config.get("runtime", "")), vmid, str(self.config.get("node", "")))
        except InitUnavailable as exc:
            return self.unavailable(exc)
        terminal = any(os.isatty(fd) for fd in (0, 1, 2))
        runtime_env = self.runtime_environment()
        try:
            cwd: str | None = os.getcwd()
        except OSError:
            cwd = None
        try:
            setns(pidfd, CLONE_NEWPID)  # for the children only (pid namespaces are entered by forking)
        except OSError as exc:
            self.log_error("lxc_attach", 1594, f"{exc.strerror} - Failed to enter namespaces")
            return 1
        ours, theirs = socket.socketpair() if terminal else (None, None)
        child = os.fork()
        if child == 0:
            if ours is not None:
                ours.close()
            self.attached(pidfd, cwd, runtime_env, theirs)
        os.close(pidfd)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGQUIT, signal.SIG_IGN)
        if ours is not None and theirs is not None:
            theirs.close()
            self.copy_terminal(ours)
        _pid_done, status = os.waitpid(child, 0)
        if os.WIFSIGNALED(status):
            return os.WTERMSIG(status) + 128
        return os.WEXITSTATUS(status)

    def unavailable(self, exc: InitUnavailable) -> int:
        """What lxc-attach says when the container has no init it can join (attach.c 405/406, 1470/1474)."""
        if exc.reason == "no-bwrap":
            sys.stderr.write("pvesim: bubblewrap is required to run containers; apt-get install bubblewrap\n")
        elif exc.reason == "no-root":
            sys.stderr.write("pvesim: containers need the simulator to run as root\n")
        elif exc.reason == "failed":
            sys.stderr.write(f"pvesim: {exc}\n")
        else:
            self.log_error("get_attach_context", 405, "Connection refused - Failed to get init pid")
            self.log_error("lxc_attach", 1470, "Connection refused - Failed to get attach context")
        return 1

    # --- the attached process ------------------------------------------------------------------

    def attached(self, pidfd: int, cwd: str | None, runtime_env: list[str], terminal: socket.socket | None) -> None:
        """In the child: join, set up like do_attach (attach.c 1134-1383), exec. Never returns."""
        try:
            setns(pidfd, CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC)
            os.close(pidfd)
            if cwd is not None:
                try:
                    os.chdir(cwd)  # the node's directory if the container has it; else the container's /
                except OSError:
                    pass
            base = {k: v for k, v in os.environ.items() if k not in self.config.get("strip_env", []) and not k.startswith("PVESIM_")}
            env = environment(self.options, base, runtime_env)
            pts = None
            if terminal is not None:
                master, pts = os.openpty()  # in the container's devpts, like lxc_terminal_create
                socket.send_fds(terminal, [b"m"], [master])
                os.close(master)
                terminal.close()
            try:
                os.setgroups([])
            except PermissionError:
                pass
            if pts is not None:  # lxc_terminal_prepare_login
                os.setsid()
                fcntl.ioctl(pts, termios.TIOCSCTTY, 0)
                for fd in (0, 1, 2):
                    os.dup2(pts, fd)
                if pts > 2:
                    os.close(pts)
            uid = self.options.uid or 0
            gid = self.options.gid or 0
            if uid != 0:
                fix_stdio_permissions(uid)
            if gid != 0:
                os.setresgid(gid, gid, gid)
            if uid != 0:
                os.setresuid(uid, uid, uid)
            for signum in (signal.SIGPIPE, signal.SIGXFSZ):  # Python ignores them; an exec'd program must not
                signal.signal(signum, signal.SIG_DFL)
        except OSError as exc:
            self.log_error("do_attach", 1380, f"{exc.strerror or exc} - Failed to attach to container")
            os._exit(1)
        os._exit(self.run_command(env) if self.options.command else self.run_shell(env, uid))

    def run_command(self, env: dict[str, str]) -> int:
        """lxc_attach_run_command (attach.c 1827-1846)."""
        program = self.options.command[0]
        code = execvp(program, self.options.command, env)
        self.log_error("lxc_attach_run_command", 1841, f"{os.strerror(code)} - Failed to exec \"{program}\"")
        return {errno.EACCES: 126, errno.ENOEXEC: 126, errno.ENOENT: 127}.get(code, 255)

    def run_shell(self, env: dict[str, str], uid: int) -> int:
        """lxc_attach_run_shell (attach.c 1848-1900): the passwd shell of the uid, else /bin/sh."""
        try:
            shell = pwd.getpwuid(uid).pw_shell
        except KeyError:
            shell = ""
        if shell:
            execvp(shell, [shell], env)
        code = execvp("/bin/sh", ["/bin/sh"], env)
        self.log_error("lxc_attach_run_shell", 1893, f"{os.strerror(code)} - Failed to execute shell")
        return 255

    # --- terminal mode (parent side) -----------------------------------------------------------

    def copy_terminal(self, channel: socket.socket) -> None:
        """lxc's terminal mainloop: our stdin -> the container pty, the pty -> our stdout, until the pty closes."""
        try:
            _data, fds, _flags, _addr = socket.recv_fds(channel, 16, 1)
        except OSError:
            fds = []
        channel.close()
        if not fds:
            return
        master = fds[0]
        saved = termios.tcgetattr(0) if os.isatty(0) else None
        size_source = next((fd for fd in (0, 1, 2) if os.isatty(fd)), None)

        def resize(signum: int = 0, frame: FrameType | None = None) -> None:
            if size_source is not None:
                try:
                    fcntl.ioctl(master, termios.TIOCSWINSZ, fcntl.ioctl(size_source, termios.TIOCGWINSZ, struct.pack("HHHH", 0, 0, 0, 0)))
                except OSError:
                    pass

        resize()
        signal.signal(signal.SIGWINCH, resize)
        if saved is not None:
            tty.setraw(0)
        reading_stdin = True
        try:
            while True:
                sources = [master] + ([0] if reading_stdin else [])
                try:
                    ready, _w, _x = select.select(sources, [], [])
                except InterruptedError:
                    continue
                if master in ready:
                    try:
                        data = os.read(master, 65536)
                    except OSError:
                        data = b""  # EIO: every slave is closed
                    if not data:
                        break
                    _write_all(1, data)
                if 0 in ready:
                    data = os.read(0, 65536)
                    if data:
                        _write_all(master, data)
                    else:
                        reading_stdin = False  # lxc stops reading at EOF; it sends no ^D
        finally:
            if saved is not None:
                termios.tcsetattr(0, termios.TCSADRAIN, saved)
            os.close(master)


def fix_stdio_permissions(uid: int) -> None:
    """utils.c fix_stdio_permissions: fds 0-2 that are not /dev/null go to `uid`, mode 0600; errors ignored."""
    try:
        null_rdev = os.stat("/dev/null").st_rdev
    except OSError:
        return
    for fd in (0, 1, 2):
        try:
            info = os.fstat(fd)
            if info.st_rdev == null_rdev:
                continue
            os.fchown(fd, uid, info.st_gid)
            os.fchmod(fd, 0o600)
        except OSError:
            continue


def _write_all(fd: int, data: bytes) -> None:
    while data:
        try:
            data = data[os.write(fd, data):]
        except BlockingIOError:
            select.select([], [fd], [])


def main(argv: list[str] | None = None) -> int:
    """Entry point of the installed script."""
    try:
        options = parse(sys.argv[1:] if argv is None else argv)
    except UsageError as exc:
        sys.stderr.write(str(exc) if str(exc).endswith("\n") else f"{exc}\n")  # print_help_exit writes to stderr
        return exc.status
    return Attach(options, json.loads(_CONFIG_JSON)).run()


if __name__ == "__main__":
    sys.exit(main())
