# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this doc fragment is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Connection options, documented once for modules (DOCUMENTATION) and plugins (PLUGINS)."""

from __future__ import annotations


class ModuleDocFragment:
    """The connection options of design §3."""

    # Modules: environment fallbacks come from the argument spec in module_utils/_module.py.
    DOCUMENTATION = r"""
options:
  api_url:
    description:
      - Address of the Proxmox VE API, for example V(https://pve.example.com:8006).
      - A bare host name gets V(https://) and port V(8006) (or O(api_port)); a trailing V(/api2/json) is accepted.
      - Uses E(PVE_URL), then community.proxmox's E(PROXMOX_URL) and E(PROXMOX_HOST) when not set.
    type: str
    required: true
    aliases: [api_host]
  api_port:
    description:
      - Port of the API when O(api_url) has none.
      - Uses E(PVE_PORT), then E(PROXMOX_PORT) when not set.
    type: int
  api_user:
    description:
      - User to log in as, V(user@realm) (or a bare user name completed with O(api_realm)).
      - Defaults to V(root@pam) for a password login. With a bare O(api_token_id) it names the token's owner.
      - Uses E(PVE_USER), then E(PROXMOX_USER) when not set.
    type: str
  api_password:
    description:
      - Password of O(api_user). The module logs in with it, gets a ticket and renews it before it expires.
      - Running commands in containers needs a V(root@pam) password login (see C(docs/privileges.md) in the collection).
      - Uses E(PVE_PASSWORD), then E(PROXMOX_PASSWORD) when not set.
    type: str
  api_realm:
    description:
      - Realm added to O(api_user) when it has no V(@realm).
      - Uses E(PVE_REALM) when not set.
    type: str
    default: pam
  api_token_id:
    description:
      - API token id, either complete (V(user@realm!tokenname)) or the bare token name with its owner in O(api_user).
      - Token authentication is used when this and O(api_token_secret) are set.
      - Uses E(PVE_TOKEN_ID), then E(PROXMOX_TOKEN_ID) when not set.
    type: str
  api_token_secret:
    description:
      - Secret (UUID) of O(api_token_id).
      - Uses E(PVE_TOKEN_SECRET), then E(PROXMOX_TOKEN_SECRET) when not set.
    type: str
  validate_certs:
    description:
      - Verify the API's TLS certificate. Turning this off lets anybody on the path read the credentials; prefer O(ca_path) or O(tls_fingerprint).
      - Uses E(PVE_VALIDATE_CERTS), then E(PROXMOX_VALIDATE_CERTS) when not set.
    type: bool
    default: true
  ca_path:
    description:
      - CA certificate file (PEM) to verify the API with, for example a copy of the node's V(/etc/pve/pve-root-ca.pem).
      - Uses E(PVE_CA_PATH) when not set.
    type: path
  tls_fingerprint:
    description:
      - SHA-256 fingerprint of the API's certificate (V(AB:CD:...), colons optional); when set, exactly this certificate is accepted.
      - Lets self-signed nodes stay verified. C(pvenode cert info) on the node shows the fingerprint.
      - Uses E(PVE_TLS_FINGERPRINT) when not set.
    type: str
  api_timeout:
    description:
      - Seconds to wait for each API answer (and at most 10 s for the connection).
      - Uses E(PVE_TIMEOUT) when not set.
    type: int
    default: 30
  allow_http:
    description:
      - Accept a plain V(http://) O(api_url). Without it such a URL is refused before anything is sent, because the password,
        the tickets or the API token would travel unencrypted; with it every run warns.
      - Only for a TLS-terminating proxy you trust on the way to the node; Proxmox VE itself serves the API over HTTPS only
        (an V(http://) request to port 8006 is answered with a redirect to V(https://)).
      - Uses E(PVE_ALLOW_HTTP) when not set.
    type: bool
    default: false
  node_urls:
    description:
      - "API addresses of individual nodes, by node name, for example C({\"pve2\": \"https://pve2.example.com:8006\"})."
      - >-
        A terminal (commands, container logs, file tails) for a node in this list is opened through that node's own API, so its shell is
        local there. Without an entry, Proxmox VE runs the shell of another node through SSH from the O(api_url) node, which costs a
        connection set-up and, on Proxmox VE 9.0 and 9.1, goes through a nested login that can hang up early (one early hang-up is
        retried either way). When the node's address cannot be reached, the terminal falls back to O(api_url) with a warning.
      - The same TLS settings apply (O(ca_path), O(tls_fingerprint), O(validate_certs)).
    type: dict
requirements:
  - requests >= 2.28
notes:
  - Idempotent requests (and the login and terminal requests, which are safe to repeat) are retried up to 4 times with backoff
    on connection errors and transient server errors; requests that change state are never replayed blindly.
"""

    # Plugins (inventory, lookups): options come from the config system; the last matching
    # env or vars entry wins there, so the community.proxmox names come first.
    PLUGINS = r"""
options:
  api_url:
    description:
      - Address of the Proxmox VE API, for example V(https://pve.example.com:8006).
      - A bare host name gets V(https://) and port V(8006) (or O(api_port)); a trailing V(/api2/json) is accepted.
    type: str
    env:
      - name: PROXMOX_HOST
      - name: PROXMOX_URL
      - name: PVE_URL
    vars:
      - name: pve_api_url
  api_port:
    description:
      - Port of the API when O(api_url) has none.
    type: int
    env:
      - name: PROXMOX_PORT
      - name: PVE_PORT
    vars:
      - name: pve_api_port
  api_user:
    description:
      - User to log in as, V(user@realm); defaults to V(root@pam) for a password login.
      - With a bare O(api_token_id) it names the token's owner.
    type: str
    env:
      - name: PROXMOX_USER
      - name: PVE_USER
    vars:
      - name: pve_api_user
  api_password:
    description:
      - Password of O(api_user).
    type: str
    env:
      - name: PROXMOX_PASSWORD
      - name: PVE_PASSWORD
    vars:
      - name: pve_api_password
  api_realm:
    description:
      - Realm added to O(api_user) when it has no V(@realm).
    type: str
    default: pam
    env:
      - name: PVE_REALM
    vars:
      - name: pve_api_realm
  api_token_id:
    description:
      - API token id, V(user@realm!tokenname) or a bare token name with its owner in O(api_user).
    type: str
    env:
      - name: PROXMOX_TOKEN_ID
      - name: PVE_TOKEN_ID
    vars:
      - name: pve_api_token_id
  api_token_secret:
    description:
      - Secret (UUID) of O(api_token_id).
    type: str
    env:
      - name: PROXMOX_TOKEN_SECRET
      - name: PVE_TOKEN_SECRET
    vars:
      - name: pve_api_token_secret
  validate_certs:
    description:
      - Verify the API's TLS certificate; prefer O(ca_path) or O(tls_fingerprint) to turning this off.
    type: bool
    default: true
    env:
      - name: PROXMOX_VALIDATE_CERTS
      - name: PVE_VALIDATE_CERTS
    vars:
      - name: pve_validate_certs
  ca_path:
    description:
      - CA certificate file (PEM) to verify the API with.
    type: path
    env:
      - name: PVE_CA_PATH
    vars:
      - name: pve_ca_path
  tls_fingerprint:
    description:
      - SHA-256 fingerprint of the API's certificate; when set, exactly this certificate is accepted.
    type: str
    env:
      - name: PVE_TLS_FINGERPRINT
    vars:
      - name: pve_tls_fingerprint
  api_timeout:
    description:
      - Seconds to wait for each API answer.
    type: int
    default: 30
    env:
      - name: PVE_TIMEOUT
    vars:
      - name: pve_api_timeout
  allow_http:
    description:
      - Accept a plain V(http://) O(api_url) (credentials travel unencrypted; every run warns). Without it such a URL is refused.
    type: bool
    default: false
    env:
      - name: PVE_ALLOW_HTTP
    vars:
      - name: pve_allow_http
  node_urls:
    description:
      - API addresses of individual nodes by node name; terminals of those nodes open there instead of through O(api_url) and SSH.
    type: dict
    vars:
      - name: pve_node_urls
requirements:
  - requests >= 2.28
"""
