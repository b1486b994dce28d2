# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""String formats of the PVE JSON schema (`format` in apidata.json) that the simulator checks."""
from __future__ import annotations

import re
from typing import Callable

from pvesim import network


class FormatError(ValueError):
    """The detail after `invalid format - ` in a 400 error (JSONSchema.pm `check_format`, 2.1)."""


def _regex(pattern: str, message: str) -> Callable[[str], None]:
    compiled = re.compile(pattern)

    def check(value: str) -> None:
        if not compiled.fullmatch(value):
            raise FormatError(message.format(value=value))
    return check


def _list_of(item: Callable[[str], None], separators: str = r"[;,\s]+") -> Callable[[str], None]:
    def check(value: str) -> None:
        for part in re.split(separators, value):
            if part:
                item(part)
    return check


def parse_startup(value: str) -> dict[str, int]:
    """`pve-startup-order`: `[[order=]\\d+][,up=\\d+][,down=\\d+]` (3.9); raises FormatError."""
    result: dict[str, int] = {}
    for part in value.split(","):
        if not part.strip():
            continue
        match = re.fullmatch(r"(?:order=)?(\d+)|(up|down)=(\d+)", part)
        if not match:
            raise FormatError("unable to parse startup options\n")
        if match.group(1) is not None:
            result["order"] = int(match.group(1))
        else:
            result[match.group(2)] = int(match.group(3))
    return result


def _startup(value: str) -> None:
    parse_startup(value)


def _network(value: str) -> None:
    try:
        network.parse_net(value)
    except ValueError as exc:
        raise FormatError(f"format error\n{exc}\n") from exc


_DNS_LABEL = r"[a-zA-Z0-9](?:[a-zA-Z0-9\-]*[a-zA-Z0-9])?"
_CONFIGID = _regex(r"[a-z][a-z0-9_]+", "invalid configuration ID '{value}'\n")
_TAG = _regex(r"(?i:[a-z0-9_][a-z0-9_\-+.]*)", "invalid characters in tag '{value}'\n")

CHECKS: dict[str, Callable[[str], None]] = {
    "pve-node": _regex(r"(?i:[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?)", "value does not look like a valid node name\n"),
    "pve-vmid": _regex(r"[1-9][0-9]{2,8}", "value does not look like a valid VM ID\n"),
    "pve-poolid": _regex(r"[A-Za-z0-9_][A-Za-z0-9_\-]+", "invalid pool ID '{value}'\n"),
    "pve-realm": _regex(r"[A-Za-z][A-Za-z0-9.\-_]+", "value '{value}' does not look like a valid realm\n"),
    "pve-configid": _CONFIGID,
    "pve-configid-list": _list_of(_CONFIGID),
    "pve-startup-order": _startup,
    "pve-tag": _TAG,
    "pve-tag-list": _list_of(_TAG),
    "dns-name": _regex(rf"(?:{_DNS_LABEL}\.)*{_DNS_LABEL}", "value does not look like a valid DNS name\n"),
    "pve-lxc-network": _network,
}
"""Formats without an entry here are accepted unchecked (documented in README.md)."""


def check_format(fmt: str, value: str) -> None:
    """Raise FormatError when `value` does not match the named format."""
    check = CHECKS.get(fmt)
    if check is not None:
        check(value)
