# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Proxmox VE release profiles (`--pve-version`): the package versions of one release and what differs because of them.

A profile names the pve-manager, pve-container and qemu-server versions of a release; every behaviour that
changed between the releases users run side by side (8.1 to 9.2) is a named property computed from those
versions, with the commit that changed it. Handlers ask the profile (`services.profile.<flag>`), never the
version string. Sources: the mirrored proxmox/pve-manager, pve-container and qemu-server repositories
(`git log`, `debian/changelog`, `debian/control` at each `bump version to X` commit).
"""
from __future__ import annotations

import dataclasses
import re

from dataclasses import dataclass


def version_tuple(text: str) -> tuple[int, ...]:
    """`9.0.13` -> (9, 0, 13); Debian revisions and suffixes (`4.4-4`, `9.1.4.1`) compare by their numbers."""
    parts: list[int] = []
    for piece in text.replace("-", ".").split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


@dataclass(frozen=True)
class PveVersion:
    """One Proxmox VE release as the simulator plays it."""

    name: str
    """The `--pve-version` name (`8.1`, `8.4`, `9.0`, `9.1`, `9.2.4`, `9.2.11`)."""
    manager: str
    """pve-manager version: `/version` and `pveversion`."""
    repoid: str
    """First 16 hex digits of the pve-manager commit the package was built from (`bump version to <manager>`)."""
    container: str
    """pve-container version shipped with it."""
    qemu_server: str
    """qemu-server version shipped with it."""
    ha_manager: str
    """pve-ha-manager version shipped with it."""
    kernel_release: str
    kernel_version: str
    """The proxmox-kernel of the release (representative build; only its series matters)."""

    @property
    def release(self) -> str:
        """`/version` `release`: major.minor."""
        return ".".join(self.manager.split(".")[:2])

    @property
    def major(self) -> int:
        """8 (Debian bookworm) or 9 (Debian trixie)."""
        return version_tuple(self.manager)[0]

    # --- what differs -------------------------------------------------------------------------------

    @property
    def interfaces_proxyto(self) -> bool:
        """`GET .../lxc/{vmid}/interfaces` is proxied to the CT's node: pve-container 5.2.0 (8b967af, "fix #5674").

        Before (5.0.6 .. 5.1.x, PVE 8.1/8.2) the node that answers runs `find_lxc_pid` for a CT it does not
        host and answers `null` (LXC.pm `get_interfaces`: `return if $@`).
        """
        return version_tuple(self.container) >= (5, 2, 0)

    @property
    def interfaces_ip_addresses(self) -> bool:
        """`/interfaces` entries carry `hardware-address` and `ip-addresses` besides `hwaddr`/`inet`/`inet6`:
        pve-container 5.2.6 (5f9f011, "api: return all addresses of an interface", fixes #5339)."""
        return version_tuple(self.container) >= (5, 2, 6)

    @property
    def guest_agent_privs(self) -> tuple[str, ...]:
        """Privileges of the read-only guest-agent calls (`network-get-interfaces`): qemu-server 9.0.3 (b92a40ce)
        replaced the default `VM.Monitor` with `VM.GuestAgent.Audit` or `VM.GuestAgent.Unrestricted` (any)."""
        if version_tuple(self.qemu_server) >= (9, 0, 3):
            return ("VM.GuestAgent.Audit", "VM.GuestAgent.Unrestricted")
        return ("VM.Monitor",)

    @property
    def ha_status_group(self) -> bool:
        """`status/current` `ha` names the HA group: until pve-ha-manager 5.0.7 (86c4db1 "remove groups field from
        service status data"; groups became rules in PVE 9)."""
        return version_tuple(self.ha_manager) < (5, 0, 7)

    @property
    def termproxy_allows_tokens(self) -> bool:
        """A token may call `POST /nodes/{node}/termproxy` (and its vncwebsocket): pve-manager 9.0.13 (49395b74).

        Before, both started with `verify_username($rpcenv->get_user())`, which dies for `user@realm!token`
        with `value '<authid>' does not look like a valid user name` (pve-access-control Auth/Plugin.pm
        `verify_username`): a plain 500.
        """
        return version_tuple(self.manager) >= (9, 0, 13)

    @property
    def journal_filters(self) -> bool:
        """`GET /nodes/{node}/journal` knows `structured`, `priority`, `service`, `unit`, `kernel`, `identifiers` and
        `units`: pve-manager 9.2.4 (adf6e681 structured, cb402906 priority, 6cdd7581 service, 051a47be unit,
        2a7ab0c5 sshd -> ssh, 551e13cd kernel/units, 718f9675 identifiers). Before, every one of them is a 400
        `property is not defined in schema and the schema does not allow additional properties`."""
        return version_tuple(self.manager) >= (9, 2, 4)

    @property
    def pct_keep_env(self) -> bool:
        """`pct exec`/`pct enter` know `--keep-env`: pve-container 5.0.9 (069553d, "pct: add keep-env option"); before,
        the option is unknown ("Unknown option: keep-env")."""
        return version_tuple(self.container) >= (5, 0, 9)

    @property
    def nested_login_race(self) -> bool:
        """Remote-node shells of root@pam nest `/bin/login -f root` under ssh, which Proxmox calls racy (vhangup):
        pve-manager 9.0.0 .. 9.1.x. The guard of 145642be (9.0.10) checked the wrong variable until bdd3685e (9.2.0).

        Not acted on here: this is the place where the terminal side reads it (`--nested-login-race`)."""
        return (9, 0, 0) <= version_tuple(self.manager) < (9, 2, 0)


PROFILES: dict[str, PveVersion] = {
    profile.name: profile for profile in (
        # ISO 8.1 (Nov 2023) came with pve-container 5.0.8: /interfaces exists (5.0.6) but has no proxyto.
        PveVersion("8.1", "8.1.4", "ec5affc9e41f1d79", "5.0.8", "8.0.10", "4.0.3", "6.5.11-7-pve",
                   "#1 SMP PREEMPT_DYNAMIC PMX 6.5.11-7 (2023-12-05T09:44Z)"),
        PveVersion("8.4", "8.4.21", "2606ac850d46da29", "5.2.6", "8.4.4", "4.0.7", "6.8.12-15-pve",
                   "#1 SMP PREEMPT_DYNAMIC PMX 6.8.12-15 (2025-09-12T11:02Z)"),
        # 9.0.11 (Oct 2025): the last 9.0 release most nodes sat on before tokens could open node shells (9.0.13).
        PveVersion("9.0", "9.0.11", "3bf5476b8a4699e2", "6.0.13", "9.0.23", "5.0.5", "6.14.11-4-pve",
                   "#1 SMP PREEMPT_DYNAMIC PMX 6.14.11-4 (2025-10-10T08:04Z)"),
        PveVersion("9.1", "9.1.19", "076d7c3c108f0346", "6.1.10", "9.1.15", "5.2.0", "6.17.2-2-pve",
                   "#1 SMP PREEMPT_DYNAMIC PMX 6.17.2-2 (2026-04-14T10:21Z)"),
        PveVersion("9.2.4", "9.2.4", "e624d956077b2d9e", "6.1.10", "9.1.18", "5.2.0", "6.17.4-1-pve",
                   "#1 SMP PREEMPT_DYNAMIC PMX 6.17.4-1 (2025-12-03T15:42Z)"),
        PveVersion("9.2.11", "9.2.11", "14a22df35955d97d", "6.1.10", "9.1.19", "5.2.0", "6.17.4-1-pve",
                   "#1 SMP PREEMPT_DYNAMIC PMX 6.17.4-1 (2025-12-03T15:42Z)"),
    )
}
NEWEST = PROFILES["9.2.11"]
DEFAULT_NAME = NEWEST.name


def find_profile(name: str) -> PveVersion:
    """The profile for a `--pve-version` name or its full pve-manager version (`8.4` or `8.4.21`); ValueError otherwise.

    Another point release of a known major.minor (`9.0.5`) plays that release's profile with its own
    pve-manager version, so every check made on the pve-manager version (tokens on node shells, the
    journal filters, the nested login) follows it exactly; the other packages' versions stay the
    profile's (an approximation, good enough within one release).
    """
    if name in PROFILES:
        return PROFILES[name]
    for profile in PROFILES.values():
        if profile.manager == name:
            return profile
    wanted = version_tuple(name) if re.fullmatch(r"\d+\.\d+\.\d+", name) else ()
    same_release = [profile for profile in PROFILES.values() if version_tuple(profile.manager)[:2] == wanted[:2]] if wanted else []
    if same_release:
        below = [profile for profile in same_release if version_tuple(profile.manager) <= wanted]
        base = max(below, key=lambda p: version_tuple(p.manager)) if below else min(same_release, key=lambda p: version_tuple(p.manager))
        return dataclasses.replace(base, name=name, manager=name)
    full = ", ".join(p.manager for p in PROFILES.values())
    raise ValueError(f"unknown Proxmox VE version '{name}'; known: {', '.join(PROFILES)} (or their full versions {full})")
