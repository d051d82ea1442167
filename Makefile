# Two commands: `make run` (serve the demo) and `make test` (the whole suite).
PY ?= python3
NPM ?= npm
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# Listen backlog: a burst of callbacks waits in the kernel instead of on SYN retransmits
# (Twisted's default is 50; the kernel caps it at net.core.somaxconn).
BACKLOG ?= 1024

.PHONY: run messages simulator test test-fast lint lock system-test-deps run-scaled bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The lock files pin every package with its hashes (pip-tools, from pyproject.toml's ranges):
# a fresh clone installs exactly what was tested. `make lock` recompiles them.
$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r requirements.txt
	touch $@

$(VENV)/.test-installed: $(VENV)/.installed tests/requirements.txt
	$(BIN)/pip install --quiet --require-hashes -r tests/requirements.txt
	touch $@

LOCK := $(BIN)/pip-compile --quiet --generate-hashes --strip-extras --allow-unsafe --no-emit-index-url --no-emit-find-links
lock: $(VENV)/.test-installed
	$(LOCK) -o requirements.txt pyproject.toml
	$(LOCK) --extra test --extra bench -c requirements.txt -o tests/requirements.txt pyproject.toml

## Test-only JavaScript (axe-core for the accessibility checks), from the npm registry at the
## versions in tests/package-lock.json, into tests/node_modules.
tests/node_modules/.installed: tests/package.json tests/package-lock.json | system-test-deps
	$(NPM) ci --prefix tests --no-audit --no-fund --loglevel=error
	touch $@

## make run: install, migrate, seed the demo customer, serve on http://$(HOST):$(PORT)/
run: $(VENV)/.installed
	@$(MAKE) --no-print-directory messages
	$(BIN)/python manage.py migrate --noinput -v 0
	$(BIN)/python manage.py seed_demo
	@echo ""
	@echo "  M-Pesa checkout demo: http://$(HOST):$(PORT)/   (log in as demo / demo)"
	@echo "  Simulator handset:    http://$(HOST):$(PORT)/simulator/   Admin: manage.py createsuperuser"
	@echo ""
	PORT=$(PORT) exec $(BIN)/daphne -v 0 -e tcp:port=$(PORT):interface=$(HOST):backlog=$(BACKLOG) project.asgi:application

## make messages: compile the translations (payments/locale, frontend/locale: the .po files)
## into the .mo files Django reads. Needs gettext's msgfmt; without it the committed .mo stay.
messages: $(VENV)/.installed
	@if command -v msgfmt >/dev/null 2>&1; then \
	  $(BIN)/python manage.py compilemessages -v 0 --ignore=$(VENV) --ignore=tests --ignore=node_modules; \
	else echo "gettext (msgfmt) is not installed: using the committed .mo files"; fi

## make simulator: ONLY the Daraja simulator (Daraja API, control API, handset, index) on
## http://$(HOST):$(SIM_PORT)/simulator/, with its own settings (project/settings_simulator.py)
## and database (simulator.sqlite3): the Daraja of a shop written in any language.
SIM_PORT ?= 9100
simulator: $(VENV)/.installed
	DJANGO_SETTINGS_MODULE=project.settings_simulator $(BIN)/python manage.py migrate --noinput -v 0
	@echo ""
	@echo "  Daraja simulator: http://$(HOST):$(SIM_PORT)/simulator/   (base URL for clients: http://$(HOST):$(SIM_PORT)/simulator)"
	@echo ""
	DJANGO_SETTINGS_MODULE=project.settings_simulator SIM_PORT=$(SIM_PORT) exec $(BIN)/daphne -v 0 \
	  -e tcp:port=$(SIM_PORT):interface=$(HOST):backlog=$(BACKLOG) simulator.standalone.asgi:application

## Debian packages the tests drive for real (a clean CI machine has none of them); npm brings
## Node.js, which installs axe-core for the browser tests; gettext compiles and checks the
## translations.
system-test-deps:
	@missing=""; \
	command -v redis-server >/dev/null 2>&1 || missing="$$missing redis-server"; \
	command -v msgfmt >/dev/null 2>&1 || missing="$$missing gettext"; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	command -v $(NPM) >/dev/null 2>&1 || missing="$$missing npm"; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

lint: $(VENV)/.test-installed
	$(BIN)/ruff check .
	$(BIN)/python manage.py makemigrations --check --dry-run -v 0

## make test: everything, including browser, Redis, PostgreSQL and multi-process tests.
## The second run repeats the concurrency rows on a PostgreSQL started for it.
test: $(VENV)/.test-installed system-test-deps tests/node_modules/.installed lint messages
	$(BIN)/pytest --durations=15 $(PYTEST_ARGS)
	$(BIN)/python -m tests.run_postgres $(PYTEST_ARGS)

## make test-fast: the in-process tests only (no browser, no extra servers, no soak), for the
## edit loop: about a minute and a half.
test-fast: $(VENV)/.test-installed
	$(BIN)/pytest -m "not slow and not browser and not topology and not redis" --durations=5 $(PYTEST_ARGS)

## make bench: the benchmark (floor; our stack in 4 configurations on SQLite, 2 on PostgreSQL,
## 1 under uvicorn; polling, OAuth), about 9½ minutes; prints a table, writes
## bench/results/latest.json. Never fails on a time.
bench: $(VENV)/.test-installed system-test-deps
	$(BIN)/python -m bench.run

## make run-scaled: PostgreSQL + Redis + 2 Daphne + worker on loopback, no Docker needed.
run-scaled: $(VENV)/.installed system-test-deps
	$(BIN)/python -m tests.helpers.topology --web 2

clean:
	rm -rf $(VENV) staticfiles db.sqlite3 db.sqlite3-*
