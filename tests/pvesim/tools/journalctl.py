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
Cursors, `-n` with a cursor, inclusive `--until`, `-- Boot <id> --` and `-- No entries --` follow systemd 257
(journalctl-show.c); the REST journal (pvesim/journal.py) uses this file's cursor functions too.
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


_ID128 = re.compile(r"[0-9a-fA-F]{32}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_HEX = re.compile(r"\s*[+-]?(?:0[xX])?([0-9a-fA-F]+)")


def parse_cursor(text: str) -> dict[str, str] | None:
    """The cursor's fields as sd_journal_seek_cursor() reads them; None where it fails with EINVAL.

    Words are `;`-separated `<letter>=<value>`; `s`/`b` must be 128-bit ids, `i`/`m`/`t`/`x` hex numbers
    (sscanf "%llx": a hex prefix is enough), other letters are ignored; a cursor needs `s` and `i`, or `b`
    and `m`, or `t` (systemd sd-journal.c `sd_journal_seek_cursor`). Hex values come back normalised.
    """
    if not text:
        return None
    fields: dict[str, str] = {}
    for word in text.split(";"):
        if len(word) < 2 or word[1] != "=":
            return None
        key, value = word[0], word[2:]
        if key in "sb":
            if not _ID128.fullmatch(value):
                return None
            fields[key] = value.replace("-", "").lower()
        elif key in "imtx":
            match = _HEX.match(value)
            if not match:
                return None
            fields[key] = f"{int(match.group(1), 16):x}"
    if not (("s" in fields and "i" in fields) or ("b" in fields and "m" in fields) or "t" in fields):
        return None
    return fields


def at_or_after(location: dict[str, str], seq: int, ts: float, cursor: str) -> bool:
    """Whether the entry (its seqnum, realtime and own cursor) lies at or after a seek location.

    Like sd-journal: by seqnum within the same seqnum id, else by monotonic time within the same boot,
    else by realtime; a location with nothing comparable is the head (every entry is after it).
    """
    own = parse_cursor(cursor) or {}
    if "s" in location and "i" in location and location["s"] == own.get("s"):
        return seq >= int(location["i"], 16)
    if "b" in location and "m" in location and location["b"] == own.get("b") and "m" in own:
        return int(own["m"], 16) >= int(location["m"], 16)
    if "t" in location:
        return int(ts * 1e6) >= int(location["t"], 16)
    return True


def is_cursor_of(location: dict[str, str], cursor: str) -> bool:
    """sd_journal_test_cursor(): every field of the location equals the entry's."""
    own = parse_cursor(cursor) or {}
    return all(own.get(key) == value for key, value in location.items())


def boot_of(cursor: str) -> str | None:
    """The boot id inside an entry's cursor (`b=`)."""
    return (parse_cursor(cursor) or {}).get("b")


def cursor_seq(cursor: str) -> int | None:
    """The sequence number inside a cursor (`i=<hex>`)."""
    fields = parse_cursor(cursor) or {}
    return int(fields["i"], 16) if "i" in fields else None


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


@dataclass
class Selection:
    """What journalctl shows: the entries, and the entry it is positioned on afterwards (for --show-cursor)."""

    shown: list[dict[str, Any]]
    position: dict[str, Any] | None


def _matches(entry: dict[str, Any], opts: Options) -> bool:
    if not unit_matches(opts.units, entry.get("unit")):
        return False
    return not opts.identifiers or entry.get("ident") in opts.identifiers


def select(entries: list[dict[str, Any]], opts: Options) -> Selection:
    """journalctl's choice of entries (systemd 257 journalctl-show.c `setup_event_source`/`show`).

    Filters narrow what navigation sees. A cursor seeks to the first entry at or after it: `--cursor` shows
    from there, `--after-cursor` skips that entry only when it is the cursor's own; then `-n N` means the
    first N. Without a cursor `-n N` means the last N before `--until` (inclusive) that are not older
    than `--since`. An invalid cursor raises UsageError("Failed to seek to cursor: Invalid argument").
    """
    matching = [e for e in entries if _matches(e, opts)]
    given = opts.cursor or opts.after_cursor
    if given is not None:
        location = parse_cursor(given)
        if location is None:
            raise UsageError("Failed to seek to cursor: Invalid argument")
        start = next((i for i, e in enumerate(matching) if at_or_after(location, int(e.get("seq", 0)), float(e.get("ts", 0)),
                                                                       str(e.get("cursor", "")))), len(matching))
        position = matching[start] if start < len(matching) else (matching[-1] if matching else None)
        if opts.after_cursor and start < len(matching) and is_cursor_of(location, str(matching[start].get("cursor", ""))):
            start += 1
        chosen = [e for e in matching[start:] if _in_range(e, opts)]
        if opts.lines is not None:
            chosen = chosen[:opts.lines]
    else:
        chosen = [e for e in matching if _in_range(e, opts)]
        if opts.lines is not None:
            chosen = chosen[-opts.lines:] if opts.lines else []
        position = None
    if opts.reverse:
        chosen.reverse()
    if chosen:
        position = chosen[-1]
    return Selection(chosen, position)


def _in_range(entry: dict[str, Any], opts: Options) -> bool:
    ts = float(entry.get("ts", 0))
    # --until is inclusive in journalctl (`if (usec > arg_until) break;`).
    return (opts.since is None or ts >= opts.since) and (opts.until is None or ts <= opts.until)


def output_lines(entries: list[dict[str, Any]], opts: Options, hostname: str, previous_boot: str | None = None) -> list[str]:
    """Rendered entries with `-- Boot <id> --` before the first entry of each later boot (not with -q)."""
    lines = []
    for entry in entries:
        boot = boot_of(str(entry.get("cursor", "")))
        if not opts.quiet and previous_boot is not None and boot is not None and boot != previous_boot:
            lines.append(f"-- Boot {boot} --")
        previous_boot = boot or previous_boot
        lines.append(render(entry, opts, hostname))
    return lines


def show(entries: list[dict[str, Any]], opts: Options, hostname: str) -> tuple[list[str], Selection]:
    """The whole non-follow output: entries, `-- No entries --`, `-- cursor: ...`; and the selection."""
    selection = select(entries, opts)
    lines = output_lines(selection.shown, opts, hostname)
    if not selection.shown and not opts.quiet and not opts.follow:
        lines.append("-- No entries --")
    if opts.show_cursor and not opts.follow and selection.position is not None:
        # The cursor of the entry journalctl is positioned on: the last shown one, else the cursor's own entry.
        lines.append(f"-- cursor: {selection.position.get('cursor')}")
    return lines, selection


def _write(out: IO[str], text: str) -> None:
    out.write(text + "\n")


def run(opts: Options, config: dict[str, Any], out: IO[str]) -> int:
    """Print the selection, then follow when asked; returns the exit status."""
    journal = JournalFile(str(config.get("journal", "/var/log/journal.jsonl")))
    hostname = hostname_of(config)
    lines, selection = show(journal.read_new(), opts, hostname)
    for line in lines:
        _write(out, line)
    out.flush()
    if not opts.follow:
        return 0
    last = selection.position
    return _follow(journal, opts, hostname, out, int(last.get("seq", 0)) if last else None,
                   boot_of(str(last.get("cursor", ""))) if last else None)


def _follow(journal: JournalFile, opts: Options, hostname: str, out: IO[str], last_seq: int | None, boot: str | None) -> int:
    follow_opts = Options(units=opts.units, identifiers=opts.identifiers, until=opts.until, output=opts.output, hostname=opts.hostname,
                          quiet=opts.quiet)
    deadline = time.monotonic() + FOLLOW_MAX
    parent = os.getppid()
    while time.monotonic() < deadline and os.getppid() == parent:
        time.sleep(FOLLOW_POLL)
        new = [e for e in select(journal.read_new(), follow_opts).shown if last_seq is None or int(e.get("seq", 0)) > last_seq]
        for line in output_lines(new, follow_opts, hostname, boot):
            _write(out, line)
        if new:
            last_seq = int(new[-1].get("seq", 0))
            boot = boot_of(str(new[-1].get("cursor", ""))) or boot
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
    except UsageError as exc:
        sys.stderr.write(f"{exc}\n")
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
