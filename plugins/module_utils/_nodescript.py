# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""What runs on the node: the typed start-up line, the loader and the scripts (design §4).

The node side of the exec protocol, as text. ``_nodeshell.py`` drives it:

1. **Typed** into the root login shell, the only text the node shell ever parses: the start-up
   line. It keeps itself out of the history (``unset HISTFILE``: Debian's root ``.bashrc`` sets no
   ``HISTCONTROL`` and bash saves history when it ``exec``s, audit #19), puts the tty into raw mode
   without echo, prints the readiness nonce in two halves (the echo of the line can never match),
   then skips input records until the go record and runs the loader, whose base64 it reads with an
   exact length. Skipping until the go record makes a second start-up line harmless when the first
   one was only slow, not lost (audit #17).
2. **The loader** (fixed and small, so it fits one exec argument): a private spool directory
   (``/var/tmp`` by default: ``/tmp`` is RAM-backed on Debian 13, audit #14), the traps, ``rx``
   (receive base64 of an exact length in chunks and acknowledge each chunk, so the client never
   has more in flight than termproxy's buffers hold, audit #5 #15) and ``fin``. It receives the
   script into a file and sources it: nothing the user supplied is ever an exec argument on the
   node (Linux caps one argument at 128 KiB, audit #3).
3. **The script** receives its input files, reports STARTED (the client's short start-up timeout
   ends there, audit #6), runs the command in its own session (``setsid``: without a controlling
   terminal, nothing in the container can open ``/dev/tty`` and reach the node terminal — lxc
   attaches without a new session when stdio is not a tty, lxc_attach.c:400 and attach.c:1249),
   prints the result base64-framed between markers and removes the spool.
4. ``fin`` prints the end marker and **waits for the client** (one byte, or the hang-up when the
   client closes; at most 600 s). pveproxy drops whatever it has not yet delivered to the client
   the moment the shell exits (``client_do_disconnect`` with ``linger => 0``, audit #1), so a
   shell that left on a timer could take the end of the output with it.

Markers carry a per-run nonce; everything else on the terminal is ignored.
"""

from __future__ import annotations

import dataclasses
import typing as t

CHUNK = 65536
"""Base64 bytes the node acknowledges at a time (one ``head -c`` on the node each)."""
WAIT_FOR_CLIENT = 600
"""Seconds the node shell waits for the client after the end marker."""
KILL_GRACE = 5
"""Seconds between TERM and KILL when a command's time is up."""
COMPRESS_ABOVE = 65536
"""Bytes of output from which the node gzips it (when a sample shrinks by a quarter)."""
STANDARD_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# The environment every command gets on the node (and, through pct's --keep-env, in the container).
_ENV = b'env -i PATH="$PATH" HOME=/root LANG=C.UTF-8 TERM=dumb'
# File descriptors 3-9 are closed for commands: no descriptor of the node shell leaks into them.
_CLOSE_FDS = b"3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&-"


def sh_quote(value: bytes | str) -> bytes:
    """POSIX single quoting: every byte literal, including newlines and control characters."""
    raw = value.encode("utf-8", "surrogateescape") if isinstance(value, str) else value
    return b"'" + raw.replace(b"'", b"'\\''") + b"'"


def sh_join(argv: t.Sequence[bytes | str]) -> bytes:
    """A single-quoted command line."""
    return b" ".join(sh_quote(arg) for arg in argv)


RECORD = 64
"""Size of the go record and the unit the start-up line is padded to."""


def startup_line(nonce: str, loader_length: int) -> bytes:
    """The only line typed as text into the login shell; it carries no user data.

    After it has made the tty raw, it reads fixed RECORD-byte records until the go record. A
    shell's ``read`` builtin cannot be used for that: bash reads a tty in blocks (it expects one
    line per read, which holds only in cooked mode), so it would swallow the loader too. The line
    is padded to a whole number of records, so when it was typed twice the second copy is read as
    records and skipped.
    """
    go = go_record(nonce).decode()
    line = (" unset HISTFILE; stty raw -echo; printf '%%s%%s\\n' 'PVEOPS-RE' 'ADY-%s'; "
            "while [ \"$(head -c %d)\" != '%s' ]; do :; done; "
            "exec /bin/sh -c \"$(head -c %d | base64 -d)\"" % (nonce, RECORD, go, loader_length)).encode()
    padding = -(len(line) + 1) % RECORD
    return line + b" " * padding + b"\r"


def go_record(nonce: str) -> bytes:
    """Ends the start-up line's wait; the loader follows it."""
    record = b"PVEOPS-GO-%s" % nonce.encode()
    return record + b"." * (RECORD - len(record))


def loader(nonce: str, spool_dir: str) -> bytes:
    """The fixed stage that receives the script into the spool and sources it.

    It first reads a line with the script's base64 length. ``rx FILE LENGTH`` reads LENGTH base64
    bytes from the terminal in chunks of CHUNK bytes, acknowledges each chunk on the terminal and
    decodes them into FILE. ``fin`` is the only way out: the end marker, then the wait for the client.
    """
    n = nonce.encode()
    return b"\n".join([
        b"n=%s; C=%d; c=; pf=" % (n, CHUNK),
        # Proof that the exec worked: only then does the client send the script (never into an interactive shell).
        b"printf '\\nPVEOPS-LOADED-%s\\n' \"$n\"",
        b"umask 077",
        b"fin() { printf '\\nPVEOPS-END-%%s\\n' \"$n\"; timeout --foreground %d head -c 1 >/dev/null 2>&1; exit 0; }" % WAIT_FOR_CLIENT,
        b"fail() { printf '\\nPVEOPS-FAIL-%s %s\\n' \"$n\" \"$1\"; rm -rf \"$d\"; fin; }",
        b'd=$(mktemp -d %s/pveops.XXXXXXXXXX 2>/dev/null) || { d=; fail spool; }' % sh_quote(spool_dir),
        b"trap 'rm -rf \"$d\"' EXIT",
        # A hang-up (the client is gone) or TERM: end the command's session and our helpers, remove a file
        # pushed into a container, and leave (the EXIT trap removes the spool).
        b"trap 'trap \"\" HUP TERM INT; [ -n \"$c\" ] && kill -TERM -\"$c\" \"$c\" 2>/dev/null; kill -TERM 0 2>/dev/null; "
        b"[ -n \"$pf\" ] && { pct exec \"$pv\" -- rm -f \"$pf\" </dev/null >/dev/null 2>&1 & }; exit 129' HUP TERM INT",
        # (nothing to receive: an empty file without the pipeline's processes)
        b'rx() { r=$2; [ "$r" -gt 0 ] || { : > "$1"; return 0; }; '
        b'{ while [ "$r" -gt 0 ]; do k=$C; [ "$r" -lt "$k" ] && k=$r; head -c "$k" || exit 1; r=$((r - k)); '
        b"printf 'PVEOPS-ACK-%s\\n' \"$n\" >&3; done | base64 -d > \"$1\"; } 3>&1; }",
        b"IFS= read -r s; case $s in ''|*[!0-9]*) fail script;; esac",
        b'rx "$d/s" "$s" || fail script',
        b'. "$d/s"',
        b"",
    ])


@dataclasses.dataclass(frozen=True)
class Precheck:
    """Checks made inside the container before the command, in the order ansible.builtin.command makes them.

    ``chdir`` first (its failure is reported like the command module reports it), then ``creates``
    and ``removes`` (glob patterns, relative to ``chdir``).
    """

    vmid: int
    chdir: str | None = None
    creates: str | None = None
    removes: str | None = None

    def __bool__(self) -> bool:
        return any(value is not None for value in (self.chdir, self.creates, self.removes))


# Exit statuses of the precheck script (chosen far from what pct and lxc-attach themselves return).
PRECHECK_CREATES = 71
PRECHECK_REMOVES = 72
PRECHECK_CHDIR = {73: "No such file or directory", 74: "Not a directory", 75: "Permission denied"}
_PRECHECK = (
    'if [ -n "$3" ]; then cd "$3" 2>/dev/null || { [ -e "$3" ] || exit 73; [ -d "$3" ] || exit 74; exit 75; }; fi; '
    'IFS=; '
    'if [ -n "$1" ]; then for p in $1; do [ -e "$p" ] && exit 71; done; fi; '
    'if [ -n "$2" ]; then for p in $2; do [ -e "$p" ] && exit 0; done; exit 72; fi; '
    'exit 0'
)


def precheck_argv(check: Precheck) -> list[str]:
    """The node-side argv that runs the precheck in the container (values arrive as arguments)."""
    return ["pct", "exec", str(int(check.vmid)), "--", "/bin/sh", "-c", _PRECHECK, "pveops-check",
            check.creates or "", check.removes or "", check.chdir or ""]


@dataclasses.dataclass(frozen=True)
class Push:
    """A file received from the client and copied into a container with ``pct push`` before the command runs.

    The command line refers to it by ``target``; it is removed again afterwards (and by the trap
    when the connection drops).
    """

    vmid: int
    target: str


def _run(words: bytes, redirects: bytes, limit: bytes = b"") -> bytes:
    """A command line (already quoted) in its own session, in the background, with the node environment; ``c`` is its pid.

    The command gets the usual umask 022, not the script's 077 (which keeps the spool private);
    its output files are created before the umask changes and stay private in the spool.
    """
    return b"( umask 022; exec setsid %s%s %s %s ) %s & c=$!" % (limit, _ENV, words, _CLOSE_FDS, redirects)


def capture_script(nonce: str, command: t.Sequence[str], stdin_length: int, timeout: int | None,
                   check: Precheck | None = None, dry_run: bool = False, push: Push | None = None,
                   push_length: int = 0, output_limit: int | None = None) -> bytes:
    """The script that runs ``command`` with its streams on spool files and reports them framed.

    Sourced by the loader, so ``rx``, ``fail``, ``fin``, ``$d`` and ``$n`` exist. ``check`` runs first;
    the first reason not to run ends the script with a marker. ``dry_run`` stops after it (check
    mode). ``push`` copies a received file into the container first. With ``output_limit`` a
    watcher stops the command once stdout or stderr grows beyond that many bytes.
    """
    limit = b"timeout -k %d %d " % (KILL_GRACE, timeout) if timeout else b""
    n = nonce.encode()
    lines = []
    if push is not None:
        lines.append(b'rx "$d/x" %d || fail input' % push_length)
    lines += [
        b'rx "$d/i" %d || fail stdin' % stdin_length,
        b"printf '\\nPVEOPS-STARTED-%s\\n'" % n,
    ]
    if check is not None and check:
        lines += [
            _run(sh_join(precheck_argv(check)), b'< /dev/null > "$d/c" 2>&1'),
            b"wait $c; g=$?; c=",
            b'case $g in 0) ;; %d|%d) printf \'\\nPVEOPS-SKIP-%s %%s\\n\' "$g"; rm -rf "$d"; fin;; '
            b'73|74|75) printf \'\\nPVEOPS-CHDIR-%s %%s\\n\' "$g"; rm -rf "$d"; fin;; '
            b'*) printf \'\\nPVEOPS-CHECKFAIL-%s %%s\\n\' "$g"; base64 < "$d/c"; printf \'\\nPVEOPS-SEP-%s\\n\'; rm -rf "$d"; fin;; esac'
            % (PRECHECK_CREATES, PRECHECK_REMOVES, n, n, n, n),
        ]
    if dry_run:
        lines += [b"printf '\\nPVEOPS-WOULDRUN-%s\\n'" % n, b'rm -rf "$d"', b"fin"]
    if push is not None:
        lines += [
            b"pv=%d; pf=%s" % (push.vmid, sh_quote(push.target)),
            _run(b'pct push %d "$d/x" %s --perms 0600' % (push.vmid, sh_quote(push.target)), b'< /dev/null > "$d/c" 2>&1'),
            b"wait $c; g=$?; c=",
            b'[ "$g" -eq 0 ] || { printf \'\\nPVEOPS-PUSHFAIL-%s %%s\\n\' "$g"; base64 < "$d/c"; printf \'\\nPVEOPS-SEP-%s\\n\'; rm -rf "$d"; fin; }'
            % (n, n),
        ]
    lines += [
        _run(sh_join(command), b'< "$d/i" > "$d/o" 2> "$d/e"', limit),
    ]
    if output_limit is not None:
        # Checked once a second: what a command writes beyond the limit in that second still lands in the spool.
        # The first check comes after a second, so that a quick command is not slowed by the watcher's processes.
        lines += [
            b'( while sleep 1 && kill -0 "$c" 2>/dev/null; do if [ "$(wc -c < "$d/o")" -gt %d ] || [ "$(wc -c < "$d/e")" -gt %d ]; then '
            b': > "$d/over"; kill -TERM -"$c" 2>/dev/null; sleep %d; kill -KILL -"$c" 2>/dev/null; break; fi; done ) '
            b'</dev/null >/dev/null 2>&1 & w=$!' % (output_limit, output_limit, KILL_GRACE),
        ]
    lines += [b"wait $c; r=$?; c="]
    if output_limit is not None:
        lines += [b'kill "$w" 2>/dev/null']
    if push is not None:
        lines += [b'pct exec "$pv" -- rm -f "$pf" </dev/null >/dev/null 2>&1; pf=']
    lines += [b'ov=-; [ -e "$d/over" ] && ov=over']
    if output_limit is not None:
        lines += [b'[ "$ov" = over ] && { printf \'\\nPVEOPS-RESULT-%s %s %s %s p p 0 0 over\\n\' "$n" "$r" "$(wc -c < "$d/o")" "$(wc -c < "$d/e")"; '
                  b'rm -rf "$d"; fin; }']
    lines += report_result(b'"$n"', b'"$d/o"', b'"$d/e"')
    lines += [b'rm -rf "$d"', b"fin", b""]
    return b"\n".join(lines)


def report_result(ident: bytes, out: bytes, err: bytes, extra: bytes = b"") -> list[bytes]:
    """Shell lines that print a result: a header line, then stdout and stderr as they are, each of a length the header gives.

    Header: ``PVEOPS-RESULT-<id> RC OUT_SIZE ERR_SIZE OUT_Z ERR_Z OUT_SENT ERR_SENT FLAG [EXTRA]``; ``z`` means gzip
    (large outputs whose 64 KiB sample shrinks by a quarter: the pty is the narrowest part of the path). The raw
    tty passes every byte unchanged (``stty raw`` clears OPOST) and termproxy and pveproxy forward them in binary
    frames, so no encoding is needed: the lengths frame the data, and the client never searches inside it.
    ``ident``, ``out`` and ``err`` are shell words (quoted), ``extra`` more header fields.
    """
    return [
        # Sizes are read once; a stream is compressed only when it is large and its sample shrinks
        # (few processes for the common small result: each one costs a fork on the node).
        b"zz() { command -v gzip >/dev/null 2>&1 && [ \"$(head -c 65536 \"$1\" | gzip -1 -c | wc -c)\" -lt 49152 ]; }",
        b"so=$(wc -c < %s); se=$(wc -c < %s); zo=p; ze=p; fo=%s; fe=%s; no=$so; ne=$se" % (out, err, out, err),
        b"[ \"$so\" -gt %d ] && zz %s && gzip -1 -c < %s > %s.z && { zo=z; fo=%s.z; no=$(wc -c < \"$fo\"); }"
        % (COMPRESS_ABOVE, out, out, out, out),
        b"[ \"$se\" -gt %d ] && zz %s && gzip -1 -c < %s > %s.z && { ze=z; fe=%s.z; ne=$(wc -c < \"$fe\"); }"
        % (COMPRESS_ABOVE, err, err, err, err),
        b"printf '\\nPVEOPS-RESULT-%%s %%s %%s %%s %%s %%s %%s %%s - %%s\\n' %s \"$r\" \"$so\" \"$se\" \"$zo\" \"$ze\" \"$no\" \"$ne\" \"%s\""
        % (ident, extra),
        b'cat "$fo"',
        b"printf '\\nPVEOPS-SEP-%%s\\n' %s" % ident,
        b'cat "$fe"',
    ]


def stream_script(nonce: str, command: t.Sequence[str], duration: float) -> bytes:
    """The script that runs ``command`` with its output (both streams) on the terminal, line by line.

    The output goes through a FIFO and ``cat`` so that the command sees a pipe, not a terminal (no
    extra pty in a container, §5); the command runs in its own session under ``timeout``, so a
    controller that vanishes without closing the connection leaves nothing running for longer than
    the follow time plus a margin (audit #13). The end marker carries the exit code.
    """
    n = nonce.encode()
    bound = int(duration) + 30
    return b"\n".join([
        b"printf '\\nPVEOPS-STARTED-%s\\n'" % n,
        b'mkfifo "$d/p" || fail fifo',
        b'cat "$d/p" & k=$!',
        b"printf 'PVEOPS-BEGIN-%s\\n'" % n,
        b'( umask 022; exec setsid timeout -k %d %d %s SYSTEMD_PAGER= PAGER=cat %s %s ) < /dev/null > "$d/p" 2>&1 & c=$!' % (
            KILL_GRACE, bound, _ENV, sh_join(command), _CLOSE_FDS),
        b"wait $c; r=$?; c=",
        b'wait "$k"',
        b"printf '\\nPVEOPS-END-%s %%s\\n' \"$r\"" % n,
        b'rm -rf "$d"',
        b"timeout --foreground %d head -c 1 >/dev/null 2>&1" % WAIT_FOR_CLIENT,
        b"exit 0",
        b"",
    ])
