# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The client link model with a fake clock: token-bucket rate, periodic stalls, validation (audit S12)."""
from __future__ import annotations

import pytest

from pvesim.link import LinkSettings, LinkShaper


def _send_for(shaper: LinkShaper, seconds: float, pending: int, start: float = 0.0, step: float = 0.001) -> int:
    """Send as the session loop does for `seconds` of fake time from `start`; returns the bytes sent."""
    sent, now, end = 0, start, start + seconds
    while now < end and sent < pending:
        allowed = shaper.ready(now, pending - sent)
        if allowed is None:
            return pending
        sent += allowed
        shaper.spend(allowed)
        wait = shaper.wait(now, pending > sent)
        now += max(step, wait or step)
    return sent


def test_rate_limits_what_goes_to_the_client() -> None:
    shaper = LinkShaper(LinkSettings(rate=1_000_000), started=0.0)
    sent = _send_for(shaper, 2.0, 10_000_000)
    # 2 s at 1 MB/s, give or take the 20 ms bucket.
    assert 1_950_000 <= sent <= 2_030_000


def test_sends_come_in_slices_not_bursts() -> None:
    shaper = LinkShaper(LinkSettings(rate=1_000_000), started=0.0)
    sizes = []
    now = 0.0
    while now < 1.0:
        allowed = shaper.ready(now, 10_000_000)
        assert allowed is not None
        if allowed:
            sizes.append(allowed)
            shaper.spend(allowed)
        now += 0.001
    assert max(sizes) <= 20_000 and min(sizes) >= 5_000


def test_unlimited_and_small_pending() -> None:
    assert LinkShaper(LinkSettings(), 0.0).ready(5.0, 123) is None
    shaper = LinkShaper(LinkSettings(rate=1_000_000), 0.0)
    # Less pending than a slice: it goes as soon as the bucket holds it.
    assert shaper.ready(0.001, 100) == 100


def test_stalls_end_every_period() -> None:
    shaper = LinkShaper(LinkSettings(stall_ms=200, stall_every_ms=1000, stall_side="recv"), started=10.0)
    assert not shaper.stalled("recv", 10.5) and shaper.stalled("recv", 10.85) and not shaper.stalled("recv", 11.05)
    assert shaper.stalled("recv", 11.9) and not shaper.stalled("send", 11.9)
    assert shaper.ready(10.9, 1000) == 0
    assert shaper.status(10.9) == {"stalled": "recv", "stall_left_ms": 100.0, "rate": 0}
    assert shaper.status(10.5)["stalled"] is None
    # The loop wakes up at the edges: 300 ms until the stall at 10.5, 100 ms until its end at 10.9.
    assert shaper.wait(10.5, True) == pytest.approx(0.3)
    assert shaper.wait(10.9, True) == pytest.approx(0.1)
    both = LinkShaper(LinkSettings(stall_ms=500, stall_every_ms=600), started=0.0)
    assert both.stalled("send", 0.2) and both.stalled("recv", 0.2) and not both.stalled("send", 0.05)


def test_settings_changes_apply_to_a_running_session() -> None:
    shaper = LinkShaper(LinkSettings(), started=0.0)
    assert shaper.ready(1.0, 10**6) is None
    shaper.update(LinkSettings(rate=1000))
    # From now on at most a full bucket (512 bytes) plus 1000 bytes per second.
    assert 1000 <= _send_for(shaper, 2.0, 10**6, start=1.0) <= 2 * 1000 + 512


@pytest.mark.parametrize("kwargs, message", [
    ({"rate": -1}, "link_rate must be an integer"),
    ({"rate": 1.5}, "link_rate must be an integer"),
    ({"stall_ms": -1}, "link_stall_ms must be a number from 0"),
    ({"stall_every_ms": 0}, "link_stall_every_ms must be a number from 1"),
    ({"stall_side": "up"}, "link_stall_side must be one of recv, send, both"),
    ({"stall_ms": 1000, "stall_every_ms": 1000}, "must be shorter than link_stall_every_ms"),
])
def test_bad_settings_name_option_and_value(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        LinkSettings(**kwargs)  # type: ignore[arg-type]
