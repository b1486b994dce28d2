#!/usr/bin/env bash
# ansible-lint with the production profile over the whole collection (roles, playbooks,
# examples, metadata). Configuration: .ansible-lint.
set -euo pipefail
cd "$(dirname "$0")/../.."
export ANSIBLE_HOME="$PWD/tests/output/ansible-lint-home"
ANSIBLE_COLLECTIONS_PATH=$(.venv/bin/python tests/tools/collection_tree.py)
export ANSIBLE_COLLECTIONS_PATH
export PATH="$PWD/.venv/bin:$PATH"
exec .venv/bin/ansible-lint --profile production --offline --nocolor "$@"
