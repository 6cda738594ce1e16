# talkingface-kit — the two commands a user needs are `make demo` and `make test`; both set up .venv first.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
# Extra pytest arguments, e.g. `make test PYTEST_ARGS="-m 'not slow'"`.
PYTEST_ARGS ?=
# What `make lint` checks with ruff (folders of packages not written yet are left out).
LINT_PATHS := $(wildcard talkingface dagan lawdnet syncnet tests benchmarks scripts)

.PHONY: setup test test-fast test-weights slips slips-fast demo lint clean help

help:
	@echo "make demo       run every built stage on the embedded sample (CPU) -> outputs/smoke/"
	@echo "make test       run the test suite"
	@echo "make test-fast  the test suite without tests marked slow"
	@echo "make test-weights  the tests that need the authors' real weights in TALKINGFACE_CHECKPOINTS (skipped when absent)"
	@echo "make slips      apply each slip of tests/slips/ to a temporary copy; fails unless every one is caught"
	@echo "make slips-fast the fast subset of the slips (CI)"
	@echo "make setup      create/update .venv from constraints.txt (idempotent)"
	@echo "make lint       ruff + import-linter contracts (lint-imports, [tool.importlinter] in pyproject.toml)"

setup:
	@scripts/setup_venv.sh

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

test-fast: setup
	$(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

test-weights: setup
	$(PY) -m pytest -m weights -rs $(PYTEST_ARGS)

slips: setup
	$(PY) scripts/run_slips.py $(SLIPS_ARGS)

slips-fast: setup
	$(PY) scripts/run_slips.py --fast $(SLIPS_ARGS)

demo: setup
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" scripts/reproduce_all.sh --smoke --local

lint: setup
	$(PY) -m ruff check $(LINT_PATHS)
	$(VENV)/bin/lint-imports

clean:
	rm -rf outputs .pytest_cache
