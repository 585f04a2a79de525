# `make demo` and `make test` work on a fresh clone: they create .venv and install what they need.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
# Prefect's own telemetry writes to its SQLite database beside our runs; it adds nothing here.
export PREFECT_SERVER_ANALYTICS_ENABLED ?= false
export DO_NOT_TRACK ?= 1

.PHONY: install demo test bench clean

$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

install: $(BIN)/.installed

demo: install
	$(BIN)/leadrelay demo

test: install
	$(BIN)/python -m pytest -q

bench: install
	$(BIN)/python benchmarks/pipeline_throughput.py --leads 100000

clean:
	rm -rf $(VENV) demo outbox leadrelay.db leadrelay.db-*
