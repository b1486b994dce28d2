# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A `journalctl` look-alike over pvesim's JSON-lines journal files (node: the REST journal, CT: its own).

Installed by pvesim.tools.install() with a shebang and `_CONFIG_JSON` filled in
(`{"journal": <file>, "hostname": <name or null: read /etc/hostname>}`); standard library only,
because the container copy runs inside the sandbox. Output lines are `-o short`:
`Mon DD HH:MM:SS <hostname> <identifier>[<pid>]: <message>` (pve-protocol.md 3.10).

Supported: --no-pager, -o/--output short|short-unix|cat|json, -n/--lines [N], -u/--unit (repeatable,
`.service` added when no suffix, globs), -t/--identifier, -f/--follow, -S/--since, -U/--until
(`@EPOCH`, `YYYY-MM-DD[ HH:MM[:SS]]`, now/today/yesterday, `-5min`), --show-cursor,
--after-cursor, -c/--cursor, -r/--reverse, -q/--quiet, --no-hostname; -e, -b, -a, -l, -x are accepted and ignored.
"""
from __future__ import annotations

import fnmatch
import json
import os
import re
import signal
import sys
import time
from dataclasses import dataclass, field
from typing import IO, Any

_CONFIG_JSON = "{}"  # replaced by pvesim.tools.install()

FOLLOW_POLL = 0.2
FOLLOW_MAX = 24 * 3600.0
"""A follow ends after a day at the latest (and on SIGHUP/SIGTERM/SIGPIPE, or when orphaned)."""
UNIT_SUFFIXES = (".service", ".socket", ".timer", ".scope", ".slice", ".target", ".mount", ".path", ".device", ".swap")
_VALUED = frozenset(("-u", "--unit", "-t", "--identifier", "-o", "--output", "-S", "--since", "-U", "--until", "--after-cursor", "-c", "--cursor"))
_IGNORED_FLAGS = frozenset(("-e", "--pager-end", "-b", "--boot", "-a", "--all", "-l", "--full", "-x", "--catalog", "--no-tail", "-m", "--merge"))


class UsageError(Exception):
    """A command line journalctl would refuse (exit status 1)."""


@dataclass
class Options:
    """The parsed command line."""

    lines: int | None = None
    units: list[str] = field(default_factory=list)
    identifiers: list[str] = field(default_factory=list)
    follow: bool = False
    since: float | None = None
    until: float | None = None
    show_cursor: bool = False
    after_cursor: str | None = None
    cursor: str | None = None
    output: str = "short"
    reverse: bool = False
    quiet: bool = False
    hostname: bool = True


def parse_time(text: str, now: float | None = None) -> float:
    """journalctl's time specifications (the subset clients use)."""
    now = time.time() if now is None else now
    value = text.strip()
    if value.startswith("@"):
        try:
            return float(value[1:])
        except ValueError:
            raise UsageError(f"Failed to parse timestamp: {text}") from None
    midnight = time.mktime(time.localtime(now)[:3] + (0, 0, 0, 0, 0, -1))
    named = {"now": now, "today": midnight, "yesterday": midnight - 86400, "tomorrow": midnight + 86400}
    if value in named:
        return named[value]
    match = re.fullmatch(r"([+-]?)(\d+)\s*(s|sec|min|m|h|hour|hours|d|day|days)(\s+ago)?", value)
    if match:
        scale = {"s": 1, "sec": 1, "min": 60, "m": 60, "h": 3600, "hour": 3600, "hours": 3600, "d": 86400, "day": 86400, "days": 86400}
        offset = int(match.group(2)) * scale[match.group(3)]
        return now - offset if match.group(1) == "-" or match.group(4) else now + offset
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            return time.mktime(time.strptime(value, fmt))
        except ValueError:
            continue
    raise UsageError(f"Failed to parse timestamp: {text}")


def _take_value(argv: list[str], index: int, flag: str) -> tuple[str, int]:
    if index + 1 >= len(argv):
        raise UsageError(f"option '{flag}' requires an argument")
    return argv[index + 1], index + 2


def parse_args(argv: list[str], now: float | None = None) -> Options:
    """journalctl's option rules: `-n` takes an optional number, also as the next word."""
    opts = Options()
    index = 0
    while index < len(argv):
        arg = argv[index]
        name, eq, inline = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        if len(arg) > 2 and arg[0] == "-" and arg[1] != "-" and arg[1] in "nuotSUc":
            name, inline, eq = arg[:2], arg[2:], "="
        value: str | None = inline if eq else None
        index += 1
        if name == "--no-pager" or name in _IGNORED_FLAGS:
            continue
        if name in ("-q", "--quiet"):
            opts.quiet = True
        elif name in ("-f", "--follow"):
            opts.follow = True
        elif name in ("-r", "--reverse"):
            opts.reverse = True
        elif name == "--no-hostname":
            opts.hostname = False
        elif name == "--show-cursor":
            opts.show_cursor = True
        elif name in ("-n", "--lines"):
            if value is None and index < len(argv) and re.fullmatch(r"\+?\d+|all", argv[index]):
                value = argv[index]
                index += 1
            if value is None:
                opts.lines = 10
            elif value == "all":
                opts.lines = None
            elif re.fullmatch(r"\+?\d+", value):
                opts.lines = int(value.lstrip("+"))
            else:
                raise UsageError(f"Failed to parse lines '{value}'")
        elif name in _VALUED:
            if value is None:
                value, index = _take_value(argv, index - 1, name)
            _set_valued(opts, name, value, now)
        else:
            raise UsageError(f"unrecognized option '{arg}'")
    return opts


def _set_valued(opts: Options, name: str, value: str, now: float | None) -> None:
    if name in ("-u", "--unit"):
        opts.units.append(value)
    elif name in ("-t", "--identifier"):
        opts.identifiers.append(value)
    elif name in ("-o", "--output"):
        if value not in ("short", "short-unix", "cat", "json"):
            raise UsageError(f"Unknown output format '{value}'.")
        opts.output = value
    elif name in ("-S", "--since"):
        opts.since = parse_time(value, now)
    elif name in ("-U", "--until"):
        opts.until = parse_time(value, now)
    elif name == "--after-cursor":
        opts.after_cursor = value
    else:
        opts.cursor = value


def unit_matches(patterns: list[str], unit: str | None) -> bool:
    """`-u NAME` adds `.service` when NAME has no unit suffix; glob characters match like fnmatch."""
    if not patterns:
        return True
    if not unit:
        return False
    for pattern in patterns:
        full = pattern if pattern.endswith(UNIT_SUFFIXES) or any(c in pattern for c in "*?[") else pattern + ".service"
        if fnmatch.fnmatchcase(unit, full):
            return True
    return False


def cursor_seq(cursor: str) -> int | None:
    """The sequence number inside a cursor (`i=<hex>`)."""
    match = re.search(r"(?:^|;)i=([0-9a-f]+)(?:;|$)", cursor)
    return int(match.group(1), 16) if match else None


def hostname_of(config: dict[str, Any]) -> str:
    """The configured host name, else /etc/hostname (inside a container), else `localhost`."""
    if config.get("hostname"):
        return str(config["hostname"])
    try:
        with open("/etc/hostname", encoding="utf-8") as handle:
            return handle.read().strip() or "localhost"
    except OSError:
        return "localhost"


def render(entry: dict[str, Any], opts: Options, hostname: str) -> str:
    """One entry in the chosen output format."""
    if opts.output == "cat":
        return str(entry.get("message", ""))
    if opts.output == "json":
        return json.dumps({
            "__CURSOR": entry.get("cursor"), "__REALTIME_TIMESTAMP": str(int(float(entry.get("ts", 0)) * 1e6)),
            "_HOSTNAME": hostname, "SYSLOG_IDENTIFIER": entry.get("ident"), "_PID": None if entry.get("pid") is None else str(entry["pid"]),
            "_SYSTEMD_UNIT": entry.get("unit"), "MESSAGE": entry.get("message"),
        }, separators=(",", ":"))
    ts = float(entry.get("ts", 0))
    stamp = f"{ts:.6f}" if opts.output == "short-unix" else time.strftime("%b %d %H:%M:%S", time.localtime(ts))
    ident = str(entry.get("ident") or "unknown")
    if entry.get("pid") is not None:
        ident += f"[{entry['pid']}]"
    host = f" {hostname}" if opts.hostname else ""
    return f"{stamp}{host} {ident}: {entry.get('message', '')}"


class JournalFile:
    """Reads complete JSON lines; remembers its position for following (a partial last line waits)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.position = 0
        self.inode: int | None = None

    def read_new(self) -> list[dict[str, Any]]:
        """Entries appended since the last call (all of them on the first call)."""
        try:
            stat = os.stat(self.path)
        except OSError:
            return []
        if self.inode != stat.st_ino or stat.st_size < self.position:
            # Replaced (trimmed) by the simulator: read it again; callers skip what they saw by sequence number.
            self.inode, self.position = stat.st_ino, 0
        entries = []
        with open(self.path, "rb") as handle:
            handle.seek(self.position)
            data = handle.read()
        end = data.rfind(b"\n") + 1
        self.position += end
        for raw in data[:end].splitlines():
            try:
                entry = json.loads(raw)
            except ValueError:
                continue
            if isinstance(entry, dict):
                entries.append(entry)
        return entries


def select(entries: list[dict[str, Any]], opts: Options) -> list[dict[str, Any]]:
    """Apply cursor, time, unit and identifier filters, then `-n`."""
    start_seq = None
    inclusive = False
    if opts.after_cursor:
        start_seq = cursor_seq(opts.after_cursor)
    elif opts.cursor:
        start_seq, inclusive = cursor_seq(opts.cursor), True
    chosen = []
    for entry in entries:
        seq = int(entry.get("seq", 0))
        if start_seq is not None and (seq < start_seq or (seq == start_seq and not inclusive)):
            continue
        ts = float(entry.get("ts", 0))
        if (opts.since is not None and ts < opts.since) or (opts.until is not None and ts > opts.until):
            continue
        if not unit_matches(opts.units, entry.get("unit")):
            continue
        if opts.identifiers and entry.get("ident") not in opts.identifiers:
            continue
        chosen.append(entry)
    if opts.lines is not None:
        chosen = chosen[-opts.lines:] if opts.lines else []
    return list(reversed(chosen)) if opts.reverse else chosen


def _write(out: IO[str], text: str) -> None:
    out.write(text + "\n")


def run(opts: Options, config: dict[str, Any], out: IO[str]) -> int:
    """Print the selection, then follow when asked; returns the exit status."""
    journal = JournalFile(str(config.get("journal", "/var/log/journal.jsonl")))
    hostname = hostname_of(config)
    shown = select(journal.read_new(), opts)
    for entry in shown:
        _write(out, render(entry, opts, hostname))
    last = shown[-1].get("cursor") if shown and not opts.reverse else (shown[0].get("cursor") if shown else None)
    if not shown and not opts.quiet and not opts.follow:
        _write(out, "-- No entries --")
    if opts.show_cursor and not opts.follow:
        # journalctl prints the cursor of its current entry: the given one when nothing newer came.
        cursor = last or opts.after_cursor or opts.cursor
        if cursor:
            _write(out, f"-- cursor: {cursor}")
    out.flush()
    if not opts.follow:
        return 0
    return _follow(journal, opts, hostname, out, cursor_seq(str(last)) if last else None)


def _follow(journal: JournalFile, opts: Options, hostname: str, out: IO[str], last_seq: int | None) -> int:
    follow_opts = Options(units=opts.units, identifiers=opts.identifiers, until=opts.until, output=opts.output, hostname=opts.hostname)
    deadline = time.monotonic() + FOLLOW_MAX
    parent = os.getppid()
    while time.monotonic() < deadline and os.getppid() == parent:
        time.sleep(FOLLOW_POLL)
        for entry in select(journal.read_new(), follow_opts):
            seq = int(entry.get("seq", 0))
            if last_seq is not None and seq <= last_seq:
                continue
            last_seq = seq
            _write(out, render(entry, follow_opts, hostname))
        out.flush()
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the installed script."""
    config = json.loads(_CONFIG_JSON)
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    try:
        opts = parse_args(sys.argv[1:] if argv is None else argv)
    except UsageError as exc:
        sys.stderr.write(f"journalctl: {exc}\n")
        return 1
    try:
        return run(opts, config, sys.stdout)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
