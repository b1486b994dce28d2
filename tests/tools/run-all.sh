#!/usr/bin/env bash
# The README's test command: every check, each in its own step, a summary at the end.
# Exits non-zero when any step failed.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
bin=.venv/bin
failed=()

step() {
    local name=$1
    shift
    echo
    echo "=== $name: $*"
    local start=$SECONDS
    if "$@"; then
        echo "=== $name: passed in $((SECONDS - start)) s"
    else
        echo "=== $name: FAILED after $((SECONDS - start)) s"
        failed+=("$name")
    fi
}

step units "$bin/python" -m pytest -c tests/pytest.ini tests/unit -n 2
step integration "$bin/python" -m pytest -c tests/pytest.ini tests/integration -n 2 --dist loadfile
step typecheck "$bin/python" -m mypy --config-file tests/mypy.ini
step lint tests/tools/lint.sh
step sanity tests/tools/sanity.sh

echo
if [ ${#failed[@]} -ne 0 ]; then
    echo "FAILED: ${failed[*]}"
    exit 1
fi
echo "all checks passed"
