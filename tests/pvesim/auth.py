# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Users, API tokens, credential extraction and login (pve-protocol.md 1.1-1.6)."""
from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Mapping
from urllib.parse import unquote

from pvesim.errors import ApiError, auth_failure
from pvesim.privileges import ALL_PRIVS, READ_ONLY, capabilities
from pvesim.tickets import VNC_LIFETIME, TicketSigner

COOKIE_NAME = "PVEAuthCookie"
TOKEN_NAME = "PVEAPIToken"

# Calls the auth handler lets through without credentials (PVE/HTTPServer.pm `auth_handler`, 1.1).
NOAUTH_CALLS = frozenset({("POST", "/access/ticket"), ("GET", "/access/ticket"), ("GET", "/access/domains"), ("POST", "/access/vncticket")})

_TOKEN_ID = re.compile(r"([^\s!@:]+@[A-Za-z][A-Za-z0-9.\-_]+)!([A-Za-z][A-Za-z0-9.\-_]+)")


@dataclass(frozen=True)
class Identity:
    """Who is calling: a user (ticket) or a token; `authid` is what PVE's get_user() returns (1.5)."""

    authid: str
    privs: frozenset[str]
    via: str
    """`ticket` or `token`"""

    @property
    def user(self) -> str:
        """The user part (`root@pam` for `root@pam!ansible`)."""
        return self.authid.split("!", 1)[0]

    @property
    def tokenid(self) -> str | None:
        """The token name, or None for a ticket user."""
        return self.authid.split("!", 1)[1] if "!" in self.authid else None

    def has(self, privs: tuple[str, ...], any_of: bool = False) -> bool:
        """True when the caller has all (or, with any_of, one) of the privileges."""
        if any_of:
            return any(p in self.privs for p in privs)
        return all(p in self.privs for p in privs)


@dataclass
class Account:
    """A PVE user; password None means it cannot log in with a password."""

    userid: str
    password: str | None
    privs: frozenset[str]
    enabled: bool = True


@dataclass
class ApiToken:
    """An API token; privsep=0 tokens carry the user's privileges, privsep=1 the intersection (1.5)."""

    tokenid: str
    secret: str
    privs: frozenset[str]


@dataclass(frozen=True)
class AuthResult:
    """Outcome of the auth handler: the identity (None on whitelisted calls) and whether a token header came."""

    identity: Identity | None
    api_token_header: bool


def extract_auth_value(header: str | None, key: str) -> str | None:
    """Formatter.pm `extract_auth_value`: key at start or after whitespace, `=` or space, up to `;`, uri-unescaped (1.2)."""
    if not header:
        return None
    match = re.search(r"(?:^|\s)" + re.escape(key) + r"(?:=| )([^;]*)", header)
    if not match or not match.group(1):
        return None
    return unquote(match.group(1))


def _same_secret(expected: str, given: str) -> bool:
    """Constant-time comparison of the UTF-8 bytes: any input, ASCII or not, is just equal or not.

    `secrets.compare_digest` refuses non-ASCII str (TypeError, a 500). Real PVE compares bytes:
    the pve realm crypts `Encode::encode('utf8', $password)` (Auth/PVE.pm authenticate_user), the
    token value is the header's octets (AccessControl.pm verify_token); every mismatch is a 401.
    """
    return secrets.compare_digest(expected.encode("utf-8"), given.encode("utf-8", "surrogatepass"))


def new_token_secret() -> str:
    """A random UUID, the format PVE uses for token secrets (1.5)."""
    return str(uuid.UUID(bytes=secrets.token_bytes(16), version=4))


class AuthService:
    """The simulator's fixed set of users and tokens plus ticket handling."""

    def __init__(self, signer: TicketSigner, accounts: list[Account], tokens: list[ApiToken]) -> None:
        self.signer = signer
        self.accounts = {a.userid: a for a in accounts}
        self.tokens = {t.tokenid: t for t in tokens}

    @classmethod
    def create(cls, ticket_lifetime: int, vnc_ticket_lifetime: int = VNC_LIFETIME, admin: frozenset[str] = ALL_PRIVS) -> AuthService:
        """root@pam, ops@pve (admin, not root), audit@pve and two tokens, all with per-run random secrets.

        `admin` is the Administrator role of the simulated release (privileges.admin_privileges).
        """
        accounts = [
            Account("root@pam", secrets.token_urlsafe(18), admin),
            Account("ops@pve", secrets.token_urlsafe(18), admin),
            Account("audit@pve", None, READ_ONLY),
        ]
        tokens = [
            ApiToken("root@pam!ansible", new_token_secret(), admin),
            ApiToken("audit@pve!readonly", new_token_secret(), READ_ONLY),
        ]
        return cls(TicketSigner(secrets.token_bytes(32), ticket_lifetime, vnc_lifetime=vnc_ticket_lifetime), accounts, tokens)

    def authenticate(self, method: str, rel_path: str, header: Callable[[str], str | None]) -> AuthResult:
        """Run the auth handler for one request (`header` looks up request headers); raises the 1.6 401s."""
        cookie = header("Cookie")
        authorization = header("Authorization")
        # Precedence (1.2): real cookie, then the ticket in Authorization, then the API token.
        ticket = extract_auth_value(cookie, COOKIE_NAME) or extract_auth_value(authorization, COOKIE_NAME)
        api_token = None if ticket else extract_auth_value(authorization, TOKEN_NAME)
        if (method, rel_path) in NOAUTH_CALLS:
            return AuthResult(None, bool(api_token))
        if api_token:
            return AuthResult(self._verify_token(api_token), True)
        if not ticket:
            raise auth_failure("No ticket")
        userid = self.signer.verify_ticket(ticket)
        account = self.accounts.get(userid or "")
        if account is None or not account.enabled:
            raise auth_failure("Authentication failed!")
        # CSRF only for non-GET ticket requests (1.3).
        if method != "GET" and not self.signer.verify_csrf(account.userid, header("CSRFPreventionToken")):
            raise auth_failure("Permission denied - invalid csrf token")
        return AuthResult(Identity(account.userid, account.privs, "ticket"), False)

    def _verify_token(self, value: str) -> Identity:
        # Split at the *last* '=' (1.5); every failure is the same opaque 401.
        tokenid, sep, secret = value.rpartition("=")
        token = self.tokens.get(tokenid) if sep and _TOKEN_ID.fullmatch(tokenid) else None
        owner = self.accounts.get(tokenid.split("!", 1)[0]) if token else None
        if token is None or owner is None or not owner.enabled or not _same_secret(token.secret, secret):
            raise auth_failure("Authentication failed!")
        return Identity(token.tokenid, token.privs & owner.privs, "token")

    def login(self, params: Mapping[str, Any], clustername: str | None) -> dict[str, Any]:
        """`POST /access/ticket`: password or ticket renewal; verify mode with path+privs (1.1, 1.4)."""
        username = str(params["username"])
        if params.get("realm"):
            # The realm is appended, so `root@pam` + realm `pam` becomes `root@pam@pam` and fails (1.1).
            username = f"{username}@{params['realm']}"
        account = self.accounts.get(username)
        password = str(params["password"])
        ok = False
        if account is not None and account.enabled and "tfa-challenge" not in params:
            if password.startswith("PVE:"):
                ticket_user = self.signer.verify_ticket(password)
                # Renewal: the user's own ticket, or root@pam minting for anyone (1.4).
                ok = ticket_user is not None and ticket_user in (username, "root@pam")
            else:
                ok = account.password is not None and _same_secret(account.password, password)
        if not ok or account is None:
            raise ApiError(401, "authentication failure\n")
        if params.get("path") and params.get("privs"):
            wanted = tuple(p for p in re.split(r"[,;\s]+", str(params["privs"])) if p)
            if not all(p in account.privs for p in wanted):
                raise ApiError(401, "authentication failure\n")
            return {"username": username, "cap": capabilities(account.privs)}
        result: dict[str, Any] = {
            "username": username,
            "ticket": self.signer.ticket(username),
            "CSRFPreventionToken": self.signer.csrf(username),
            "cap": capabilities(account.privs),
        }
        if clustername and "Sys.Audit" in account.privs:
            result["clustername"] = clustername
        return result
