# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a terminal runs: the node's root shell, a login prompt, or a container console (4.1, 4.2, 4.6).

Per node, under `<state>/nodes/<node>/`: `home/` (HOME of the root shell, never the machine's /root),
`tmp/` (TMPDIR), `bin/` (`pct`, `lxc-attach`, `lxc-info`, `journalctl`; first on PATH), `etc/` and `login/` (the start-up
files of rootshell.py), `journal.jsonl` (the REST journal, copied entry by entry for the node
`journalctl`) and `lastlog`. `node_command` follows pve-manager's `get_shell_command` and
`$get_vnc_connection_info` (PVE/API2/Nodes.pm:1159-1210), version by version: another node's shell
goes through `ssh -e none -o BatchMode=yes -o HostKeyAlias=<node> -t root@<ip> --`, and for root@pam
a nested `/bin/login -f root` follows on the remote side before pve-manager 9.2.0 (commit bdd3685e;
without an explicit `cmd` only before 9.0.10, commit 145642be).
"""
from __future__ import annotations

import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from pvesim import tools
from pvesim.ctfs import ContainerFs, is_alpine
from pvesim.journal import NodeJournal
from pvesim.journalfile import JsonlJournal
from pvesim.model import KERNEL_RELEASE, KERNEL_VERSION, Guest, Node
from pvesim.rootshell import BASH, STD_PATH, LoginSteps, RootLogin, login_environment

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
"""pam_motd: /run/motd.dynamic (`uname -snrvm`, base-files update-motd.d/10-uname) and /etc/motd (base-files motd)."""
NO_NESTED_LOGIN_WITHOUT_CMD = (9, 0, 10)
"""pve-manager 145642be: an ssh-tunnelled root shell without `cmd` gets no nested login."""
NO_NESTED_LOGIN = (9, 2, 0)
"""pve-manager bdd3685e: nor with `cmd=login` (the guard tested the wrong variable before)."""


def termproxy_env(base: Mapping[str, str]) -> dict[str, str]:
    """termproxy's `run_pty`: only PATH, USER, HOME, LANG, LANGUAGE, LC_* survive, plus TERM=xterm-256color (4.4 step 7)."""
    env = {k: v for k, v in base.items() if k in ("PATH", "USER", "HOME", "LANG", "LANGUAGE") or k.startswith("LC_")}
    env["TERM"] = "xterm-256color"
    return env


def version_tuple(version: str) -> tuple[int, ...]:
    """`9.2.11` -> (9, 2, 11); trailing text is ignored (`9.1.0~rc1` -> (9, 1, 0))."""
    return tuple(int(part) for part in re.findall(r"\d+", version.split("~")[0])[:3])


@dataclass
class ShellCommand:
    """The program a terminal starts on its pty, and what the real termproxy would have run (for task errors)."""

    argv: list[str]
    env: dict[str, str]
    kind: str
    """shell | login | unreachable | upgrade | ceph | ct-login | ct-shell | ct-stopped"""
    real: str
    cwd: str | None = None
    executable: str | None = None
    """When argv[0] is not the program (a login shell's `-bash`)."""
    steps: LoginSteps = field(default_factory=LoginSteps)
    """ssh hop and login(1) steps run before the program (rootshell.py); the session fills in its file descriptors."""
    ssh_hop: bool = False
    """Another node's terminal: ssh runs first (the `nested-login-race` one-shot applies)."""
    nested_login: bool = False
    """A nested `/bin/login -f root` under ssh (PVE < 9.2): where the random `nested-login-race` applies."""
    ip: str = ""
    """The ssh target (for ssh's `Connection to <ip> closed.`)."""


class NodeEnv:
    """The per-node directories, start-up files and tools of one node."""

    def __init__(self, state_dir: Path, node: Node) -> None:
        self.node = node
        self.dir = state_dir / "nodes" / node.name
        self.home = self.dir / "home"
        self.tmp = self.dir / "tmp"
        self.bin = self.dir / "bin"
        self.journal_path = self.dir / "journal.jsonl"
        self.state_dir = state_dir
        self.login = RootLogin(node.name, self.dir, self.home, self.bin, node.root_shell)

    @property
    def path(self) -> str:
        """PATH of the root shell: the sim bin dir first."""
        return f"{self.bin}:{STD_PATH}"

    def prepare(self, journal: NodeJournal, ctfs: ContainerFs, bwrap: str | None, pct_startup_ms: float = 0.0, pct_keep_env: bool = True) -> None:
        """Create the directories and start-up files, install the tools and start the journal copy."""
        for directory in (self.home, self.tmp, self.bin):
            directory.mkdir(parents=True, exist_ok=True)
        self.home.chmod(0o700)
        self.tmp.chmod(0o1777)
        self.login.install()
        name = self.node.name
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

    def banner(self, origin: str = "on pts/0") -> str:
        """motd and the `Last login` line (of the previous root login; the first one a while after boot)."""
        lastlog = self.dir / "lastlog"
        try:
            previous = float(lastlog.read_text(encoding="ascii"))
        except (OSError, ValueError):
            previous = self.node.boot_time + 3600
        lastlog.write_text(f"{time.time():.3f}", encoding="ascii")
        when = time.strftime("%a %b %e %H:%M:%S %Z %Y", time.localtime(previous))
        return MOTD.format(node=self.node.name, release=KERNEL_RELEASE, version=KERNEL_VERSION) + f"Last login: {when} {origin}\n"

    def shell_env(self, base_env: Mapping[str, str], extra: Mapping[str, str]) -> dict[str, str]:
        """What login(1) gives root's shell, plus the simulator's own variables."""
        return login_environment(termproxy_env(base_env), self.home, self.path, {
            NODE_ENV_VAR: self.node.name, "PVESIM_STATE_DIR": str(self.state_dir), "TMPDIR": str(self.tmp), **extra,
        })


def _termproxy_line(port: int, path: str, perm: str, command: str) -> str:
    """The command line pve-manager 9.1.9+ gives termproxy (4.1), as the task's error line quotes it."""
    return f"{TERMPROXY} {port} --path {path} --perm {perm} --vncticket-endpoint --verify-port --ticket-fd 3 -- {command}"


def login_argv(host: str, flavour: str) -> list[str]:
    """The fake /bin/login (tools/login.py), started with the simulator's interpreter."""
    return [sys.executable, "-I", str(tools.source_path("login")), host, flavour]


@dataclass(frozen=True)
class NodeShellOptions:
    """The simulator options node_command needs."""

    ssh_latency_ms: float = 300.0
    login_flush_input: bool = False


def _root_cmd(cmd: str | None, remote: bool, version: tuple[int, ...]) -> str:
    """`get_shell_command` for root@pam: the command after termproxy's `--` (after ssh's `--` for another node)."""
    real = {"upgrade": "/usr/bin/pveupgrade --shell", "ceph_install": "/usr/bin/pveceph install"}.get(cmd or "", "/bin/login -f root")
    if remote and real == "/bin/login -f root":
        nested = version < (NO_NESTED_LOGIN if cmd == "login" else NO_NESTED_LOGIN_WITHOUT_CMD)
        return real if nested else ""
    return real


def node_command(env: NodeEnv, local: bool, authid: str, cmd: str | None, port: int, base_env: Mapping[str, str],
                 version: str, from_ip: str, options: NodeShellOptions) -> ShellCommand:
    """`get_shell_command` (4.1, 4.5): root@pam exactly gets a root shell, every other user and every token `/bin/login`.

    `cmd` is the request's `cmd` (None when not given); `from_ip` is the answering node's address.
    """
    node = env.node
    root = authid == "root@pam"
    real = _root_cmd(cmd, not local, version_tuple(version)) if root else "/bin/login"
    nested = not local and real == "/bin/login -f root"
    if not local:
        ssh = f"/usr/bin/ssh -e none -o BatchMode=yes -o HostKeyAlias={node.name} -t root@{node.ip} --"
        real = f"{ssh} {real}".rstrip()
    line = _termproxy_line(port, f"/nodes/{node.name}", "Sys.Console", real)
    filtered = termproxy_env(base_env)
    if not local and not node.online:
        script = 'printf "ssh: connect to host %s port 22: No route to host\\n" "$1" >&2; exit 255'
        return ShellCommand(["/bin/sh", "-c", script, "ssh", node.ip], filtered, "unreachable", line)
    delay = 0.0 if local else options.ssh_latency_ms / 1000.0

    def command(argv: list[str], env_vars: dict[str, str], kind: str, steps: LoginSteps, cwd: str | None = None,
                executable: str | None = None) -> ShellCommand:
        return ShellCommand(argv, env_vars, kind, line, cwd, executable, steps, ssh_hop=not local, nested_login=nested, ip=node.ip)

    if not root:
        return command(login_argv(node.name, "node"), filtered, "login", LoginSteps(ssh_delay=delay, flush=options.login_flush_input))
    if cmd == "ceph_install":
        script = 'printf "pvesim: installing Ceph is not simulated\\n"; exit 1'
        return command(["/bin/sh", "-c", script], filtered, "ceph", LoginSteps(ssh_delay=delay))
    executable, argv, extra = env.login.program()
    if cmd == "upgrade":
        # pveupgrade --shell: `system('/bin/bash -l')` after the upgrade (bin/pveupgrade:80-83); no login(1), no banner.
        script = ('printf "Starting system upgrade: apt-get dist-upgrade\\nReading package lists... Done\\n'
                  'Building dependency tree... Done\\nCalculating upgrade... Done\\n0 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.\\n\\n'
                  'Your System is up-to-date\\n\\nstarting shell\\n"; "$@"; exit 0')
        bash = env.shell_env(base_env, env.login.program("bash")[2])
        return command(["/bin/sh", "-c", script, "pveupgrade", BASH, "--noprofile", "--posix", "-l"], bash, "upgrade", LoginSteps(ssh_delay=delay),
                       str(env.home))
    if local or nested:
        steps = LoginSteps(ssh_delay=delay, flush=options.login_flush_input, banner=env.banner())
    else:
        # PVE >= 9.2: `ssh -t root@<ip> --` alone is an interactive sshd session: PAM's motd and sshd's
        # PrintLastLog, no login(1) and so no flush.
        steps = LoginSteps(ssh_delay=delay, banner=env.banner(f"from {from_ip}"))
    return command(argv, env.shell_env(base_env, extra), "shell", steps, str(env.home), executable)


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
