# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Connection settings: validation and normalisation of the options of design §3.

Both edges (modules and plugins) build a :class:`ConnectionConfig` from their option values
with :func:`connection_config`; every problem is a :class:`ConfigError` that names the option
and, unless it is a secret, the value.
"""

from __future__ import annotations

import dataclasses
import os
import re
import typing as t
from urllib.parse import urlsplit, urlunsplit

from ansible_collections.pveops.proxmox.plugins.module_utils._errors import ConfigError
from ansible_collections.pveops.proxmox.plugins.module_utils._numbers import MAX_SECONDS, bounded_number

DEFAULT_PORT = 8006
DEFAULT_TIMEOUT = 30
API_PREFIX = "/api2/json"

# The option names every module and plugin accepts (design §3). Tests compare this tuple
# with the argument spec and with both doc fragment variants.
CONNECTION_OPTIONS = (
    "api_url",
    "api_port",
    "api_user",
    "api_password",
    "api_realm",
    "api_token_id",
    "api_token_secret",
    "validate_certs",
    "ca_path",
    "tls_fingerprint",
    "api_timeout",
    "allow_http",
    "node_urls",
)

# Token names follow the realm/token regex of pve-access-control (pve-protocol.md §1.5).
_TOKEN_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9.\-_]+$")
_USER = re.compile(r"^[^\s:@!]+@[A-Za-z][A-Za-z0-9.\-_]+$")
_FINGERPRINT = re.compile(r"^[0-9a-f]{64}$")
# What an HTTP header value can carry: requests refuses CR, LF and leading whitespace, http.client
# every control character, and a header encodes as latin-1 only. Token secrets are UUIDs
# (pve-protocol.md §1.5), so visible ASCII is all one can hold.
_HEADER_SAFE = re.compile(r"[\x21-\x7e]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_NODE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")  # pve-node: a host name without its domain


@dataclasses.dataclass(frozen=True)
class ConnectionConfig:
    """Validated connection settings. ``repr`` hides the secrets."""

    base_url: str  # scheme://host:port, no path
    user: str | None  # user@realm for ticket logins and as the owner of a bare token name
    password: str | None = dataclasses.field(default=None, repr=False)
    token_id: str | None = None  # full user@realm!name
    token_secret: str | None = dataclasses.field(default=None, repr=False)
    validate_certs: bool = True
    ca_path: str | None = None
    tls_fingerprint: str | None = None  # 64 lower-case hex digits
    timeout: float = DEFAULT_TIMEOUT
    allow_http: bool = False  # plain http:// api_url accepted (credentials travel unencrypted)
    node_urls: tuple[tuple[str, str], ...] = ()  # (node, base URL): where that node's own terminals open

    def node_url(self, node: str) -> str | None:
        """The configured API address of ``node``, if any."""
        return dict(self.node_urls).get(node)

    @property
    def api_root(self) -> str:
        """The URL every API path is appended to."""
        return self.base_url + API_PREFIX

    @property
    def uses_token(self) -> bool:
        """True for API-token authentication, False for a ticket (password) login."""
        return self.token_id is not None

    @property
    def authid(self) -> str:
        """The identity the server sees: the user or the full token id."""
        return t.cast(str, self.token_id if self.uses_token else self.user)


def normalize_url(url: str, port: int | None = None) -> str:
    """Turn ``pve.example.com``, ``https://pve:8006/`` or ``…/api2/json`` into ``https://host:port``.

    A bare host (community.proxmox's ``api_host`` style) gets ``https://`` and the port
    (``api_port`` or 8006); a trailing ``/api2/json`` is accepted and removed so that the
    client appends it exactly once.
    """
    text = url.strip()
    if not text:
        raise ConfigError("api_url is empty; set it to the node's address, for example https://pve.example.com:8006")
    if "://" not in text:
        text = "https://" + text
    try:
        parts = urlsplit(text)
        hostname = parts.hostname
    except ValueError as exc:  # "Invalid IPv6 URL" for an unclosed '[' and the like
        raise ConfigError(f"api_url {url!r} is not a valid URL: {exc}") from None
    if parts.scheme not in ("https", "http"):
        raise ConfigError(f"api_url {url!r} must use https:// (or http:// behind a TLS-terminating proxy)")
    if not hostname:
        raise ConfigError(f"api_url {url!r} has no host name")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ConfigError(f"api_url {url!r} must not contain credentials, a query or a fragment")
    path = parts.path.rstrip("/")
    if path.endswith(API_PREFIX):
        path = path[: -len(API_PREFIX)]
    try:
        url_port = parts.port
    except ValueError as exc:
        raise ConfigError(f"api_url {url!r} has an invalid port") from exc
    host = hostname
    if ":" in host:
        host = f"[{host}]"
    effective_port = url_port or port or (DEFAULT_PORT if parts.scheme == "https" else 80)
    return urlunsplit((parts.scheme, f"{host}:{effective_port}", path, "", ""))


def normalize_fingerprint(value: str) -> str:
    """Accept ``AB:CD:…``, ``ab cd …`` or plain hex; return 64 lower-case hex digits."""
    text = re.sub(r"[\s:]", "", value).lower()
    if text.startswith("sha256"):
        text = text[len("sha256"):].lstrip("=/")
    if not _FINGERPRINT.fullmatch(text):
        raise ConfigError(
            f"tls_fingerprint {value!r} is not a SHA-256 fingerprint (64 hex digits, colons allowed); "
            "`pvenode cert info` on the node shows it"
        )
    return text


def check_secret(option: str, value: str, in_header: bool) -> None:
    """Refuse a secret with characters that cannot be what the user meant, without showing the value.

    A YAML ``|`` block or ``echo`` leaves a trailing newline. In a header (the token) such a
    character would make the HTTP library fail with the whole header, secret included, in its
    error text; in a password it only makes the login fail for no visible reason.
    """
    if value != value.rstrip("\r\n"):
        problem = "ends with a line break (a YAML '|' block or echo leaves one)"
    elif _CONTROL.search(value):
        problem = "contains a control character"
    elif in_header and not _HEADER_SAFE.fullmatch(value):
        problem = "contains a space or a non-ASCII character, which an HTTP header cannot carry (token secrets are UUIDs)"
    else:
        return
    raise ConfigError(f"{option} {problem}; remove it (the value is not shown)")


def _qualify_user(user: str | None, realm: str | None) -> str | None:
    if user is None or user == "":
        return None
    if "@" in user:
        return user
    return f"{user}@{realm or 'pam'}"


def _full_token_id(token_id: str, user: str | None) -> str:
    if "!" in token_id:
        owner, _sep, name = token_id.partition("!")
        if not _USER.fullmatch(owner) or not _TOKEN_NAME.fullmatch(name):
            raise ConfigError(f"api_token_id {token_id!r} is not of the form user@realm!tokenname")
        return token_id
    if not _TOKEN_NAME.fullmatch(token_id):
        raise ConfigError(f"api_token_id {token_id!r} is not a valid token name (letters, digits, '.', '-', '_')")
    if not user:
        raise ConfigError(f"api_token_id {token_id!r} is a bare token name: set api_user to its owner, or give it as user@realm!{token_id}")
    return f"{user}!{token_id}"


def connection_config(options: t.Mapping[str, t.Any]) -> ConnectionConfig:
    """Validate option values (as read by either edge) into a :class:`ConnectionConfig`."""
    url = options.get("api_url")
    if not url:
        raise ConfigError("api_url is required (or the PVE_URL environment variable), for example https://pve.example.com:8006")
    port = options.get("api_port")
    if port is not None:
        port = int(bounded_number("api_port", port, 1, 65535, unit="a TCP port", integer=True))
    base_url = normalize_url(str(url), port)

    user = _qualify_user(options.get("api_user"), options.get("api_realm"))
    if user is not None and not _USER.fullmatch(user):
        raise ConfigError(f"api_user {options.get('api_user')!r} is not a valid user id (user@realm, for example root@pam)")
    password = options.get("api_password") or None
    token_id = options.get("api_token_id") or None
    token_secret = options.get("api_token_secret") or None
    if password is not None:
        check_secret("api_password", str(password), in_header=False)
    if token_secret is not None:
        check_secret("api_token_secret", str(token_secret), in_header=True)

    if token_id is not None or token_secret is not None:
        if token_id is None or token_secret is None:
            missing = "api_token_id" if token_id is None else "api_token_secret"
            raise ConfigError(f"API-token authentication needs both api_token_id and api_token_secret; {missing} is missing")
        full_token = _full_token_id(str(token_id), user)
    else:
        full_token = None
        if password is None:
            raise ConfigError(
                f"no credentials: set api_password for a ticket login as {user or 'root@pam'}, "
                "or api_token_id and api_token_secret for an API token"
            )
    if user is None and password is not None:
        user = "root@pam"  # design §3: api_user defaults to root@pam
    ca_path = options.get("ca_path") or None
    validate = options.get("validate_certs")
    validate_certs = True if validate is None else bool(validate)
    if ca_path is not None and not os.path.isfile(ca_path):
        raise ConfigError(f"ca_path {ca_path!r} does not exist or is not a file")
    fingerprint = options.get("tls_fingerprint") or None
    allow_http = bool(options.get("allow_http"))
    if base_url.startswith("http://") and not allow_http:
        credentials = "API token" if token_id is not None else "password and the tickets"
        raise ConfigError(
            f"api_url {url!r} uses plain http://, which sends the {credentials} unencrypted; use https:// "
            "(Proxmox VE serves the API over HTTPS on port 8006), or set allow_http: true when a TLS-terminating proxy you trust is in between"
        )
    timeout = options.get("api_timeout")
    timeout_value = DEFAULT_TIMEOUT if timeout is None else bounded_number("api_timeout", timeout, 1, MAX_SECONDS)

    node_urls = _node_urls(options.get("node_urls"), allow_http)

    return ConnectionConfig(
        base_url=base_url,
        user=user,
        password=password,
        token_id=full_token,
        token_secret=token_secret if full_token else None,
        validate_certs=validate_certs,
        ca_path=ca_path,
        tls_fingerprint=normalize_fingerprint(str(fingerprint)) if fingerprint else None,
        timeout=timeout_value,
        allow_http=allow_http,
        node_urls=node_urls,
    )


def _node_urls(value: t.Any, allow_http: bool) -> tuple[tuple[str, str], ...]:
    """``{node: url}`` validated like api_url, as sorted pairs."""
    if not value:
        return ()
    if not isinstance(value, t.Mapping):
        raise ConfigError(f"node_urls must be a dictionary of node name to API URL, got {value!r}")
    pairs = []
    for node, url in value.items():
        if not isinstance(node, str) or not _NODE.fullmatch(node):
            raise ConfigError(f"node_urls: {node!r} is not a node name")
        try:
            normalized = normalize_url(str(url))
        except ConfigError as exc:
            raise ConfigError(f"node_urls[{node}]: {exc}") from None
        if normalized.startswith("http://") and not allow_http:
            raise ConfigError(f"node_urls[{node}] {url!r} uses plain http://; use https:// (or set allow_http: true)")
        pairs.append((node, normalized))
    return tuple(sorted(pairs))
