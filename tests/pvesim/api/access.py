# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""`POST /access/ticket`: login, renewal and verify mode (pve-protocol.md 1.1, 1.4)."""
from __future__ import annotations

from typing import Any

from pvesim.app import CallContext
from pvesim.params import boolean, string
from pvesim.router import Route


def create_ticket(ctx: CallContext, params: dict[str, Any]) -> Any:
    """Log in with a password, or renew with a valid ticket as the password."""
    cluster = ctx.services.cluster
    return ctx.services.auth.login(params, cluster.name)


ROUTES = (
    Route(
        "POST", "/access/ticket", create_ticket,
        params=(
            boolean("new-format"),
            string("otp"),
            string("password", optional=False),
            string("path", max_length=64, requires="privs"),
            string("privs", max_length=64, fmt="pve-priv-list", requires="path"),
            string("realm", max_length=32, fmt="pve-realm"),
            string("tfa-challenge"),
            string("username", optional=False, max_length=64),
        ),
        protected=True, allowtoken=False, noauth=True,
    ),
)
