# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""root@pam's node shell as `/bin/login -f root` starts it, and the ssh hop to another node (audit S4, S5, #4, #17, #19).

What runs on the terminal's pty before the shell reads its first line, in the real order:

1. another node only: ssh connects (`--ssh-latency-ms`; meanwhile the pty is still cooked, so what
   the client types is echoed). A hang-up here (`nested-login-race`) prints ssh's
   `Connection to <ip> closed.` and ends the session before any shell ran.
2. login(1) sets up the tty: util-linux login's `init_tty` ends with `tcsetattr(0, TCSAFLUSH, &tt)`
   after its `vhangup()` (login-utils/login.c, called from main() before PAM), so with
   `--login-flush-input` everything typed until then is discarded. The simulator holds this step
   until termproxy has written what it had already buffered when it started the child, so input
   sent with (or right behind) the auth line is always lost - as on a node, where login needs
   milliseconds to get there. Input typed after the flush is kept; the flush is *before* the
   banner, not at the first prompt.
3. PAM prints the motd (`uname -snrvm` + /etc/motd) and `Last login: ...` (`on pts/0` for login,
   `from <ip>` for an sshd session), then the shell starts as a login shell in root's home.

The shells (`--root-shell`, scenario `root_shell`): `bash` reads the node's copies of Debian's
/etc/profile, /etc/bash.bashrc, ~/.profile and ~/.bashrc (nodefiles/), `rbash` the same and then
turns restricted (`exec` and redirections refused), `dash` /etc/profile and ~/.profile, `zsh`
only the node home's files (needs zsh installed), `reject` a csh-like shell that answers every
line with `<word>: Command not found.`. bash keeps its default HISTFILE `~/.bash_history` in the
node home and saves it itself (on exit, on SIGHUP and when `exec` replaces it, bash's exec.def).
No file of the machine's /etc or /root is read: a login bash would read /etc/profile itself (and
Debian's bash /etc/bash.bashrc even with --rcfile), so bash starts as `-bash` (a login shell) with
`--noprofile --posix`: in POSIX mode an interactive bash sources $ENV, and that hook leaves POSIX
mode and undoes what POSIX mode changed at start-up (inherit_errexit, HISTFILE ~/.sh_history,
MAILCHECK 600) before it reads the node's files, so the shell is a normal login bash (same
options and variables) before its first prompt, before it loads its history and before it reads
any input. (A
PROMPT_COMMAND from the environment would do too, but bash 5.2 then keeps PIPESTATUS empty.)
dash gets its files through ENV too, so it is not a login shell: `$0` is `dash`.
"""
from __future__ import annotations

import os
import shlex
import shutil
import sys
import termios
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from pvesim import tools

ROOT_SHELLS = ("bash", "dash", "zsh", "rbash", "reject")
NODEFILES = Path(__file__).resolve().parent / "nodefiles"
BASH = "/bin/bash"
DASH = "/bin/dash"
STD_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
"""The machine's standard root PATH; the node's sim bin dir goes in front of it."""


def parse_root_shell(text: str) -> tuple[str | None, str]:
    """`[NODE=]SHELL` -> (node or None, shell); ValueError names the value."""
    node, sep, shell = text.rpartition("=")
    if shell not in ROOT_SHELLS:
        raise ValueError(f"--root-shell {text!r}: unknown shell {shell!r}; known: {', '.join(ROOT_SHELLS)}")
    if sep and not node:
        raise ValueError(f"--root-shell {text!r}: empty node name before '='")
    return (node if sep else None), shell


def unavailable(shell: str) -> str | None:
    """Why `shell` cannot run on this machine, or None."""
    if shell == "zsh" and shutil.which("zsh") is None:
        return "zsh is not installed on this machine (apt-get install zsh)"
    if shell == "dash" and not os.access(DASH, os.X_OK):
        return f"{DASH} is missing"
    return None


def _substituted(name: str, replacements: Mapping[str, str], note: str) -> str:
    text = (NODEFILES / name).read_text(encoding="utf-8")
    for old, new in replacements.items():
        if old not in text:
            raise RuntimeError(f"nodefiles/{name} no longer contains {old!r}")
        text = text.replace(old, new)
    return f"# pvesim: {note}\n{text}"


class RootLogin:
    """One node's root login: its copies of the start-up files and the command line of its shell."""

    def __init__(self, node: str, node_dir: Path, home: Path, bin_dir: Path, shell: str) -> None:
        self.node = node
        self.etc = node_dir / "etc"
        self.login_dir = node_dir / "login"
        self.home = home
        self.bin_dir = bin_dir
        self.shell = shell

    def install(self) -> None:
        """Write the node's /etc copies and start-up hooks; root's dot files only when missing (they are root's to change)."""
        for directory in (self.etc, self.etc / "profile.d", self.login_dir):
            directory.mkdir(parents=True, exist_ok=True)
        (self.etc / "profile").write_text(_substituted("etc-profile", {
            "/etc/bash.bashrc": str(self.etc / "bash.bashrc"),
            "/etc/profile.d": str(self.etc / "profile.d"),
            '"$(id -u)" -eq 0': "0 -eq 0",
            'PATH="/usr/local/sbin:': f'PATH="{self.bin_dir}:/usr/local/sbin:',
        }, "Debian's /etc/profile; paths moved into the node's directory, the uid checks answered for root, "
           "the node's bin dir (pct, journalctl) in front of root's PATH"), encoding="utf-8")
        (self.etc / "bash.bashrc").write_text(_substituted("etc-bash.bashrc", {
            "/etc/debian_chroot": str(self.etc / "debian_chroot"),
            "\\u@\\h:\\w\\$ ": f"root@{self.node}:\\w# ",
        }, "Debian's /etc/bash.bashrc; the prompt names root and the node"), encoding="utf-8")
        for name, target in (("root-profile", ".profile"), ("root-bashrc", ".bashrc")):
            path = self.home / target
            if not path.exists():
                shutil.copyfile(NODEFILES / name, path)
        profile = shlex.quote(str(self.etc / "profile"))
        login_files = ('if [ -f ~/.bash_profile ]; then . ~/.bash_profile; elif [ -f ~/.bash_login ]; then . ~/.bash_login; '
                       'elif [ -f ~/.profile ]; then . ~/.profile; fi')
        leave_posix = ["set +o posix", "shopt -u inherit_errexit", "HISTFILE=~/.bash_history", "MAILCHECK=60", "unset ENV"]
        for name, lines in (
            ("bash", leave_posix + [f". {profile}", login_files]),
            ("rbash", leave_posix + [f". {profile}", login_files, "set -r"]),
            ("dash", ["unset ENV", f". {profile}", "if [ -f ~/.profile ]; then . ~/.profile; fi"]),
        ):
            header = f"# pvesim: the start-up files a login {name} reads, from node {self.node}'s copies"
            (self.login_dir / name).write_text("\n".join([header] + lines + [""]), encoding="utf-8")

    def program(self, shell: str | None = None) -> tuple[str, list[str], dict[str, str]]:
        """(executable, argv, extra environment) of the node's shell (or of `shell`)."""
        shell = shell or self.shell
        hook = self.login_dir / shell
        if shell in ("bash", "rbash"):
            return BASH, ["-bash", "--noprofile", "--posix"], {"ENV": str(hook)}
        if shell == "dash":
            return DASH, ["dash", "-i"], {"ENV": str(hook)}
        if shell == "zsh":
            zsh = shutil.which("zsh") or "/usr/bin/zsh"
            return zsh, ["-zsh", "-o", "NO_GLOBAL_RCS"], {"ZDOTDIR": str(self.home)}
        return sys.executable, [sys.executable, "-I", str(tools.source_path("rejectsh")), self.node], {}


def login_environment(base: Mapping[str, str], home: Path, path: str, extra: Mapping[str, str]) -> dict[str, str]:
    """login(1)'s `init_environ`: a fresh environment with TERM kept, HOME/USER/SHELL/PATH/MAIL/LOGNAME set;
    LANG/LC_* as PAM's pam_env would set them (taken from termproxy's environment); plus `extra`."""
    env = {key: value for key, value in base.items() if key in ("TERM", "LANG", "LANGUAGE") or key.startswith("LC_")}
    env.update({"HOME": str(home), "USER": "root", "LOGNAME": "root", "SHELL": BASH, "PATH": path, "MAIL": "/var/mail/root"})
    env.setdefault("TERM", "dumb")
    env.update(extra)
    return env


@dataclass
class LoginSteps:
    """Steps 1-3 of the module docstring; `run` executes in the forked child, before the program is exec'd.

    Only plain system calls there (the child of a threaded process): sleep, termios, read, write.
    """

    ssh_delay: float = 0.0
    hangup: str | None = None
    """ssh's goodbye line: the session ends after the ssh connection, before any shell (`nested-login-race`)."""
    flush: bool = False
    banner: str = ""
    go_fd: int | None = None
    """login waits for one byte here before its flush (see step 2)."""
    started_fd: int | None = None
    """One byte is written here right before the exec (the terminal's `shell_started`)."""

    def run(self) -> None:
        """Do the steps; returns to exec the program, or ends the process (hang-up)."""
        if self.ssh_delay > 0:
            time.sleep(self.ssh_delay)
        if self.hangup is not None:
            os.write(2, f"{self.hangup}\n".encode())  # the cooked pty adds the CR
            os._exit(255)
        if self.go_fd is not None:
            os.read(self.go_fd, 1)
            os.close(self.go_fd)
        if self.flush:
            termios.tcflush(0, termios.TCIFLUSH)
        if self.banner:
            os.write(1, self.banner.encode("utf-8"))
        if self.started_fd is not None:
            os.write(self.started_fd, b"E")
