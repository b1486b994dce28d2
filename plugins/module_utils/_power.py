# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Container power actions with task tracking, and the persistent shutdown timeout.

Ports GoDoxy's ``LXCAction``/``LXCSetShutdownTimeout`` and fixes what pve-protocol.md §6.2
items 14–20 list: container status is only ``running``/``stopped`` (suspend ends
``stopped``, resume's task runs as long as the container), ``WARNINGS`` is success, actions
are idempotent and a synchronous "already running"/"not running" answer to a race is
success, the shutdown timeout goes into the shutdown request, and ``startup`` keeps its
``order``/``up`` when ``down`` is set.

HA-managed containers (``status/current`` ``ha.managed``) only get a request; the LRM acts later
(pve-container Status.pm, pve-ha-manager PVECT.pm): ``crm-command stop`` passes the timeout and never
``forceStop``, a container that does not stop puts the service into HA state ``error`` (which ends the
wait at once), and HA may move the container to another node, where the wait follows it through
``/cluster/resources``.
"""

from __future__ import annotations

import dataclasses
import re
import typing as t

from ansible_collections.pveops.proxmox.plugins.module_utils._api import ApiClient, api_path
from ansible_collections.pveops.proxmox.plugins.module_utils._errors import (
    ApiError,
    ConfigError,
    NotFound,
    PveConnectionError,
    PveError,
    PveTimeout,
    TaskFailed,
)
from ansible_collections.pveops.proxmox.plugins.module_utils._lxc import current_status, lxc_path
from ansible_collections.pveops.proxmox.plugins.module_utils._tasks import Deadline, TaskResult, Upid, parse_upid, poll_intervals, wait_task


@dataclasses.dataclass(frozen=True)
class Action:
    """What one action asks of the API and what it leads to."""

    endpoint: str  # …/status/<endpoint>
    target: str  # the container status once it is done
    noop_when: str | None  # the status in which there is nothing to do
    race_marker: str  # the synchronous 500 that means somebody else got there first (§3.6)
    task_types: tuple[str, ...]


ACTIONS: dict[str, Action] = {
    "start": Action("start", "running", "running", "already running", ("vzstart", "hastart")),
    "stop": Action("stop", "stopped", "stopped", "not running", ("vzstop", "hastop")),
    "shutdown": Action("shutdown", "stopped", "stopped", "not running", ("vzshutdown", "hastop")),
    # A reboot of a stopped container starts it; of a running one it always changes something.
    "reboot": Action("reboot", "running", None, "not running", ("vzreboot",)),
    # Suspend checkpoints and stops (LXC never reports "suspended"); resume restores.
    "suspend": Action("suspend", "stopped", "stopped", "not running", ("vzsuspend",)),
    "resume": Action("resume", "running", "running", "already running", ("vzresume",)),
}


@dataclasses.dataclass
class Outcome:
    """What an action did."""

    changed: bool
    status_before: str
    status: str
    upid: str | None = None
    exitstatus: str | None = None
    elapsed: float = 0.0
    warnings: int = 0
    node: str | None = None  # where the container is at the end (HA may have moved it)


def plan(action: str, status: str) -> str | None:
    """The endpoint to call for ``action`` on a container in ``status``; ``None`` = nothing to do."""
    spec = ACTIONS[action]
    if spec.noop_when is not None and status == spec.noop_when:
        return None
    if action == "reboot" and status == "stopped":
        return "start"
    return spec.endpoint


def ha_managed(status: t.Mapping[str, t.Any]) -> bool:
    """Whether ``status/current`` says the container is an HA resource (``ha.managed``)."""
    ha = status.get("ha")
    return isinstance(ha, dict) and str(ha.get("managed") or "0") not in ("0", "")


def locate(client: ApiClient, vmid: int) -> str | None:
    """The node ``/cluster/resources`` places the guest on now (HA relocates containers)."""
    for entry in client.get("/cluster/resources", {"type": "vm"}) or []:
        if isinstance(entry, dict) and str(entry.get("vmid")) == str(vmid):
            return str(entry.get("node")) if entry.get("node") else None
    return None


def wait_status(client: ApiClient, node: str, vmid: int, expected: str, deadline: Deadline, ha: bool = False) -> tuple[str, str]:
    """Poll ``status/current`` until it reports ``expected``; return it and the node (HA guests change state after
    their task, may move to another node and may end in HA state ``error``)."""
    status = "unknown"
    for delay in poll_intervals():
        try:
            current = current_status(client, node, vmid)
        except PveTimeout:
            # The operation's time limit cut the request short (ApiClient.set_deadline).
            raise PveTimeout(f"container {vmid} is still {status}, not {expected}, after {deadline.seconds:g} s (timeout)",
                             last_status=status, node=node) from None
        except NotFound:
            moved = locate(client, vmid) if ha else None
            if moved is None or moved == node:
                raise
            node = moved  # HA relocated it: its config is on that node now
            continue
        status = str(current.get("status"))
        state = (current.get("ha") or {}).get("state") if ha else None
        if state == "error":
            raise PveError(f"container {vmid} on {node} entered HA state error while it is {status} (the HA stack could not "
                           f"make it {expected}; see the node's task log and `ha-manager status`)", last_status=status, node=node,
                           ha_state="error")
        if status == expected:
            return status, node
        if deadline.expired():
            raise PveTimeout(f"container {vmid} is still {status}, not {expected}, after {deadline.seconds:g} s (timeout)",
                             last_status=status, node=node)
        deadline.sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover


def _request_params(endpoint: str, shutdown_timeout: int | None, force_stop: bool | None) -> dict[str, t.Any]:
    params: dict[str, t.Any] = {}
    if endpoint in ("shutdown", "reboot") and shutdown_timeout is not None:
        params["timeout"] = shutdown_timeout
    if endpoint == "shutdown" and force_stop is not None:
        params["forceStop"] = force_stop
    return params


def _find_active_task(client: ApiClient, node: str, vmid: int, types: tuple[str, ...]) -> str | None:
    """A running task of ``types`` for this container, if one exists (after a lost POST answer)."""
    try:
        tasks = client.get(api_path("nodes", node, "tasks"), {"vmid": vmid, "source": "active"}) or []
    except ApiError:
        return None
    for task in tasks:
        if isinstance(task, dict) and task.get("type") in types and task.get("upid"):
            return str(task["upid"])
    return None


def start_action(client: ApiClient, node: str, vmid: int, endpoint: str, params: dict[str, t.Any], types: tuple[str, ...]) -> str | None:
    """POST the action; return its UPID, or ``None`` when a race made it unnecessary.

    A POST is never replayed blindly: when its answer is lost, the container's status and
    active tasks decide whether it arrived.
    """
    path = lxc_path(node, vmid, "status", endpoint)
    try:
        return str(client.post(path, params))
    except PveTimeout as exc:
        # Cut short by the operation's time limit after it was sent: it may have started a task.
        raise PveTimeout(f"{exc}; the {endpoint} request may have been carried out, its outcome is unknown",
                         changed=True, outcome="unknown") from None
    except PveConnectionError as exc:
        if exc.details.get("not_sent"):
            raise
        active = _find_active_task(client, node, vmid, types)
        if active is not None:
            return active
        return str(client.post(path, params))


def run_action(client: ApiClient, node: str, vmid: int, action: str, status_before: str, deadline: Deadline,
               shutdown_timeout: int | None = None, force_stop: bool | None = None, ha: bool = False) -> Outcome:
    """Carry out ``action`` and wait until the container has the status it leads to."""
    spec = ACTIONS[action]
    endpoint = plan(action, status_before)
    if endpoint is None:
        return Outcome(changed=False, status_before=status_before, status=status_before, node=node)
    types = ACTIONS[endpoint].task_types
    try:
        upid_text = start_action(client, node, vmid, endpoint, _request_params(endpoint, shutdown_timeout, force_stop), types)
    except ApiError as exc:
        if exc.status != 500 or spec.race_marker not in exc.reason:
            raise
        if action == "reboot":
            # "VM 101 not running": it stopped since we looked; a reboot of a stopped container starts it.
            return run_action(client, node, vmid, "start", "stopped", deadline, ha=ha)
        status, node = wait_status(client, node, vmid, spec.target, deadline, ha)
        return Outcome(changed=False, status_before=status_before, status=status, elapsed=deadline.elapsed(), node=node)
    upid = parse_upid(upid_text)
    try:
        return _follow_task(client, node, vmid, action, status_before, upid, deadline, ha)
    except PveConnectionError as exc:
        # The task exists; only its end was not seen (issue 12 item 8): keep the UPID and say what is not known.
        raise PveError(f"the {upid.type} task {upid.text} of container {vmid} was started, but the connection was lost while waiting "
                       f"for it, so whether it succeeded is unknown; check the task on node {upid.node} ({exc})",
                       upid=upid.text, changed=True, outcome="unknown") from None
    except PveError as exc:
        # A started task: the UPID belongs in the result, and unless the task itself failed something may have changed.
        exc.details.setdefault("upid", upid.text)
        if not isinstance(exc, TaskFailed):
            exc.details.setdefault("changed", True)
        raise


def _follow_task(client: ApiClient, node: str, vmid: int, action: str, status_before: str, upid: Upid, deadline: Deadline,
                 ha: bool) -> Outcome:
    result: TaskResult | None
    if action == "resume":
        # The resume task runs as long as the restored container does: wait for "running".
        def container_running(_task: dict[str, t.Any]) -> bool:
            return current_status(client, node, vmid).get("status") == "running"

        result = wait_task(client, upid, deadline, on_poll=container_running)
    else:
        result = wait_task(client, upid, deadline)
    status, node = wait_status(client, node, vmid, ACTIONS[action].target, deadline, ha)
    return Outcome(
        changed=True,
        status_before=status_before,
        status=status,
        upid=upid.text,
        exitstatus=result.exitstatus if result else None,
        elapsed=deadline.elapsed(),
        warnings=result.warnings if result else 0,
        node=node,
    )


# ---------------------------------------------------------------------------- startup property

_STARTUP_PART = re.compile(r"^(?:(order)=)?(\d+)$|^(up|down)=(\d+)$")


def parse_startup(value: str | None) -> dict[str, int]:
    """Parse ``[[order=]\\d+][,up=\\d+][,down=\\d+]`` (§3.9)."""
    result: dict[str, int] = {}
    for part in (value or "").split(","):
        part = part.strip()
        if not part:
            continue
        match = _STARTUP_PART.match(part)
        if match is None:
            raise ConfigError(f"the container's startup property {value!r} is not of the form [order=]N,up=N,down=N")
        if match.group(2) is not None:
            result["order"] = int(match.group(2))
        else:
            result[match.group(3)] = int(match.group(4))
    return result


def format_startup(parts: t.Mapping[str, int]) -> str:
    """Write a startup property back in PVE's order: order, up, down."""
    return ",".join(f"{key}={parts[key]}" for key in ("order", "up", "down") if key in parts)


def startup_with_down(current: str | None, down: int) -> str:
    """The startup property with ``down`` set and ``order``/``up`` kept (§6.2 item 17)."""
    parts = parse_startup(current)
    parts["down"] = down
    return format_startup(parts)
