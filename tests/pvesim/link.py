# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A slow or stalling client link for terminal sessions (pve-fidelity-audit.md S12, #1, #2).

Everything runs over loopback, where send buffers drain at once; a real client sits behind a VPN
or a WAN. Two knobs make that visible: a rate (token bucket) for what the simulator sends to the
client, and periodic stalls of the client's receive side (the simulator sends nothing) or send
side (the simulator reads nothing, so the client's socket buffers fill and its sends block).
Pure: time comes in as an argument, so tests drive it with a fake clock.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

STALL_SIDES = ("recv", "send", "both")
MAX_MS = 600000.0
BURST_SECONDS = 0.02
"""The bucket holds 20 ms worth of bytes: sends come in small, even slices."""
MIN_BURST = 512
SLICES_PER_BURST = 4
"""A send waits until a quarter of the bucket is there (or all that is pending): about 200 sends/s at 1 MB/s."""


def check_rate(value: Any) -> int:
    """Bytes per second, 0 (unlimited) or more."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"link_rate must be an integer number of bytes per second >= 0, got {value!r}")
    return value


def check_ms(name: str, value: Any, minimum: float = 0.0) -> float:
    """Milliseconds in [minimum, 600000]."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not minimum <= float(value) <= MAX_MS:
        raise ValueError(f"{name} must be a number from {minimum:g} to {MAX_MS:.0f}, got {value!r}")
    return float(value)


def check_side(value: Any) -> str:
    """recv, send or both."""
    if value not in STALL_SIDES:
        raise ValueError(f"link_stall_side must be one of {', '.join(STALL_SIDES)}, got {value!r}")
    return str(value)


@dataclass(frozen=True)
class LinkSettings:
    """`--link-rate`, `--link-stall-ms`, `--link-stall-every-ms`, `--link-stall-side` (also `POST /_sim/faults`)."""

    rate: int = 0
    """Bytes per second toward the client (websocket bytes before TLS); 0 = unlimited."""
    stall_ms: float = 0.0
    stall_every_ms: float = 1000.0
    stall_side: str = "both"

    def __post_init__(self) -> None:
        check_rate(self.rate)
        check_ms("link_stall_ms", self.stall_ms)
        check_ms("link_stall_every_ms", self.stall_every_ms, 1.0)
        check_side(self.stall_side)
        if self.stall_ms >= self.stall_every_ms:
            raise ValueError(f"link_stall_ms ({self.stall_ms:g}) must be shorter than link_stall_every_ms ({self.stall_every_ms:g}): "
                             "the link would never work")

    def as_json(self) -> dict[str, Any]:
        """The control-API names."""
        return {"link_rate": self.rate, "link_stall_ms": self.stall_ms, "link_stall_every_ms": self.stall_every_ms,
                "link_stall_side": self.stall_side}


class LinkShaper:
    """One session's link: stalls counted from the session start, a token bucket for the rate."""

    def __init__(self, settings: LinkSettings, started: float) -> None:
        self.settings = settings
        self.started = started
        self._tokens = 0.0
        self._filled = started

    def update(self, settings: LinkSettings) -> None:
        """New settings apply from now on (the stall phase stays tied to the session start)."""
        self.settings = settings

    def stalled(self, side: str, now: float) -> bool:
        """Whether `side` ("recv": toward the client, "send": from the client) is stalled now.

        Every period of `every` ms after the session started ends with the stall: stall k (k >= 1)
        covers [k * every - stall, k * every) ms.
        """
        settings = self.settings
        if settings.stall_ms <= 0 or settings.stall_side not in (side, "both"):
            return False
        return self._stall_left(now) > 0

    def _stall_left(self, now: float) -> float:
        """Milliseconds until the current stall ends (0 when the link works now)."""
        settings = self.settings
        every = settings.stall_every_ms
        position = ((now - self.started) * 1000.0) % every
        return every - position if position >= every - settings.stall_ms else 0.0

    def status(self, now: float) -> dict[str, Any]:
        """`{"stalled": "recv"|"send"|"both"|None, "stall_left_ms": ms}` for GET /_sim/terminals."""
        left = self._stall_left(now) if self.settings.stall_ms > 0 else 0.0
        return {"stalled": self.settings.stall_side if left > 0 else None, "stall_left_ms": round(left, 1), "rate": self.settings.rate}

    def allowance(self, now: float) -> int | None:
        """Bytes that may go to the client now (None: no limit; 0 during a receive stall)."""
        if self.stalled("recv", now):
            return 0
        rate = self.settings.rate
        if rate <= 0:
            return None
        self._tokens = min(self._burst, self._tokens + (now - self._filled) * rate)
        self._filled = now
        return int(self._tokens)

    @property
    def _burst(self) -> float:
        return max(self.settings.rate * BURST_SECONDS, MIN_BURST)

    def ready(self, now: float, pending: int) -> int | None:
        """How many of `pending` bytes to send now: None = all (no limit), 0 = wait (stalled, or the bucket is too low)."""
        allowed = self.allowance(now)
        if allowed is None:
            return None
        if allowed < min(pending, self._burst / SLICES_PER_BURST):
            return 0
        return min(allowed, pending)

    def spend(self, count: int) -> None:
        """Bytes that were sent."""
        if self.settings.rate > 0:
            self._tokens -= count

    def wait(self, now: float, pending: bool) -> float | None:
        """Seconds until sending or receiving may change (for the poll timeout); None: nothing to wait for."""
        settings = self.settings
        waits: list[float] = []
        if settings.stall_ms > 0:
            every = settings.stall_every_ms
            position = ((now - self.started) * 1000.0) % every
            edge = every - position if position >= every - settings.stall_ms else every - settings.stall_ms - position
            waits.append(max(edge, 0.0) / 1000.0)
        if pending and settings.rate > 0:
            waits.append(max(0.0, (self._burst / SLICES_PER_BURST - self._tokens) / settings.rate))
        return min(waits) if waits else None
