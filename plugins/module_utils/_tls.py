# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""TLS sockets for the terminal websocket, verified exactly like the HTTP client's requests.

The websocket library would send its upgrade request (with the ticket cookie) right after
the handshake; opening the socket here first lets a pinned fingerprint be checked before a
single byte of credentials leaves the machine.
"""

from __future__ import annotations

import hashlib
import socket
import ssl
from urllib.parse import urlsplit

from ansible_collections.pveops.proxmox.plugins.module_utils._api import fingerprint_mismatch_message, tls_error_message
from ansible_collections.pveops.proxmox.plugins.module_utils._config import ConnectionConfig
from ansible_collections.pveops.proxmox.plugins.module_utils._errors import PveConnectionError, TlsError


def _default_cafile() -> str | None:
    try:
        import certifi  # pylint: disable=import-outside-toplevel  # the bundle requests verifies with
    except ImportError:
        return None
    return str(certifi.where())


def ssl_context(config: ConnectionConfig) -> ssl.SSLContext:
    """An SSL context with the same trust decisions as the HTTP client."""
    if config.tls_fingerprint or not config.validate_certs:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    return ssl.create_default_context(cafile=config.ca_path or _default_cafile())


def host_and_port(config: ConnectionConfig) -> tuple[str, int]:
    """Host and port of ``api_url``."""
    parts = urlsplit(config.base_url)
    return str(parts.hostname), int(parts.port or 8006)


def open_socket(config: ConnectionConfig, timeout: float) -> socket.socket:
    """A connected (and, for https, verified TLS) socket to the API's host."""
    host, port = host_and_port(config)
    try:
        raw = socket.create_connection((host, port), timeout=timeout)
    except OSError as exc:
        raise PveConnectionError(f"could not connect to {config.base_url} for the terminal: {exc}") from None
    # The terminal sends small messages back to back (a length line, then a chunk): with Nagle's
    # algorithm the second waits for the ACK of the first, which the node delays (40 ms on Linux).
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if not config.base_url.startswith("https://"):
        return raw
    try:
        tls = ssl_context(config).wrap_socket(raw, server_hostname=host)
    except ssl.SSLError as exc:
        raw.close()
        raise TlsError(tls_error_message(config, exc)) from None
    except OSError as exc:
        raw.close()
        raise PveConnectionError(f"TLS handshake with {config.base_url} failed: {exc}") from None
    if config.tls_fingerprint:
        der = tls.getpeercert(binary_form=True) or b""
        actual = hashlib.sha256(der).hexdigest()
        if actual != config.tls_fingerprint:
            tls.close()
            raise TlsError(fingerprint_mismatch_message(config, actual))
    return tls
