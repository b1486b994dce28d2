# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The typed errors of the client core.

The core raises these and never calls into Ansible; exactly one edge per plugin type
(``_module.py`` for modules, ``plugin_utils/_client.py`` for plugins) turns them into
``fail_json`` or ``AnsibleError``. Messages never contain secrets: nothing here formats
request bodies or headers.
"""

from __future__ import annotations

import typing as t
from urllib.parse import unquote


class PveError(Exception):
    """Base of every error the collection's core raises on purpose.

    ``details`` carries structured extras that the edges return next to the message
    (for example ``upid`` or ``task_log``).
    """

    def __init__(self, message: str, **details: t.Any) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, t.Any] = details

    def __str__(self) -> str:
        return self.message


class ConfigError(PveError):
    """An option has a value the collection cannot use (names the option and the value)."""


class PveConnectionError(PveError):
    """The API could not be reached (DNS, refused, reset, TLS handshake, ...)."""


class TlsError(PveConnectionError):
    """The server certificate could not be verified."""


class PveTimeout(PveError):
    """A request or a wait ran past its deadline."""


class ApiError(PveError):
    """The API answered with an error status.

    ``status`` is the HTTP status, ``path`` the API path (without ``/api2/json``), ``reason``
    the server's message (taken from the reason phrase first, see pve-protocol.md §1.6) and
    ``errors`` the per-parameter problems of a 400.
    """

    def __init__(self, status: int, method: str, path: str, reason: str, errors: dict[str, str] | None = None) -> None:
        self.status = status
        self.method = method
        self.path = path
        self.reason = reason
        self.errors = dict(errors or {})
        text = f"{method} {path} failed with HTTP {status}: {reason}"
        if self.errors:
            text += " (" + "; ".join(f"{key}: {value}" for key, value in sorted(self.errors.items())) + ")"
        super().__init__(text, http_status=status, api_path=path)


class AuthError(ApiError):
    """HTTP 401: the credentials, ticket or CSRF token were refused."""


class PermissionDenied(ApiError):
    """HTTP 403: authenticated, but the user or token lacks a privilege."""


class NotFound(PveError):
    """A container, node, task or path does not exist."""


class NodeUnreachable(ApiError):
    """HTTP 595/596: the answering node could not reach the node that owns the resource.

    The message leads with the node: pveproxy's own text ("Errors during connection establishment,
    proxy handshake", pve-protocol.md §3.1) does not say that the node is the problem.
    """

    def __init__(self, status: int, method: str, path: str, reason: str, errors: dict[str, str] | None = None) -> None:
        super().__init__(status, method, path, reason, errors)
        segments = path.split("/")
        self.node = unquote(segments[2]) if len(segments) > 2 and segments[1] == "nodes" else None
        who = f"node {self.node}" if self.node else "the node that owns it"
        self.message = f"{who} is offline or cannot be reached from the node that answered the API call: {self.message}"


class Ambiguous(PveError):
    """A name matched more than one object; the message lists the candidates."""


class TaskFailed(PveError):
    """A task ended with an exit status other than ``OK`` or ``WARNINGS: n``."""

    def __init__(self, message: str, upid: str, exitstatus: str, task_log: list[str]) -> None:
        super().__init__(message, upid=upid, exitstatus=exitstatus, task_log=task_log)
        self.upid = upid
        self.exitstatus = exitstatus
        self.task_log = task_log
