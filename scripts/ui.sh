#!/usr/bin/env bash
# The Airflow UI on the demo's Airflow home (after `make demo`), on 127.0.0.1 only:
# API server (UI + the egov pages), scheduler and dag-processor, no log servers where the
# command allows it. Ctrl-C stops them all.
#   scripts/ui.sh            (EGOV_UI_PORT, default 8080)
set -euo pipefail
source "$(dirname "$0")/env.sh"
PORT="${EGOV_UI_PORT:-8080}"
if [ ! -s "$AIRFLOW_HOME/airflow.db" ] && [ -z "${AIRFLOW__DATABASE__SQL_ALCHEMY_CONN:-}" ]; then
  echo "No Airflow home with a run at $AIRFLOW_HOME: run 'make demo' first." >&2; exit 1
fi
if python3 -c "import socket,sys; s=socket.socket(); sys.exit(s.connect_ex(('127.0.0.1', $PORT)) != 0)"; then
  echo "Port $PORT on 127.0.0.1 is taken: set EGOV_UI_PORT to a free one." >&2; exit 1
fi
# One JWT secret for every component (kept in the home, owner-only).
if [ ! -s "$AIRFLOW_HOME/jwt.secret" ]; then
  (umask 077; python3 -c "import secrets; print(secrets.token_urlsafe(32))" > "$AIRFLOW_HOME/jwt.secret")
fi
AIRFLOW__API_AUTH__JWT_SECRET="$(cat "$AIRFLOW_HOME/jwt.secret")"
export AIRFLOW__API_AUTH__JWT_SECRET
export AIRFLOW__API__HOST=127.0.0.1 AIRFLOW__API__PORT="$PORT"
export AIRFLOW__API__BASE_URL="http://127.0.0.1:$PORT"
export AIRFLOW__CORE__EXECUTION_API_SERVER_URL="http://127.0.0.1:$PORT/execution/"
export AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT="${AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT:-0}"
LOG="$AIRFLOW_HOME/ui"
mkdir -p "$LOG"
airflow db migrate > "$LOG/db-migrate.log" 2>&1 || { cat "$LOG/db-migrate.log"; exit 1; }
python -m egov.runtime.test_runs egov_nightly > /dev/null 2>&1 || true   # runs of older demos
# The reports the page links to (egov_reports writes them after scheduled runs; `dags test`
# runs only egov_nightly).
reports="${EGOV_REPORTS_DIR:-$AIRFLOW_HOME/egov_reports}"
if [ ! -s "$reports/latest.json" ]; then
  python -m egov.serve.reports.publish > "$LOG/reports.log" 2>&1 || echo "(no reports: see $LOG/reports.log)"
fi

# `airflow dags test` runs its tasks in its own process: the UI has no task logs of the
# demo's runs ("Could not read served logs"); the Targets page names the demo's log file.
if [ -s "$AIRFLOW_HOME/demo/dags-test.log" ]; then
  export EGOV_DEMO_LOG="${EGOV_DEMO_LOG:-$AIRFLOW_HOME/demo/dags-test.log}"
fi

export AIRFLOW__CORE__PARALLELISM="${AIRFLOW__CORE__PARALLELISM:-4}"  # a laptop, not a cluster

# Each component in its own process group, so that stopping it stops its workers too.
pids=()
stop() {
  trap - EXIT INT TERM
  for p in "${pids[@]}"; do kill -TERM -- "-$p" 2>/dev/null || true; done
  for _ in $(seq 1 20); do
    alive=0; for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && return 0; sleep 1
  done
  for p in "${pids[@]}"; do kill -KILL -- "-$p" 2>/dev/null || true; done
}
trap stop EXIT INT TERM
setsid airflow api-server --host 127.0.0.1 --port "$PORT" --workers 1 > "$LOG/api-server.log" 2>&1 &
pids+=($!)
setsid airflow scheduler --skip-serve-logs > "$LOG/scheduler.log" 2>&1 &
pids+=($!)
setsid airflow dag-processor > "$LOG/dag-processor.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 120); do
  python3 -c "import urllib.request as u; u.urlopen('http://127.0.0.1:$PORT/api/v2/monitor/health', timeout=3)" 2>/dev/null && break
  for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null || { tail -n 40 "$LOG"/*.log; exit 1; }; done
  sleep 1
done
pw_file="${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE:-}"
pw_file="${pw_file:-$AIRFLOW_HOME/simple_auth_manager_passwords.json.generated}"
cat <<MSG

  Airflow UI:      http://127.0.0.1:$PORT/            (user: admin)
  admin password:  $pw_file
  Targets page:    http://127.0.0.1:$PORT/egov-targets/   (menu "Chỉ tiêu CCHC")
  GX Data Docs:    http://127.0.0.1:$PORT/egov-data-docs/ (menu Browse → Data quality)
  logs:            $LOG/
  egov_nightly stays as it is (a new demo DAG is paused): nothing runs unless you trigger it.
  Ctrl-C stops the API server, scheduler and dag-processor.

MSG
wait -n "${pids[@]}" || true
echo "a component stopped: see $LOG/" >&2
