# The two commands of the README, and the steps they are made of.
SHELL := /bin/bash
.DEFAULT_GOAL := help

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-10s %s\n", $$1, $$2}'

venv:  ## create/update .venv with the locked stack
	@scripts/bootstrap.sh

demo: venv  ## run egov_nightly for real (simulator + SQLite) and print the target report
	@scripts/demo.sh

test: venv  ## lint, then the whole test suite (needs PostgreSQL on 127.0.0.1:5432)
	@scripts/test.sh

lint: venv  ## ruff (incl. Airflow 3 AIR3 rules), then mypy ([tool.mypy] in pyproject.toml)
	@.venv/bin/ruff check dags include plugins tests benchmarks
	@.venv/bin/mypy

ui: venv  ## after `make demo`: the Airflow UI (Targets page, Data Docs, the demo's run) on 127.0.0.1
	@scripts/ui.sh

report: venv  ## print the latest target report from the warehouse
	@source scripts/env.sh && python -m egov.serve.reports.target_report

clean:  ## remove the local Airflow home (metadata DB, warehouse, raw zone, logs)
	rm -rf .airflow

.PHONY: help venv demo test lint ui report clean
