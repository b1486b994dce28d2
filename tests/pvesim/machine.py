# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The node side behind the terminal: per-node shells and tools, container filesystems and inits, terminals, the ticker.

Built by runtime.Simulator once the state dir exists; stop() ends every terminal session (and what is
left of it), every container init (and so every process in a container) and the ticker. See README.md "Terminal side" for the files it keeps in the state dir.
"""
from __future__ import annotations

import shutil
import threading
from pathlib import Path

from pvesim.background import Ticker
from pvesim.ctfs import EAGER_LIMIT, ContainerFs
from pvesim.ctruntime import ContainerRuntime
from pvesim.journal import NodeJournal
from pvesim.model import Cluster
from pvesim.nodeshell import NodeEnv
from pvesim.options import SimOptions
from pvesim.tasks import TaskManager
from pvesim.terminals import TerminalRegistry
from pvesim.tickets import TicketSigner


def resolve_bwrap(option: str | None) -> str | None:
    """--bwrap: None = search PATH, "" = pretend it is missing, else that path (pct reports it if unusable)."""
    if option is None:
        return shutil.which("bwrap")
    return option or None


class Machine:
    """Everything a terminal and `pct` need; one per simulator."""

    def __init__(self, state_dir: Path, options: SimOptions, cluster: Cluster, journals: dict[str, NodeJournal],
                 tasks: TaskManager, signer: TicketSigner, stop_event: threading.Event, pct_keep_env: bool = True) -> None:
        self.cluster = cluster
        self.pct_keep_env = pct_keep_env
        self.journals = journals
        self.bwrap = resolve_bwrap(options.bwrap)
        self.ctfs = ContainerFs(state_dir)
        self.runtime = ContainerRuntime(cluster, self.ctfs, self.bwrap, stop_event)
        self.pct_startup_ms = options.pct_startup_ms
        self.node_envs = {name: NodeEnv(state_dir, node) for name, node in cluster.nodes.items()}
        self.terminals = TerminalRegistry(tasks, signer, options.termproxy_timeout, journals)
        self.ticker = Ticker(cluster, journals, self.ctfs, stop_event)

    def start(self) -> None:
        """Create the node directories and tools, the container filesystems and state files; start the ticker."""
        for name, env in self.node_envs.items():
            env.prepare(self.journals[name], self.ctfs, self.bwrap, self.pct_startup_ms, self.pct_keep_env)
        with self.cluster.lock:
            count = sum(1 for g in self.cluster.guests.values() if g.kind == "lxc")
            self.ctfs.sync(self.cluster, create=count <= EAGER_LIMIT)
        self.runtime.start()
        self.ticker.start()

    def model_changed(self, vmid: int | None = None) -> None:
        """Write the container state files that changed (pct must see a start at once, not a tick later); kill stale inits."""
        with self.cluster.lock:
            self.ctfs.sync(self.cluster, only=vmid)
        self.runtime.reconcile(vmid)

    def stop(self) -> None:
        """After stop_event: end what is left of every terminal session, kill every container init, wait for the ticker."""
        self.terminals.stop()
        self.runtime.stop()
        self.ticker.stop()
