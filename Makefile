# Plan-monitoring warehouse. The README names two set-up commands: `make run` and `make test`.
# Both create the virtual environment and install what is needed (once: a stamp file records it).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
MANIFEST := dbt_project/target/manifest.json
DBT_SOURCES := $(shell find dbt_project -path dbt_project/target -prune -o \( -name '*.sql' -o -name '*.yml' -o -name '*.csv' -o -name '*.md' \) -print 2>/dev/null)

export DAGSTER_HOME := $(CURDIR)
export GX_ANALYTICS_ENABLED := false
export DAGSTER_DISABLE_TELEMETRY := true
export DO_NOT_TRACK := 1

.PHONY: install run test test-fast ui sql portal docs lint fmt bench bench-portal soak rebuild samples templates manifest clean evaluation

install: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev]'
	touch $(STAMP)

# dbt's manifest is a build product: Dagster reads it to build the asset graph.
manifest: $(MANIFEST)

$(MANIFEST): $(STAMP) $(DBT_SOURCES)
	$(BIN)/python -m pipelines.cli prepare

## Full refresh over the shipped sample submissions, then a readable summary. AS_OF=YYYY-MM-DD pins the
## evaluation date; KNOWN_AT=YYYY-MM-DD counts only submissions received by then (both: a past evaluation exactly).
run: $(MANIFEST)
	$(BIN)/python -m pipelines.cli refresh $(if $(AS_OF),--as-of $(AS_OF)) $(if $(KNOWN_AT),--known-at $(KNOWN_AT))

## The evaluation report (HTML + Word .docx) of each plan: 总结评估 after the plan, 中期评估 inside it.
## AS_OF=YYYY-MM-DD evaluates another date from the published snapshot (the live warehouse is not touched); PLAN=<plan_id>.
evaluation: $(MANIFEST)
	$(BIN)/python -m pipelines.cli evaluation $(if $(AS_OF),--as-of $(AS_OF)) $(if $(KNOWN_AT),--known-at $(KNOWN_AT)) $(if $(PLAN),--plan $(PLAN))

## Every test (unit, dbt, GX, Dagster in-process, end to end, browser), in TEST_WORKERS processes (one per
## core; a file's tests stay on one worker, the longest files first: tests/conftest.py). TEST_WORKERS=0 runs them in this process, one after another.
TEST_WORKERS ?= 2
test: $(MANIFEST)
	$(BIN)/python -m pytest -q $(if $(filter-out 0,$(TEST_WORKERS)),-n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder) $(PYTEST_ARGS)

## The Dagster UI (with schedules and sensors) on 127.0.0.1:$(PORT).
PORT ?= 3000
ui: $(MANIFEST)
	$(BIN)/python -m pipelines.cli check
	umask 077 && $(BIN)/dagster dev -h 127.0.0.1 -p $(PORT)

## SQL on the published snapshot: read-only, no file/network/extension access (docs/analysts.md).
sql: $(STAMP)
	@$(BIN)/planwh sql

## The departments' reporting portal on 127.0.0.1:$(PORT) (default 8080; docs/portal.md). Accounts first:
## .venv/bin/planwh users add NAME --department CODE --generate
portal: $(STAMP)
	$(BIN)/python -m pipelines.cli portal --host 127.0.0.1 --port $(if $(filter file,$(origin PORT)),8080,$(PORT))

## dbt docs (static site, offline) and the validation report.
docs: $(MANIFEST)
	$(BIN)/python -m pipelines.cli docs

lint: $(STAMP)
	$(BIN)/ruff check pipelines expectations tests bench
	$(BIN)/ruff format --check pipelines expectations tests bench
	$(BIN)/python -m pipelines.cli lint-sql

fmt: $(STAMP)
	$(BIN)/ruff format pipelines expectations tests bench
	$(BIN)/ruff check --fix pipelines expectations tests bench

## Benchmark: TIER=district|city|province|national (default district; national = 3,000 plans, hours).
TIER ?= district
bench: $(MANIFEST)
	$(BIN)/python -m bench.run --tier $(TIER)

## Receipt time of the reporting portal (p50/p95 over 50 uploads; bench/results.md).
bench-portal: $(MANIFEST)
	$(BIN)/python -m bench.portal

## Soak: ROUNDS refreshes under faults (kills, a slow writer, a trickling webhook, a held reader, a full
## disk when run as root), then the fingerprint of a clean rebuild. Not part of `make test` (20-40 min).
ROUNDS ?= 20
soak: $(MANIFEST)
	$(BIN)/python -m bench.soak --rounds $(ROUNDS)

## Rebuild the warehouse from the raw archive alone.
rebuild: $(MANIFEST)
	$(BIN)/python -m pipelines.cli rebuild

## Regenerate the sample submissions (deterministic) and the department templates.
samples: $(STAMP)
	$(BIN)/python -m pipelines.cli samples

templates: $(STAMP)
	$(BIN)/python -m pipelines.cli templates --out warehouse/templates

clean:
	rm -rf warehouse .dagster raw/archive dbt_project/target dbt_project/logs
