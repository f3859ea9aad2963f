#!/usr/bin/env bash
# Create or update .venv (Python >= 3.11) with the locked stack and the project package.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-}"
if [ -z "$PY" ]; then
  for candidate in python3.11 python3.12 python3.13 python3; do
    if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
      PY="$candidate"; break
    fi
  done
fi
[ -n "$PY" ] || { echo "bootstrap: Python >= 3.11 is required" >&2; exit 1; }
stamp=.venv/.installed
want="$(cat requirements.txt requirements-dev.txt constraints.txt pyproject.toml | sha256sum | cut -c1-16)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip uv
# --compile-bytecode: this machine sets PYTHONDONTWRITEBYTECODE, and GX imports twice as slowly without .pyc files.
.venv/bin/uv pip install --python .venv/bin/python --quiet --compile-bytecode \
  -r requirements-dev.txt -c constraints.txt
.venv/bin/uv pip install --python .venv/bin/python --quiet --no-deps -e .
echo "$want" > "$stamp"
echo "bootstrap: .venv ready ($(.venv/bin/python --version))"
