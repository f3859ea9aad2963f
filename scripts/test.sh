#!/usr/bin/env bash
# The README's test command: lint, then pytest (PostgreSQL tests use EGOV_TEST_PG_URL).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO_ROOT"
ruff check dags include plugins tests benchmarks
python -m pytest "$@"
