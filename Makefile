# MyBroker developer commands. Two to remember: `make dev` (run it) and `make test` (check it).
# Everything runs from the virtualenv .venv, created on first use (deploy/local/bootstrap.sh).

PY := .venv/bin/python
STACK := $(PY) -m deploy.local.stack
PYTEST := $(PY) -m pytest

.DEFAULT_GOAL := help
.PHONY: help install lock dev infra test lint unit service system browser bench clean secrets

help: ## this list
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

.venv/.installed: pyproject.toml requirements/dev.txt deploy/local/bootstrap.sh
	deploy/local/bootstrap.sh

install: ## create .venv and install what is missing (Debian chromium/RabbitMQ as root)
	deploy/local/bootstrap.sh

# Not after .venv/.installed: that installs the lock, which may be stale or mid-merge here.
lock: ## after changing pyproject.toml: requirements/*.txt again (LOCK_ARGS=--upgrade)
	test -x $(PY) || deploy/local/bootstrap.sh
	$(PY) -m deploy.lock $(LOCK_ARGS)

dev: .venv/.installed ## the whole stack with a demo office; prints URLs and logins; Ctrl-C stops it
	$(STACK) dev

infra: .venv/.installed ## only MongoDB-wire, S3, SMTP sink (+ a RabbitMQ vhost); prints the exports
	$(STACK) infra

test: lint ## lint, type check, then every test on a throwaway infrastructure
	$(STACK) test -- $(PYTEST) tests -q

lint: .venv/.installed ## ruff and mypy --strict
	$(PY) -m ruff check .
	$(PY) -m mypy .

unit: .venv/.installed ## unit tests (no infrastructure)
	$(PYTEST) tests/unit -q

service: .venv/.installed ## service tests on a throwaway infrastructure
	$(STACK) test -- $(PYTEST) tests/service -q

system: .venv/.installed ## system tests: every process, driven through the gateway
	$(STACK) test -- $(PYTEST) tests/system -q

browser: .venv/.installed ## Playwright + Debian chromium on the web pages
	$(STACK) test -- $(PYTEST) tests/browser -q

bench: .venv/.installed ## contracts benchmark against a running `make dev` (BENCH_ARGS=--seconds 20)
	$(PY) -m tests.load.bench_contracts --run-dir .run/dev $(BENCH_ARGS)

secrets: ## .env, JWT keys and a self-signed TLS cert for docker compose (kept if present)
	deploy/compose/dev-secrets.sh

clean: ## remove run directories of stopped stacks (logs, data)
	rm -rf .run
