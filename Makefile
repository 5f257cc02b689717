# Patron Desk: `make run` starts the demo; `make test` installs what the tests need and runs them all;
# `make check` is the fast inner loop: lint, types and every test not marked `slow`, on two workers
# (pytest-xdist, three workers on two cores: tests wait on sockets; the Synapse tests share one worker).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test check lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/patron-desk run --demo

lint: $(STAMP)
	$(BIN)/ruff check bot tests bench
	$(BIN)/ruff format --check bot tests bench
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest

check: lint
	$(BIN)/python -m pytest -m "not slow" -n 3 --dist loadgroup

bench: $(STAMP)
	$(BIN)/python -m bench.route
	$(BIN)/python -m bench.ingest
	$(BIN)/python -m bench.sanitize

clean:
	rm -rf $(VENV) patron-desk.db* .mypy_cache .ruff_cache
