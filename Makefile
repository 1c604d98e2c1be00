# Praxis. `make run` serves on http://127.0.0.1:8000; `make test` runs the whole suite.
# Works on a machine with only Python 3.11+ and make: uv is installed into .praxis/tools if absent.

SHELL := /bin/bash
PYTHON ?= python3
TOOLS := .praxis/tools
UV := $(shell command -v uv 2>/dev/null || echo $(TOOLS)/bin/uv)
RUN := $(UV) run --frozen

.PHONY: help install browser run test lint format bench bench-indexes clean

help:
	@echo "make run | test | lint | format | bench | bench-indexes | clean"

$(TOOLS)/bin/uv:
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet uv

install: $(if $(findstring $(TOOLS),$(UV)),$(TOOLS)/bin/uv)
	$(UV) sync --frozen --quiet

run: install
	$(RUN) praxis migrate
	$(RUN) praxis seed --demo --if-empty
	$(RUN) praxis serve

# The reference UI is tested in a headless browser: Debian's chromium, installed when missing
# (as root, as CI runs; elsewhere install it yourself).
browser:
	@command -v chromium >/dev/null || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; }

test: install browser
	$(RUN) pytest --cov --cov-report=term -p no:cacheprovider

lint: install
	$(RUN) ruff check service observability tests bench
	$(RUN) ruff format --check service observability tests bench
	$(RUN) mypy service observability

format: install
	$(RUN) ruff check --fix service observability tests bench
	$(RUN) ruff format service observability tests bench

bench: install
	$(RUN) python -m bench.ratelimit_bench

bench-indexes: install
	$(RUN) python -m bench.index_bench

clean:
	rm -rf .praxis .pytest_cache .mypy_cache .ruff_cache .coverage htmlcov
