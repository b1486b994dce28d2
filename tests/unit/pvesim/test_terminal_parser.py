# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""termproxy's input parser, websocket framing and VNC tickets, in process (pve-protocol.md 4.3, 4.4)."""
from __future__ import annotations

import os
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pvesim import wsframe
from pvesim.termparse import BUFFER_SIZE, AuthLineError, DataEvent, Event, InputParser, NoteEvent, ResizeEvent
from pvesim.tickets import TicketSigner


def _data(events: list[Event]) -> bytes:
    return b"".join(e.data for e in events if isinstance(e, DataEvent))


# --- the auth line --------------------------------------------------------------------------------------


def _read_ticket(parser: InputParser, *reads: bytes) -> tuple[bytes, bytes] | None:
    """Reads as `read_ticket_line` does them: each one into the free space, then the newline check."""
    line = None
    for data in reads:
        source = bytearray(data)
        parser.read(source)
        line = parser.ticket_line()
    return line


def test_auth_line_in_pieces_keeps_the_rest() -> None:
    parser = InputParser()
    assert _read_ticket(parser, b"root@pam:PVEVNC:") is None
    assert _read_ticket(parser, b"0000::sig\n0:2:") == (b"root@pam", b"PVEVNC:0000::sig")
    # What followed the newline stays in termproxy's buffer as protocol input (main.rs:136-139).
    assert bytes(parser.buffer) == b"0:2:"
    assert _data(parser.feed(b"ok")) == b"ok"


def test_auth_line_splits_at_the_first_colon_only() -> None:
    assert _read_ticket(InputParser(), b"root@pam!tok:PVEVNC:AB::x=\n") == (b"root@pam!tok", b"PVEVNC:AB::x=")


def test_auth_line_errors() -> None:
    with pytest.raises(AuthLineError, match="authentication data is invalid"):
        _read_ticket(InputParser(), b"no colon here\n")
    # A line that does not fit termproxy's 4 KiB buffer fails before its newline is read.
    parser = InputParser()
    source = bytearray(b"x" * BUFFER_SIZE + b":t\n")
    assert parser.read(source) == BUFFER_SIZE and bytes(source) == b":t\n"
    with pytest.raises(AuthLineError, match="authentication data is incomplete"):
        parser.ticket_line()


# --- the message parser ------------------------------------------------------------------------------------


def _resizes(events: list[Event]) -> list[tuple[int, int]]:
    return [(e.cols, e.rows) for e in events if isinstance(e, ResizeEvent)]


def test_messages_in_one_read() -> None:
    events = InputParser().feed(b"0:5:hello1:120:40:20:3:abc")
    assert _data(events) == b"helloabc"
    assert _resizes(events) == [(120, 40)]


def test_data_may_span_reads() -> None:
    parser = InputParser()
    assert _data(parser.feed(b"0:10:01234")) == b"01234"
    assert parser.remaining == 5
    assert _data(parser.feed(b"567890:1:x")) == b"56789x"


def test_bad_resize_numbers_are_noted_and_ignored() -> None:
    parser = InputParser()
    events = parser.feed(b"1:-1:-1:")  # what go-proxmox sends without a terminal (6.2 item 1)
    assert _resizes(events) == [] and not parser.buffer
    assert any(isinstance(e, NoteEvent) and "invalid digit" in e.text for e in events)
    assert _data(parser.feed(b"0:2:ok")) == b"ok"
    # In the same read, the leftover "-1:" is read as a type-1 message that swallows the next header.
    events = InputParser().feed(b"1:-1:-1:0:2:ok")
    assert _resizes(events) == [(0, 2)] and _data(events) == b""
    # cols/rows are truncated to 16 bits like `as u16`.
    assert _resizes(InputParser().feed(b"1:65616:20:")) == [(80, 20)]


def test_split_header_is_misparsed() -> None:
    """The real quirk: the consumed `0:` of a split header is forgotten, the rest is read as new messages."""
    parser = InputParser()
    assert parser.feed(b"0:1") == []
    events = parser.feed(b"2:hello world!")
    # "12" became a resize type with an empty number; the payload bytes were skipped as unknown types.
    assert _data(events) == b""
    assert any(isinstance(e, NoteEvent) for e in events)


def test_long_number_without_colon_is_discarded_in_steps() -> None:
    parser = InputParser()
    # 45 digits: two 20-byte discards, then the last 5 are read as (unknown) message types; one byte waits.
    assert parser.feed(b"0:" + b"9" * 45) == []
    assert bytes(parser.buffer) == b"9"
    assert _data(parser.feed(b"0:1:z")) == b"z"
    # A ':' anywhere ends the number, however far away: 30 digits do not parse.
    events = InputParser().feed(b"0:" + b"1" * 30 + b":abc")
    assert _data(events) == b"" and any(isinstance(e, NoteEvent) for e in events)


def test_big_read_is_cut_into_buffer_sized_reads() -> None:
    payload = os.urandom(3 * BUFFER_SIZE)
    parser = InputParser()
    assert _data(parser.feed(b"0:%d:" % len(payload) + payload)) == payload
    assert not parser.buffer and parser.remaining == 0


@st.composite
def message_stream(draw: st.DrawFn) -> tuple[bytes, bytes, list[tuple[int, int]], list[int]]:
    """Well-formed messages; returns (stream, data, resizes, offsets where a read may safely end)."""
    stream, data, resizes, safe = b"", b"", [], [0]
    for _index in range(draw(st.integers(0, 12))):
        kind = draw(st.sampled_from(["data", "resize", "ping"]))
        if kind == "data":
            body = draw(st.binary(max_size=300))
            header = b"0:%d:" % len(body)
            stream += header
            # Inside a body a read may end anywhere; inside a header never.
            safe += [len(stream) + i for i in range(len(body) + 1)]
            stream += body
            data += body
        elif kind == "resize":
            cols, rows = draw(st.integers(0, 65535)), draw(st.integers(0, 65535))
            stream += b"1:%d:%d:" % (cols, rows)
            resizes.append((cols, rows))
            safe.append(len(stream))
        else:
            stream += b"2"
            safe.append(len(stream))
    return stream, data, resizes, sorted(set(safe))


@settings(max_examples=300, deadline=None)
@given(message_stream(), st.data())
def test_reads_split_outside_headers_lose_nothing(sample: tuple[bytes, bytes, list[tuple[int, int]], list[int]], draw: st.DataObject) -> None:
    stream, data, resizes, safe = sample
    cuts = sorted(draw.draw(st.sets(st.sampled_from(safe), max_size=10)))
    parser = InputParser()
    events: list[Event] = []
    previous = 0
    for cut in cuts + [len(stream)]:
        events += parser.feed(stream[previous:cut])
        previous = cut
    assert _data(events) == data
    assert _resizes(events) == resizes
    assert parser.remaining == 0


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=200), max_size=20))
def test_any_bytes_in_any_reads_keep_the_invariants(reads: list[bytes]) -> None:
    parser = InputParser()
    for read in reads:
        for event in parser.feed(read):
            assert not isinstance(event, DataEvent) or event.data
        assert len(parser.buffer) <= 20 + 1 and parser.remaining >= 0


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=1, max_size=200), st.integers(2, 6))
def test_a_header_split_inside_loses_the_message(body: bytes, cut: int) -> None:
    header = b"0:%d:" % len(body)
    cut = min(cut, len(header) - 1)
    parser = InputParser()
    events = parser.feed(header[:cut]) + parser.feed(header[cut:] + body)
    # (A split after the first byte is harmless: a single byte waits in the buffer.)
    assert len(_data(events)) < len(body)


# --- websocket frames ---------------------------------------------------------------------------------------


def _client_frame(payload: bytes, opcode: int = wsframe.OP_BINARY, fin: bool = True, mask: bool = True) -> bytes:
    key = b"\x11\x22\x33\x44"
    first = (0x80 if fin else 0) | opcode
    size = len(payload)
    if size < 126:
        head = struct.pack("!BB", first, (0x80 if mask else 0) | size)
    elif size < 65536:
        head = struct.pack("!BBH", first, (0x80 if mask else 0) | 126, size)
    else:
        head = struct.pack("!BBQ", first, (0x80 if mask else 0) | 127, size)
    if not mask:
        return head + payload
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def test_accept_key_rfc_example() -> None:
    assert wsframe.accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


@pytest.mark.parametrize("size", [0, 5, 125, 126, 65535, 65536, wsframe.MAX_PAYLOAD])
def test_frames_round_trip_in_pieces(size: int) -> None:
    payload = os.urandom(size)
    raw = _client_frame(payload) + _client_frame(b"ping", wsframe.OP_PING)
    reader = wsframe.FrameReader()
    frames = []
    for start in range(0, len(raw), 7001):
        frames += reader.feed(raw[start:start + 7001])
    assert [(f.opcode, f.payload) for f in frames] == [(wsframe.OP_BINARY, payload), (wsframe.OP_PING, b"ping")]


@pytest.mark.parametrize("raw, message", [
    (_client_frame(b"x", mask=False), "unmasked"),
    (_client_frame(b"x", fin=False), "fragmented"),
    (_client_frame(b"x", opcode=wsframe.OP_CONTINUATION), "fragmented"),
    (_client_frame(b"x", opcode=0x3), "unknown opcode"),
    (_client_frame(b"x" * (wsframe.MAX_PAYLOAD + 1)), "too large"),
])
def test_forbidden_client_frames(raw: bytes, message: str) -> None:
    with pytest.raises(wsframe.FrameError, match=message):
        wsframe.FrameReader().feed(raw)


def test_server_frames_are_binary_unmasked() -> None:
    assert wsframe.encode(b"OK") == b"\x82\x02OK"
    assert wsframe.encode(b"x" * 300)[:4] == b"\x82\x7e\x01\x2c"
    assert wsframe.encode(b"p", wsframe.OP_PONG) == b"\x8a\x01p"


# --- VNC tickets ---------------------------------------------------------------------------------------------


def test_vnc_ticket_is_bound_to_authid_path_port_and_time() -> None:
    now = [1_700_000_000.0]
    signer = TicketSigner(b"k" * 32, 7200, clock=lambda: now[0])
    ticket = signer.vnc_ticket("root@pam", "/nodes/pve1", 5900)
    assert ticket.startswith("PVEVNC:") and "::" in ticket
    assert signer.verify_vnc_ticket(ticket, "root@pam", "/nodes/pve1", 5900)
    assert not signer.verify_vnc_ticket(ticket, "root@pam!ansible", "/nodes/pve1", 5900)
    assert not signer.verify_vnc_ticket(ticket, "root@pam", "/nodes/pve2", 5900)
    assert not signer.verify_vnc_ticket(ticket, "root@pam", "/nodes/pve1", 5901)
    now[0] += 39
    assert signer.verify_vnc_ticket(ticket, "root@pam", "/nodes/pve1", 5900)
    now[0] += 2
    assert not signer.verify_vnc_ticket(ticket, "root@pam", "/nodes/pve1", 5900)


def test_a_resize_takes_effect_before_the_data_after_it_is_written() -> None:
    """process_queue sets the pty size inline (main.rs:78): a command typed after a resize sees the new size."""
    order: list[object] = []

    def write(data: bytes) -> int:
        order.append(data)
        return len(data)

    def resize(cols: int, rows: int) -> None:
        order.append((cols, rows))

    parser = InputParser()
    parser.read(bytearray(b"1:200:50:0:5:stty\r"))
    events = parser.write_to_pty(write, resize=resize)
    assert order == [(200, 50), b"stty\r"]
    assert events == [ResizeEvent(200, 50), DataEvent(b"stty\r")]
