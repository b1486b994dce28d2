# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this plugin util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The Ansible edge for controller plugins (inventory, lookups).

Options are read only through the config system (``get_option``); errors of the core become
``AnsibleError`` here and nowhere else.
"""

from __future__ import annotations

import contextlib
import typing as t

from ansible.errors import AnsibleError

from ansible_collections.pveops.proxmox.plugins.module_utils._config import CONNECTION_OPTIONS, ConnectionConfig, connection_config
from ansible_collections.pveops.proxmox.plugins.module_utils._errors import PveError

if t.TYPE_CHECKING:
    from ansible_collections.pveops.proxmox.plugins.module_utils._api import ApiClient


def plugin_connection_options(plugin: t.Any) -> dict[str, t.Any]:
    """The connection options of a plugin, read through its config system."""
    return {name: plugin.get_option(name) for name in CONNECTION_OPTIONS}


def config_from(options: t.Mapping[str, t.Any], defaults: t.Mapping[str, t.Any] | None = None, where: str = "") -> ConnectionConfig:
    """Validate connection options (entries of ``defaults`` fill what ``options`` leaves unset)."""
    merged = dict(defaults or {})
    merged.update({key: value for key, value in options.items() if value is not None})
    unknown = sorted(set(options) - set(CONNECTION_OPTIONS))
    if unknown:
        raise AnsibleError(f"{where}unknown connection option(s) {', '.join(unknown)}; known: {', '.join(CONNECTION_OPTIONS)}")
    with pve_errors(where):
        return connection_config(merged)


@contextlib.contextmanager
def pve_errors(where: str = "") -> t.Iterator[None]:
    """Turn the core's errors into AnsibleError with the same message (no traceback, no secrets)."""
    try:
        yield
    except PveError as exc:
        raise AnsibleError(f"{where}{exc.message}") from None


def new_client(config: ConnectionConfig, pool_size: int = 10) -> ApiClient:
    """An API client for one endpoint.

    The HTTP client (and with it requests, a tenth of a second) is imported only here: an inventory
    read from its cache and the connection plugin's option checks never need it.
    """
    # pylint: disable-next=import-outside-toplevel
    from ansible_collections.pveops.proxmox.plugins.module_utils._api import ApiClient

    with pve_errors():
        return ApiClient(config, pool_size=pool_size)
