# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a terminal runs: the node's root shell, a login prompt, or a container console (4.1, 4.2, 4.6).

Per node, under `<state>/nodes/<node>/`: `home/` (HOME of the root shell, never the machine's /root),
`tmp/` (TMPDIR), `bin/` (`pct`, `lxc-attach`, `lxc-info`, `journalctl`; first on PATH), `bashrc` (the only rc file the shell
reads), `journal.jsonl` (the REST journal, copied entry by entry for the node `journalctl`) and
`lastlog`. The root shell is `bash --noprofile --rcfile bashrc -i` on the terminal's pty: readline
echo and bracketed paste as on a real node, prompt `root@<node>:~# `.
"""
from __future__ import annotations

import os
import shlex
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from pvesim import tools
from pvesim.ctfs import ContainerFs, is_alpine
from pvesim.journal import NodeJournal
from pvesim.journalfile import JsonlJournal
from pvesim.model import KERNEL_RELEASE, KERNEL_VERSION, Guest, Node

STD_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
"""The machine's standard root PATH; the node's sim bin dir goes in front of it."""
BASH = "/bin/bash"
TERMPROXY = "/usr/bin/termproxy"
NODE_ENV_VAR = "PVESIM_NODE"
"""Tells programs in the root shell which node they run on (the installed tools have it baked in too)."""
MOTD = (
    "Linux {node} {release} {version} x86_64\n\n"
    "The programs included with the Debian GNU/Linux system are free software;\n"
    "the exact distribution terms for each program are described in the\n"
    "individual files in /usr/share/doc/*/copyright.\n\n"
    "Debian GNU/Linux comes with ABSOLUTELY NO WARRANTY, to the extent\n"
    "permitted by applicable law.\n"
)


def termproxy_env(base: Mapping[str, str]) -> dict[str, str]:
    """termproxy's `run_pty`: only PATH, USER, HOME, LANG, LANGUAGE, LC_* survive, plus TERM=xterm-256color (4.4 step 7)."""
    env = {k: v for k, v in base.items() if k in ("PATH", "USER", "HOME", "LANG", "LANGUAGE") or k.startswith("LC_")}
    env["TERM"] = "xterm-256color"
    return env


@dataclass
class ShellCommand:
    """The program a terminal starts on its pty, and what the real termproxy would have run (for task errors)."""

    argv: list[str]
    env: dict[str, str]
    kind: str
    """shell | login | unreachable | upgrade | ceph | ct-login | ct-shell | ct-stopped"""
    real: str
    cwd: str | None = None


class NodeEnv:
    """The per-node directories, rc file and tools of one node."""

    def __init__(self, state_dir: Path, node: Node) -> None:
        self.node = node
        self.dir = state_dir / "nodes" / node.name
        self.home = self.dir / "home"
        self.tmp = self.dir / "tmp"
        self.bin = self.dir / "bin"
        self.rc = self.dir / "bashrc"
        self.journal_path = self.dir / "journal.jsonl"
        self.state_dir = state_dir

    @property
    def path(self) -> str:
        """PATH of the root shell: the sim bin dir first."""
        return f"{self.bin}:{STD_PATH}"

    def prepare(self, journal: NodeJournal, ctfs: ContainerFs, bwrap: str | None, pct_startup_ms: float = 0.0, pct_keep_env: bool = True) -> None:
        """Create the directories, write the rc file, install the tools and start the journal copy."""
        for directory in (self.home, self.tmp, self.bin):
            directory.mkdir(parents=True, exist_ok=True)
        os.chmod(self.home, 0o700)
        os.chmod(self.tmp, 0o1777)
        name = self.node.name
        self.rc.write_text("\n".join([
            f"# pvesim: rc file of the root shell of node {name} (bash --noprofile --rcfile: no rc file of the machine is read)",
            f"export {NODE_ENV_VAR}={shlex.quote(name)}",
            f"export PVESIM_STATE_DIR={shlex.quote(str(self.state_dir))}",
            f"export TMPDIR={shlex.quote(str(self.tmp))}",
            "export LOGNAME=root SHELL=/bin/bash MAIL=/var/mail/root",
            f"HISTFILE={shlex.quote(str(self.home / '.bash_history'))}",
            f"PS1={shlex.quote(f'root@{name}:')}'\\w\\$ '",
            # login(1) prints motd and "Last login" before the shell starts; the rc file stands in for it.
            'if [ -n "$PVESIM_BANNER" ]; then printf \'%s\\n\' "$PVESIM_BANNER"; fi',
            "unset PVESIM_BANNER",
            "",
        ]), encoding="utf-8")
        containers = {"node": name, "containers": str(ctfs.root), "runtime": str(ctfs.runtime_socket)}
        # The simulator's own variables of the root shell never reach a container (a real node has none).
        tools.install("lxc-attach", self.bin / "lxc-attach", sys.executable, dict(containers, strip_env=["TMPDIR", NODE_ENV_VAR, "PVESIM_STATE_DIR"]))
        tools.install("lxc-info", self.bin / "lxc-info", sys.executable, containers)
        tools.install("pct", self.bin / "pct", sys.executable, dict(
            containers, bwrap=bwrap, lxc_attach=str(self.bin / "lxc-attach"), startup_ms=pct_startup_ms, keep_env_option=pct_keep_env))
        tools.install("journalctl", self.bin / "journalctl", sys.executable, {"journal": str(self.journal_path), "hostname": name})
        self.journal_path.unlink(missing_ok=True)
        copy = JsonlJournal(self.journal_path)
        journal.subscribe(lambda entry: copy.append([journal.record(entry)]))

    def banner(self) -> str:
        """motd and the `Last login` line (of the previous session; the first one a while after boot)."""
        lastlog = self.dir / "lastlog"
        try:
            previous = float(lastlog.read_text(encoding="ascii"))
        except (OSError, ValueError):
            previous = self.node.boot_time + 3600
        lastlog.write_text(f"{time.time():.3f}", encoding="ascii")
        when = time.strftime("%a %b %e %H:%M:%S %Z %Y", time.localtime(previous))
        return MOTD.format(node=self.node.name, release=KERNEL_RELEASE, version=KERNEL_VERSION) + f"Last login: {when} on pts/0"

    def root_shell(self, base_env: Mapping[str, str], banner: bool = True) -> tuple[list[str], dict[str, str]]:
        """argv and env of the root shell; login would reset USER/HOME/PATH, so they are set here."""
        env = termproxy_env(base_env)
        env.update({"PATH": self.path, "USER": "root", "HOME": str(self.home)})
        if banner:
            env["PVESIM_BANNER"] = self.banner()
        return [BASH, "--noprofile", "--rcfile", str(self.rc), "-i"], env


def _termproxy_line(port: int, path: str, perm: str, command: str) -> str:
    """The command line pve-manager 9.1.9+ gives termproxy (4.1), as the task's error line quotes it."""
    return f"{TERMPROXY} {port} --path {path} --perm {perm} --vncticket-endpoint --verify-port --ticket-fd 3 -- {command}"


def login_argv(host: str, flavour: str) -> list[str]:
    """The fake /bin/login (tools/login.py), started with the simulator's interpreter."""
    return [sys.executable, "-I", str(tools.source_path("login")), host, flavour]


def node_command(env: NodeEnv, local: bool, authid: str, cmd: str, port: int, base_env: Mapping[str, str]) -> ShellCommand:
    """`get_shell_command`: root@pam exactly gets a root shell; every other user and every token `/bin/login` (4.1, 4.5)."""
    node = env.node
    root = authid == "root@pam"
    real = {"login": "/bin/login -f root", "upgrade": "/usr/bin/pveupgrade --shell", "ceph_install": "/usr/bin/pveceph install"}[cmd] if root else "/bin/login"
    if not local:
        # Another node's shell goes through ssh from the node that answered the call.
        real = f"/usr/bin/ssh -e none -t {node.ip} --" + ("" if root and cmd == "login" else f" {real}")
    line = _termproxy_line(port, f"/nodes/{node.name}", "Sys.Console", real)
    filtered = termproxy_env(base_env)
    if not local and not node.online:
        script = 'printf "ssh: connect to host %s port 22: No route to host\\n" "$1" >&2; exit 255'
        return ShellCommand(["/bin/sh", "-c", script, "ssh", node.ip], filtered, "unreachable", line)
    if not root:
        return ShellCommand(login_argv(node.name, "node"), filtered, "login", line)
    if cmd == "ceph_install":
        script = 'printf "pvesim: installing Ceph is not simulated\\n"; exit 1'
        return ShellCommand(["/bin/sh", "-c", script], filtered, "ceph", line)
    argv, shell_env = env.root_shell(base_env, banner=cmd == "login")
    if cmd == "upgrade":
        script = ('printf "Starting system upgrade: apt-get dist-upgrade\\nReading package lists... Done\\n'
                  'Building dependency tree... Done\\nCalculating upgrade... Done\\n0 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.\\n\\n'
                  'Your System is up-to-date\\n\\nstarting shell\\n"; exec "$@"')
        return ShellCommand(["/bin/sh", "-c", script, "pveupgrade"] + argv, shell_env, "upgrade", line, str(env.home))
    return ShellCommand(argv, shell_env, "shell", line, str(env.home))


def ct_command(env: NodeEnv, guest: Guest, port: int, base_env: Mapping[str, str]) -> ShellCommand:
    """The container console by `cmode` (4.2): tty/console -> the guest's login prompt, shell -> a root shell inside."""
    cmode = str(guest.config.get("cmode", "tty"))
    console = {"tty": f"lxc-console -n {guest.vmid} -e -1", "console": f"lxc-console -n {guest.vmid} -t 0 -e -1",
               "shell": f"lxc-attach --clear-env -n {guest.vmid}"}.get(cmode, f"lxc-console -n {guest.vmid} -e -1")
    real = f"/usr/bin/dtach -A /var/run/dtach/vzctlconsole{guest.vmid} -r winch -z {console}"
    line = _termproxy_line(port, f"/vms/{guest.vmid}", "VM.Console", real)
    filtered = termproxy_env(base_env)
    if not guest.running:
        script = 'printf "lxc-console: %s: tools/lxc_console.c: main: 131 %s is not running\\n" "$1" "$1" >&2; exit 1'
        return ShellCommand(["/bin/sh", "-c", script, "lxc-console", str(guest.vmid)], filtered, "ct-stopped", line)
    if cmode == "shell":
        return ShellCommand([str(env.bin / "pct"), "enter", str(guest.vmid)], filtered, "ct-shell", line)
    flavour = "alpine" if is_alpine(guest) else "debian"
    return ShellCommand(login_argv(guest.name, flavour), filtered, "ct-login", line)
