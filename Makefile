# siyu — the two commands a newcomer needs are `make demo` and `make test`.
SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS := never
export PATH := $(HOME)/.local/bin:$(PATH)
UV := uv
RUN := $(UV) run --locked --quiet

DEMO_USERS ?= 50000
DEMO_DAYS ?= 90
DEMO_SEED ?= 7

.PHONY: setup demo test check lint format typecheck bench clean

setup:
	@scripts/setup.sh

## Set everything up, generate the demo into ./.siyu, run the daily pipeline, serve on 127.0.0.1.
demo: setup
	$(RUN) siyu demo --fresh --users $(DEMO_USERS) --days $(DEMO_DAYS) --seed $(DEMO_SEED)
	$(RUN) siyu pipeline daily
	$(RUN) siyu serve

## Set everything up and run the whole test suite (what CI runs).
test: setup
	@scripts/setup-browser.sh
	$(RUN) pytest

lint:
	$(RUN) ruff check src tests benchmarks
	$(RUN) ruff format --check src tests benchmarks

format:
	$(RUN) ruff format src tests benchmarks
	$(RUN) ruff check --fix src tests benchmarks

typecheck:
	$(RUN) mypy

## ruff + mypy + tests, before every commit.
check: setup lint typecheck
	@scripts/setup-browser.sh
	$(RUN) pytest

bench: setup
	$(RUN) python benchmarks/bench_ingest.py
	$(RUN) python benchmarks/bench_import.py
	$(RUN) python benchmarks/bench_demo.py

clean:
	rm -rf .siyu .pytest_cache .mypy_cache .ruff_cache artifacts
