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

.PHONY: install run redis migrate test lint test-sqlite test-postgres bench soak clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Selfplay needs Python 3.11 (set PYTHON=/path/to/python3.11)")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

redis: install
	$(BIN)/python scripts/ensure_redis.py

migrate: install
	$(BIN)/python manage.py migrate --no-input

run: install redis migrate
	$(BIN)/python manage.py setup_periodic_tasks
	$(BIN)/python manage.py selfplay_demo
	@echo "Selfplay on http://127.0.0.1:$(PORT)/  (admin: /admin/, schema: /api/schema/) — Ctrl-C stops all"
	SELFPLAY_PORT=$(PORT) $(BIN)/honcho start -f Procfile

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports

test: install lint redis test-sqlite test-postgres

test-sqlite: install
	$(BIN)/pytest $(PYTEST_ARGS)

test-postgres: install
	@if $(BIN)/python -c 'import psycopg,sys; psycopg.connect(sys.argv[1], connect_timeout=2).close()' \
	      "$$(echo '$(POSTGRES_TEST_URL)' | sed 's#/[^/]*$$#/postgres#')" 2>/dev/null; then \
	  echo "== the same suite on PostgreSQL ($(POSTGRES_TEST_URL)) =="; \
	  DATABASE_URL=$(POSTGRES_TEST_URL) $(BIN)/pytest $(PYTEST_ARGS); \
	elif [ "$$SELFPLAY_REQUIRE_POSTGRES" = "1" ]; then \
	  echo "PostgreSQL does not answer at $(POSTGRES_TEST_URL) and SELFPLAY_REQUIRE_POSTGRES=1" >&2; exit 1; \
	else \
	  echo "SKIPPED the PostgreSQL run: nothing answers at $(POSTGRES_TEST_URL) (set POSTGRES_TEST_URL)"; \
	fi

bench: install redis
	$(BIN)/python -m tests.bench

soak: install
	mkdir -p var/soak && rm -f var/soak/soak.sqlite3*
	DATABASE_URL=sqlite:///$(CURDIR)/var/soak/soak.sqlite3 $(BIN)/python manage.py migrate --no-input -v 0
	DATABASE_URL=sqlite:///$(CURDIR)/var/soak/soak.sqlite3 $(BIN)/python manage.py selfplay_soak \
	  --ticks $(SOAK_TICKS) --agents $(SOAK_AGENTS) --every 2000

clean:
	rm -rf $(VENV) var *.egg-info
