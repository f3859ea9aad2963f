#!/usr/bin/env bash
# The README's test command: lint (ruff, then mypy: [tool.mypy] in pyproject.toml, its cache in
# .mypy_cache/), then pytest (PostgreSQL tests use EGOV_TEST_PG_URL, Redis EGOV_TEST_REDIS_URL).
# Two pytest workers by default (EGOV_TEST_WORKERS; 0 runs in one process): most of the
# suite's time is Airflow subprocesses that keep one core busy each. Files run longest first
# (tests/file_durations.json, scripts/test_durations.py; xdist's own reorder is off).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO_ROOT"
ruff check dags include plugins tests benchmarks
mypy
# No PostgreSQL / Redis on the configured address: scripts/test_services.py starts its own
# from pip wheels on free ports and stops them after.
python scripts/test_services.py -- \
  python -m pytest -n "${EGOV_TEST_WORKERS:-2}" --dist loadfile --no-loadscope-reorder \
    --durations=15 "$@"
