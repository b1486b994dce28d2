# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""`--root-shell reject`: a csh-like root shell that runs nothing (pve-fidelity-audit.md #6).

Run on the terminal's pty as `python -I rejectsh.py <node>`. It prints the prompt `<node># `, reads
lines in the pty's canonical mode (the line discipline echoes them) and answers each non-empty line
with tcsh's `<first word>: Command not found.`; `exit` and `logout` end it, as does end of input.
A client that types a POSIX bootstrap into it gets nothing but these answers, so it must fail on
its own timeout. Standard library only.
"""
from __future__ import annotations

import os
import sys


def main(argv: list[str]) -> int:
    """Prompt, read, refuse; until exit/logout or end of input."""
    prompt = f"{argv[1] if len(argv) > 1 else 'localhost'}# ".encode()
    pending = b""
    os.write(1, prompt)
    while True:
        try:
            data = os.read(0, 4096)
        except OSError:  # EIO: the terminal was hung up
            return 0
        if not data:
            return 0
        pending += data
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            words = line.decode("utf-8", "replace").split()
            if words and words[0] in ("exit", "logout"):
                return 0
            if words:
                os.write(1, f"{words[0]}: Command not found.\n".encode("utf-8"))
            os.write(1, prompt)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
