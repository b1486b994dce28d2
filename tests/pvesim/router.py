# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The route table: (method, PVE path template) -> handler with its declared parameters and flags."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterable

from pvesim.params import ParamSpec

if TYPE_CHECKING:
    from pvesim.app import CallContext

Handler = Callable[["CallContext", dict[str, Any]], Any]


@dataclass(frozen=True)
class Perm:
    """apidata.json `permissions.check = ["perm", path, [privs], ("any", 1)]` (1.6 message formats)."""

    path: str
    privs: tuple[str, ...]
    any_of: bool = False


@dataclass(frozen=True)
class Route:
    """One API method; the facts mirror apidata.json so the contract test can compare them."""

    method: str
    path: str
    """PVE template with placeholders, e.g. `/nodes/{node}/lxc/{vmid}/status/start`."""
    handler: Handler
    params: tuple[ParamSpec, ...] = ()
    perm: Perm | None = None
    """None: `user: all` (any authenticated user) or `world` when `noauth` is set."""
    protected: bool = False
    """Runs in pvedaemon on the real server: counts against the per-node concurrency limit."""
    proxyto: str | None = None
    """Name of the path parameter naming the node the call is proxied to (`node`)."""
    allowtoken: bool = True
    noauth: bool = False

    @property
    def segments(self) -> tuple[str, ...]:
        """The template split into path segments."""
        return tuple(p for p in self.path.split("/") if p)


def split_path(path: str) -> tuple[str, ...]:
    """Path segments; empty ones (trailing or doubled slashes) are ignored like Perl's split."""
    return tuple(p for p in path.split("/") if p)


class RouteTable:
    """Finds the route for a request path; literal segments beat placeholders like PVE's find_handler."""

    def __init__(self, routes: Iterable[Route]) -> None:
        self._routes = tuple(routes)
        seen: set[tuple[str, str]] = set()
        for route in self._routes:
            key = (route.method, route.path)
            if key in seen:
                raise ValueError(f"duplicate route {key}")
            seen.add(key)

    def routes(self) -> tuple[Route, ...]:
        """Every declared route (used by the contract test)."""
        return self._routes

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        """The route and its path parameters, or None (-> 501 `Method '...' not implemented`, 2.1)."""
        parts = split_path(path)
        best: tuple[int, Route, dict[str, str]] | None = None
        for route in self._routes:
            if route.method != method:
                continue
            bound = _bind(route.segments, parts)
            if bound is None:
                continue
            literals = sum(1 for seg in route.segments if not seg.startswith("{"))
            if best is None or literals > best[0]:
                best = (literals, route, bound)
        return None if best is None else (best[1], best[2])


def _bind(template: tuple[str, ...], parts: tuple[str, ...]) -> dict[str, str] | None:
    if len(template) != len(parts):
        return None
    bound: dict[str, str] = {}
    for seg, part in zip(template, parts):
        if seg.startswith("{") and seg.endswith("}"):
            bound[seg[1:-1]] = part
        elif seg != part:
            return None
    return bound
