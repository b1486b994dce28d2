# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Container config view, digest and updates (`GET`/`PUT .../lxc/{vmid}/config`, 3.9)."""
from __future__ import annotations

import hashlib
import re
from typing import Any, Mapping

from pvesim import network
from pvesim.errors import ApiError, die, param_error
from pvesim.model import Guest

INT_KEYS = frozenset(("cores", "cpuunits", "memory", "swap", "tty"))
NUM_KEYS = frozenset(("cpulimit",))
BOOL_KEYS = frozenset(("console", "debug", "onboot", "protection", "template", "unprivileged"))
# Keys of the PUT call that are not config options.
NON_CONFIG_PARAMS = frozenset(("node", "vmid", "delete", "revert", "digest"))


def config_text(config: Mapping[str, Any]) -> str:
    """The config file as PVE writes it (`key: value` lines, sorted); the digest is its SHA1 (3.9)."""
    return "".join(f"{key}: {config[key]}\n" for key in sorted(config))


def digest(config: Mapping[str, Any]) -> str:
    """SHA1 hex of the config file text."""
    return hashlib.sha1(config_text(config).encode("utf-8")).hexdigest()


def typed_view(config: Mapping[str, Any], int_keys: frozenset[str], num_keys: frozenset[str]) -> dict[str, Any]:
    """The flat config as the API returns it, plus `digest` (containers and VMs alike, 2.2).

    Integers (and 0/1 booleans) for `int_keys`, numbers for `num_keys`, strings for everything
    else. No pending section is modelled, so `current` changes nothing.
    """
    view: dict[str, Any] = {}
    for key, value in config.items():
        if key in int_keys:
            view[key] = int(value)
        elif key in num_keys:
            number = float(value)
            view[key] = int(number) if number.is_integer() else number
        else:
            view[key] = str(value)
    view["digest"] = digest(config)
    return view


def api_view(guest: Guest) -> dict[str, Any]:
    """`GET .../lxc/{vmid}/config`."""
    return typed_view(guest.config, INT_KEYS | BOOL_KEYS, NUM_KEYS)


def check_lock(guest: Guest) -> None:
    """AbstractConfig `check_lock`: `CT is locked (backup)` as a plain die -> 500 (3.9)."""
    if guest.lock:
        raise die(f"CT is locked ({guest.lock})")


def update(guest: Guest, params: Mapping[str, Any]) -> None:
    """Apply a validated PUT. Order as in LXC/Config.pm: lock check, digest, then changes (3.9)."""
    changes = {k: v for k, v in params.items() if k not in NON_CONFIG_PARAMS}
    deletes = [d for d in re.split(r"[,;\s]+", str(params.get("delete", ""))) if d]
    if not changes and not deletes and "revert" not in params:
        raise die("no options specified")
    check_lock(guest)
    wanted = params.get("digest")
    if wanted and wanted != digest(guest.config):
        raise die("detected modified configuration - file changed by other user? Try again.")
    both = [d for d in deletes if d in changes]
    if both:
        raise param_error({"delete": f"you can't use '-{both[0]}' and '-delete {both[0]}' at the same time"})
    new_values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for key, value in changes.items():
        if re.fullmatch(r"net\d+", key):
            try:
                new_values[key] = network.normalise_net(str(value), guest.vmid, int(key[3:]))
            except ValueError as exc:
                errors[key] = f"invalid format - format error\n{key}.{exc}\n"
        else:
            new_values[key] = value
    if errors:
        raise param_error(errors)
    for key in deletes:
        if key == "rootfs":
            raise param_error({"delete": "unable to delete required option 'rootfs'"})
        guest.config.pop(key, None)
    guest.config.update(new_values)


def ct_conf_missing(node: str, vmid: int) -> ApiError:
    """`Configuration file 'nodes/<node>/lxc/<vmid>.conf' does not exist` -> 500 (2.1, 3.5)."""
    return die(f"Configuration file 'nodes/{node}/lxc/{vmid}.conf' does not exist")
