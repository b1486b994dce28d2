# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this plugin util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""What the reverse-lookup plugins share: options, one snapshot per run, one match per term or a default."""

from __future__ import annotations

import typing as t

from ansible.errors import AnsibleError, AnsibleLookupError
from ansible.plugins.lookup import LookupBase

from ansible_collections.pveops.proxmox.plugins.plugin_utils._client import config_from, new_client, plugin_connection_options, pve_errors
from ansible_collections.pveops.proxmox.plugins.plugin_utils._discovery import Snapshot, memoized_snapshot, snapshot
from ansible_collections.pveops.proxmox.plugins.plugin_utils._reverse import split_term

_NO_DEFAULT = object()


class ReverseLookupBase(LookupBase):
    """A lookup that resolves each term to exactly one thing of a snapshot (subclasses say what)."""

    NAME = ""  # the FQCN, for messages
    WHAT = ""  # what a term resolves to ("guest", "node"), for messages

    def snapshot_options(self) -> dict[str, t.Any]:
        """Keyword arguments for :func:`snapshot` (which discovery this lookup needs)."""
        raise NotImplementedError

    def find(self, data: Snapshot, query: dict[str, str]) -> list[dict[str, t.Any]]:
        """Every match of one parsed term."""
        raise NotImplementedError

    def describe(self, match: dict[str, t.Any]) -> str:
        """One match, for the "more than one" error."""
        raise NotImplementedError

    def result(self, match: dict[str, t.Any]) -> t.Any:
        """What the lookup returns for a match."""
        raise NotImplementedError

    def run(self, terms: list[t.Any], variables: dict[str, t.Any] | None = None, **kwargs: t.Any) -> list[t.Any]:
        """Resolve each term against a snapshot taken at most once per run (and connection)."""
        default = kwargs.pop("default", _NO_DEFAULT)
        self.set_options(var_options=variables, direct=kwargs)
        try:
            config = config_from(plugin_connection_options(self))
            with pve_errors():
                options = self.snapshot_options()
        except AnsibleError as exc:
            raise AnsibleLookupError(f"{self.NAME}: {exc}") from None

        def take() -> Snapshot:
            client = new_client(config)
            try:
                with pve_errors(f"{self.NAME}: "):
                    taken = snapshot([client], **options)
            finally:
                client.close()
            # Said once per snapshot, the way the inventory says it (a 403 on a guest agent, an offline node...).
            for warning in taken.get("warnings", []):
                self._display.warning(f"{self.NAME}: {warning}")
            return taken

        data = memoized_snapshot((config.base_url, config.authid, tuple(sorted(options.items()))), take)
        results = []
        for term in terms:
            try:
                matches = self.find(data, split_term(term))
            except ValueError as exc:
                raise AnsibleLookupError(f"{self.NAME}: {exc}") from None
            if len(matches) > 1:
                listing = "; ".join(self.describe(match) for match in matches)
                raise AnsibleLookupError(f"{self.NAME}: {term!r} matches more than one {self.WHAT}: {listing}")
            if not matches:
                if default is _NO_DEFAULT:
                    unread = int(data.get("unread", 0))  # guests whose addresses could not be read: the term may be one of theirs
                    why = f"; the addresses of {unread} guest(s) could not be read (see the warning)" if unread else ""
                    raise AnsibleLookupError(f"{self.NAME}: no {self.WHAT} matches {term!r}{why}")
                results.append(default)
                continue
            results.append(self.result(matches[0]))
        return results
