#!/usr/bin/env bash
# ansible-test bootstraps pip in its venvs with a script it downloads from a host that this
# network cannot reach; it uses a cached copy when one exists. This writes a stand-in that
# bootstraps with ensurepip and then installs the pip version ansible-test asks for.
set -euo pipefail
python=$1
version=$("$python" - <<'PY'
import inspect
import re

import ansible_test._internal.python_requirements as requirements

print(re.search(r"pip='([0-9.]+)'", inspect.getsource(requirements.get_venv_packages)).group(1))
PY
)
cache="$HOME/.ansible/test/cache/get_pip_${version//./_}.py"
[ -f "$cache" ] && exit 0
mkdir -p "$(dirname "$cache")"
cat > "$cache" <<PY
"""Offline stand-in for ansible-test's pip bootstrap script (written by pveops tests)."""
import ensurepip
import os
import subprocess
import sys

ensurepip.bootstrap(upgrade=True)
env = dict(os.environ)
env.pop("PIP_CONFIG_FILE", None)  # ensurepip points this at an empty file; pip needs the real config
subprocess.check_call([sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "pip==${version}"], env=env)
PY
