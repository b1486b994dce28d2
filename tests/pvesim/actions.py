# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Container power actions: synchronous pre-checks, then a worker task that changes the state (3.6).

HA-managed guests only get a request (`hastart`/`hastop` tasks, pve-container Status.pm); the CRM/LRM then
act one cycle later (`--task-seconds` here) with a task of their own, as root@pam, on the guest's node:
* start: `vm_start`; with the `relocate_to` test switch that start fails and HA's relocation policy
  moves the guest to the other node and starts it there (Manager.pm `next_state_started`, `try-next`);
* shutdown: `crm-command stop ct:N <timeout>` -> PVECT.pm `shutdown` runs `vm_shutdown` with that timeout
  and *without* forceStop (0 -> `vm_stop`); stop: `crm-command stop ct:N 0` -> `vm_stop`;
* a failed LRM task puts the service into `error` (Manager.pm `next_state_request_stop`: "fixme: what
  state?"), where later requests change nothing; the guest stays as it was.
"""
from __future__ import annotations

import time
from typing import Any, Callable, Mapping

from pvesim.errors import die, param_error
from pvesim.model import Guest
from pvesim.services import Services
from pvesim.tasks import Body, TaskContext, TaskError

HA_TASK_SECONDS = 0.2
"""hastart/hastop only *request* a state change; their task ends OK quickly (3.6)."""

TASK_TYPES = {"start": "vzstart", "stop": "vzstop", "shutdown": "vzshutdown", "reboot": "vzreboot", "suspend": "vzsuspend", "resume": "vzresume"}


def precheck(guest: Guest, action: str) -> None:
    """The checks that run before forking, answered as HTTP 500 plain dies (3.6)."""
    if action in ("start", "resume") and guest.running:
        raise die(f"CT {guest.vmid} already running")
    if action == "reboot" and not guest.running:
        raise die(f"VM {guest.vmid} not running")  # sic: "VM", as in pve-container
    if action in ("stop", "shutdown", "suspend") and not guest.running:
        raise die(f"CT {guest.vmid} not running")


class ActionRunner:
    """Builds and starts the worker task for one action on one container."""

    def __init__(self, services: Services, guest: Guest, authid: str, params: Mapping[str, Any]) -> None:
        self.services = services
        self.guest = guest
        self.authid = authid
        self.params = params
        self.seconds = services.options.task_seconds
        self.lock = services.cluster.lock

    def run(self, action: str) -> str:
        """Pre-check, start the task, return its UPID."""
        if self.params.get("skiplock") and self.authid != "root@pam":
            raise param_error({"skiplock": "Only root may use this option."})
        with self.lock:
            precheck(self.guest, action)
            ha_request = self.guest.ha is not None and action in ("start", "stop", "shutdown")
            if ha_request and action == "stop" and self.params.get("overrule-shutdown"):
                raise param_error({"overrule-shutdown": "Not applicable for HA resources."})
            node = self.services.cluster.nodes[self.guest.node]
            pid = node.alloc_pid()
            pstart = int((time.time() - node.boot_time) * 100)
        if ha_request:
            task_type = "hastart" if action == "start" else "hastop"
            body = self._ha_body(action)
        else:
            task_type = TASK_TYPES[action]
            body = self._body(action)
        task = self.services.tasks.start(self.guest.node, pid, pstart, task_type, str(self.guest.vmid), self.authid, body)
        return task.upid

    def _body(self, action: str) -> Body:
        steps: dict[str, Callable[[TaskContext], None]] = {
            "start": self._start, "stop": self._stop, "shutdown": self._shutdown,
            "reboot": self._reboot, "suspend": self._suspend, "resume": self._resume,
        }
        step = steps[action]

        def body(ctx: TaskContext) -> None:
            step(ctx)
            # Scenario flag task_warnings: N -> the task ends `TASK WARNINGS: N`, the state still changed.
            for number in range(self.guest.task_warnings):
                ctx.warn(f"simulated warning {number + 1} for CT {self.guest.vmid}")
        return body

    # --- state changes (always under the cluster lock) -------------------------------------------

    def _set_running(self) -> None:
        with self.lock:
            node = self.services.cluster.nodes[self.guest.node]
            self.guest.mark_running(time.time(), node.alloc_pid())
            self.guest.checkpoint = False
        self.services.model_changed(self.guest.vmid)
        self.services.journal(self.guest.node).append("systemd", 1, f"Started pve-container@{self.guest.vmid}.service - PVE LXC Container: {self.guest.vmid}.")

    def _set_stopped(self, checkpoint: bool = False) -> None:
        with self.lock:
            self.guest.mark_stopped()
            self.guest.checkpoint = checkpoint
        self.services.model_changed(self.guest.vmid)
        self.services.journal(self.guest.node).append("systemd", 1, f"pve-container@{self.guest.vmid}.service: Deactivated successfully.")

    def _halt_processes(self) -> None:
        """A clean shutdown's first step: the container's init sends SIGTERM to every other process (stop then kills the rest)."""
        if self.services.machine is not None and not self.guest.ignores_shutdown:
            self.services.machine.runtime.terminate(self.guest.vmid)

    def _check_lock(self) -> None:
        with self.lock:
            lock = self.guest.lock
        if lock and not self.params.get("skiplock"):
            raise TaskError(f"CT is locked ({lock})")

    # --- the six actions ---------------------------------------------------------------------------

    def _start(self, ctx: TaskContext) -> None:
        with self.lock:
            template = self.guest.template
        # pve-container checks the template flag first, then the lock (3.6).
        if template:
            raise TaskError("you can't start a CT if it's a template")
        self._check_lock()
        ctx.log(f"starting CT {self.guest.vmid}: {self.guest.name}")
        ctx.sleep(self.seconds)
        with self.lock:
            if self.guest.running:
                raise TaskError(f"CT {self.guest.vmid} already running")
        self._set_running()

    def _stop(self, ctx: TaskContext) -> None:
        self._check_lock()
        ctx.log(f"stopping CT {self.guest.vmid} (lxc-stop --kill)")
        ctx.sleep(self.seconds)
        self._set_stopped()

    def _shutdown(self, ctx: TaskContext) -> None:
        self._check_lock()
        timeout = int(self.params.get("timeout", 60))
        force = bool(self.params.get("forceStop", 0))
        ctx.log(f"shutting down CT {self.guest.vmid} (timeout {timeout}s)")
        self._halt_processes()
        if self.guest.ignores_shutdown:
            ctx.sleep(timeout)
            if not force:
                raise TaskError("container did not stop")
            ctx.log("shutdown timeout reached, killing container")
        else:
            ctx.sleep(min(self.seconds, timeout))
        self._set_stopped()

    def _reboot(self, ctx: TaskContext) -> None:
        self._check_lock()
        timeout = self.params.get("timeout")
        ctx.log(f"rebooting CT {self.guest.vmid}")
        self._halt_processes()
        if self.guest.ignores_shutdown:
            # lxc-stop without --nokill kills after the timeout (60 s when none was given).
            ctx.sleep(60 if timeout is None else int(timeout))
        else:
            ctx.sleep(self.seconds / 2 if timeout is None else min(self.seconds / 2, int(timeout)))
        self._set_stopped()
        ctx.sleep(self.seconds / 2)
        self._set_running()

    def _suspend(self, ctx: TaskContext) -> None:
        self._check_lock()
        ctx.log(f"checkpointing CT {self.guest.vmid} (lxc-checkpoint -s)")
        ctx.sleep(self.seconds)
        # A suspended container is checkpointed *and stopped*: it reports `stopped` (3.6).
        self._set_stopped(checkpoint=True)

    def _resume(self, ctx: TaskContext) -> None:
        self._check_lock()
        with self.lock:
            checkpoint = self.guest.checkpoint
        if not checkpoint:
            raise TaskError("resume: no checkpoint found")
        ctx.log(f"restoring CT {self.guest.vmid} (lxc-checkpoint -r --foreground)")
        ctx.sleep(self.seconds / 2)
        self._set_running()
        with self.lock:
            started = self.guest.started_at
        # The restore runs in the foreground: the task lives as long as the container (3.6).
        while not ctx.stopping():
            with self.lock:
                if not self.guest.running or self.guest.started_at != started:
                    return
            ctx.sleep(0.1)

    # --- HA-managed guests ---------------------------------------------------------------------------

    def _ha_body(self, action: str) -> Body:
        start = action == "start"
        # Status.pm: vm_stop sends timeout 0, vm_shutdown its `timeout` (default 60); forceStop is not passed on.
        timeout = 0 if action == "stop" else int(self.params.get("timeout", 60))

        def body(ctx: TaskContext) -> None:
            ctx.log(f"Requesting HA {'start' if start else 'stop'} for CT {self.guest.vmid}")
            with self.lock:
                ha = self.guest.ha
                if ha is not None and ha.state != "error":
                    ha.requested = "started" if start else "stopped"
                    if start:
                        ha.state = "relocate" if ha.relocate_to and not self.guest.running else "started"
                    elif self.guest.running:
                        ha.state = "request_stop"
            ctx.sleep(min(HA_TASK_SECONDS, self.seconds))
            ctx.after(self.seconds, lambda: self._lrm(start, timeout))
        return body

    def _lrm(self, start: bool, timeout: int) -> None:
        """One CRM/LRM round for this guest: what the request asks, if it still asks it."""
        with self.lock:
            ha = self.guest.ha
            if ha is None or ha.state == "error" or ha.requested != ("started" if start else "stopped"):
                return
            if self.guest.running == start:
                ha.state = "started" if start else "stopped"
                return
            relocate = ha.relocate_to if start else None
        if relocate:
            self._lrm_task("vzstart", self._failed_start, "started")
            return
        if start:
            self._lrm_task("vzstart", self._start, "started")
        elif timeout:
            self.params = {"timeout": timeout}
            self._lrm_task("vzshutdown", self._shutdown, "stopped")
        else:
            self._lrm_task("vzstop", self._stop, "stopped")

    def _failed_start(self, ctx: TaskContext) -> None:
        ctx.log(f"starting CT {self.guest.vmid}: {self.guest.name}")
        raise TaskError(f"startup for container '{self.guest.vmid}' failed")

    def _lrm_task(self, task_type: str, step: Callable[[TaskContext], None], done: str) -> None:
        """Run `step` as the LRM's own task (root@pam, on the guest's node); its outcome sets the HA state."""
        with self.lock:
            node = self.services.cluster.nodes[self.guest.node]
            pid = node.alloc_pid()
            pstart = int((time.time() - node.boot_time) * 100)

        def body(ctx: TaskContext) -> None:
            try:
                step(ctx)
            except TaskError:
                self._lrm_failed(task_type)
                raise
            with self.lock:
                if self.guest.ha is not None:
                    self.guest.ha.state = done

        self.services.tasks.start(node.name, pid, pstart, task_type, str(self.guest.vmid), "root@pam", body)

    def _lrm_failed(self, task_type: str) -> None:
        with self.lock:
            ha = self.guest.ha
            if ha is None:
                return
            target = ha.relocate_to
            if task_type != "vzstart" or not target:
                ha.state = "error"
                return
            # Relocation policy: the CT moves to the other node (its config with it) and starts there.
            ha.relocate_to = None
            self.guest.node = target
        self.services.model_changed(self.guest.vmid)
        self._lrm_task("vzstart", self._start, "started")
