# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Service managers of the simulated containers: `systemctl`, and OpenRC's `rc-update` and `rc-service`.

Copied into containers like tools/pkgtool.py and run as the name it was linked as. Nothing runs a
service; the state lives where the real managers keep it, so what a test finds is what a real
container would show: systemd's enablement is the `WantedBy=` symlink in
/etc/systemd/system/<target>.wants/ (aliases as /etc/systemd/system/<alias>), OpenRC's the
/etc/runlevels/<runlevel>/<service> symlink; running services are marked in /run/pvesim/active/
(systemd) and /run/openrc/started/ (OpenRC). Units are looked up in /etc/systemd/system, /run/systemd/system
and /usr/local/lib/systemd/system only: /lib/systemd/system is the machine's in the sandbox.
Standard library only.
"""
from __future__ import annotations

import os
import sys
from typing import Callable

_CONFIG_JSON = "{}"  # replaced by pvesim.tools.install()

ETC_UNITS = "/etc/systemd/system"
UNIT_DIRS = (ETC_UNITS, "/run/systemd/system", "/usr/local/lib/systemd/system")
ACTIVE_DIR = "/run/pvesim/active"
OPENRC_RUN = "/run/openrc"
INIT_D = "/etc/init.d"
RUNLEVELS = "/etc/runlevels"


class Failure(Exception):
    """The command's error: `message` to stderr, exit `status`."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


# ----------------------------------------------------------------------------------------------- systemd

def unit_name(name: str) -> str:
    """`ssh` -> `ssh.service`, as systemctl completes names without a type."""
    return name if "." in name else f"{name}.service"


def find_unit(unit: str) -> str | None:
    """The unit file, following an alias symlink in /etc/systemd/system."""
    for directory in UNIT_DIRS:
        path = os.path.join(directory, unit)
        if os.path.exists(path):
            return os.path.realpath(path) if os.path.islink(path) else path
    return None


def install_section(path: str) -> dict[str, list[str]]:
    """`WantedBy=` and `Alias=` of a unit file's [Install] section."""
    found: dict[str, list[str]] = {"WantedBy": [], "Alias": []}
    section = ""
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            line = line.strip()
            if line.startswith("["):
                section = line
            elif section == "[Install]" and "=" in line:
                key, value = line.split("=", 1)
                if key in found:
                    found[key] += value.split()
    return found


def _links(unit: str, path: str) -> list[str]:
    """The symlinks `systemctl enable` creates for a unit."""
    install = install_section(path)
    return [os.path.join(ETC_UNITS, f"{target}.wants", unit) for target in install["WantedBy"]] + [
        os.path.join(ETC_UNITS, alias) for alias in install["Alias"]]


def _state(unit: str) -> tuple[str, str, str]:
    """(the real unit name, its file, `enabled|disabled|static|alias`); Failure when there is no such unit."""
    path = find_unit(unit)
    if path is None:
        raise Failure(f"Failed to get unit file state for {unit}: No such file or directory", 1)
    real = os.path.basename(path)
    if real != unit:
        return real, path, "alias"
    links = _links(real, path)
    if not links:
        return real, path, "static"
    wants = [link for link in links if ".wants/" in link]
    return real, path, "enabled" if any(os.path.lexists(link) for link in wants) else "disabled"


def _set_active(unit: str, active: bool) -> None:
    marker = os.path.join(ACTIVE_DIR, unit)
    if active:
        os.makedirs(ACTIVE_DIR, exist_ok=True)
        with open(marker, "w", encoding="utf-8"):
            pass
    elif os.path.exists(marker):
        os.unlink(marker)


def systemctl(argv: list[str]) -> int:
    """`systemctl is-enabled|is-active|enable [--now]|disable [--now]|start|stop|restart|preset|daemon-reload <unit>...`."""
    flags = {arg for arg in argv if arg.startswith("-")}
    words = [arg for arg in argv if not arg.startswith("-")]
    if not os.path.isdir("/run/systemd/system"):
        raise Failure("System has not been booted with systemd as init system (PID 1). Can't operate.\nFailed to connect to bus: Host is down", 1)
    if not words:
        raise Failure("Too few arguments.", 1)
    verb, units = words[0], [unit_name(name) for name in words[1:]]
    quiet = "-q" in flags or "--quiet" in flags
    if verb == "daemon-reload":
        return 0
    if not units:
        raise Failure("Too few arguments.", 1)
    status = 0
    for unit in units:
        if verb == "is-enabled":
            try:
                state = _state(unit)[2]
            except Failure as exc:
                sys.stderr.write(f"{exc}\n")
                status = 1
                continue
            if not quiet:
                print(state)
            status = status or (0 if state in ("enabled", "static", "alias") else 1)
        elif verb == "is-active":
            path = find_unit(unit)
            active = path is not None and os.path.exists(os.path.join(ACTIVE_DIR, os.path.basename(path)))
            if not quiet:
                print("active" if active else "inactive")
            status = status or (0 if active else 3)
        elif verb in ("enable", "preset", "disable"):
            path = find_unit(unit)
            if path is None:
                raise Failure(f"Failed to {'disable' if verb == 'disable' else 'enable'} unit: Unit file {unit} does not exist.", 1)
            real = os.path.basename(path)
            for link in _links(real, path):
                if verb == "disable" and os.path.lexists(link):
                    os.unlink(link)
                    sys.stderr.write(f'Removed "{link}".\n')
                elif verb != "disable" and not os.path.lexists(link):
                    os.makedirs(os.path.dirname(link), exist_ok=True)
                    os.symlink(path, link)
                    sys.stderr.write(f"Created symlink {link} \u2192 {path}.\n")
            if "--now" in flags:
                _set_active(real, verb != "disable")
        elif verb in ("start", "stop", "restart"):
            path = find_unit(unit)
            if path is None:
                raise Failure(f"Failed to {verb} {unit}: Unit {unit} not found.", 5)
            _set_active(os.path.basename(path), verb != "stop")
        else:
            raise Failure(f"Unknown command verb '{verb}'.", 1)
    return status


# ------------------------------------------------------------------------------------------------ OpenRC

def _openrc_running() -> None:
    if not os.path.isdir(OPENRC_RUN):
        raise Failure(" * You are attempting to run an openrc service on a\n * system which openrc did not boot.", 1)


def rc_update(argv: list[str]) -> int:
    """`rc-update add|del <service> [runlevel]`, `rc-update [show] [runlevel]`."""
    words = [arg for arg in argv if not arg.startswith("-")]
    verb = words[0] if words else "show"
    if verb == "show" or verb not in ("add", "del", "delete"):
        levels = words[1:] if verb == "show" else words
        found: dict[str, list[str]] = {}
        for level in sorted(os.listdir(RUNLEVELS)) if os.path.isdir(RUNLEVELS) else []:
            if levels and level not in levels:
                continue
            for service in os.listdir(os.path.join(RUNLEVELS, level)):
                found.setdefault(service, []).append(level)
        for service in sorted(found):
            print(f" {service:>20} | {' '.join(sorted(found[service]))}")
        return 0
    if len(words) < 2:
        raise Failure(" * rc-update: no service specified", 1)
    service, level = words[1], words[2] if len(words) > 2 else "default"
    link = os.path.join(RUNLEVELS, level, service)
    if verb == "add":
        if not os.path.exists(os.path.join(INIT_D, service)):
            raise Failure(f" * rc-update: service `{service}' does not exist", 1)
        if os.path.lexists(link):
            sys.stderr.write(f" * rc-update: {service} already installed in runlevel `{level}'; skipping\n")
            return 0
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(os.path.join(INIT_D, service), link)
        print(f" * service {service} added to runlevel {level}")
        return 0
    if not os.path.lexists(link):
        raise Failure(f" * rc-update: service `{service}' is not in the runlevel `{level}'", 1)
    os.unlink(link)
    print(f" * service {service} removed from runlevel {level}")
    return 0


def rc_service(argv: list[str]) -> int:
    """`rc-service <service> start|stop|restart|status`."""
    words = [arg for arg in argv if not arg.startswith("-")]
    if len(words) < 2:
        raise Failure("Usage: rc-service [options] service cmd...", 1)
    service, verb = words[0], words[1]
    if not os.path.exists(os.path.join(INIT_D, service)):
        raise Failure(f" * rc-service: service `{service}' does not exist", 1)
    _openrc_running()
    marker = os.path.join(OPENRC_RUN, "started", service)
    if verb == "status":
        started = os.path.lexists(marker)
        print(f" * status: {'started' if started else 'stopped'}")
        return 0 if started else 3
    if verb in ("start", "restart"):
        os.makedirs(os.path.dirname(marker), exist_ok=True)
        if not os.path.lexists(marker):
            os.symlink(os.path.join(INIT_D, service), marker)
        print(f" * Starting {service} ... [ ok ]")
        return 0
    if verb == "stop":
        if os.path.lexists(marker):
            os.unlink(marker)
        print(f" * Stopping {service} ... [ ok ]")
        return 0
    raise Failure(f" * {service}: unknown function `{verb}'", 1)


COMMANDS: dict[str, Callable[[list[str]], int]] = {"systemctl": systemctl, "rc-update": rc_update, "rc-service": rc_service}


def main(argv: list[str] | None = None) -> int:
    """Entry point: the command is the name this script was run as."""
    args = sys.argv if argv is None else argv
    handler = COMMANDS.get(os.path.basename(args[0]))
    if handler is None:
        sys.stderr.write(f"svctool: run me as one of {', '.join(sorted(COMMANDS))}\n")
        return 2
    try:
        return handler(list(args[1:]))
    except Failure as exc:
        sys.stderr.write(f"{exc}\n")
        return exc.status


if __name__ == "__main__":
    sys.exit(main())
