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
