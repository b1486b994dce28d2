# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Runtime settings of one simulator instance (filled from the command line, see cli.py)."""
from __future__ import annotations

from dataclasses import dataclass

from pvesim.faults import ALL_KINDS
from pvesim.link import LinkSettings
from pvesim.pveproxy import SOCKET_BYTES


@dataclass(frozen=True)
class SimOptions:
    """Every knob of `python -m pvesim serve`; defaults match the documented CLI defaults."""

    host: str = "127.0.0.1"
    port: int = 8006
    scenario: str = "default"
    nodes: int | None = None
    containers_per_node: int | None = None
    seed: int = 1
    latency_ms: float = 0.0
    protected_concurrency: int = 3
    proxy_workers: int = 3
    """Per node, how many unprotected calls run at once (pveproxy's workers, limiter.py)."""
    task_seconds: float = 1.0
    request_log: str | None = None
    ticket_lifetime: int = 7200
    auth_delay: bool = False
    state_dir: str | None = None
    stop_on_stdin_eof: bool = False
    drop_last_bytes: bool = False
    """Lose the output read in termproxy's last loop iteration when the shell exits (4.4 step 8)."""
    fault_rate: float = 0.0
    """Probability that an API request (or a terminal session) gets a fault (faults.py)."""
    fault_kinds: tuple[str, ...] = ALL_KINDS
    fault_seed: int | None = None
    """None: a random seed (reported by GET /_sim/faults)."""
    slow_ms: float = 2000.0
    """How long a `slow` fault holds the answer back."""
    pct_startup_ms: float = 0.0
    """What every `pct` invocation spends before doing anything (Perl's start-up on a real node)."""
    pve_version: str | None = None
    """The Proxmox VE release to play (versions.py); None: the scenario's `version`, else the newest."""
    stats_refresh: float = 10.0
    """Seconds between two pvestatd updates of the counters and status in /cluster/resources and /nodes; 0 = live."""
    termproxy_socket_bytes: int = SOCKET_BYTES
    """Capacity of the pveproxy->termproxy localhost connection (pveproxy.py)."""
    termproxy_short_reads: bool = False
    """The pty accepts at most a random 1..512 bytes per termproxy loop iteration: reads land at misaligned offsets."""
    link: LinkSettings = LinkSettings()
    """Rate and stalls of the client link of terminal sessions (link.py); changeable through POST /_sim/faults."""
    login_flush_input: bool = False
    """login(1) flushes the pty's input when it sets up the tty, as util-linux login does on PVE 9."""
    root_shells: tuple[tuple[str | None, str], ...] = ()
    """`--root-shell [NODE=]SHELL` in order (None = every node); applied over the scenario's `root_shell`."""
    ssh_latency_ms: float = 300.0
    """Connection set-up time of the ssh hop to another node's shell."""
    nested_login_race: float = 0.0
    """Probability that a nested login under ssh (PVE < 9.2) hangs the session up before the shell is ready."""
    node_listeners: bool = False
    """One extra API listener per further node, answered by that node."""
    vnc_ticket_lifetime: int = 40
    """Hidden switch for tests: VNC ticket validity (4.1)."""
    termproxy_timeout: float = 10.0
    """Hidden switch for tests: termproxy's wait for the websocket and for the auth line (4.4 steps 1-2)."""
    bwrap: str | None = None
    """Hidden switch for tests: the bubblewrap binary for `pct exec` (None = search PATH; "" = none)."""

    @property
    def generated(self) -> bool:
        """True when a scenario is generated instead of loaded (`--nodes`/`--containers-per-node`)."""
        return self.nodes is not None or self.containers_per_node is not None
