# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The connection plugin's engine without a simulator: the request loop on a local pty, command lines, the broker's pieces."""
from __future__ import annotations

import hashlib
import os
import socket
import stat
import threading
import typing as t

import pytest

from ansible_collections.pveops.proxmox.plugins.module_utils import _nodeshell
from ansible_collections.pveops.proxmox.plugins.module_utils._config import connection_config
from ansible_collections.pveops.proxmox.plugins.module_utils._errors import PveError
from ansible_collections.pveops.proxmox.plugins.module_utils._wsread import FrameReader
from ansible_collections.pveops.proxmox.plugins.plugin_utils import _lxc_broker
from ansible_collections.pveops.proxmox.plugins.plugin_utils._lxc_agent import (
    Account,
    AgentSession,
    attach_argv,
    check_user_name,
    parse_passwd,
)

from local_terminal import local_terminal  # noqa: F401  pylint: disable=unused-import


@pytest.fixture(autouse=True)
def local(local_terminal: None) -> None:  # noqa: F811
    """Agent sessions run on a local bash (no lxc-attach here: commands are given as node command lines)."""


def test_the_request_loop_serves_many_commands_on_one_shell() -> None:
    session = AgentSession(t.cast(t.Any, None), "local", idle=60)
    session.open()
    try:
        data = os.urandom(300000)
        for round_number in range(3):
            result, sha = session.run(["sh", "-c", f"cat; echo round {round_number} >&2; exit {round_number}"], data, want_sha=True)
            assert (result.rc, result.stdout, result.stderr) == (round_number, data, f"round {round_number}\n".encode())
            assert sha == hashlib.sha256(data).hexdigest()
        text = b"line of text\n" * 100000  # gzip-compressed both ways
        result, _sha = session.run(["cat"], text)
        assert result.stdout == text
        assert session.requests == 4
    finally:
        session.close()


def test_a_broken_session_is_never_reused() -> None:
    session = AgentSession(t.cast(t.Any, None), "local", idle=60)
    session.open()
    session.abort()
    with pytest.raises(PveError, match="no longer usable"):
        session.run(["true"])
    session.close()


def test_attach_command_lines() -> None:
    user = Account("user", 1000, 1000, "/home/user", "/bin/bash")
    argv = attach_argv(101, ["/bin/sh", "-c", "id; echo $HOME"], user)
    assert argv[:4] == ["lxc-attach", "-n", "101", "--clear-env"]
    assert "HOME=/home/user" in argv and "USER=user" in argv and argv[argv.index("-u") + 1] == "1000"
    assert argv[-4:] == ["--", "/bin/sh", "-c", "id; echo $HOME"]
    root = attach_argv(101, ["true"], None)
    assert "-u" not in root and "HOME=/root" in root
    assert attach_argv(101, ["true"], None, attach="pct")[:4] == ["pct", "exec", "101", "--"]
    with pytest.raises(PveError, match="pct exec runs commands as root only"):
        attach_argv(101, ["true"], user, attach="pct")


def test_passwd_entries_and_user_names() -> None:
    assert parse_passwd("user:x:1000:1000:User,,,:/home/user:/bin/bash\n", "user") == Account("user", 1000, 1000, "/home/user", "/bin/bash")
    for line in ("", "other:x:1:1::/:/bin/sh", "user:x:one:1::/:/bin/sh"):
        with pytest.raises(PveError, match="unexpected passwd entry"):
            parse_passwd(line, "user")
    assert check_user_name("www-data") == "www-data"
    for bad in ("-rf", "a b", "x;y", "$(id)", ""):
        with pytest.raises(PveError, match="not a valid user name"):
            check_user_name(bad)


def test_broker_keys_keep_credentials_apart() -> None:
    base = {"api_url": "https://pve:8006", "api_password": "one"}
    key = _lxc_broker.broker_key(connection_config(base))
    assert key == _lxc_broker.broker_key(connection_config(base))
    assert key != _lxc_broker.broker_key(connection_config(dict(base, api_password="two")))
    assert key != _lxc_broker.broker_key(connection_config(dict(base, api_url="https://pve2:8006")))
    assert key != _lxc_broker.broker_key(connection_config(dict(base, tls_fingerprint="ab" * 32)))
    assert "one" not in key


def test_the_broker_directory_must_be_private(tmp_path: t.Any) -> None:
    private = tmp_path / "broker"
    assert _lxc_broker.private_dir(str(private)) == str(private)
    assert stat.S_IMODE(private.stat().st_mode) == 0o700
    private.chmod(0o755)
    with pytest.raises(PveError, match="mode 0700"):
        _lxc_broker.private_dir(str(private))


def test_frames_round_trip_and_are_bounded() -> None:
    left, right = socket.socketpair()
    with left, right:
        _lxc_broker.send_json(left, {"kind": "ping"})
        _lxc_broker.send_frame(left, b"x" * 100000)
        assert _lxc_broker.recv_json(right) == {"kind": "ping"}
        assert _lxc_broker.recv_frame(right) == b"x" * 100000
        left.sendall((_lxc_broker.MAX_FRAME + 1).to_bytes(4, "big"))
        with pytest.raises(PveError, match="too large"):
            _lxc_broker.recv_frame(right)


def test_a_peer_that_goes_away_ends_its_request() -> None:
    """The broker's watch closes the node shell when the worker vanishes mid-request."""
    aborted = threading.Event()

    class Session:
        def abort(self) -> None:
            aborted.set()

    worker, broker = socket.socketpair()
    with broker:
        watch = _lxc_broker._PeerWatch(broker, t.cast(t.Any, Session()))  # pylint: disable=protected-access
        worker.close()
        watch.thread.join(10)
        watch.stop()
    assert aborted.is_set()


def test_the_window_keeps_the_localhost_connection_far_from_full() -> None:
    assert _nodeshell.WINDOW <= 512 * 1024


class PooledShell:
    """What the pool looks at in an idle shell."""

    def __init__(self, node: str, idle_for: float, broken: bool = False, hung_up: bool = False) -> None:
        self.node, self.broken, self.hung_up, self.closed = node, broken, hung_up, False
        self.last_used = _lxc_broker.time.monotonic() - idle_for

    def usable(self) -> bool:
        return not self.broken and not self.hung_up

    def close(self) -> None:
        self.closed = True


def test_the_pool_never_hands_out_a_shell_whose_loop_may_have_left() -> None:
    """The loop leaves after `idle` seconds without a request; a shell idle nearly that long is closed, its place freed."""
    pool = _lxc_broker.ShellPool(t.cast(t.Any, None), per_node=4, idle=120, spool_dir="/var/tmp")
    fresh, stale, broken = PooledShell("pve3", 5), PooledShell("pve3", 110), PooledShell("pve3", 1, broken=True)
    hung_up = PooledShell("pve3", 2, hung_up=True)  # its terminal was closed by the other side while it sat in the pool
    pool.idle_shells["pve3"] = t.cast(t.Any, [fresh, broken, hung_up, stale])  # the last released is handed out first
    pool.counts["pve3"] = 4
    assert pool.acquire("pve3") is fresh
    assert stale.closed and broken.closed and hung_up.closed and not fresh.closed
    assert pool.counts["pve3"] == 1 and pool.idle_shells["pve3"] == []


def test_an_idle_frame_reader_tells_a_silent_socket_from_a_closed_or_talking_one() -> None:
    left, right = socket.socketpair()
    with left, right:
        reader = FrameReader(left)
        assert reader.idle()
        right.sendall(b"\x82\x01x")  # one binary frame
        assert not reader.idle()
        assert reader.read(1) == [(2, b"x")]
        assert reader.idle()
        right.close()  # the other side went away while nobody read
        assert not reader.idle()
