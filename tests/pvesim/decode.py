# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Request parameter decoding: query string, form and JSON bodies (pve-protocol.md 2.2)."""
from __future__ import annotations

import json
import re
from typing import Any

from pvesim.errors import http_error
from pvesim.httpmsg import HttpRequest

MAX_BODY = 512 * 1024
"""libpve-http-server-perl >= 5.2.1 refuses larger POST bodies (2.2)."""

_PCT = re.compile(rb"%([0-9a-fA-F]{2})")


def _unescape(raw: str) -> bytes:
    # '+' becomes a space *before* %XX decoding, so a literal '+' must be sent as %2B (2.2).
    data = raw.replace("+", " ").encode("latin-1", "replace")
    return _PCT.sub(lambda m: bytes([int(m.group(1), 16)]), data)


def decode_urlencoded(data: str) -> dict[str, str]:
    """Decode like AnyEvent.pm `decode_urlencoded`: `&` and `;` separate pairs, repeated keys join with NUL.

    Like the Perl `split(/=/, $kv)`, only the text up to a second raw `=` is kept, so clients must
    percent-encode `=` inside values (base64 tickets!). A key without `=` has no value and is dropped.
    """
    result: dict[str, str] = {}
    for pair in re.split(r"[&;]", data or ""):
        if not pair:
            continue
        parts = pair.split("=")
        key = _unescape(parts[0]).decode("utf-8", "replace")
        if len(parts) < 2:
            continue
        value = _unescape(parts[1]).decode("utf-8", "replace")
        if key in result:
            value = result[key] + "\0" + value
        result[key] = value
    return result


def content_type(req: HttpRequest) -> str | None:
    """The media type of the body without parameters, like AnyEvent.pm `parse_content_type`."""
    raw = req.header("Content-Type")
    if not raw:
        return None
    return re.split(r"\s*[;,]\s*", raw.strip())[0].lower()


def check_body(req: HttpRequest) -> None:
    """The body checks the HTTP layer does after authentication (2.1 `error()` answers, plain text)."""
    length = len(req.body) if req.body_complete else MAX_BODY + 1
    if not length:
        return
    if req.method not in ("POST", "PUT"):
        raise http_error(501, f"Unexpected content for method '{req.method}'")
    if length > MAX_BODY:
        raise http_error(501, "for data too large")
    ctype = content_type(req)
    if ctype not in (None, "application/x-www-form-urlencoded", "application/json"):
        raise http_error(506, f"upload 'Content-Type '{req.header('Content-Type')}' not implemented")


def extract_params(req: HttpRequest) -> dict[str, Any]:
    """Body parameters (form or JSON) merged with query parameters; the query wins (2.2)."""
    params: dict[str, Any] = {}
    if req.method in ("POST", "PUT") and req.body:
        if content_type(req) == "application/json":
            params = _decode_json(req.body)
        else:
            params = dict(decode_urlencoded(req.body.decode("latin-1")))
    params.update(decode_urlencoded(req.query))
    params.pop("_dc", None)  # ExtJS cache buster, removed by the server (2.2)
    # JSON null is Perl undef: the parameter counts as absent.
    return {key: value for key, value in params.items() if value is not None}


def _decode_json(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        # decode_json dies inside handle_api2_request's eval: answered by error() as 501.
        raise http_error(501, f"malformed JSON string: {exc}\n") from exc
    if not isinstance(value, dict):
        raise http_error(501, "JSON body is not an object\n")
    return value


def as_text(value: Any) -> str:
    """How Perl would stringify a decoded JSON value in an error message."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)
