# Tranche: `make run` starts the whole platform, `make test` runs the whole test suite.
# Both set everything up first (virtualenv, Python and Node packages, embedded PostgreSQL and Redis).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
MANAGE := $(PY) manage.py
SERVICES := $(PY) platform/services.py

# A development machine: a development secret key and the embedded services unless DATABASE_URL/REDIS_URL say
# otherwise. Production sets DJANGO_SECRET_KEY and never uses these targets.
export TRANCHE_DEV ?= 1
export PYTHONUNBUFFERED := 1
export PYTHONDONTWRITEBYTECODE := 1

# $(call step,Text) prints a headline; write text without commas (make splits call arguments on them).
step = @printf '\n\033[1;34m==> %s\033[0m\n' "$(1)"

.PHONY: help setup run test bench stop services migrate demo messages messages-update test-devnet-long contracts vendor clean

help:
	@echo "make run     set up and start the platform (web, worker, beat) with demo data on http://127.0.0.1:8000"
	@echo "make test    set up and run ruff, mypy and the whole pytest suite"
	@echo "make bench   run the benchmarks; results in bench/results/"
	@echo "make stop    stop the embedded PostgreSQL and Redis"

# --- set-up -------------------------------------------------------------------------------------------------

$(VENV)/.installed: pyproject.toml platform/requirements.py
	$(call step,Python packages into $(VENV) (first time: about a minute))
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --upgrade pip
	@$(PY) platform/requirements.py --dev > $(VENV)/requirements.txt
	@$(PY) -m pip install --quiet -r $(VENV)/requirements.txt
	@touch $@

node_modules/.installed: package.json package-lock.json
	$(call step,Node packages: solc and OpenZeppelin; anvil and cast; front-end assets)
	@npm ci --no-audit --no-fund --loglevel=error
	@touch $@

setup: $(VENV)/.installed node_modules/.installed
	@platform/system-packages.sh run

services: setup
	$(call step,Embedded PostgreSQL and Redis (data in .local/))
	@$(SERVICES) up

stop:
	@test -x $(PY) && $(SERVICES) down || true

messages: setup
	@if command -v msgfmt >/dev/null; then $(MANAGE) compilemessages --ignore=.venv --ignore=node_modules -v0; \
	 else echo "!! gettext is not installed: pages stay in English"; fi

migrate: services
	$(call step,Database migrations)
	@$(MANAGE) migrate --no-input -v0

demo: migrate
	$(call step,Demo data (the people and companies of the user journeys))
	@$(MANAGE) demo_load $$(test -d .local/devnet || echo --chain-empty)

# --- the two commands ---------------------------------------------------------------------------------------

run: demo messages
	$(call step,Static files)
	@$(MANAGE) collectstatic --no-input -v0
	$(call step,Starting web + worker + beat + devnet — Ctrl-C stops them all)
	@printf '\n    Tranche:  \033[1mhttp://127.0.0.1:8000\033[0m   (demo log-ins and TOTP secrets above)\n'
	@printf '    API docs: http://127.0.0.1:8000/api/v1/docs/     devnet JSON-RPC: http://127.0.0.1:8545\n\n'
	@trap '$(SERVICES) down' EXIT; $(VENV)/bin/honcho -d . -f platform/Procfile start

test: services messages
	@platform/system-packages.sh test
	$(call step,ruff)
	@$(VENV)/bin/ruff check .
	$(call step,mypy)
	@$(VENV)/bin/mypy .
	$(call step,pytest)
	@$(MANAGE) collectstatic --no-input -v0
	@$(VENV)/bin/pytest

bench: demo
	@platform/system-packages.sh bench
	@$(MANAGE) collectstatic --no-input -v0
	$(call step,Benchmarks (results in bench/results/))
	@$(PY) -m bench

# --- maintenance --------------------------------------------------------------------------------------------

messages-update: setup
	@$(MANAGE) makemessages -l zh_Hans --ignore=.venv --ignore=node_modules --ignore=devnet --ignore=contracts \
	  --ignore=tests --ignore=bench --ignore=.local

# The devnet's equivalence test with thousands of generated blocks per scheduler (make test runs a few hundred).
test-devnet-long: services
	@DEVNET_EQUIVALENCE_PROFILE=long $(VENV)/bin/pytest tests/devnet/test_equivalence.py

contracts: node_modules/.installed
	$(call step,Compiling contracts/src into contracts/artifacts with the pinned npm solc)
	@node contracts/build.mjs

vendor: node_modules/.installed
	@platform/vendor.sh

clean: stop
	rm -rf .local
