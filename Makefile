# Praxis. `make run` serves on http://127.0.0.1:8000; `make test` runs the whole suite.
# Works on a machine with only Python 3.11+ and make: uv is installed into .praxis/tools if absent.

SHELL := /bin/bash
PYTHON ?= python3
TOOLS := .praxis/tools
UV := $(shell command -v uv 2>/dev/null || echo $(TOOLS)/bin/uv)
RUN := $(UV) run --frozen

.PHONY: help install install-tools browser wrk run test lint audit format bench bench-quick bench-profile bench-indexes soak monitoring stack clean

help:
	@echo "make run | test | lint | format | bench | bench-quick | bench-profile | bench-indexes | soak | monitoring | stack | clean"

$(TOOLS)/bin/uv:
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet uv

install: $(if $(findstring $(TOOLS),$(UV)),$(TOOLS)/bin/uv)
	$(UV) sync --frozen --quiet

run: install
	$(RUN) praxis migrate
	$(RUN) praxis seed --demo --if-empty
	$(RUN) praxis serve

# promtool, prometheus, nginx and pgbouncer from Debian, for the tests that run them.
install-tools:
	@sh .ci/install-debian-tools

# The reference UI is tested in a headless browser: Debian's chromium, installed when missing
# (as root, as CI runs; elsewhere install it yourself).
browser:
	@command -v chromium >/dev/null || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; }

test: install install-tools browser
	$(RUN) pytest --cov --cov-report=term -p no:cacheprovider

lint: install
	$(RUN) ruff check service observability tests bench
	$(RUN) ruff format --check service observability tests bench
	$(RUN) mypy service observability tests bench
	$(RUN) bandit -q -c pyproject.toml -r service observability --severity-level medium
	UV=$(UV) $(RUN) python .ci/audit-dependencies

# The dependency audit alone (part of lint): fails on a known vulnerability in uv.lock.
audit: install
	UV=$(UV) $(RUN) python .ci/audit-dependencies

format: install
	$(RUN) ruff check --fix service observability tests bench
	$(RUN) ruff format service observability tests bench

# Load is driven by Debian's wrk, installed when missing (as root, as CI runs). The suite needs
# it and says so; the single comparisons fall back to a slower asyncio client.
wrk:
	@command -v wrk >/dev/null || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk; } || true

# The benchmark suite (bench/README.md): every scenario against the baselines, the rate limiter
# and tracing comparisons included; results in bench/results/. ARGS passes options, e.g.
# `make bench ARGS="--rounds 3"`; bench-quick is one short round (under 2 minutes).
bench: install wrk
	$(RUN) python -m bench.suite $(ARGS)

bench-quick: install wrk
	$(RUN) python -m bench.suite --quick $(ARGS)

# Where a worker's time goes under each read scenario: py-spy (in a venv of its own under
# .praxis/) samples the service under the suite's load; e.g. `make bench-profile ARGS=history`.
bench-profile: install wrk
	$(RUN) python -m bench.profile $(ARGS)

# Ten minutes of the mixed load on two workers; fails on an error or a leak (bench/soak.py).
# Not part of make test or CI.
soak: install wrk
	$(RUN) python -m bench.soak $(ARGS)

bench-indexes: install
	$(RUN) python -m bench.index_bench

# Rewrite the generated Prometheus rules and Grafana dashboards after editing the generator.
monitoring: install
	$(RUN) python -m observability.monitoring

stack:
	@command -v docker >/dev/null 2>&1 && docker compose version >/dev/null 2>&1 || \
		{ echo "make stack needs Docker with the compose plugin (https://docs.docker.com/engine/install/)"; exit 1; }
	@test -n "$$JWT_SECRET" || \
		{ echo "Set JWT_SECRET first, e.g. export JWT_SECRET=\$$(python3 -c 'import secrets; print(secrets.token_urlsafe(48))')"; exit 1; }
	docker compose up --build -d
	@echo "API http://127.0.0.1:8000 | Grafana http://127.0.0.1:3000 (admin, GRAFANA_ADMIN_PASSWORD or praxis-local-only)"
	@echo "Prometheus http://127.0.0.1:9090 | Jaeger http://127.0.0.1:16686"

clean:
	rm -rf .praxis .pytest_cache .mypy_cache .ruff_cache .coverage htmlcov
