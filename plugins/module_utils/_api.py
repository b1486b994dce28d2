# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The HTTP client every request of the collection goes through.

Authentication (ticket with CSRF and renewal, or API token), TLS (verification, CA file,
SHA-256 pinning), timeouts, bounded retries of idempotent requests and the mapping of error
responses to typed errors all live here; nothing else builds URLs or talks HTTP.
Protocol facts are in pve-protocol.md §1 (auth) and §2 (envelope, parameters).
"""

from __future__ import annotations

import http
import random
import re
import threading
import time
import typing as t
from urllib.parse import quote, urlencode

from ansible_collections.pveops.proxmox.plugins.module_utils._config import ConnectionConfig
from ansible_collections.pveops.proxmox.plugins.module_utils._errors import (
    ApiError,
    AuthError,
    NodeUnreachable,
    NotFound,
    PermissionDenied,
    PveConnectionError,
    PveError,
    PveTimeout,
    TlsError,
)

try:
    import requests
    import requests.adapters
    import urllib3

    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR: ImportError | None = None
except ImportError as exc:  # pragma: no cover - exercised only where requests is missing
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = exc

# Tickets live 7200 s (pve-protocol.md §1.4); renew at half of that, as proxmoxer does.
TICKET_RENEW_AFTER = 3600.0
# Idempotent requests are tried at most this many times in all.
MAX_ATTEMPTS = 4
BACKOFF_BASE = 0.2
BACKOFF_MAX = 2.0
CONNECT_TIMEOUT_MAX = 10.0
# Statuses that mean "the request did not get an answer from its handler": proxy and
# pvedaemon hiccups, and pveproxy's AnyEvent::HTTP pseudo statuses 595-599 (§2.1; 597: the body
# could not be read, e.g. the proxied connection broke mid-answer).
RETRY_STATUSES = frozenset({502, 503, 504, 595, 596, 597, 599})
# A 500 is normally a handler's definitive answer ("Configuration file … does not exist");
# these messages are the transient ones: a lock or a worker that timed out.
_TRANSIENT_500 = ("got timeout", "timed out", "temporarily unavailable", "try again later")
_NOT_FOUND_MARKERS = ("does not exist", "no such ")
_UNSENDABLE = ("{method} {path} could not be sent to {url}: a header holds a character HTTP cannot carry "
               "(the header is not shown: it carries the credentials)")

Params = t.Optional[t.Mapping[str, t.Any]]


def quote_segment(segment: t.Any) -> str:
    """Percent-encode one path segment (node names, UPIDs, pool ids...)."""
    return quote(str(segment), safe="")


def api_path(*segments: t.Any) -> str:
    """Build an API path such as ``/nodes/pve1/lxc/101/status/current`` with every segment quoted."""
    return "/" + "/".join(quote_segment(segment) for segment in segments)


def encode_params(params: Params) -> dict[str, str] | None:
    """Encode values the way the API expects them in query strings and form bodies.

    Booleans must be ``1``/``0`` in form encoding (``true`` is a 400, §2.2); ``None`` means
    "not sent".
    """
    if params is None:
        return None
    encoded: dict[str, str] = {}
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, bool):
            encoded[key] = "1" if value else "0"
        else:
            encoded[key] = str(value)
    return encoded


def error_text(response: t.Any) -> tuple[str, dict[str, str]]:
    """Return the server's error message and per-parameter errors of an error response.

    The reason phrase comes first: servers older than libpve-http-server-perl 5.2.0 put the
    message only there (§1.6). When the phrase is just the standard one for the status, the
    JSON ``message`` is more useful.
    """
    reason = (response.reason or "").strip()
    message = ""
    errors: dict[str, str] = {}
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        message = str(body.get("message") or "").strip()
        raw_errors = body.get("errors")
        if isinstance(raw_errors, dict):
            errors = {str(key): str(value).strip() for key, value in raw_errors.items()}
    try:
        standard = http.HTTPStatus(response.status_code).phrase
    except ValueError:
        standard = ""
    if reason and reason != standard:
        return reason, errors
    if message:
        return message.splitlines()[0], errors
    return reason or standard or "no reason given", errors


def _is_transient(status: int, message: str, has_body_message: bool) -> bool:
    if status in RETRY_STATUSES:
        return True
    if status == 500:
        lowered = message.lower()
        return not has_body_message or any(marker in lowered for marker in _TRANSIENT_500)
    return False


class ApiNotFound(ApiError, NotFound):
    """An API answer that says the object does not exist (a 500 or 400 from the handler)."""


if HAS_REQUESTS:

    class _PinnedAdapter(requests.adapters.HTTPAdapter):
        """An adapter that accepts exactly one server certificate, by its SHA-256 fingerprint.

        urllib3 checks ``assert_fingerprint`` during the handshake, before any request bytes
        (and so before any ticket or token) are sent.
        """

        def __init__(self, fingerprint: str, **kwargs: t.Any) -> None:
            self._fingerprint = fingerprint
            super().__init__(**kwargs)

        def init_poolmanager(self, *args: t.Any, **kwargs: t.Any) -> None:
            kwargs["assert_fingerprint"] = self._fingerprint
            kwargs["cert_reqs"] = "CERT_NONE"
            super().init_poolmanager(*args, **kwargs)

        def cert_verify(self, conn: t.Any, url: str, verify: t.Any, cert: t.Any) -> None:
            # requests would switch the pool back to CA verification; the pin replaces it.
            super().cert_verify(conn, url, False, cert)

    class _LeanSession(requests.Session):
        """A Session whose ``request`` prepares and sends only what ApiClient uses.

        ``Session.request`` merges environment settings, session cookies, hooks and redirect state
        on every call, none of which ApiClient uses (``trust_env`` is off, credentials are passed
        per request, redirects are never followed): at thousands of address lookups that was a third
        of the client's CPU per request (1.14 -> 0.74 ms). The request goes out through the same
        adapter, with the same TLS settings, headers and body encoding, and fails with the same
        requests exceptions; anything else ApiClient does not pass takes the full path.
        """

        def request(self, method: str, url: t.Any, params: t.Any = None, data: t.Any = None, headers: t.Any = None,  # type: ignore[override]
                    cookies: t.Any = None, timeout: t.Any = None, allow_redirects: bool = True, **kwargs: t.Any) -> t.Any:
            if kwargs or allow_redirects or not isinstance(url, str) or not all(
                    isinstance(value, (dict, type(None))) for value in (params, data, headers, cookies)):
                return super().request(method, url, params=params, data=data, headers=headers, cookies=cookies, timeout=timeout,
                                       allow_redirects=allow_redirects, **kwargs)
            prepared = requests.PreparedRequest()
            prepared.method = method.upper()
            prepared.prepare_url(url, params)
            merged: dict[str, t.Any] = dict(self.headers)
            merged.update(headers or {})
            if cookies:
                merged["Cookie"] = "; ".join(f"{name}={value}" for name, value in cookies.items())
            prepared.headers = requests.structures.CaseInsensitiveDict()
            for name, value in merged.items():
                if value is not None:
                    requests.utils.check_header_validity((name, value))
                    prepared.headers[name] = value
            prepared.body = urlencode(list(data.items())) if data else None
            if prepared.body is not None:
                prepared.headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
                prepared.headers["Content-Length"] = str(len(prepared.body))
            elif prepared.method not in ("GET", "HEAD"):
                prepared.headers["Content-Length"] = "0"
            prepared.hooks = {"response": []}
            verify: t.Any = self.verify
            response = self.get_adapter(url).send(prepared, stream=False, timeout=timeout, verify=verify, cert=self.cert, proxies={})
            response.content  # pylint: disable=pointless-statement  # read the body: the connection goes back to the pool
            return response


class ApiClient:
    """A Proxmox VE API client for one endpoint (one node's API, usually the cluster's entry point).

    Thread-safe: the inventory shares one client between discovery threads.
    """

    def __init__(self, config: ConnectionConfig, pool_size: int = 10) -> None:
        if not HAS_REQUESTS:
            raise PveConnectionError(f"the Python library 'requests' is required: {REQUESTS_IMPORT_ERROR}")
        self.config = config
        self.warnings: list[str] = []
        self.request_count = 0
        self._lock = threading.Lock()  # guards the ticket and CSRF token
        self._count_lock = threading.Lock()
        self._ticket: str | None = None
        self._csrf: str | None = None
        self._ticket_obtained = 0.0
        self._deadline: float | None = None
        self._session = self._new_session(pool_size)
        self._derived: dict[str, ApiClient] = {}

    # ----------------------------------------------------------------- session and TLS

    def _new_session(self, pool_size: int) -> t.Any:
        session = _LeanSession()
        session.headers["Accept"] = "application/json"
        session.trust_env = False  # proxies and netrc from the environment must not capture credentials
        config = self.config
        if config.tls_fingerprint and config.base_url.startswith("https://"):
            adapter: t.Any = _PinnedAdapter(config.tls_fingerprint, pool_connections=pool_size, pool_maxsize=pool_size)
            session.verify = False
        else:
            adapter = requests.adapters.HTTPAdapter(pool_connections=pool_size, pool_maxsize=pool_size)
            if not config.validate_certs:
                session.verify = False
                urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
                self.warnings.append(
                    f"validate_certs is false: the identity of {config.base_url} is not verified and credentials can be intercepted; "
                    "use ca_path or tls_fingerprint instead"
                )
            elif config.ca_path:
                session.verify = config.ca_path
        if config.base_url.startswith("http://"):
            self.warnings.append(f"allow_http is set: credentials and tickets travel unencrypted to {config.base_url}")
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        return session

    def close(self) -> None:
        """Close pooled connections (and those of the clients derived from this one)."""
        derived, self._derived = self._derived, {}
        for client in derived.values():
            client.close()
        self._session.close()

    def derived(self, purpose: str, config: ConnectionConfig) -> ApiClient:
        """A client for ``config`` kept for the life of this one and closed with it.

        One per purpose, so a module run logs in once for all its terminals (audit #20) however
        many it opens.
        """
        with self._lock:
            client = self._derived.get(purpose)
            if client is not None and client.config == config:
                return client
            if client is not None:
                client.close()
            client = self._derived[purpose] = ApiClient(config)
            return client

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc_info: t.Any) -> None:
        self.close()

    @property
    def authid(self) -> str:
        """The user or token id requests are made as."""
        return self.config.authid

    @property
    def session(self) -> t.Any:
        """The underlying requests session (the terminal layer reuses its TLS settings)."""
        return self._session

    def auth_cookie(self) -> str | None:
        """The current ticket (for the websocket's cookie), logging in first when needed."""
        if self.config.uses_token:
            return None
        self._ensure_ticket()
        return self._ticket

    def auth_headers(self) -> dict[str, str]:
        """Headers that authenticate a GET (used for the websocket upgrade as well)."""
        if self.config.uses_token:
            return {"Authorization": f"PVEAPIToken={self.config.token_id}={self.config.token_secret}"}
        self._ensure_ticket()
        return {"Cookie": f"PVEAuthCookie={quote(t.cast(str, self._ticket), safe='')}"}

    def set_deadline(self, end: float | None) -> None:
        """Bound every later request by ``end`` (``time.monotonic()`` value; None: only ``api_timeout``).

        A module's documented ``timeout`` for its whole operation sets it: each request then waits at most
        until ``end``, and no retry starts after it (PveTimeout).
        """
        self._deadline = end

    def _remaining(self) -> float | None:
        return None if self._deadline is None else self._deadline - time.monotonic()

    # ----------------------------------------------------------------- authentication

    def login(self) -> None:
        """Log in with the password (or renew with the current ticket) and keep the new ticket."""
        with self._lock:
            self._login_locked(renew=False)

    def _login_locked(self, renew: bool) -> None:
        config = self.config
        secret = self._ticket if renew and self._ticket else config.password
        data = {"username": config.user, "password": secret}
        response = self._login_answer(data)
        if response.status_code == 401:
            raise AuthError(
                401, "POST", "/access/ticket",
                f"authentication failed for {config.user}: the user name or password is wrong, the user is disabled or "
                "two-factor authentication is required (the server answers every one of these the same way)",
            )
        payload = self._decode("POST", "/access/ticket", response)
        if not isinstance(payload, dict) or "ticket" not in payload:
            raise AuthError(401, "POST", "/access/ticket", "the server returned no ticket")
        if payload.get("NeedTFA"):
            raise AuthError(401, "POST", "/access/ticket", f"{config.user} needs a second factor; use an API token for automation")
        self._ticket = str(payload["ticket"])
        self._csrf = str(payload.get("CSRFPreventionToken") or "")
        self._ticket_obtained = time.monotonic()

    def _login_answer(self, data: dict[str, t.Any]) -> t.Any:
        """``POST /access/ticket``, retried like a GET: a login changes nothing on the server, so repeating it is safe.

        Every refusal of real credentials is a 401 (pve-access-control API2/AccessControl.pm
        create_ticket turns every error into one), which is never retried here.
        """
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._send("POST", "/access/ticket", None, data, auth=False)
            except (PveConnectionError, PveTimeout):
                if attempt < MAX_ATTEMPTS:
                    self._backoff(attempt)
                    continue
                raise
            if response.status_code != 401 and self._transient(response) and attempt < MAX_ATTEMPTS:
                self._backoff(attempt)
                continue
            return response

    def _ensure_ticket(self) -> None:
        with self._lock:
            if self._ticket is None:
                self._login_locked(renew=False)
            elif time.monotonic() - self._ticket_obtained > TICKET_RENEW_AFTER:
                # Proactive renewal: post the still-valid ticket as the password (§1.4). If the
                # ticket was already refused, fall back to a fresh password login.
                try:
                    self._login_locked(renew=True)
                except AuthError:
                    self._login_locked(renew=False)

    def _relogin(self, stale_ticket: str | None) -> None:
        with self._lock:
            if self._ticket == stale_ticket:  # another thread may have logged in already
                self._login_locked(renew=False)

    def _auth_for(self, method: str) -> tuple[dict[str, str], dict[str, str]]:
        """Headers and cookies for one request."""
        config = self.config
        if config.uses_token:
            return {"Authorization": f"PVEAPIToken={config.token_id}={config.token_secret}"}, {}
        self._ensure_ticket()
        headers = {}
        if method != "GET" and self._csrf:
            headers["CSRFPreventionToken"] = self._csrf  # CSRF only on non-GET ticket requests (§1.3)
        return headers, {"PVEAuthCookie": t.cast(str, self._ticket)}

    # ----------------------------------------------------------------- requests

    def get(self, path: str, params: Params = None) -> t.Any:
        """GET an API path and return its ``data``."""
        return self.request("GET", path, params=params)

    def post(self, path: str, data: Params = None, idempotent: bool = False) -> t.Any:
        """POST and return ``data``.

        Not retried blindly, unless ``idempotent``: the caller knows that repeating it is safe,
        for example ``termproxy``, which only starts a proxy that exits by itself when nobody
        connects to it within 10 s (pve-protocol.md §4.4 step 1).
        """
        return self.request("POST", path, data=data, idempotent=idempotent)

    def put(self, path: str, data: Params = None) -> t.Any:
        """PUT and return ``data``."""
        return self.request("PUT", path, data=data)

    def request(self, method: str, path: str, params: Params = None, data: Params = None,
                idempotent: bool | None = None, envelope: bool = False, timeout: float | None = None) -> t.Any:
        """Send one API request and return ``data`` (or the whole envelope).

        GET (and requests marked ``idempotent``) are retried on connection errors and
        transient statuses with exponential backoff, at most ``MAX_ATTEMPTS`` times. Other
        methods are retried only when the connection could not even be opened, because a
        request that may have reached the server must not be replayed blindly.
        """
        if idempotent is None:
            idempotent = method == "GET"
        attempt = 0
        relogged = False
        while True:
            attempt += 1
            remaining = self._remaining()
            if remaining is not None and remaining <= 0:
                raise PveTimeout(f"{method} {path} was not sent: the operation's time limit (timeout) ran out")
            headers, cookies = self._auth_for(method)
            sent_ticket = cookies.get("PVEAuthCookie")
            try:
                response = self._send(method, path, params, data, headers=headers, cookies=cookies, timeout=timeout)
            except PveConnectionError as exc:
                may_retry = idempotent or bool(exc.details.get("not_sent"))
                if may_retry and attempt < MAX_ATTEMPTS:
                    self._backoff(attempt)
                    continue
                raise
            except PveTimeout:
                if idempotent and attempt < MAX_ATTEMPTS:
                    self._backoff(attempt)
                    continue
                raise
            status = response.status_code
            if status == 401 and not self.config.uses_token and not relogged:
                # An expired or revoked ticket: the request was refused before its handler ran,
                # so logging in again and repeating it is safe even for a POST.
                relogged = True
                self._relogin(sent_ticket)
                continue
            if idempotent and self._transient(response) and attempt < MAX_ATTEMPTS:
                self._backoff(attempt)
                continue
            return self._decode(method, path, response, envelope=envelope)

    @staticmethod
    def _transient(response: t.Any) -> bool:
        """Whether an answer is an error that a repetition of the request may not get."""
        status = response.status_code
        if status < 400:
            return False
        message, _errors = error_text(response)
        return _is_transient(status, message, _has_message(response))

    def _backoff(self, attempt: int) -> None:
        delay = min(BACKOFF_MAX, BACKOFF_BASE * (2 ** (attempt - 1)))
        delay *= 0.5 + random.random() / 2  # jitter: parallel workers must not retry in lockstep
        remaining = self._remaining()
        time.sleep(delay if remaining is None else max(0.0, min(delay, remaining)))

    def _send(self, method: str, path: str, params: Params, data: Params, headers: dict[str, str] | None = None,
              cookies: dict[str, str] | None = None, auth: bool = True, timeout: float | None = None) -> t.Any:
        config = self.config
        url = config.api_root + path
        read_timeout = timeout or config.timeout
        limit = "api_timeout"
        remaining = self._remaining()
        if remaining is not None and remaining < read_timeout:
            read_timeout, limit = max(0.1, remaining), "the operation's timeout"
        connect_timeout = min(CONNECT_TIMEOUT_MAX, read_timeout)
        started = time.monotonic()
        with self._count_lock:
            self.request_count += 1
        # The errors are raised after the except blocks: raised inside, they would keep the library's
        # exception (and through its traceback the failed connection) alive as their __context__.
        error: PveError
        try:
            return self._session.request(
                method, url,
                params=encode_params(params),
                data=encode_params(data),
                headers=headers,
                cookies=cookies,
                timeout=(connect_timeout, read_timeout),
                allow_redirects=False,
            )
        except requests.exceptions.SSLError as exc:
            error = TlsError(tls_error_message(config, exc))
        except requests.exceptions.ConnectTimeout:
            error = PveConnectionError(f"connecting to {config.base_url} timed out", not_sent=True)
        except requests.exceptions.ReadTimeout:
            if connect_timeout < read_timeout and time.monotonic() - started < read_timeout:
                # urllib3 reports a stalled TLS handshake as a read timeout, but after the connect timeout:
                # waiting for an answer cannot time out before the read timeout has passed.
                error = PveConnectionError(f"{method} {path}: {config.base_url} accepted the connection, but the TLS handshake did not "
                                           f"complete within {connect_timeout:g} s; is api_url the Proxmox VE API and pveproxy responsive?")
            else:
                error = PveTimeout(f"{method} {path} got no answer from {config.base_url} within {read_timeout:g} s ({limit})")
        except requests.exceptions.ConnectionError as exc:
            not_sent = _never_sent(exc)
            what = "could not connect to" if not_sent else "lost the connection to"
            hint = "" if not_sent or not config.base_url.startswith("http://") else "; if that port serves HTTPS, api_url must start with https://"
            error = PveConnectionError(f"{method} {path}: {what} {config.base_url}: {_root_cause(exc)}{hint}", not_sent=not_sent)
        except requests.exceptions.InvalidHeader:
            # Its text is the whole header, a token secret or ticket included: never show it.
            error = PveError(_UNSENDABLE.format(method=method, path=path, url=config.base_url))  # not retried: it would fail alike
        except requests.exceptions.RequestException as exc:
            error = PveConnectionError(f"{method} {path} to {config.base_url} failed: {_root_cause(exc)}")
        except (ValueError, UnicodeError):
            # http.client refuses header values it cannot encode (UnicodeEncodeError) or that hold
            # control characters ("Invalid header value b'...'"), with the value in the text.
            error = PveError(_UNSENDABLE.format(method=method, path=path, url=config.base_url))  # not retried: it would fail alike
        raise error

    def _decode(self, method: str, path: str, response: t.Any, envelope: bool = False) -> t.Any:
        status = response.status_code
        if status >= 400:
            raise self._error(method, path, response)
        if status >= 300:
            location = str(response.headers.get("Location", "?"))
            if self.config.base_url.startswith("http://") and location.startswith("https://"):
                raise ApiError(status, method, path, f"{self.config.base_url} answers with a redirect to {location}: it speaks HTTPS, "
                                                     "so api_url must start with https://")
            raise ApiError(status, method, path, f"unexpected redirect to {location}")
        try:
            body = response.json()
        except ValueError:
            if path.endswith("/journal") and not response.content:
                # mini-journalreader prints nothing when it refuses its arguments (an invalid cursor, options it
                # cannot combine) and the node streams that as an empty gzip body (§3.10).
                refused = "the node's journal reader returned nothing: it refused the request (an invalid cursor, or a range it cannot combine)"
                raise ApiError(status, method, path, refused) from None
            raise ApiError(status, method, path, "the answer is not JSON; is api_url the Proxmox VE API?") from None
        if not isinstance(body, dict) or "data" not in body:
            raise ApiError(status, method, path, "the answer has no 'data' member; is api_url the Proxmox VE API?")
        return body if envelope else body["data"]

    def _error(self, method: str, path: str, response: t.Any) -> ApiError:
        status = response.status_code
        message, errors = error_text(response)
        if status == 401:
            if self.config.uses_token:
                message = f"API token {self.config.token_id} was refused ({message}): check the token id, its secret and that it is not expired"
            return AuthError(status, method, path, message)
        if status == 403:
            return PermissionDenied(status, method, path, message)
        if status in (595, 596, 597):
            return NodeUnreachable(status, method, path, message)
        lowered = (message + " " + " ".join(errors.values())).lower()
        if status in (400, 500) and any(marker in lowered for marker in _NOT_FOUND_MARKERS):
            return ApiNotFound(status, method, path, message, errors)
        return ApiError(status, method, path, message, errors)


def _has_message(response: t.Any) -> bool:
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and bool(body.get("message"))


def _root_cause(exc: BaseException) -> str:
    """The innermost exception's text, without urllib3's pool boilerplate."""
    cause: BaseException = exc
    seen = 0
    while seen < 10:
        seen += 1
        nested = getattr(cause, "reason", None) or cause.__context__ or cause.__cause__
        if not isinstance(nested, BaseException):
            break
        cause = nested
    text = str(cause)
    if "] " in text and text.startswith("<"):
        text = text.split("] ", 1)[1].rstrip(">")
    return text or type(cause).__name__


def _never_sent(exc: BaseException) -> bool:
    """True when the connection failed before the request could be written."""
    cause: BaseException | None = exc
    for _step in range(10):
        if cause is None:
            break
        if isinstance(cause, (urllib3.exceptions.NewConnectionError, urllib3.exceptions.NameResolutionError, ConnectionRefusedError)):
            return True
        cause = getattr(cause, "reason", None) or cause.__context__ or cause.__cause__
    return False


def fingerprint_mismatch_message(config: ConnectionConfig, actual: str | None, cause: str = "") -> str:
    """The one message for a certificate that is not the pinned one (HTTP requests and the terminal's socket alike)."""
    if actual is not None:
        shown = ":".join(actual[index:index + 2] for index in range(0, len(actual), 2)).upper()  # as `pvenode cert info` shows it
        what = f"its SHA-256 fingerprint is {shown}"
    else:
        what = cause or "no fingerprint could be read"
    return f"the certificate of {config.base_url} does not match tls_fingerprint ({what}); check the fingerprint with `pvenode cert info` on the node"


def tls_error_message(config: ConnectionConfig, exc: BaseException) -> str:
    """Explain a TLS failure and name the options that fix it."""
    cause = _root_cause(exc)
    if config.tls_fingerprint:
        # urllib3: 'Fingerprints did not match. Expected "<pin>", got "<actual>".'
        actual = re.search(r'got "?([0-9a-f]{64})', cause)
        return fingerprint_mismatch_message(config, actual.group(1) if actual else None, cause)
    hint = ("set ca_path to the CA that signed the node's certificate (/etc/pve/pve-root-ca.pem on a default install), "
            "or pin the certificate with tls_fingerprint (its SHA-256 fingerprint, see `pvenode cert info`)")
    if config.ca_path:
        hint = f"ca_path {config.ca_path!r} did not verify it; {hint}"
    return f"TLS verification of {config.base_url} failed ({cause}): {hint}"
