# The two commands a fresh machine needs: `make demo` and `make test` (see README.md).
# Every target sets up what it needs first: the virtualenv (.venv, from requirements-dev.txt)
# and the few Debian packages the tests use (bubblewrap, shellcheck).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: all setup test demo sanity units integration lint typecheck bench docs clean

all: test

$(STAMP): requirements.txt requirements-dev.txt
	tests/tools/system-deps.sh
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

setup: $(STAMP)
	$(BIN)/python tests/tools/collection_tree.py >/dev/null

## test: everything CI runs — sanity, unit and integration tests, ansible-lint, mypy
test: setup
	tests/tools/run-all.sh

## demo: start the bundled simulator, run the demo playbook against it, stop it
demo: setup
	$(BIN)/python tests/demo/run_demo.py

sanity: setup
	tests/tools/sanity.sh

units: setup
	$(BIN)/python -m pytest -c tests/pytest.ini tests/unit

integration: setup
	$(BIN)/python -m pytest -c tests/pytest.ini tests/integration

lint: setup
	tests/tools/lint.sh

typecheck: setup
	$(BIN)/python -m mypy --config-file tests/mypy.ini

## docs: regenerate the module and plugin reference in docs/reference
docs: setup
	tests/tools/build-docs.sh

## bench: every benchmark under tests/benchmarks, one table
bench: setup
	$(BIN)/python tests/benchmarks/run_all.py

clean:
	rm -rf $(VENV) tests/output .mypy_cache .pytest_cache
