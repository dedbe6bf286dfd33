# benchctl: `make demo` (a real load test against a local KServe, then a report) and
# `make test`. Both create or refresh .venv and install everything they need.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: venv demo test unit integration lint bench bench-tools bench-scale clean chromium

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

# The answer in one command (about 4 minutes on a quiet 2-core machine once installed, about
# 5 with the venv install as README says; longer on a busy machine):
# a local KServe whose requests each keep the CPU busy 10 ms (so one replica saturates below
# 100 req/s: 40-60 measured here, as the load generator shares the cores), a capacity search,
# then one period of the spike scenario (40 -> 200 req/s) at a tenth of its time scale,
# the analysis and the report: replicas, HPA/KEDA/KServe settings and cost.
demo: venv
	$(VENV)/bin/benchctl run spike --target kserve --launch --target-set launch.cost_ms=10 \
		--time-scale 0.1 --set periods=1 --slo "p99<=200ms" --price 2.48/h --currency USD

# The report's browser test needs Debian's chromium: installed here when missing (CI runs as
# root), and required (never skipped) under `make test` and `make integration`.
# Two pytest workers (pytest-xdist, one test file per worker at a time: a file's launched
# servers stay in one process); the tests marked `serial` (a timed demo, a measured capacity,
# a timer's accuracy) run afterwards with nothing beside them.
test: venv lint chromium
	BENCHCTL_REQUIRE_CHROMIUM=1 $(PY) -m pytest -q -n 2 --dist loadfile -m "not serial" --durations=15
	BENCHCTL_REQUIRE_CHROMIUM=1 $(PY) -m pytest -q -m serial --durations=5

chromium:
	command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium)

unit: venv
	$(PY) -m pytest -q tests/unit

integration: venv chromium
	BENCHCTL_REQUIRE_CHROMIUM=1 $(PY) -m pytest -q tests/integration

lint: venv
	$(PY) -m ruff check src tests benchmarks
	$(PY) -m ruff format --check src tests benchmarks

# The generator's own cost and timing (issue 17): its CPU against wrk's, and its send lag at
# 200 / 1,000 / 5,000 req/s (about 12 minutes). Installs Debian's nginx and wrk when missing.
bench: venv bench-tools
	$(PY) benchmarks/generator_efficiency.py
	$(PY) benchmarks/send_lag.py --rates 200,1000,5000

bench-tools:
	command -v nginx >/dev/null && command -v wrk >/dev/null || \
		(apt-get update && apt-get install -y nginx-light wrk)

# Analysis at production scale (issue 16): two synthetic step runs of 1M and of 10M requests
# (about 1 GB in a temporary folder), each command timed with its peak memory, beside one
# DuckDB query over the same file. About 6 minutes on 2 cores; not part of `make test`.
bench-scale: venv
	$(PY) -m pip install --quiet -e '.[bench]'
	$(PY) benchmarks/analysis_scale.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache runs reports

# Builds the images and runs docker/compose.yaml end to end on a real Docker engine, all load
# traffic on 127.0.0.1 (host networking). As root it installs docker.io, Compose v2 + buildx,
# starts dockerd if none runs and stops it after. Not part of `make test`; see docs/scaling.md.
.PHONY: test-docker
test-docker:
	docker/test-docker.sh
