# Two entry points that do all set-up on a fresh machine with Python 3.11+:
#   make demo   - an end-to-end demo on the shipped fixtures, in a temp dir
#   make test   - pytest, ruff and mypy
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.sealedcfg-installed
DEMO   := $(VENV)/.sealedcfg-demo

.PHONY: demo test lint bench clean

$(BIN)/python:
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "sealedcfg needs Python 3.11+"; exit 1; }
	$(PYTHON) -m venv $(VENV)

PLUGIN := fixtures/plugins/sealedcfg-demo-provider

$(STAMP): pyproject.toml $(PLUGIN)/pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[test]'
	# a real provider plug-in for the lifecycle tests (entry point sealedcfg.providers)
	$(BIN)/python -m pip install -q --disable-pip-version-check ./$(PLUGIN)
	# bytecode now, as a wheel install does (an editable install has none, and
	# with PYTHONDONTWRITEBYTECODE set every process would compile ~100 modules)
	$(BIN)/python -m compileall -q sealedcfg
	touch $(STAMP)

# The demo needs only the package (no test extras): seconds, not a minute.
$(DEMO): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q --disable-pip-version-check -e .
	$(BIN)/python -m compileall -q sealedcfg
	touch $(DEMO)

demo: $(DEMO)
	PATH="$(CURDIR)/$(BIN):$$PATH" bash .ci/demo.sh

# In-process coverage: the per-module table, then every module against its floor.
test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --cov --cov-report=term
	$(BIN)/python tests/coverage_floor.py
	$(MAKE) lint

lint: $(STAMP)
	$(BIN)/ruff check sealedcfg tests bench fixtures
	$(BIN)/ruff format --check sealedcfg tests bench fixtures
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

bench: $(STAMP)
	$(BIN)/python bench/bench.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage
