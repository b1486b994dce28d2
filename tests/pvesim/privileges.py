# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Privilege names (PVE 9, and PVE 8 as `admin_privileges` adapts them), the role sets and the `cap` object of a login (1.1)."""
from __future__ import annotations

ALL_PRIVS: frozenset[str] = frozenset((
    "Datastore.Allocate", "Datastore.AllocateSpace", "Datastore.AllocateTemplate", "Datastore.Audit",
    "Group.Allocate",
    "Mapping.Audit", "Mapping.Modify", "Mapping.Use",
    "Permissions.Modify",
    "Pool.Allocate", "Pool.Audit",
    "Realm.Allocate", "Realm.AllocateUser",
    "SDN.Allocate", "SDN.Audit", "SDN.Use",
    "Sys.AccessNetwork", "Sys.Audit", "Sys.Console", "Sys.Incoming", "Sys.Modify", "Sys.PowerMgmt", "Sys.Syslog",
    "User.Modify",
    "VM.Allocate", "VM.Audit", "VM.Backup", "VM.Clone", "VM.Config.CDROM", "VM.Config.CPU", "VM.Config.Cloudinit",
    "VM.Config.Disk", "VM.Config.HWType", "VM.Config.Memory", "VM.Config.Network", "VM.Config.Options", "VM.Console",
    "VM.GuestAgent.Audit", "VM.GuestAgent.FileRead", "VM.GuestAgent.FileSystemMgmt", "VM.GuestAgent.FileWrite",
    "VM.GuestAgent.Unrestricted", "VM.Migrate", "VM.PowerMgmt", "VM.Replicate", "VM.Snapshot", "VM.Snapshot.Rollback",
))
"""Administrator role on PVE 9: everything (root@pam, ops@pve, the privsep=0 root token)."""

GUEST_AGENT_PRIVS: frozenset[str] = frozenset(p for p in ALL_PRIVS if p.startswith("VM.GuestAgent."))
"""PVE 9 only: qemu-server 9.0.3 (b92a40ce) added them and dropped `VM.Monitor`, which PVE 8 has instead."""

READ_ONLY: frozenset[str] = frozenset(("Sys.Audit", "VM.Audit", "Sys.Syslog", "Pool.Audit"))
"""The read-only token audit@pve!readonly: no VM.PowerMgmt, no Sys.Console, no VM.Config.*."""


def admin_privileges(major: int) -> frozenset[str]:
    """The Administrator role of a PVE major release: PVE 8 has `VM.Monitor` and no `VM.GuestAgent.*`."""
    if major >= 9:
        return ALL_PRIVS
    return (ALL_PRIVS - GUEST_AGENT_PRIVS) | {"VM.Monitor"}


# Which privileges show up under which `cap` key (API2/AccessControl.pm groups them by ACL subtree).
_CAP_GROUPS: dict[str, tuple[str, ...]] = {
    "vms": ("VM.", "Permissions.Modify"),
    "access": ("User.", "Group.", "Realm.", "Permissions.Modify"),
    "storage": ("Datastore.", "Permissions.Modify"),
    "nodes": ("Sys.", "Permissions.Modify"),
    "sdn": ("SDN.", "Permissions.Modify"),
    "dc": ("Sys.Audit", "Sys.Modify", "SDN."),
    "mapping": ("Mapping.", "Permissions.Modify"),
}


def capabilities(privs: frozenset[str]) -> dict[str, dict[str, int]]:
    """The `cap` map of a ticket response: {"vms": {"VM.Audit": 1, ...}, ...} (1.1)."""
    return {
        group: {p: 1 for p in sorted(privs) if any(p == pre or (pre.endswith(".") and p.startswith(pre)) for pre in prefixes)}
        for group, prefixes in _CAP_GROUPS.items()
    }
