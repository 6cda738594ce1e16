# talkingface-kit — the two commands a user needs are `make demo` and `make test`; both set up .venv first.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
# Extra pytest arguments, e.g. `make test PYTEST_ARGS="-m 'not slow'"`.
PYTEST_ARGS ?=

.PHONY: setup test test-fast demo lint clean help

help:
	@echo "make demo       run every built stage on the embedded sample (CPU) -> outputs/smoke/"
	@echo "make test       run the test suite"
	@echo "make test-fast  the test suite without tests marked slow"
	@echo "make setup      create/update .venv from constraints.txt (idempotent)"
	@echo "make lint       ruff"

setup:
	@scripts/setup_venv.sh

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

test-fast: setup
	$(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

demo: setup
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" scripts/reproduce_all.sh --smoke --local

lint: setup
	$(PY) -m ruff check talkingface dagan lawdnet syncnet tests benchmarks scripts

clean:
	rm -rf outputs .pytest_cache
