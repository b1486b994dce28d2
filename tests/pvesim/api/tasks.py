# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Task list, status and log (`/nodes/{node}/tasks...`, pve-protocol.md 3.7)."""
from __future__ import annotations

from typing import Any

from pvesim.api.common import NODE
from pvesim.app import CallContext
from pvesim.errors import param_error
from pvesim.httpmsg import HttpResponse
from pvesim.params import boolean, integer, string
from pvesim.router import Route
from pvesim.tasks import UPID_RE, Task


def _visible(ctx: CallContext, task: Task) -> bool:
    """Owner, the token's user, or Sys.Audit on the node (Tasks.pm `$check_task_user`, 1.5)."""
    identity = ctx.identity
    if identity is None:
        return False
    if task.authid == identity.authid or (identity.tokenid is None and task.user == identity.authid):
        return True
    return identity.has(("Sys.Audit",))


def _task(ctx: CallContext, upid: str) -> Task:
    if not UPID_RE.fullmatch(upid):
        raise param_error({"upid": "unable to parse worker upid"})
    task = ctx.services.tasks.get(upid)
    # The task file lives on the UPID's node only (3.7).
    if task is None or task.node != ctx.node:
        raise param_error({"upid": "no such task"})
    if not _visible(ctx, task):
        ctx.require(f"/nodes/{ctx.node}", ("Sys.Audit",))
    return task


def _summary(task: Task) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "upid": task.upid, "node": task.node, "pid": task.pid, "pstart": task.pstart, "starttime": task.starttime,
        "type": task.type, "id": task.id, "user": task.user,
    }
    if task.tokenid:
        entry["tokenid"] = task.tokenid
    return entry


def read_status(ctx: CallContext, params: dict[str, Any]) -> Any:
    """`status` running|stopped; `exitstatus` only once stopped (3.7)."""
    task = _task(ctx, params["upid"])
    with ctx.services.tasks.lock:
        result = _summary(task)
        result["status"] = task.status
        if task.status == "stopped":
            result["exitstatus"] = task.exitstatus
    return result


def read_log(ctx: CallContext, params: dict[str, Any]) -> Any:
    """`[{"n":1,"t":"..."}]` + `total`; `limit=0` means no limit; `download=1` returns the raw text (3.7)."""
    task = _task(ctx, params["upid"])
    lines = ctx.services.tasks.log_lines(task)
    if params.get("download"):
        if "start" in params or "limit" in params:
            raise param_error({"download": "Parameter 'download' can't be used with other parameters"})
        return HttpResponse(200, "OK", "".join(f"{line}\n" for line in lines).encode("utf-8"), "text/plain", stream=True)
    if not lines:
        ctx.total = 1
        return [{"n": 1, "t": "no content"}]
    start = params.get("start", 0)
    limit = params.get("limit", 50)
    end = len(lines) if limit == 0 else start + limit
    ctx.total = len(lines)
    return [{"n": index + 1, "t": lines[index]} for index in range(start, min(end, len(lines)))]


def list_tasks(ctx: CallContext, params: dict[str, Any]) -> Any:
    """Finished tasks by default (`source=archive`), newest first, with filters and paging; sets `total`."""
    source = params.get("source", "archive")
    selected = []
    for task in ctx.services.tasks.tasks():
        if task.node != ctx.node or not _visible(ctx, task):
            continue
        active = task.status == "running"
        if (source == "archive" and active) or (source == "active" and not active):
            continue
        if params.get("vmid") is not None and task.id != str(params["vmid"]):
            continue
        if params.get("typefilter") and task.type != params["typefilter"]:
            continue
        if params.get("userfilter") and params["userfilter"] not in task.authid:
            continue
        if params.get("errors") and (active or task.exitstatus == "OK" or str(task.exitstatus).startswith("WARNINGS")):
            continue
        if params.get("since") is not None and task.starttime < params["since"]:
            continue
        if params.get("until") is not None and task.starttime > params["until"]:
            continue
        selected.append(task)
    ctx.total = len(selected)
    start = params.get("start", 0)
    limit = params.get("limit", 50)
    result = []
    with ctx.services.tasks.lock:
        for task in selected[start:start + limit]:
            entry = _summary(task)
            if task.status == "stopped":
                entry["status"] = task.exitstatus
                entry["endtime"] = task.endtime
            result.append(entry)
    return result


UPID = string("upid", optional=False)

ROUTES = (
    Route(
        "GET", "/nodes/{node}/tasks", list_tasks,
        params=(
            boolean("errors"),
            integer("limit", minimum=0),
            NODE,
            integer("since"),
            string("source", enum=("archive", "active", "all")),
            integer("start", minimum=0),
            string("statusfilter", fmt="pve-task-status-type-list"),
            string("typefilter"),
            integer("until"),
            string("userfilter"),
            integer("vmid", minimum=100, maximum=999999999, fmt="pve-vmid"),
        ),
        proxyto="node",
    ),
    Route("GET", "/nodes/{node}/tasks/{upid}/status", read_status, params=(NODE, UPID), protected=True, proxyto="node"),
    Route(
        "GET", "/nodes/{node}/tasks/{upid}/log", read_log,
        params=(boolean("download"), integer("limit", minimum=0), NODE, integer("start", minimum=0), UPID),
        protected=True, proxyto="node",
    ),
)
