# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A `/bin/login` that never lets anyone in: what every non-`root@pam` terminal gets (pve-protocol.md 4.1, 4.5).

Run on the terminal's pty as `python -I login.py <hostname> [node|debian|alpine]`. It prints the
prompt, reads a name with echo, `Password: ` without echo, waits FAIL_DELAY and answers
`Login incorrect`; after MAX_TRIES failures or LOGIN_TIMEOUT seconds it exits 1, like login(1)
with Debian's login.defs (LOGIN_RETRIES 5, LOGIN_TIMEOUT 60). Newlines are written as `\\n`; the
pty's line discipline turns them into CRLF. Standard library only.
"""
from __future__ import annotations

import os
import select
import sys
import termios
import time

FAIL_DELAY = 1.0
"""Debian waits 3 s after a wrong password; the simulator 1 s, so tests stay fast."""
MAX_TRIES = 5
LOGIN_TIMEOUT = 60.0
GREETINGS = {
    "node": "",
    "debian": "Debian GNU/Linux 12 {host} tty1\n\n",
    "alpine": "Welcome to Alpine Linux 3.20\nKernel 6.17.4-1-pve on an x86_64 (/dev/tty1)\n\n",
}


class LoginTimeout(Exception):
    """LOGIN_TIMEOUT passed."""


def write(text: str) -> None:
    """Write to the terminal at once."""
    os.write(1, text.encode("utf-8"))


def read_line(deadline: float) -> bytes | None:
    """One line in canonical mode; None on EOF (^D). Raises LoginTimeout at the deadline."""
    remaining = deadline - time.monotonic()
    if remaining <= 0 or not select.select([0], [], [], remaining)[0]:
        raise LoginTimeout()
    data = os.read(0, 4096)
    return data if data else None


def set_echo(enabled: bool) -> None:
    """Switch terminal echo (off for the password, as login does)."""
    try:
        attrs = termios.tcgetattr(0)
    except termios.error:
        return
    attrs[3] = attrs[3] | termios.ECHO if enabled else attrs[3] & ~termios.ECHO
    termios.tcsetattr(0, termios.TCSANOW, attrs)


def main(argv: list[str]) -> int:
    """Prompt until the tries or the time run out; never succeed."""
    host = argv[1] if len(argv) > 1 else "localhost"
    flavour = argv[2] if len(argv) > 2 else "node"
    deadline = time.monotonic() + LOGIN_TIMEOUT
    write("\n" + GREETINGS.get(flavour, "").format(host=host) + f"{host} login: ")
    failures = 0
    try:
        while True:
            name = read_line(deadline)
            if name is None:
                return 1
            if not name.strip():
                write(f"{host} login: ")
                continue
            # Echo goes off before the prompt is shown (like getpass), so a quick answer is not echoed either.
            set_echo(False)
            write("Password: ")
            try:
                password = read_line(deadline)
            finally:
                set_echo(True)
            if password is None:
                return 1
            time.sleep(FAIL_DELAY)
            failures += 1
            if failures >= MAX_TRIES:
                write(f"\nLogin incorrect\nMaximum number of tries exceeded ({MAX_TRIES})\n")
                return 1
            write(f"\nLogin incorrect\n{host} login: ")
    except LoginTimeout:
        write(f"\nLogin timed out after {int(LOGIN_TIMEOUT)} seconds.\n")
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
