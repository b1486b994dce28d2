# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""`make demo`: start the bundled simulator, run the demo playbook against it, stop the simulator."""
from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
TESTS = HERE.parent
sys.path[:0] = [str(TESTS), str(TESTS / "tools")]

from collection_tree import ensure_collection_tree  # noqa: E402  pylint: disable=wrong-import-position
from pvesim.harness import SimProcess  # noqa: E402  pylint: disable=wrong-import-position


def main() -> int:
    """Run the demo; return the playbook's exit code."""
    started = time.monotonic()
    bin_dir = pathlib.Path(sys.executable).parent
    with tempfile.TemporaryDirectory(prefix="pveops-demo-") as workdir, SimProcess("--task-seconds", "1") as sim:
        print(f"pvesim: a simulated 3-node Proxmox VE cluster is listening on {sim.url}\n", flush=True)
        inventory = pathlib.Path(workdir) / "pve.yml"
        inventory.write_text("---\nplugin: pveops.proxmox.pve\n")
        env = {key: value for key, value in os.environ.items() if not key.startswith(("PVE_", "PROXMOX_", "ANSIBLE_"))}
        env.update({
            "ANSIBLE_COLLECTIONS_PATH": str(ensure_collection_tree()),
            "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
            "ANSIBLE_CALLBACK_RESULT_FORMAT": "yaml",
            "ANSIBLE_LOCALHOST_WARNING": "0",
            "ANSIBLE_HOME": str(pathlib.Path(workdir) / "ansible-home"),
            "PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
            # The connection, as users would set it: environment variables every module and plugin reads.
            "PVE_URL": sim.url,
            "PVE_USER": sim.user,
            "PVE_PASSWORD": sim.password,
            "PVE_CA_PATH": sim.ca_path,
        })
        command = [str(bin_dir / "ansible-playbook"), "-i", str(inventory), str(HERE / "demo.yml")]
        code = subprocess.run(command, env=env, check=False).returncode
    print(f"\npvesim stopped; the demo took {time.monotonic() - started:.1f} s", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
