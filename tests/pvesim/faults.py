# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fault injection: which requests and terminal sessions fail and how, plus the record of every injected fault.

Every kind is something a real installation does (README "Fault injection"): `500` is what pveproxy
answers when it cannot reach pvedaemon; `reset-before`/`reset-after` are a connection that dies before
or after the request took effect (after: a POST's task exists, so a client must not replay it blindly);
`slow` and `truncate` are an overloaded daemon and a connection lost mid-body. For terminal sessions:
`ws-drop` (the network loses the websocket; termproxy sees EOF and the shell its hang-up, 4.4 step 8)
and `lost-bytes` (termproxy's last-read race, 4.4 step 8). One seeded RNG decides, so a run with the
same seed and the same request order injects the same faults. Besides the rate: the client link's
rate and stalls (link.py) and the nested-login race of another node's shell (`nested-login-race`,
pve-manager 145642be/bdd3685e), with its own rate and a one-shot for deterministic tests.
"""
from __future__ import annotations

import random
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from pvesim.link import LinkSettings, check_ms, check_rate as check_link_rate, check_side

API_KINDS = ("500", "reset-before", "reset-after", "slow", "truncate")
"""Kinds for plain API requests (never `/_sim`, never a websocket upgrade)."""
TERMINAL_KINDS = ("ws-drop", "lost-bytes")
"""Kinds for terminal websocket sessions."""
ALL_KINDS = API_KINDS + TERMINAL_KINDS
NOT_APPLIED = ("500", "reset-before")
"""Kinds that stop a request before the handler runs."""
RESETS = ("reset-before", "reset-after")
WS_DROP_WINDOW = (0.2, 1.5)
"""A random ws-drop happens this many seconds into the session."""
MAX_SLOW_MS = 600000.0
MAX_RECORDS = 50000
"""Injected faults kept for GET /_sim/faults; older ones are forgotten (and counted in `forgotten`)."""
LINK_KEYS = ("link_rate", "link_stall_ms", "link_stall_every_ms", "link_stall_side")
SETTING_KEYS = ("rate", "kinds", "seed", "slow_ms", "match", "nested_login_race") + LINK_KEYS
MAX_HANGUPS = 1000


@dataclass
class SessionFault:
    """The fault a terminal session carries from its upgrade on."""

    kind: str
    drop_after: float | None = None
    """ws-drop: seconds into the session at which the connection is lost."""
    after_bytes: int | None = None
    """ws-drop armed through the control API: lost once this many payload bytes went to the client."""
    record: dict[str, Any] = field(default_factory=dict)
    """Its entry in the injected list (the session id is filled in once the shell starts)."""


def parse_kinds(value: str | Iterable[Any]) -> tuple[str, ...]:
    """`500,reset-after` or a list -> the kinds in canonical order; ValueError for unknown names."""
    names = [n.strip() for n in value.split(",")] if isinstance(value, str) else list(value)
    if not all(isinstance(n, str) for n in names):
        raise ValueError("kinds must be strings")
    wanted = {n for n in names if n}
    unknown = sorted(wanted - set(ALL_KINDS))
    if unknown:
        raise ValueError(f"unknown fault kind(s) {', '.join(unknown)}; known: {', '.join(ALL_KINDS)}")
    return tuple(k for k in ALL_KINDS if k in wanted)


def check_rate(value: Any, name: str = "rate") -> float:
    """A probability 0..1 (booleans and strings are refused)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"{name} must be a number from 0 to 1, got {value!r}")
    return float(value)


def check_slow_ms(value: Any) -> float:
    """Milliseconds 0..600000 (bounded so no answer waits for ever)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= float(value) <= MAX_SLOW_MS:
        raise ValueError(f"slow_ms must be a number from 0 to {MAX_SLOW_MS:.0f}, got {value!r}")
    return float(value)


def _check_match(value: Any) -> re.Pattern[str] | None:
    if value is None:
        return None
    try:
        return re.compile(str(value))
    except re.error as exc:
        raise ValueError(f"match is not a regular expression: {exc}") from None


def _check_seed(value: Any) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise ValueError(f"seed must be an integer or null, got {value!r}")
    return value


class FaultInjector:
    """Thread-safe settings, the RNG, the one-shot terminal drop and the injected-fault list."""

    def __init__(self, rate: float = 0.0, kinds: Iterable[str] = ALL_KINDS, seed: int | None = None, slow_ms: float = 2000.0,
                 link: LinkSettings | None = None, nested_login_race: float = 0.0) -> None:
        self._lock = threading.Lock()
        self._rate = check_rate(rate)
        self._link = link or LinkSettings()
        self._nested_race = check_rate(nested_login_race, "nested_login_race")
        self._armed_hangups = 0
        self._kinds = parse_kinds(kinds)
        self._slow_ms = check_slow_ms(slow_ms)
        self._seed = 0
        self._rng = random.Random()
        self._reseed(_check_seed(seed))
        self._armed_after_bytes: int | None = None
        # Only requests whose "METHOD /path" (path without /api2/json) matches get faults: tests aim
        # a fault at one kind of call (say every action POST) without breaking the rest.
        self._match: re.Pattern[str] | None = None
        self._records: list[dict[str, Any]] = []
        self._forgotten = 0

    def _reseed(self, seed: int | None) -> None:
        # A random run still reports its seed, so a failure seen once can be replayed with --fault-seed.
        self._seed = secrets.randbelow(2 ** 31) if seed is None else seed
        self._rng = random.Random(self._seed)

    # --- settings ------------------------------------------------------------------------------------

    @property
    def slow_seconds(self) -> float:
        """How long a `slow` fault holds the answer back."""
        with self._lock:
            return self._slow_ms / 1000.0

    @property
    def link(self) -> LinkSettings:
        """The client-link settings terminal sessions follow (read again while they run)."""
        with self._lock:
            return self._link

    def settings(self) -> dict[str, Any]:
        """`{"rate", "kinds", "seed", "slow_ms", "armed_drop", "match", "nested_login_race", "armed_hangups", "link_*"}`."""
        with self._lock:
            return self._settings()

    def _settings(self) -> dict[str, Any]:
        armed = None if self._armed_after_bytes is None else {"after_bytes": self._armed_after_bytes}
        return {"rate": self._rate, "kinds": list(self._kinds), "seed": self._seed, "slow_ms": self._slow_ms, "armed_drop": armed,
                "match": None if self._match is None else self._match.pattern, "nested_login_race": self._nested_race,
                "armed_hangups": self._armed_hangups, **self._link.as_json()}

    def update(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Change any subset of the settings (SETTING_KEYS; all checked before any is applied); returns the settings."""
        unknown = sorted(set(body) - set(SETTING_KEYS))
        if unknown:
            raise ValueError(f"unknown field(s): {', '.join(unknown)}")
        rate = check_rate(body["rate"]) if "rate" in body else None
        kinds = parse_kinds(body["kinds"]) if "kinds" in body else None
        slow_ms = check_slow_ms(body["slow_ms"]) if "slow_ms" in body else None
        seed = _check_seed(body.get("seed"))
        match = _check_match(body["match"]) if "match" in body else None
        nested = check_rate(body["nested_login_race"], "nested_login_race") if "nested_login_race" in body else None
        link = self._new_link(body)
        with self._lock:
            self._link = link
            if nested is not None:
                self._nested_race = nested
            if "match" in body:
                self._match = match
            if rate is not None:
                self._rate = rate
            if kinds is not None:
                self._kinds = kinds
            if slow_ms is not None:
                self._slow_ms = slow_ms
            if "seed" in body:
                self._reseed(seed)
            return self._settings()

    def _new_link(self, body: Mapping[str, Any]) -> LinkSettings:
        """The link settings with the body's changes (checked together: the stall must stay shorter than its period)."""
        with self._lock:
            current = self._link
        return LinkSettings(
            rate=check_link_rate(body["link_rate"]) if "link_rate" in body else current.rate,
            stall_ms=check_ms("link_stall_ms", body["link_stall_ms"]) if "link_stall_ms" in body else current.stall_ms,
            stall_every_ms=check_ms("link_stall_every_ms", body["link_stall_every_ms"], 1.0) if "link_stall_every_ms" in body
            else current.stall_every_ms,
            stall_side=check_side(body["link_stall_side"]) if "link_stall_side" in body else current.stall_side,
        )

    def arm_hangups(self, count: Any) -> dict[str, Any]:
        """The next `count` sessions that go through the ssh hop hang up before their shell is ready (one-shot each)."""
        if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= MAX_HANGUPS:
            raise ValueError(f"count must be an integer from 0 to {MAX_HANGUPS}, got {count!r}")
        with self._lock:
            self._armed_hangups = count
            return self._settings()

    def nested_login_hangup(self, nested_login: bool) -> str | None:
        """Whether a session through the ssh hop hangs up: "control" (an armed one-shot, any version), "random"
        (the `nested_login_race` roll, only where a nested login runs), else None."""
        with self._lock:
            if self._armed_hangups > 0:
                self._armed_hangups -= 1
                return "control"
            # No draw while the race is off: the seeded sequence of the other faults does not shift.
            if nested_login and self._nested_race > 0.0 and self._rng.random() < self._nested_race:
                return "random"
            return None

    def arm_drop(self, after_bytes: int) -> dict[str, Any]:
        """The next terminal session is dropped once it has sent `after_bytes` payload bytes (one-shot)."""
        if isinstance(after_bytes, bool) or not isinstance(after_bytes, int) or after_bytes < 0:
            raise ValueError(f"after_bytes must be an integer >= 0, got {after_bytes!r}")
        with self._lock:
            self._armed_after_bytes = after_bytes
            return self._settings()

    # --- decisions -----------------------------------------------------------------------------------

    def roll_request(self, method: str = "GET", path: str = "/") -> str | None:
        """The fault for one plain API request (`path` without /api2/json), or None."""
        with self._lock:
            if self._match is not None and not self._match.search(f"{method} {path}"):
                return None
            return self._roll(tuple(k for k in self._kinds if k in API_KINDS))

    def session_fault(self) -> SessionFault | None:
        """The fault for a terminal session that is being upgraded: the armed one-shot first, else a roll."""
        with self._lock:
            if self._armed_after_bytes is not None:
                after, self._armed_after_bytes = self._armed_after_bytes, None
                return SessionFault("ws-drop", after_bytes=after)
            kind = self._roll(tuple(k for k in self._kinds if k in TERMINAL_KINDS))
            if kind is None:
                return None
            delay = self._rng.uniform(*WS_DROP_WINDOW) if kind == "ws-drop" else None
            return SessionFault(kind, drop_after=delay)

    def _roll(self, kinds: tuple[str, ...]) -> str | None:
        # No draw while faults are off: requests made meanwhile do not shift the seeded sequence.
        if self._rate <= 0.0 or not kinds:
            return None
        if self._rng.random() >= self._rate:
            return None
        return self._rng.choice(kinds)

    # --- the record ----------------------------------------------------------------------------------

    def record(self, kind: str, method: str, path: str, authid: str | None, ts: float | None = None, **extra: Any) -> dict[str, Any]:
        """Add an injected fault to the list; returns its entry (annotate() may add to it later)."""
        entry: dict[str, Any] = {"ts": round(time.time() if ts is None else ts, 6), "kind": kind, "method": method, "path": path, "authid": authid}
        entry.update(extra)
        with self._lock:
            self._records.append(entry)
            if len(self._records) > MAX_RECORDS:
                excess = len(self._records) - MAX_RECORDS
                del self._records[:excess]
                self._forgotten += excess
        return entry

    def annotate(self, entry: dict[str, Any], **values: Any) -> None:
        """Fill in facts known only later (a terminal's session id once its shell starts)."""
        with self._lock:
            entry.update(values)

    def snapshot(self) -> dict[str, Any]:
        """Settings plus every injected fault so far, oldest first."""
        with self._lock:
            result = self._settings()
            result["injected"] = [dict(e) for e in self._records]
            result["forgotten"] = self._forgotten
            return result

    def clear(self) -> int:
        """Forget the injected list; returns how many entries there were."""
        with self._lock:
            count = len(self._records) + self._forgotten
            self._records.clear()
            self._forgotten = 0
            return count
