# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Package managers of the simulated containers: apt-get, apt, dpkg, dpkg-query, apk, dnf, yum, rpm and pacman.

One script, run inside the container's sandbox: ctfs.py copies it to /usr/local/lib/pvesim/pkgtool and
links the commands of the container's distribution to it in /usr/local/bin (pvesim/distros.py); it
is what `argv[0]` names, for the distribution `/etc/os-release` names. Nothing is downloaded: a small
catalogue per distribution stands in for the repositories. The package database is one file,
`/var/lib/pvesim/packages` (`name version` lines, sorted): the query commands answer from it and the
install commands add to it, so a test reads exactly what the probes of a playbook read.

Installing a package writes a few plausible files (openssh-server: /etc/ssh/sshd_config, a `sshd`
marker, its systemd unit or OpenRC script) under /etc or /usr/local, since the machine's /usr is
read-only in the sandbox. Like the real packages, Debian's openssh-server enables and starts its
service (when systemd runs) and Fedora's is enabled by the distribution's preset; through the
container's `systemctl` (tools/svctool.py). The catalogue is pvesim/packages.py, baked into
`_CONFIG_JSON` by pvesim.tools.install(). Standard library only.
"""
from __future__ import annotations

import fcntl
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from typing import Any, Callable

_CONFIG_JSON = "{}"  # replaced by pvesim.tools.install()

RECORD = "/var/lib/pvesim/packages"
LOCK = "/var/lib/pvesim/lock"
APT_LISTS = "/var/lib/apt/lists"
PACMAN_SYNC = "/var/lib/pacman/sync"
UNIT_DIR = "/usr/local/lib/systemd/system"
"""A directory systemd really searches; /lib/systemd/system is the machine's in the sandbox."""


@dataclass(frozen=True)
class Package:
    """A package the repositories of a distribution offer."""

    version: str
    depends: tuple[str, ...] = ()
    files: tuple[str, ...] = ()
    """Keys of the configuration's `files` this package writes."""
    service: str = ""
    """The systemd unit or OpenRC service it ships."""


@dataclass(frozen=True)
class Catalogue:
    """A distribution's repositories and fresh-install state (pvesim/packages.py)."""

    arch: str
    base: dict[str, str]
    """What a fresh container has installed: name -> version."""
    packages: dict[str, Package]
    mirror: str
    on_install: str = ""
    """What installing a package with a service does to it: `start` (Debian policy), `preset` (Fedora's enables sshd) or nothing."""
    suite: str = ""


def _catalogues(config: dict[str, Any]) -> dict[str, Catalogue]:
    found = {}
    for key, entry in dict(config.get("catalogues", {})).items():
        packages = {name: Package(str(p["version"]), tuple(p["depends"]), tuple(p["files"]), str(p["service"]))
                    for name, p in dict(entry["packages"]).items()}
        found[key] = Catalogue(str(entry["arch"]), dict(entry["base"]), packages, str(entry["mirror"]), str(entry["on_install"]),
                               str(entry["suite"]))
    return found


CONFIG: dict[str, Any] = json.loads(_CONFIG_JSON)
CATALOGUES = _catalogues(CONFIG)
"""By os-release `ID`, from the configuration (pvesim/packages.py)."""
FILES: dict[str, dict[str, Any]] = dict(CONFIG.get("files", {}))


class Failure(Exception):
    """The command's error: `message` to stderr, exit `status`."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def os_id(path: str = "/etc/os-release") -> str:
    """`ID` of the container's os-release (the catalogue to use); unknown ones count as Debian."""
    try:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("ID="):
                    found = line[3:].strip().strip('"')
                    return found if found in CATALOGUES else "debian"
    except OSError:
        pass
    return "debian"


def render_record(installed: dict[str, str]) -> str:
    """`name version` lines, sorted by name."""
    return "".join(f"{name} {installed[name]}\n" for name in sorted(installed))


class Database:
    """The container's package database and its repositories (the catalogue)."""

    def __init__(self, distribution: str) -> None:
        self.distribution = distribution
        self.catalogue = CATALOGUES[distribution]
        self.installed: dict[str, str] = {}
        self._lock_fd: int | None = None
        self.load()

    def load(self) -> None:
        """Read the record; a container created before the record existed has the base set."""
        try:
            with open(RECORD, encoding="utf-8") as handle:
                lines = handle.read().splitlines()
            self.installed = {}
            for line in lines:
                name, _sep, version = line.partition(" ")
                if version:
                    self.installed[name] = version
        except FileNotFoundError:
            self.installed = dict(self.catalogue.base)

    def lock(self) -> None:
        """Serialise changes, as dpkg's and rpm's locks do (the second installer waits)."""
        os.makedirs(os.path.dirname(LOCK), exist_ok=True)
        self._lock_fd = os.open(LOCK, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        self.load()

    def resolve(self, targets: list[str]) -> tuple[list[str], list[str]]:
        """(packages to install, dependencies first; targets the repositories do not have)."""
        unknown = [name for name in targets if name not in self.catalogue.packages]
        order: list[str] = []

        def visit(name: str) -> None:
            if name in order or name in self.installed:
                return
            for dependency in self.catalogue.packages[name].depends:
                visit(dependency)
            order.append(name)

        for name in targets:
            if name not in unknown:
                visit(name)
        return order, unknown

    def install(self, names: list[str]) -> None:
        """Write the packages' files and record them, then run what their maintainer scripts would."""
        for name in names:
            package = self.catalogue.packages[name]
            for key in package.files:
                path, mode, text = FILES[key]["path"], FILES[key]["mode"], FILES[key]["text"]
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "w", encoding="utf-8") as handle:
                    handle.write(text)
                os.chmod(path, mode)
            self.installed[name] = package.version
        os.makedirs(os.path.dirname(RECORD), exist_ok=True)
        temp = f"{RECORD}.tmp"
        with open(temp, "w", encoding="utf-8") as handle:
            handle.write(render_record(self.installed))
        os.replace(temp, RECORD)
        for name in names:
            service = self.catalogue.packages[name].service
            if service and self.catalogue.on_install and os.path.isdir("/run/systemd/system"):
                argv = ["systemctl", "enable", "--now", service] if self.catalogue.on_install == "start" else ["systemctl", "preset", service]
                subprocess.run(argv, check=False)

    def version(self, name: str) -> str:
        """Installed version, else the repositories'."""
        return self.installed.get(name) or self.catalogue.packages[name].version


# ------------------------------------------------------------------------------------------- dpkg, apt

def _split_flags(argv: list[str], valued: tuple[str, ...] = ()) -> tuple[list[str], list[str]]:
    """(options, operands); options in `valued` take the next argument too."""
    options: list[str] = []
    operands: list[str] = []
    index = 0
    while index < len(argv):
        arg = argv[index]
        if arg in valued and index + 1 < len(argv):
            options += [arg, argv[index + 1]]
            index += 2
            continue
        (options if arg.startswith("-") and arg != "-" else operands).append(arg)
        index += 1
    return options, operands


def _confirm(prompt: str) -> bool:
    """Ask on stdin like the real tools; end of input is a no."""
    sys.stdout.write(prompt)
    sys.stdout.flush()
    answer = sys.stdin.readline()
    sys.stdout.write("\n")
    return bool(answer) and answer.strip().lower() in ("", "y", "yes")


def apt_get(db: Database, argv: list[str], command: str) -> int:
    """`apt-get [-y] [-q] [--no-install-recommends] update|install <pkg>...` (also as `apt`)."""
    if command == "apt":
        sys.stderr.write("\nWARNING: apt does not have a stable CLI interface. Use with caution in scripts.\n\n")
    options, operands = _split_flags(argv, ("-o",))
    if not operands:
        raise Failure("E: No operation specified", 100)
    quiet = sum(opt.count("q") for opt in options if re.fullmatch(r"-q+", opt)) + options.count("--quiet")
    assume_yes = any(opt in ("-y", "--yes", "--assume-yes") or re.fullmatch(r"-[a-z]*y[a-z]*", opt) for opt in options)
    operation, names = operands[0], operands[1:]
    lists = os.path.join(APT_LISTS, db.catalogue.mirror.split("//", 1)[1].replace("/", "_") + f"_dists_{db.catalogue.suite}_InRelease")
    if operation == "update":
        db.lock()
        if quiet < 2:
            print(f"Get:1 {db.catalogue.mirror} {db.catalogue.suite} InRelease [151 kB]")
            print(f"Get:2 {db.catalogue.mirror} {db.catalogue.suite}/main amd64 Packages [8789 kB]")
            print("Fetched 8940 kB in 1s (8940 kB/s)\nReading package lists...")
        os.makedirs(APT_LISTS, exist_ok=True)
        with open(lists, "w", encoding="utf-8") as handle:
            handle.write(f"Origin: {db.distribution}\nSuite: {db.catalogue.suite}\n")
        return 0
    if operation != "install":
        raise Failure(f"E: Invalid operation {operation}", 100)
    db.lock()
    if quiet < 2:
        print("Reading package lists...\nBuilding dependency tree...\nReading state information...")
    if not names:
        print("0 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.")
        return 0
    # A fresh container has no package lists: nothing can be located until `apt-get update`.
    new, unknown = db.resolve(names) if os.path.exists(lists) else ([], names)
    if unknown:
        raise Failure(f"E: Unable to locate package {unknown[0]}", 100)
    for name in names:
        if name not in new:
            print(f"{name} is already the newest version ({db.version(name)}).")
    if new:
        print("The following NEW packages will be installed:\n  " + " ".join(new))
    print(f"0 upgraded, {len(new)} newly installed, 0 to remove and 0 not upgraded.")
    if not new:
        return 0
    if not assume_yes and not _confirm("Do you want to continue? [Y/n] "):
        print("Abort.")
        return 1
    if os.environ.get("DEBIAN_FRONTEND") != "noninteractive":
        sys.stderr.write("debconf: unable to initialize frontend: Dialog\ndebconf: falling back to frontend: Readline\n")
    for name in new:
        print(f"Selecting previously unselected package {name}.\nUnpacking {name} ({db.version(name)}) ...")
    for name in new:
        print(f"Setting up {name} ({db.version(name)}) ...")
    sys.stdout.flush()
    db.install(new)
    return 0


_DPKG_FIELDS: dict[str, Callable[[Database, str], str]] = {
    "Package": lambda db, name: name,
    "binary:Package": lambda db, name: name,
    "Version": lambda db, name: db.installed[name],
    "Architecture": lambda db, name: db.catalogue.arch,
    "Status": lambda db, name: "install ok installed",
    "db:Status-Status": lambda db, name: "installed",
    "db:Status-Abbrev": lambda db, name: "ii ",
}


def _dpkg_format(db: Database, fmt: str, name: str) -> str:
    """dpkg-query's --showformat: ${Field} (unknown fields are empty) and \\n, \\t, \\\\ escapes."""
    text = re.sub(r"\$\{([^}]+)\}", lambda m: _DPKG_FIELDS.get(m.group(1), lambda d, n: "")(db, name), fmt)
    return text.replace("\\n", "\n").replace("\\t", "\t").replace("\\\\", "\\")


_DPKG_ACTIONS = {"-W": "show", "--show": "show", "-s": "status", "--status": "status", "-l": "list", "--list": "list"}


def dpkg_query(db: Database, argv: list[str], command: str) -> int:
    """`dpkg-query -W [-f FORMAT] [pkg...]`, `-s pkg...`, `-l [pkg...]`; `dpkg -s|-l` is the same."""
    fmt = "${binary:Package}\t${Version}\n"
    action = ""
    names: list[str] = []
    index = 0
    while index < len(argv):
        arg = argv[index]
        index += 1
        if arg in _DPKG_ACTIONS:
            action = _DPKG_ACTIONS[arg]
        elif arg in ("-f", "--showformat") and index < len(argv):
            fmt, index = argv[index], index + 1
        elif arg.startswith("--showformat="):
            fmt = arg.split("=", 1)[1]
        elif arg.startswith("-f") and len(arg) > 2:
            fmt = arg[2:]
        elif arg.startswith("-"):
            raise Failure(f"{command}: error: unknown option {arg}\n\nUse --help for help about querying packages.", 2)
        else:
            names.append(arg)
    if not action or (command == "dpkg" and action == "show"):
        raise Failure(f"{command}: error: need an action option\n\nUse --help for help about querying packages.", 2)
    status = 0
    if action == "status":
        if not names:
            raise Failure(f"{command}: error: --status needs at least one package name argument", 2)
        for name in names:
            if name not in db.installed:
                sys.stderr.write(f"dpkg-query: package '{name}' is not installed and no information is available\n")
                status = 1
                continue
            print(f"Package: {name}\nStatus: install ok installed\nArchitecture: {db.catalogue.arch}\nVersion: {db.installed[name]}\n")
        if status:
            sys.stderr.write("Use dpkg --info (= dpkg-deb --info) to examine archive files.\n")
        return status
    selected = names or sorted(db.installed)
    if action == "list":
        print("Desired=Unknown/Install/Remove/Purge/Hold\n||/ Name           Version      Architecture Description\n"
              "+++-==============-============-============-=================")
    for name in selected:
        if name not in db.installed:
            sys.stderr.write(f"dpkg-query: no packages found matching {name}\n")
            status = 1
        elif action == "list":
            print(f"ii  {name:<14} {db.installed[name]:<12} {db.catalogue.arch:<12} {name}")
        else:
            sys.stdout.write(_dpkg_format(db, fmt, name))
    return status


# ------------------------------------------------------------------------------------------------- apk

def apk(db: Database, argv: list[str], command: str) -> int:
    """`apk add [--no-cache] <pkg>...`, `apk info [-e <pkg>...]`, `apk update`."""
    options, operands = _split_flags(argv)
    if not operands:
        raise Failure("apk-tools 2.14.4, compiled for x86_64.\n\nusage: apk [<OPTIONS>...] COMMAND [<ARGUMENTS>...]", 1)
    applet, names = operands[0], operands[1:]
    quiet = "-q" in options or "--quiet" in options
    indexes = [f"{db.catalogue.mirror}/{repo}/x86_64/APKINDEX.tar.gz" for repo in ("main", "community")]
    if applet == "info":
        if "-e" in options or "--installed" in options:
            present = [name for name in names if name in db.installed]
            for name in present:
                print(name)
            return 0 if len(present) == len(names) else 1
        for name in names or sorted(db.installed):
            if name in db.installed:
                print(name)
        return 0
    if applet == "update":
        for url in indexes:
            print(f"fetch {url}")
        print("v3.20.3-400-g1d0e8d0 [https://dl-cdn.alpinelinux.org/alpine/v3.20/main]\nOK: 24170 distinct packages available")
        return 0
    if applet != "add":
        raise Failure(f"apk: applet '{applet}' is not simulated by pvesim", 1)
    db.lock()
    if not quiet:
        for url in indexes:
            print(f"fetch {url}")
    new, unknown = db.resolve(names)
    if unknown:
        details = "".join(f"  {name} (no such package):\n    required by: world[{name}]\n" for name in unknown)
        raise Failure(f"ERROR: unable to select packages:\n{details}".rstrip("\n"), len(unknown))
    for number, name in enumerate(new, 1):
        print(f"({number}/{len(new)}) Installing {name} ({db.version(name)})")
    sys.stdout.flush()
    db.install(new)
    print(f"OK: {8 + 3 * len(db.installed)} MiB in {len(db.installed)} packages")
    return 0


# ------------------------------------------------------------------------------------------- dnf, rpm

def dnf(db: Database, argv: list[str], command: str) -> int:
    """`dnf|yum install [-y] <pkg>...`, `makecache`."""
    options, operands = _split_flags(argv)
    if not operands:
        raise Failure(f"{command}: error: No command given", 1)
    operation, names = operands[0], operands[1:]
    if operation == "makecache":
        print("Metadata cache created.")
        return 0
    if operation != "install":
        raise Failure(f"No such command: {operation}. Please use /usr/bin/{command} --help", 1)
    db.lock()
    assume_yes = "-y" in options or "--assumeyes" in options
    print("Last metadata expiration check: 0:00:01 ago.")
    new, unknown = db.resolve(names)
    if unknown:
        for name in unknown:
            print(f"No match for argument: {name}")
        raise Failure(f"Error: Unable to find a match: {' '.join(unknown)}", 1)
    for name in names:
        if name in db.installed:
            print(f"Package {name}-{db.installed[name]}.{db.catalogue.arch} is already installed.")
    print("Dependencies resolved.")
    if not new:
        print("Nothing to do.\nComplete!")
        return 0
    print("Installing:\n" + "".join(f" {name:<20} {db.catalogue.arch:<8} {db.version(name):<20} updates\n" for name in new))
    print(f"Transaction Summary\nInstall  {len(new)} Package{'s' if len(new) > 1 else ''}\n")
    if not assume_yes and not _confirm("Is this ok [y/N]: "):
        print("Operation aborted.")
        return 1
    for number, name in enumerate(new, 1):
        print(f"  Installing       : {name}-{db.version(name)}.{db.catalogue.arch}    {number}/{len(new)}")
    sys.stdout.flush()
    db.install(new)
    print("Complete!")
    return 0


def rpm(db: Database, argv: list[str], command: str) -> int:
    """`rpm -q [--quiet] <pkg>...` and `rpm -qa`: the exit status counts the packages not installed."""
    options, names = _split_flags(argv)
    if not any(opt == "--query" or re.fullmatch(r"-q[a-z]*", opt) for opt in options):
        raise Failure("rpm: pvesim simulates only queries (-q)", 1)
    quiet = "--quiet" in options
    if any(re.fullmatch(r"-q?a", opt) for opt in options) or "--all" in options:
        for name in sorted(db.installed):
            print(f"{name}-{db.installed[name]}.{db.catalogue.arch}")
        return 0
    if not names:
        raise Failure("rpm: no arguments given for query", 1)
    missing = 0
    for name in names:
        if name in db.installed:
            if not quiet:
                print(f"{name}-{db.installed[name]}.{db.catalogue.arch}")
        else:
            missing += 1
            if not quiet:
                print(f"package {name} is not installed")
    return min(missing, 255)


# ---------------------------------------------------------------------------------------------- pacman

def pacman(db: Database, argv: list[str], command: str) -> int:
    """`pacman -S[y][u] [--noconfirm] [--needed] <pkg>...` and `pacman -Q[q] [pkg...]`."""
    letters = "".join(arg[1:] for arg in argv if arg.startswith("-") and not arg.startswith("--"))
    longs = {arg for arg in argv if arg.startswith("--")}
    names = [arg for arg in argv if not arg.startswith("-")]
    if "Q" in letters:
        status = 0
        for name in names or sorted(db.installed):
            if name in db.installed:
                print(name if "q" in letters else f"{name} {db.installed[name]}")
            else:
                sys.stderr.write(f"error: package '{name}' was not found\n")
                status = 1
        return status
    if "S" not in letters:
        raise Failure("error: no operation specified (use -h for help)", 1)
    db.lock()
    if "y" in letters or "--refresh" in longs:
        print(":: Synchronizing package databases...")
        os.makedirs(PACMAN_SYNC, exist_ok=True)
        for repo in ("core", "extra"):
            print(f" {repo} downloading...")
            with open(os.path.join(PACMAN_SYNC, f"{repo}.db"), "w", encoding="utf-8") as handle:
                handle.write(f"{db.catalogue.mirror}/{repo}\n")
    if "u" in letters or "--sysupgrade" in longs:
        print(":: Starting full system upgrade...")
    # Without synchronised databases nothing can be found (a fresh container needs -y once).
    synced = os.path.exists(os.path.join(PACMAN_SYNC, "core.db"))
    new, unknown = db.resolve(names) if synced else ([], names)
    if unknown:
        raise Failure("".join(f"error: target not found: {name}\n" for name in unknown).rstrip("\n"), 1)
    for name in names:
        if name in db.installed:
            verb = "skipping" if "--needed" in longs else "reinstalling"
            sys.stderr.write(f"warning: {name}-{db.installed[name]} is up to date -- {verb}\n")
    if not new:
        print(" there is nothing to do")
        return 0
    print("resolving dependencies...\nlooking for conflicting packages...\n")
    print(f"Packages ({len(new)}) " + "  ".join(f"{name}-{db.version(name)}" for name in new) + "\n")
    if "--noconfirm" in longs:
        print(":: Proceed with installation? [Y/n] ")
    elif not _confirm(":: Proceed with installation? [Y/n] "):
        return 1
    for number, name in enumerate(new, 1):
        print(f"({number}/{len(new)}) installing {name}")
    sys.stdout.flush()
    db.install(new)
    return 0


COMMANDS: dict[str, Callable[[Database, list[str], str], int]] = {
    "apt-get": apt_get, "apt": apt_get, "dpkg-query": dpkg_query, "dpkg": dpkg_query,
    "apk": apk, "dnf": dnf, "yum": dnf, "rpm": rpm, "pacman": pacman,
}


def main(argv: list[str] | None = None) -> int:
    """Entry point: the command is the name this script was run as."""
    args = sys.argv if argv is None else argv
    command = os.path.basename(args[0])
    handler = COMMANDS.get(command)
    if handler is None:
        sys.stderr.write(f"pkgtool: run me as one of {', '.join(sorted(COMMANDS))}\n")
        return 2
    try:
        return handler(Database(os_id()), list(args[1:]), command)
    except Failure as exc:
        sys.stdout.flush()
        sys.stderr.write(f"{exc}\n")
        return exc.status


if __name__ == "__main__":
    sys.exit(main())
