# driftplan — the two commands a newcomer needs are `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-all check lint typecheck imports bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The main job: the web service with timers and message delivery, on the embedded SQLite
# default (./driftplan-data), at http://127.0.0.1:8000.
run: $(STAMP)
	$(BIN)/driftplan init
	$(BIN)/driftplan serve

# The crash suite (tests/integration/test_crash_delivery.py) runs bounded here: 5 kills of the
# worker on a 100-recipient list; test-all runs the full 50 kills on 500 recipients.
# Two test processes (pytest-xdist): the suite waits on subprocesses, servers and databases
# more than on the CPU, so two processes on CI's two cores halve its time (13 -> 7 minutes).
test: $(STAMP)
	$(BIN)/python -m pytest -q -m "not full_run" -n 2

test-all: $(STAMP)
	DRIFTPLAN_CRASH_KILLS=50 DRIFTPLAN_CRASH_RECIPIENTS=500 DRIFTPLAN_HYPOTHESIS_PROFILE=full \
		$(BIN)/python -m pytest -q -n 2

check: lint typecheck imports

lint: $(STAMP)
	$(BIN)/ruff check engine channels tests bench
	$(BIN)/ruff format --check engine channels tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

imports: $(STAMP)
	$(BIN)/lint-imports

bench: $(STAMP)
	for b in bench/bench_*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .mypy_cache .ruff_cache
