#!/usr/bin/env bash
# Generate the module and plugin reference (docs/reference) from the documentation in the code,
# after linting that documentation. Usage: build-docs.sh [DEST] (default docs/reference).
set -euo pipefail
cd "$(dirname "$0")/../.."
dest=${1:-docs/reference}
ANSIBLE_COLLECTIONS_PATH=$(.venv/bin/python tests/tools/collection_tree.py)
export ANSIBLE_COLLECTIONS_PATH
export PATH="$PWD/.venv/bin:$PATH"
antsibull-docs lint-collection-docs --plugin-docs .
rm -rf "$dest"
mkdir -p "$dest"
antsibull-docs collection --use-current --squash-hierarchy --output-format simplified-rst --dest-dir "$dest" pveops.proxmox >/dev/null
