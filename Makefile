# vv-video-ai-system — operator and developer entry points. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV ?= .venv
PY := $(VENV)/bin/python
export VIDEO_STORAGE_ROOT ?= $(CURDIR)/storage

.PHONY: help setup demo test lint bench status logs simulate bench-scan

help:  ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

setup:  ## venv + pinned dependencies (+ apt packages when root); idempotent, fast on re-run
	@bash scripts/setup_env.sh

demo: setup  ## set up, bootstrap the storage root, run the pipeline on a sample video
	@$(VENV)/bin/vv bootstrap
	@echo "storage root ready at $(VIDEO_STORAGE_ROOT); the pipeline stages are not yet available"

test: setup  ## set up and run the whole test suite with coverage, plus lint
	@$(VENV)/bin/ruff check .
	@$(PY) -m pytest --cov --cov-report=term --cov-fail-under=90

lint: setup  ## ruff
	@$(VENV)/bin/ruff check .

bench: setup  ## benchmarks (printed tables)
	@$(PY) benchmarks/bench_summarize.py
	@$(PY) benchmarks/bench_ingest.py
	@$(PY) benchmarks/bench_api.py 10
	@$(PY) benchmarks/bench_verify.py
	@$(PY) benchmarks/bench_schedule.py
	@$(PY) benchmarks/bench_backup.py

bench-scan: setup  ## scan_video vs the naive baseline, same run (tables for docs/performance.md)
	@$(PY) benchmarks/bench_scan.py

bench: bench-scan

status:  ## system status
	@echo "not yet available: /status lands with tv_api"; exit 1

logs:  ## follow the JSON logs
	@if [ -f "$(VIDEO_STORAGE_ROOT)/logs/app.log" ]; then tail -n 50 -f "$(VIDEO_STORAGE_ROOT)/logs/app.log"; \
	else echo "no logs yet at $(VIDEO_STORAGE_ROOT)/logs/app.log"; exit 1; fi

simulate:  ## drop a sample video into input/ and follow it through the pipeline
	@echo "not yet available: lands with the orchestrator"; exit 1

.PHONY: backup restore-drill docs
backup:  ## back up metadata now (restic; RESTIC_REPOSITORY and RESTIC_PASSWORD_FILE from .env)
	@$(VENV)/bin/vv backup

restore-drill:  ## restore the latest backup into a scratch dir and verify it (prints RTO, pass/fail)
	@$(VENV)/bin/vv restore-drill

docs:  ## regenerate the configuration tables of docs/configuration.md from the code
	@$(PY) -m scripts.gen_config_docs
