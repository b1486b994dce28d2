# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The bundle of shared state every API handler gets (model, auth, tasks, journals, limits)."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pvesim.auth import AuthService
from pvesim.faults import FaultInjector
from pvesim.journal import NodeJournal
from pvesim.limiter import WorkerPool
from pvesim.model import Cluster
from pvesim.options import SimOptions
from pvesim.pvestatd import StatusDaemon
from pvesim.reqlog import RequestLog
from pvesim.tasks import Task, TaskManager
from pvesim.versions import NEWEST, PveVersion

if TYPE_CHECKING:
    from pvesim.machine import Machine


@dataclass
class Services:
    """Shared simulator state; built once by runtime.Simulator."""

    options: SimOptions
    cluster: Cluster
    auth: AuthService
    stop_event: threading.Event
    fingerprint: str
    profile: PveVersion = NEWEST
    """The Proxmox VE release being played: handlers ask its named flags (versions.py), never a version string."""
    tasks: TaskManager = field(init=False)
    journals: dict[str, NodeJournal] = field(init=False)
    limiter: WorkerPool = field(init=False)
    """pvedaemon's workers per node: protected calls."""
    proxy_workers: WorkerPool = field(init=False)
    """pveproxy's workers per node: unprotected calls."""
    faults: FaultInjector = field(init=False)
    statd: StatusDaemon = field(init=False)
    """pvestatd: the broadcast numbers of /cluster/resources, /nodes and pool members (runtime.Simulator starts it)."""
    reqlog: RequestLog | None = None
    machine: Machine | None = None
    """The terminal side (runtime.Simulator sets it once the state dir exists)."""

    def __post_init__(self) -> None:
        now = time.time()
        self.journals = {n.name: NodeJournal(n.name, n.boot_time, now) for n in self.cluster.nodes.values()}
        self.tasks = TaskManager(self.stop_event, self._task_event)
        self.limiter = WorkerPool(self.options.protected_concurrency, self.stop_event)
        self.proxy_workers = WorkerPool(self.options.proxy_workers, self.stop_event)
        options = self.options
        self.faults = FaultInjector(options.fault_rate, options.fault_kinds, options.fault_seed, options.slow_ms, options.link,
                                    options.nested_login_race)
        self.statd = StatusDaemon(self.cluster, options.stats_refresh, self.stop_event)

    def model_changed(self, vmid: int | None = None) -> None:
        """Call after changing a guest's state or config, so the files pct reads follow at once."""
        if self.machine is not None:
            self.machine.model_changed(vmid)

    def require_machine(self) -> Machine:
        """The terminal side; only missing in a Services built without a Simulator."""
        if self.machine is None:
            raise RuntimeError("the terminal side is not running")
        return self.machine

    def journal(self, node: str) -> NodeJournal:
        """The journal of a node."""
        return self.journals[node]

    def _task_event(self, task: Task, event: str) -> None:
        # pvedaemon logs every task start and end to the journal (3.10 "what actions add").
        daemon_pid = 1300 + sum(task.node.encode()) % 600
        if event == "start":
            message = f"<{task.authid}> starting task {task.upid}"
        else:
            message = f"<{task.authid}> end task {task.upid} {task.exitstatus}"
        self.journal(task.node).append("pvedaemon", daemon_pid, message)
