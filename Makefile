# Selfplay — `make run` starts the world, `make test` proves it. Both bootstrap from nothing.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PORT ?= 8000
POSTGRES_TEST_URL ?= postgres://postgres@127.0.0.1:5432/selfplay
PYTEST_ARGS ?=

SOAK_TICKS ?= 43200
SOAK_AGENTS ?= 100

# Pyodide for the browser-only variant (/local/): from the npm registry, pinned by package-lock.json,
# copied into a gitignored static folder and served from there (no CDN, nothing fetched at run time).
PYODIDE_DIR := static/vendor/pyodide
PYODIDE_STAMP := $(PYODIDE_DIR)/.installed-stamp
PYODIDE_FILES := pyodide.mjs pyodide.asm.js pyodide.asm.wasm python_stdlib.zip pyodide-lock.json

.PHONY: install pyodide run redis migrate test lint test-sqlite test-postgres bench cadence chaos soak clean

install: $(STAMP) $(PYODIDE_STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Selfplay needs Python 3.11 (set PYTHON=/path/to/python3.11)")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

pyodide: $(PYODIDE_STAMP)

$(PYODIDE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null || { echo "The browser-only variant serves Pyodide from the npm registry: install Node.js and npm (apt-get install nodejs npm)" >&2; exit 1; }
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	mkdir -p $(PYODIDE_DIR)
	cp $(addprefix node_modules/pyodide/,$(PYODIDE_FILES)) $(PYODIDE_DIR)/
	touch $@

redis: install
	$(BIN)/python scripts/ensure_redis.py

migrate: install
	$(BIN)/python manage.py migrate --no-input

# Checks the port and Redis, migrates, makes the demo world, then runs daphne, a worker and beat
# until Ctrl-C (scripts/run.py says what it does and ends cleanly).
run: install
	@PORT=$(PORT) $(BIN)/python scripts/run.py

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports

test: install lint redis test-sqlite test-postgres

# The suite on both cores: two workers, a test file each at a time; then the browser tests on
# their own. Playwright's sync API keeps an event loop running in the process that drives
# Chromium, and Django refuses the ORM inside a running loop: run alone, pytest-django puts the
# database tests first, but a worker takes its files in any order. PYTEST_ARGS (a path, -k …)
# runs just that, in one process.
TEST_WORKERS ?= 2
ifeq ($(strip $(PYTEST_ARGS)),)
PYTEST = $(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile --ignore=tests/browser && $(BIN)/pytest tests/browser
else
PYTEST = $(BIN)/pytest $(PYTEST_ARGS)
endif

test-sqlite: install
	$(PYTEST)

test-postgres: install
	@if $(BIN)/python -c 'import psycopg,sys; psycopg.connect(sys.argv[1], connect_timeout=2).close()' \
	      "$$(echo '$(POSTGRES_TEST_URL)' | sed 's#/[^/]*$$#/postgres#')" 2>/dev/null; then \
	  echo "== the same suite on PostgreSQL ($(POSTGRES_TEST_URL)) =="; \
	  export DATABASE_URL=$(POSTGRES_TEST_URL) && $(PYTEST); \
	elif [ "$$SELFPLAY_REQUIRE_POSTGRES" = "1" ]; then \
	  echo "PostgreSQL does not answer at $(POSTGRES_TEST_URL) and SELFPLAY_REQUIRE_POSTGRES=1" >&2; exit 1; \
	else \
	  echo "SKIPPED the PostgreSQL run: nothing answers at $(POSTGRES_TEST_URL) (set POSTGRES_TEST_URL)"; \
	fi

# bench_parallel_appends needs PostgreSQL: it creates <POSTGRES_TEST_URL's name>_parallel_bench there.
bench: install redis
	POSTGRES_BENCH_URL=$(POSTGRES_TEST_URL) $(BIN)/python -m tests.bench

# Ten undisturbed minutes of real beat + worker ticks against an asyncio call_at loop (BENCH lines).
cadence: install
	CADENCE_SECONDS=600 $(BIN)/python -m tests.bench cadence

# The fault experiments on real processes and a private Redis (CHAOS lines, charts in var/chaos/).
chaos: install
	$(BIN)/python -m tests.chaos

soak: install
	mkdir -p var/soak && rm -f var/soak/soak.sqlite3*
	DATABASE_URL=sqlite:///$(CURDIR)/var/soak/soak.sqlite3 $(BIN)/python manage.py migrate --no-input -v 0
	DATABASE_URL=sqlite:///$(CURDIR)/var/soak/soak.sqlite3 $(BIN)/python manage.py selfplay_soak \
	  --ticks $(SOAK_TICKS) --agents $(SOAK_AGENTS) --every 2000

clean:
	rm -rf $(VENV) var *.egg-info node_modules static/vendor
