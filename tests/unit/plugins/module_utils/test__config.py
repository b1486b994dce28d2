# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Connection option validation: every bad value names its option; secrets never appear."""
from __future__ import annotations

import pytest

from ansible_collections.pveops.proxmox.plugins.module_utils._config import connection_config, normalize_fingerprint, normalize_url
from ansible_collections.pveops.proxmox.plugins.module_utils._errors import ConfigError

FP = "ab" * 32


@pytest.mark.parametrize(
    ("given", "port", "expected"),
    [
        ("https://pve.example.com:8006", None, "https://pve.example.com:8006"),
        ("https://pve.example.com:8006/", None, "https://pve.example.com:8006"),
        ("https://pve.example.com:8006/api2/json", None, "https://pve.example.com:8006"),
        ("https://pve.example.com:8006/api2/json/", None, "https://pve.example.com:8006"),
        ("pve.example.com", None, "https://pve.example.com:8006"),
        ("pve.example.com", 443, "https://pve.example.com:443"),
        ("https://pve.example.com", None, "https://pve.example.com:8006"),
        ("https://[::1]:8006", None, "https://[::1]:8006"),
        ("https://proxy.example.com/pve", None, "https://proxy.example.com:8006/pve"),
    ],
)
def test_normalize_url(given: str, port: int | None, expected: str) -> None:
    assert normalize_url(given, port) == expected


@pytest.mark.parametrize("bad", ["", "ftp://pve", "https://user:pw@pve:8006", "https://pve:99999", "https://pve:8006/?x=1"])
def test_normalize_url_rejects(bad: str) -> None:
    with pytest.raises(ConfigError, match="api_url"):
        normalize_url(bad)


def test_credentials_in_url_are_not_echoed() -> None:
    with pytest.raises(ConfigError) as info:
        connection_config({"api_url": "https://root:hunter2@pve:8006", "api_password": "x"})
    assert "api_url" in str(info.value)


def test_fingerprint_forms() -> None:
    colon = ":".join(["AB"] * 32)
    assert normalize_fingerprint(colon) == FP
    assert normalize_fingerprint(FP.upper()) == FP
    with pytest.raises(ConfigError, match="tls_fingerprint 'abc'"):
        normalize_fingerprint("abc")


def test_password_login_defaults_to_root_at_pam() -> None:
    config = connection_config({"api_url": "pve", "api_password": "s3cret"})
    assert config.user == "root@pam"
    assert not config.uses_token
    assert config.authid == "root@pam"
    assert "s3cret" not in repr(config)


def test_realm_is_added_to_a_bare_user() -> None:
    config = connection_config({"api_url": "pve", "api_user": "admin", "api_realm": "pve", "api_password": "x"})
    assert config.user == "admin@pve"


def test_full_token_id() -> None:
    config = connection_config({"api_url": "pve", "api_token_id": "ansible@pve!inv", "api_token_secret": "uuid-secret"})
    assert config.uses_token
    assert config.authid == "ansible@pve!inv"
    assert "uuid-secret" not in repr(config)


def test_bare_token_name_is_combined_with_api_user() -> None:
    config = connection_config({"api_url": "pve", "api_user": "root@pam", "api_token_id": "ansible", "api_token_secret": "s"})
    assert config.token_id == "root@pam!ansible"


def test_bare_token_name_without_user() -> None:
    with pytest.raises(ConfigError, match="api_token_id 'ansible' is a bare token name"):
        connection_config({"api_url": "pve", "api_token_id": "ansible", "api_token_secret": "s"})


def test_token_needs_its_secret() -> None:
    with pytest.raises(ConfigError, match="api_token_secret is missing"):
        connection_config({"api_url": "pve", "api_token_id": "root@pam!x"})


def test_secret_without_id_does_not_echo_the_secret() -> None:
    with pytest.raises(ConfigError) as info:
        connection_config({"api_url": "pve", "api_token_secret": "very-secret"})
    assert "very-secret" not in str(info.value)
    assert "api_token_id is missing" in str(info.value)


def test_no_credentials() -> None:
    with pytest.raises(ConfigError, match="no credentials"):
        connection_config({"api_url": "pve"})


@pytest.mark.parametrize("user", ["root", "root@", "ro ot@pam", "a@b@c"])
def test_bad_user(user: str) -> None:
    options = {"api_url": "pve", "api_user": user, "api_password": "x", "api_realm": "pam"}
    if user == "root":
        assert connection_config(options).user == "root@pam"
        return
    with pytest.raises(ConfigError, match="api_user"):
        connection_config(options)


def test_ca_path_must_exist(tmp_path) -> None:
    with pytest.raises(ConfigError, match="ca_path '/nonexistent/ca.pem'"):
        connection_config({"api_url": "pve", "api_password": "x", "ca_path": "/nonexistent/ca.pem"})
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    assert connection_config({"api_url": "pve", "api_password": "x", "ca_path": str(ca)}).ca_path == str(ca)


def test_timeout_and_port_bounds() -> None:
    with pytest.raises(ConfigError, match="api_timeout 0"):
        connection_config({"api_url": "pve", "api_password": "x", "api_timeout": 0})
    with pytest.raises(ConfigError, match="api_port 70000"):
        connection_config({"api_url": "pve", "api_password": "x", "api_port": 70000})


SECRET = "6d94626e-5342-4b1e-8f3f-50c8d1d71853"


@pytest.mark.parametrize(("secret", "problem"), [
    (SECRET + "\n", "ends with a line break"),
    (SECRET + "\r\n", "ends with a line break"),
    (SECRET[:8] + "\t" + SECRET[8:], "contains a control character"),
    (" " + SECRET, "contains a space or a non-ASCII character"),
    (SECRET + "é", "contains a space or a non-ASCII character"),
    (SECRET + "€", "contains a space or a non-ASCII character"),
])
def test_token_secret_that_no_header_can_carry_is_refused_without_showing_it(secret: str, problem: str) -> None:
    with pytest.raises(ConfigError) as info:
        connection_config({"api_url": "pve", "api_token_id": "root@pam!ansible", "api_token_secret": secret})
    message = str(info.value)
    assert message.startswith("api_token_secret ") and problem in message
    assert SECRET[:8] not in message and SECRET[-8:] not in message


@pytest.mark.parametrize("password", ["hunter2\n", "hunter2\r", "hun\x00ter2", "hunter2\x7f"])
def test_password_with_a_line_break_or_control_character_is_refused(password: str) -> None:
    with pytest.raises(ConfigError, match="^api_password ") as info:
        connection_config({"api_url": "pve", "api_password": password})
    assert "hunter2" not in str(info.value) and "hun" not in str(info.value)


def test_password_may_hold_spaces_and_non_ascii() -> None:
    """The password travels UTF-8 encoded in the login body, not in a header (pve realm: crypt of its UTF-8 bytes)."""
    assert connection_config({"api_url": "pve", "api_password": "pässwörd mit Leerzeichen"}).password == "pässwörd mit Leerzeichen"


@pytest.mark.parametrize("options", [
    {"api_token_id": "root@pam!ansible\n"},
    {"api_token_id": "ansible\n", "api_user": "root@pam"},
    {"api_token_id": "ansible", "api_user": "root@pam\n"},
])
def test_token_id_and_user_with_a_trailing_newline_are_refused(options: dict[str, str]) -> None:
    """``$`` matches before a final newline: the checks must match the whole value."""
    with pytest.raises(ConfigError, match="api_token_id|api_user") as info:
        connection_config({"api_url": "pve", "api_token_secret": SECRET, **options})
    assert SECRET not in str(info.value)


@pytest.mark.parametrize("url", ["https://[::1", "https://[::1/api2/json", "https://[pve]:8006"])
def test_malformed_url_is_a_message(url: str) -> None:
    with pytest.raises(ConfigError, match=r"^api_url '.*' is not a valid URL"):
        connection_config({"api_url": url, "api_password": "x"})


@pytest.mark.parametrize(("option", "value"), [
    ("api_timeout", 1000000000000), ("api_timeout", float("nan")), ("api_timeout", float("inf")), ("api_timeout", 0),
    ("api_port", 0), ("api_port", 65536), ("api_port", 8006.5), ("api_port", "x"),
])
def test_timeout_and_port_must_be_finite_and_bounded(option: str, value: object) -> None:
    with pytest.raises(ConfigError, match=f"^{option} {value!r} is not a"):
        connection_config({"api_url": "pve", "api_password": "x", option: value})


@pytest.mark.parametrize(("options", "credentials"), [
    ({"api_password": "hunter2"}, "password and the tickets"),
    ({"api_token_id": "root@pam!ansible", "api_token_secret": SECRET}, "API token"),
])
def test_plain_http_is_refused_unless_allowed(options: dict[str, str], credentials: str) -> None:
    with pytest.raises(ConfigError) as info:
        connection_config({"api_url": "http://pve.example.com:8006", **options})
    message = str(info.value)
    assert message.startswith("api_url 'http://pve.example.com:8006' uses plain http://") and f"sends the {credentials} unencrypted" in message
    assert "allow_http: true" in message and "hunter2" not in message and SECRET not in message
    allowed = connection_config({"api_url": "http://pve.example.com:8006", "allow_http": True, **options})
    assert allowed.base_url == "http://pve.example.com:8006" and allowed.allow_http


def test_a_bare_host_is_https() -> None:
    assert connection_config({"api_url": "pve.example.com", "api_password": "x"}).base_url.startswith("https://")
