#!/usr/bin/env bash
# ansible-test sanity over the collection, in a temporary ansible_collections tree
# (ansible-test needs the real path .../ansible_collections/pveops/proxmox; a symlink does
# not do). Only files git knows (tracked or new, not ignored) are copied.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
bin="$root/.venv/bin"

tests/tools/pip-bootstrap-standin.sh "$bin/python"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dest="$work/ansible_collections/pveops/proxmox"
mkdir -p "$dest"
git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' file; do
    [ -e "$file" ] || continue  # deleted but not yet committed
    mkdir -p "$dest/$(dirname "$file")"
    cp -p "$file" "$dest/$file"
done
cd "$dest"
git init -q . && git add -A >/dev/null
"$bin/ansible-test" sanity --python 3.11 --color no "$@"
