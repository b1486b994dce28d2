#!/usr/bin/python
# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: pve_lxc_action
short_description: Start, stop, shut down, reboot, suspend or resume a Proxmox VE container, tracking its task
version_added: 0.1.0
description:
  - Runs a power action on an LXC container through the Proxmox VE API and waits until it is done
    (the task ended successfully and the container reports the status the action leads to).
  - Idempotent. V(start) of a running container and V(shutdown) or V(stop) of a stopped one change nothing and send no request that changes state.
    When somebody else gets there first, the server's C(CT ... already running) or C(not running) answer counts as success.
  - A task that ends with anything but C(OK) or C(WARNINGS) fails the module at once, with the task's error line and the last lines of its log.
  - HA-managed containers (C(ha.managed) in their status) change state after their task ends, when the HA stack acts; the module waits
    for the status, bounded by O(timeout), follows the container when HA moves it to another node (RV(node) is where it ends), and
    fails at once when the HA resource enters the C(error) state (for example a container that does not shut down in time).
  - Can also persist the container's shutdown timeout (C(down=) of its C(startup) property) while keeping C(order=) and C(up=).
author:
  - pveops contributors (@pveops)
extends_documentation_fragment:
  - pveops.proxmox._api
  - pveops.proxmox._attributes
attributes:
  check_mode:
    support: full
    details: Predicts C(changed) from the current status and configuration; sends nothing that changes state.
  diff_mode:
    support: full
    details: Shows the container status (and C(startup) when O(startup_down) is set) before and after.
options:
  vmid:
    description:
      - Id of the container. One of O(vmid) and O(name) is required; when both are given they must name the same container.
    type: int
  name:
    description:
      - Name of the container. Fails and lists the candidates when several containers have it; use O(vmid) or O(node) then.
    type: str
  node:
    description:
      - Node of the container. Found from the cluster when not given; when given, the container must be on it.
    type: str
  action:
    description:
      - V(start), V(stop) (immediate, like pulling the plug), V(shutdown) (clean, see O(shutdown_timeout)) or V(reboot) (a stopped container is started).
      - V(suspend) checkpoints the container and stops it; it then reports C(stopped). V(resume) restores the checkpoint and waits until the container runs.
        Both are B(experimental) in Proxmox VE (they need CRIU) and are offered as it offers them.
      - One of O(action) and O(startup_down) is required.
    type: str
    choices: [start, stop, shutdown, reboot, suspend, resume]
  shutdown_timeout:
    description:
      - Seconds the container gets to shut down cleanly, for V(shutdown) and V(reboot) (the API's C(timeout); Proxmox VE's default is 60).
      - Without O(force_stop) the task fails when the container does not stop in time.
      - Only for V(shutdown) and V(reboot); with another O(action) it is an error (it would be ignored).
    type: int
  force_stop:
    description:
      - With V(shutdown), stop the container hard when it does not shut down within O(shutdown_timeout) (the API's C(forceStop)).
      - Only for V(shutdown); with another O(action) it is an error (it would be ignored).
      - Has no effect on HA-managed containers. Proxmox VE hands their shutdown to the HA stack with the timeout only
        (C(ha-manager crm-command stop)), so the module warns. Use V(stop) for a hard stop of an HA container.
    type: bool
  timeout:
    description:
      - Seconds the whole operation may take, task and status change included; every request of the run waits at most until then.
        On timeout the module fails with the task id and the last known status.
      - When the connection is lost after a task was started, the module fails with that task's RV(upid) and says that its outcome is unknown.
    type: int
    default: 120
  startup_down:
    description:
      - Persist this shutdown timeout (seconds) as C(down=) in the container's C(startup) property, keeping C(order=) and C(up=).
      - Proxmox VE uses it only when the node shuts down or stops all guests; it does not change what V(shutdown) does (use O(shutdown_timeout) for that).
      - At least 1. Proxmox VE would take V(0) as "stop it hard at once", without a clean shutdown, so it is refused.
    type: int
"""

EXAMPLES = r"""
- name: Start container 101 and wait until it runs
  pveops.proxmox.pve_lxc_action:
    vmid: 101
    action: start

- name: Shut down "web" cleanly, stopping it hard after 30 seconds
  pveops.proxmox.pve_lxc_action:
    name: web
    action: shutdown
    shutdown_timeout: 30
    force_stop: true

- name: Reboot every container of a group, connection set once for the whole play
  hosts: pve_lxc
  gather_facts: false
  module_defaults:
    group/pveops.proxmox.pve:
      api_url: https://pve.example.com:8006
      api_token_id: ansible@pve!ops
      api_token_secret: "{{ vault_pve_token_secret }}"
  tasks:
    - name: Reboot
      pveops.proxmox.pve_lxc_action:
        vmid: "{{ pve_vmid }}"
        action: reboot
      delegate_to: localhost

- name: Give container 105 two minutes to stop when its node shuts down
  pveops.proxmox.pve_lxc_action:
    vmid: 105
    startup_down: 120
"""

RETURN = r"""
vmid:
  description: Id of the container.
  returned: always
  type: int
  sample: 101
node:
  description: Node of the container; at the end of the action (HA may have moved it).
  returned: success
  type: str
  sample: pve1
name:
  description: Name of the container.
  returned: success
  type: str
  sample: web
action:
  description: The requested action.
  returned: always
  type: str
  sample: start
status_before:
  description: Container status before the action.
  returned: success
  type: str
  sample: stopped
status:
  description: Container status at the end (predicted in check mode).
  returned: success
  type: str
  sample: running
upid:
  description:
    - Id of the task that carried out the action; V(null) when nothing had to be done.
    - Also on failure once a task was started (the task may still have done its work).
  returned: always
  type: str
  sample: "UPID:pve1:0003A2F1:0C4B1D2E:6716A1B2:vzstart:101:root@pam:"
exitstatus:
  description: >-
    How the task ended (V(OK), V(WARNINGS: n) or the error text); V(null) when no task ran or, for V(resume), while it still runs.
  returned: always
  type: str
  sample: OK
elapsed:
  description: Seconds the action took, waiting included.
  returned: always
  type: float
  sample: 1.21
startup:
  description: The container's C(startup) property after the change, when O(startup_down) is set.
  returned: when O(startup_down) is set
  type: str
  sample: order=2,up=30,down=120
task_log:
  description: The last lines of the task log, when the task failed.
  returned: failure of the task
  type: list
  elements: str
  sample: ["TASK ERROR: CT is locked (backup)"]
"""

import typing as t

from ansible_collections.pveops.proxmox.plugins.module_utils._errors import ConfigError, PveError
from ansible_collections.pveops.proxmox.plugins.module_utils._lxc import current_status, lxc_path, read_config
from ansible_collections.pveops.proxmox.plugins.module_utils._module import PveModule
from ansible_collections.pveops.proxmox.plugins.module_utils._numbers import MAX_SECONDS, bounded_number
from ansible_collections.pveops.proxmox.plugins.module_utils._power import ACTIONS, ha_managed, plan, run_action, startup_with_down
from ansible_collections.pveops.proxmox.plugins.module_utils._tasks import Deadline


def check_options(params: t.Mapping[str, t.Any]) -> None:
    """Refuse values the action cannot use and options it would silently ignore."""
    bounded_number("timeout", params["timeout"], 1, MAX_SECONDS)
    if params["shutdown_timeout"] is not None:
        bounded_number("shutdown_timeout", params["shutdown_timeout"], 0, MAX_SECONDS)
    if params["startup_down"] is not None:
        # PVE accepts down=0 and then stops the container hard, without a clean shutdown, when the
        # node stops its guests (Nodes.pm stopall: `int($d->{down} // ...)` as the shutdown timeout).
        bounded_number("startup_down", params["startup_down"], 1, MAX_SECONDS)
    action = params["action"]
    if params["force_stop"] and action != "shutdown":
        raise ConfigError(f"force_stop applies only to action=shutdown (the API's forceStop), not to action={action}")
    if params["shutdown_timeout"] is not None and action not in ("shutdown", "reboot"):
        raise ConfigError(f"shutdown_timeout applies only to action=shutdown and action=reboot, not to action={action}")


def main() -> None:
    """Run the module."""
    module = PveModule(
        argument_spec={
            "vmid": {"type": "int"},
            "name": {"type": "str"},
            "node": {"type": "str"},
            "action": {"type": "str", "choices": list(ACTIONS)},
            "shutdown_timeout": {"type": "int"},
            "force_stop": {"type": "bool"},
            "timeout": {"type": "int", "default": 120},
            "startup_down": {"type": "int"},
        },
        required_one_of=[("vmid", "name"), ("action", "startup_down")],
        supports_check_mode=True,
    )
    params = module.params
    action = params["action"]
    result: dict[str, t.Any] = {"changed": False, "vmid": params["vmid"], "action": action, "upid": None,
                                "exitstatus": None, "elapsed": 0.0}
    with module.pve_errors(**result):
        check_options(params)
    deadline = Deadline(params["timeout"])

    with module.pve_errors(**result):
        client = module.client
        client.set_deadline(deadline.end)  # `timeout` bounds the whole operation, every request included
        guest = module.cluster().find_container(params["vmid"], params["name"], params["node"])
        node, vmid = guest.node, guest.vmid
        result.update(vmid=vmid, node=node, name=guest.name)
        status_now = current_status(client, node, vmid)
        status_before = str(status_now.get("status"))
        managed = ha_managed(status_now)
        result.update(status_before=status_before, status=status_before)
        before: dict[str, t.Any] = {"status": status_before}
        after: dict[str, t.Any] = {"status": status_before}

    if params["startup_down"] is not None:
        with module.pve_errors(**result):
            config = read_config(client, node, vmid)
            current = config.get("startup")
            wanted = startup_with_down(current, params["startup_down"])
            before["startup"], after["startup"] = current, wanted
            result["startup"] = wanted
            if wanted != current:
                result["changed"] = True
                if not module.check_mode:
                    client.put(lxc_path(node, vmid, "config"), {"startup": wanted, "digest": config.get("digest")})

    if action is not None:
        if guest.template and action in ("start", "reboot", "resume"):
            module.fail_json(msg=f"{guest.describe()} is a template and cannot be started; clone it into a container first", **result)
        if module.check_mode:
            if plan(action, status_before) is not None:
                result["changed"] = True
                after["status"] = result["status"] = ACTIONS[action].target
        else:
            if managed and params["force_stop"] and plan(action, status_before) == "shutdown":
                module.warn(f"{guest.describe()} is HA-managed: Proxmox VE passes only the timeout to the HA stack "
                            "(ha-manager crm-command stop), so force_stop has no effect; if it does not shut down in time its HA state "
                            "becomes error. Use action: stop for a hard stop")
            try:
                outcome = run_action(client, node, vmid, action, status_before, deadline,
                                     shutdown_timeout=params["shutdown_timeout"], force_stop=params["force_stop"], ha=managed)
            except PveError as exc:
                result["elapsed"] = round(deadline.elapsed(), 3)
                if "last_status" in exc.details:
                    result["status"] = exc.details["last_status"]
                with module.pve_errors(**result):
                    raise
            result["changed"] = result["changed"] or outcome.changed
            result.update(status=outcome.status, upid=outcome.upid, exitstatus=outcome.exitstatus, node=outcome.node or node)
            after["status"] = outcome.status
            if outcome.warnings:
                module.warn(f"task {outcome.upid} ended with {outcome.warnings} warning(s)")

    result["elapsed"] = round(deadline.elapsed(), 3)
    if module._diff:  # pylint: disable=protected-access
        result["diff"] = {"before": before, "after": after}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
