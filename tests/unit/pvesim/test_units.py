# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""In-process tests of the simulator's building blocks (decoding, formats, networking, tickets, journal)."""
from __future__ import annotations

import time

import pytest

from pvesim import network
from pvesim.decode import decode_urlencoded
from pvesim.errors import ApiError
from pvesim.formats import FormatError, parse_startup
from pvesim.journal import NodeJournal
from pvesim.params import boolean, integer, string, validate
from pvesim.reqlog import redact
from pvesim.tickets import TicketSigner


def test_form_decoding_follows_perl() -> None:
    assert decode_urlencoded("a=1;b=x+y&c=%2B") == {"a": "1", "b": "x y", "c": "+"}
    # A raw '=' inside a value cuts it (Perl split(/=/)); repeated keys join with NUL; no '=' -> dropped.
    assert decode_urlencoded("t=abc==&k=1&k=2&flag") == {"t": "abc", "k": "1\x002"}
    assert decode_urlencoded("n=%C3%BC") == {"n": "\u00fc"}


@pytest.mark.parametrize("value", ["2", "order=2", "order=2,up=30,down=60", "up=5", "3,down=1", ""])
def test_startup_valid(value: str) -> None:
    parse_startup(value)


@pytest.mark.parametrize("value", ["first", "order=x", "up=5,foo=1", "order=-1"])
def test_startup_invalid(value: str) -> None:
    with pytest.raises(FormatError, match="unable to parse startup options"):
        parse_startup(value)


def test_validate_messages() -> None:
    specs = (integer("vmid", optional=False, minimum=100, maximum=999999999), boolean("flag"), string("mode", enum=("a", "b")), string("net[n]", count=2))
    assert validate(specs, {"vmid": "100", "flag": True, "mode": "a", "net1": "x"}) == {"vmid": 100, "flag": 1, "mode": "a", "net1": "x"}
    with pytest.raises(ApiError) as info:
        validate(specs, {"vmid": "1e3", "flag": "yes", "mode": "c", "net2": "x"})
    assert info.value.status == 400 and info.value.errors == {
        "vmid": "type check ('integer') failed - got '1e3'",
        "flag": "type check ('boolean') failed - got 'yes'",
        "mode": "value 'c' does not have a value in the enumeration 'a, b'",
        "net2": "property is not defined in schema and the schema does not allow additional properties",
    }
    with pytest.raises(ApiError) as info:
        validate(specs, {"vmid": "1000000000"})
    assert info.value.errors == {"vmid": "value must have a maximum value of 999999999"}


def test_net_normalisation_and_addresses() -> None:
    value = network.normalise_net("ip=dhcp,name=eth0,bridge=vmbr0,firewall=1", 100, 0)
    assert value == "name=eth0,bridge=vmbr0,firewall=1,hwaddr=BC:24:11:00:00:64,ip=dhcp,type=veth"
    assert network.slaac("BC:24:11:00:00:64") == "fd00:10::be24:11ff:fe00:64/64"
    assert network.link_local("BC:24:11:2E:5A:7F") == "fe80::be24:11ff:fe2e:5a7f/64"
    assert network.dhcp_lease4(100) == "192.168.10.100/24" and network.dhcp_lease4(256) == "192.168.10.5/24"
    for bad in ("bridge=vmbr0", "name=eth0,ip=10.0.0.1", "name=eth0,foo=1", "name=eth0,hwaddr=01:00:00:00:00:00", "name=eth0,tag=5000"):
        with pytest.raises(ValueError):
            network.parse_net(bad)


def test_tickets_and_csrf() -> None:
    clock = [1_700_000_000.0]
    signer = TicketSigner(b"k" * 32, 7200, lambda: clock[0])
    ticket = signer.ticket("root@pam")
    assert signer.verify_ticket(ticket) == "root@pam"
    assert signer.verify_ticket(ticket.replace("root@pam", "ops@pve")) is None
    csrf = signer.csrf("root@pam")
    assert signer.verify_csrf("root@pam", csrf) and not signer.verify_csrf("ops@pve", csrf)
    clock[0] += 7199
    assert signer.verify_ticket(ticket) == "root@pam"
    clock[0] += 2
    assert signer.verify_ticket(ticket) is None and not signer.verify_csrf("root@pam", csrf)
    # Up to 300 s "from the future" is accepted (clock skew).
    future = TicketSigner(b"k" * 32, 7200, lambda: 1_700_000_000.0 + 299)
    assert TicketSigner(b"k" * 32, 7200, lambda: 1_700_000_000.0).verify_ticket(future.ticket("root@pam")) == "root@pam"


def test_redaction() -> None:
    assert redact({"password": "p", "vncticket": "v", "new-password": "n", "tfa-challenge": "t", "username": "u"}) == {
        "password": "***", "vncticket": "***", "new-password": "***", "tfa-challenge": "***", "username": "u"}


def test_journal_cursor_semantics() -> None:
    now = time.time()
    journal = NodeJournal("pveX", now - 3600, now)
    tail = journal.query(lastentries=3)
    assert tail is not None and len(tail) == 5
    journal.append("app", 1, "new line")
    newer = journal.query(startcursor=tail[-1])
    assert newer is not None and newer[1].endswith("app[1]: new line")
    assert journal.query(startcursor="s=bogus;i=1") is None
    assert journal.query(lastentries=1, startcursor=tail[-1]) is None
