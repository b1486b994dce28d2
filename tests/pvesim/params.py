# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Declared parameter specs and their validation with PVE's messages (JSONSchema.pm texts, 2.1/2.2)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from pvesim.decode import as_text
from pvesim.errors import param_error
from pvesim.formats import FormatError, check_format

NOT_DEFINED = "property is not defined in schema and the schema does not allow additional properties"
MISSING = "property is missing and it is not optional"

_INTEGER = re.compile(r"-?\d+")
_NUMBER = re.compile(r"[+-]?(?:\d+|\d+\.\d*|\d*\.\d+)(?:[eE][+-]?\d+)?")


@dataclass(frozen=True)
class ParamSpec:
    """One parameter as apidata.json declares it (copied by hand per route; see the contract test)."""

    name: str
    """Exactly as in apidata.json, including indexed names such as `net[n]`."""
    type: str
    """integer | number | boolean | string"""
    optional: bool = True
    enum: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    max_length: int | None = None
    fmt: str | None = None
    requires: str | None = None
    count: int = 0
    """For `name[n]` parameters: how many indexes exist (net0..net31 -> 32)."""
    pattern: str | None = None
    """apidata.json `pattern` (a Perl regex that is also valid Python)."""

    @property
    def prefix(self) -> str:
        """`net` for `net[n]`; the plain name otherwise."""
        return self.name[:-3] if self.name.endswith("[n]") else self.name

    def matches(self, key: str) -> bool:
        """True when a request key is covered by this spec (`net7` by `net[n]`)."""
        if not self.count:
            return key == self.name
        match = re.fullmatch(re.escape(self.prefix) + r"(\d+)", key)
        return match is not None and int(match.group(1)) < self.count


def string(name: str, optional: bool = True, **kwargs: Any) -> ParamSpec:
    """A string parameter."""
    return ParamSpec(name, "string", optional, **kwargs)


def integer(name: str, optional: bool = True, **kwargs: Any) -> ParamSpec:
    """An integer parameter."""
    return ParamSpec(name, "integer", optional, **kwargs)


def number(name: str, optional: bool = True, **kwargs: Any) -> ParamSpec:
    """A number (float) parameter."""
    return ParamSpec(name, "number", optional, **kwargs)


def boolean(name: str, optional: bool = True, **kwargs: Any) -> ParamSpec:
    """A boolean parameter: `1`/`0` in form encoding, also true/false in JSON (2.2)."""
    return ParamSpec(name, "boolean", optional, **kwargs)


def _fmt_limit(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _check_type(spec: ParamSpec, raw: Any) -> tuple[bool, Any]:
    """JSONSchema.pm `check_type`: returns (ok, converted value)."""
    if spec.type == "boolean":
        if isinstance(raw, bool):
            return True, int(raw)
        text = as_text(raw)
        if text in ("1", "0"):
            return True, int(text)
        return False, None
    text = as_text(raw)
    if spec.type == "integer":
        if isinstance(raw, float) or not _INTEGER.fullmatch(text):
            return False, None
        return True, int(text)
    if spec.type == "number":
        if not _NUMBER.fullmatch(text):
            return False, None
        return True, float(text)
    if isinstance(raw, (dict, list)):
        return False, None
    return True, text


def _check_value(spec: ParamSpec, raw: Any) -> tuple[str | None, Any]:
    """Check one present value in `check_prop` order; returns (error or None, converted value)."""
    ok, value = _check_type(spec, raw)
    if not ok:
        return f"type check ('{spec.type}') failed - got '{as_text(raw)}'", None
    text = as_text(raw)
    if spec.max_length is not None and len(text) > spec.max_length:
        return f"value may only be {spec.max_length} characters long", None
    if spec.type in ("integer", "number"):
        if spec.maximum is not None and value > spec.maximum:
            return f"value must have a maximum value of {_fmt_limit(spec.maximum)}", None
        if spec.minimum is not None and value < spec.minimum:
            return f"value must have a minimum value of {_fmt_limit(spec.minimum)}", None
    if spec.pattern is not None and spec.type == "string" and not re.search(spec.pattern, text):
        return "value does not match the regex pattern", None
    if spec.enum is not None and text not in spec.enum:
        return f"value '{text}' does not have a value in the enumeration '{', '.join(spec.enum)}'", None
    if spec.fmt is not None and spec.type == "string":
        try:
            check_format(spec.fmt, text)
        except FormatError as exc:
            return f"invalid format - {exc}", None
    return None, value


def validate(specs: Sequence[ParamSpec], raw: Mapping[str, Any]) -> dict[str, Any]:
    """Validate merged request parameters; raise a 400 with every problem found (2.1).

    Returns the converted values: ints for integer/boolean, floats for number, str otherwise.
    """
    errors: dict[str, str] = {}
    result: dict[str, Any] = {}
    for key, value in raw.items():
        spec = next((s for s in specs if s.matches(key)), None)
        if spec is None:
            errors[key] = NOT_DEFINED
            continue
        problem, converted = _check_value(spec, value)
        if problem is not None:
            errors[key] = problem
        else:
            result[key] = converted
    for spec in specs:
        if spec.count:
            continue
        if spec.name not in raw and not spec.optional:
            errors[spec.name] = MISSING
        if spec.requires and spec.name in raw and spec.requires not in raw:
            errors[spec.requires] = f"missing property - '{spec.name}' requires this property"
    if errors:
        raise param_error(errors)
    return result
