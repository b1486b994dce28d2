# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Exceptions that become HTTP error responses, shaped like the real server's (pve-protocol.md 1.6, 2.1)."""
from __future__ import annotations

from typing import Mapping

# Body styles of an error response:
#   json  - {"data":null,"message":...} (+ "errors"), what the REST handler answers (2.1)
#   empty - no body and no Content-Type: failed auth_handler checks (1.6) and proxy pseudo-statuses (595)
#   plain - body = message as text, no Content-Type: errors of the HTTP layer itself (`error()` in 2.1)
BODY_JSON = "json"
BODY_EMPTY = "empty"
BODY_PLAIN = "plain"


class ApiError(Exception):
    """An error answered with `status`; the reason phrase is the first line of `message` (2.1)."""

    def __init__(self, status: int, message: str, errors: Mapping[str, str] | None = None, body: str = BODY_JSON) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = dict(errors) if errors else None
        self.body = body

    @property
    def reason(self) -> str:
        """The reason phrase: first line of the message, as AnyEvent.pm `response()` cuts it."""
        lines = self.message.splitlines()
        return lines[0] if lines else ""


def die(message: str) -> ApiError:
    """A plain Perl `die "...\\n"` in a handler: HTTP 500 with the message (2.1)."""
    return ApiError(500, message if message.endswith("\n") else message + "\n")


def param_error(errors: Mapping[str, str]) -> ApiError:
    """`raise_param_exc`: 400 `Parameter verification failed.` with the per-parameter `errors` (2.1)."""
    return ApiError(400, "Parameter verification failed.\n", errors)


def permission_error(path: str | None = None, privs: tuple[str, ...] = (), any_of: bool = False) -> ApiError:
    """`raise_perm_exc`: 403 `Permission check failed (<path>, <priv>)` (1.6)."""
    if path is None:
        return ApiError(403, "Permission check failed\n")
    joined = "|".join(privs) if any_of else ",".join(privs)
    return ApiError(403, f"Permission check failed ({path}, {joined})\n")


def auth_failure(reason: str) -> ApiError:
    """A 401 from the auth handler: reason phrase only, empty body (1.6)."""
    return ApiError(401, reason, body=BODY_EMPTY)


def http_error(status: int, message: str) -> ApiError:
    """An error of the HTTP layer (`error()`): plain-text body equal to the message (2.1)."""
    return ApiError(status, message, body=BODY_PLAIN)
