# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The Ansible edge for modules: the shared argument spec and the one place errors become ``fail_json``.

Environment fallbacks list this collection's ``PVE_*`` names first and community.proxmox's
``PROXMOX_*`` names second, so that users can switch collections without renaming anything.
"""

from __future__ import annotations

import contextlib
import traceback
import typing as t

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

from ansible_collections.pveops.proxmox.plugins.module_utils._api import HAS_REQUESTS, REQUESTS_IMPORT_ERROR, ApiClient
from ansible_collections.pveops.proxmox.plugins.module_utils._cluster import Cluster
from ansible_collections.pveops.proxmox.plugins.module_utils._config import CONNECTION_OPTIONS, DEFAULT_TIMEOUT, connection_config
from ansible_collections.pveops.proxmox.plugins.module_utils._errors import PveError

API_ARGUMENT_SPEC: dict[str, dict[str, t.Any]] = {
    "api_url": {"type": "str", "required": True, "aliases": ["api_host"], "fallback": (env_fallback, ["PVE_URL", "PROXMOX_URL", "PROXMOX_HOST"])},
    "api_port": {"type": "int", "fallback": (env_fallback, ["PVE_PORT", "PROXMOX_PORT"])},
    "api_user": {"type": "str", "fallback": (env_fallback, ["PVE_USER", "PROXMOX_USER"])},
    "api_password": {"type": "str", "no_log": True, "fallback": (env_fallback, ["PVE_PASSWORD", "PROXMOX_PASSWORD"])},
    "api_realm": {"type": "str", "default": "pam", "fallback": (env_fallback, ["PVE_REALM"])},
    "api_token_id": {"type": "str", "no_log": False, "fallback": (env_fallback, ["PVE_TOKEN_ID", "PROXMOX_TOKEN_ID"])},
    "api_token_secret": {"type": "str", "no_log": True, "fallback": (env_fallback, ["PVE_TOKEN_SECRET", "PROXMOX_TOKEN_SECRET"])},
    "validate_certs": {"type": "bool", "default": True, "fallback": (env_fallback, ["PVE_VALIDATE_CERTS", "PROXMOX_VALIDATE_CERTS"])},
    "ca_path": {"type": "path", "fallback": (env_fallback, ["PVE_CA_PATH"])},
    "tls_fingerprint": {"type": "str", "fallback": (env_fallback, ["PVE_TLS_FINGERPRINT"])},
    "api_timeout": {"type": "int", "default": DEFAULT_TIMEOUT, "fallback": (env_fallback, ["PVE_TIMEOUT"])},
    "allow_http": {"type": "bool", "default": False, "fallback": (env_fallback, ["PVE_ALLOW_HTTP"])},
    "node_urls": {"type": "dict"},
}


def pve_argument_spec(**module_options: dict[str, t.Any]) -> dict[str, dict[str, t.Any]]:
    """The connection options plus the module's own."""
    spec = {name: dict(value) for name, value in API_ARGUMENT_SPEC.items()}
    spec.update(module_options)
    return spec


class PveModule(AnsibleModule):
    """An AnsibleModule with the connection options and helpers to reach the API."""

    def __init__(self, argument_spec: dict[str, dict[str, t.Any]], **kwargs: t.Any) -> None:
        super().__init__(argument_spec=pve_argument_spec(**argument_spec), **kwargs)
        if not HAS_REQUESTS:
            self.fail_json(msg=missing_required_lib("requests"), exception=str(REQUESTS_IMPORT_ERROR))
        self._client: ApiClient | None = None

    @property
    def client(self) -> ApiClient:
        """The API client, created on first use from the connection options."""
        if self._client is None:
            with self.pve_errors():
                self._client = ApiClient(connection_config({name: self.params.get(name) for name in CONNECTION_OPTIONS}))
            for warning in self._client.warnings:
                self.warn(warning)
        return self._client

    def cluster(self) -> Cluster:
        """The cluster behind the configured endpoint."""
        return Cluster(self.client)

    @contextlib.contextmanager
    def pve_errors(self, **result: t.Any) -> t.Iterator[None]:
        """Turn every error of the core into ``fail_json`` — the only place that does.

        Expected errors (``PveError``) fail with their message and details and no traceback;
        anything else is a bug and keeps its traceback for ``-vvv``.
        """
        try:
            yield
        except PveError as exc:
            payload = dict(result)
            payload.update(exc.details)  # what the error knows (upid, task_log, ...) is newer than the caller's result
            payload.pop("not_sent", None)
            payload["msg"] = exc.message
            self.fail_json(**payload)
        except Exception as exc:  # pylint: disable=broad-exception-caught
            payload = dict(result, msg=f"unexpected error: {type(exc).__name__}: {exc}", exception=traceback.format_exc())
            self.fail_json(**payload)
