# `make demo` and `make test` work on a fresh clone: they create .venv and install the locked set.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
# Prefect's own telemetry writes to its SQLite database beside our runs; it adds nothing here.
export PREFECT_SERVER_ANALYTICS_ENABLED ?= false
export DO_NOT_TRACK ?= 1

.PHONY: install demo test bench bench-quick bench-speed-to-lead lock clean

# requirements.lock pins every package (direct and transitive) to the tested set; pyproject.toml
# says what we need and why. Upgrading: `make lock`, run `make test`, commit both files.
$(BIN)/.installed: pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[test]'
	touch $@

install: $(BIN)/.installed

demo: install
	$(BIN)/leadrelay demo

test: install
	$(BIN)/python -m pytest -q

# One table of every throughput figure against its target (PostgreSQL: LEADRELAY_BENCH_POSTGRES_URL,
# created if missing); bench-quick leaves out the 1,000,000-lead run.
bench: install
	$(BIN)/python benchmarks/bench.py

bench-quick: install
	$(BIN)/python benchmarks/bench.py --skip-1m

bench-speed-to-lead: install
	$(BIN)/python benchmarks/speed_to_lead.py

# Resolve the newest versions pyproject.toml allows into requirements.lock (needs the registry).
lock:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --extra test --extra demo --python-version 3.11 --upgrade -o requirements.lock

clean:
	rm -rf $(VENV) demo outbox leadrelay.db leadrelay.db-*
