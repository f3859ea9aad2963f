#!/usr/bin/env bash
# The main job on the embedded default: the portal simulator for the four seed provinces
# (and the national portal's 766 index over the same records), the warehouse on SQLite, a
# real Airflow run of egov_nightly, the target report, then egov_dvcqg (index, crosswalk,
# reconciliation flags).
#   scripts/demo.sh [LOGICAL_DATE]        (default 2026-01-01: reports as of 2025-12-31)
set -euo pipefail
source "$(dirname "$0")/env.sh"
LOGICAL_DATE="${1:-${EGOV_DEMO_DATE:-2026-01-01}}"
SIM_CLOCK="${EGOV_SIM_CLOCK:-2025-12-31T23:00}"
SIM_SCALE="${EGOV_SIM_SCALE:-2000}"
SIM_PORT="${EGOV_SIM_PORT:-18081}"
LOG="$AIRFLOW_HOME/demo"
mkdir -p "$LOG"

echo "== Airflow metadata DB ($AIRFLOW_HOME)"
airflow db migrate > "$LOG/db-migrate.log" 2>&1 || { cat "$LOG/db-migrate.log"; exit 1; }

echo "== portal simulator: 4 provinces, $SIM_SCALE records/province/year, clock $SIM_CLOCK"
conn_file="$AIRFLOW_HOME/connections.env"
rm -f "$conn_file"
python -m egov.simulator --seed 7 --scale "$SIM_SCALE" --clock "$SIM_CLOCK" \
  --malformed-rate "${EGOV_SIM_MALFORMED_RATE:-0.002}" \
  --dvcqg-unsynced "${EGOV_SIM_DVCQG_UNSYNCED:-0.03}" \
  --host 127.0.0.1 --base-port "$SIM_PORT" --connections-file "$conn_file" \
  > "$LOG/simulator.log" 2>&1 &
sim_pid=$!
trap 'kill $sim_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do
  [ -s "$conn_file" ] && break
  kill -0 $sim_pid 2>/dev/null || { cat "$LOG/simulator.log"; exit 1; }
  sleep 0.2
done
[ -s "$conn_file" ] || { echo "simulator did not start"; cat "$LOG/simulator.log"; exit 1; }
# shellcheck disable=SC1090
source "$conn_file"

echo "== airflow dags test egov_nightly $LOGICAL_DATE (log: $LOG/dags-test.log)"
export EGOV_TASK_RETRIES="${EGOV_TASK_RETRIES:-0}"
# The demo's first load in 5-year windows (production default: 12 months) keeps it quick.
export EGOV_FIRST_LOAD_WINDOW_MONTHS="${EGOV_FIRST_LOAD_WINDOW_MONTHS:-60}"
if ! airflow dags test egov_nightly "$LOGICAL_DATE" > "$LOG/dags-test.log" 2>&1; then
  tail -n 60 "$LOG/dags-test.log"; echo "egov_nightly failed: see $LOG/dags-test.log"; exit 1
fi
# `dags test` starts its run at the logical date (the UI showed a 332-day run): give it the
# time its first task was scheduled (egov/test_runs.py).
python -m egov.runtime.test_runs egov_nightly >> "$LOG/dags-test.log" 2>&1 || true
python - "$LOG/dags-test.log" <<'PY'
import json, re, sys
text = open(sys.argv[1], encoding="utf-8").read()
runs = {}
for portal, body in re.findall(r"run accounting ([\w-]+): (\{.*?\})", text):
    runs[portal] = json.loads(body)  # the last window's totals win
for portal, r in runs.items():
    print(f"  {portal:<10} {r['status']:<8} windows {r['windows_committed']}/{r['windows']}"
          f"  pages {r['pages']:>4}  records {r['records_distinct']:>6}  loaded {r['records_loaded']:>6}"
          f"  quarantined {r['records_quarantined']:>4}  retries {r['retries']}")
state = re.findall(r"DagRun Finished: .*?state=(\w+)", text)
print(f"  run state: {state[-1] if state else 'unknown'}")
PY

echo
echo "== reported figures: a SAMPLE filled file for two plans (demo figures, marked as samples)"
export EGOV_REPORTED_DIR="${EGOV_REPORTED_DIR:-$AIRFLOW_HOME/egov_reported}"
SAMPLE_YEAR="${LOGICAL_DATE:0:4}"; SAMPLE_YEAR=$((SAMPLE_YEAR - 1))
for plan in tay-ninh-2021-2025 vinh-phuc-skhdt-2021-2025; do
  python -m egov.pipeline.reported sample --plan "$plan" --year "$SAMPLE_YEAR" | sed 's/^/  /'
done
if ! airflow dags test egov_reported "$LOGICAL_DATE" > "$LOG/reported.log" 2>&1; then
  tail -n 40 "$LOG/reported.log"; echo "egov_reported failed: see $LOG/reported.log"; exit 1
fi
python -m egov.runtime.test_runs egov_reported >> "$LOG/reported.log" 2>&1 || true
echo "  receipts: $(ls "$EGOV_REPORTED_DIR/receipts" | tr '\n' ' ')"
echo
echo "== airflow dags test egov_dvcqg $LOGICAL_DATE: the simulated 766 index, the crosswalk and the reconciliation (log: $LOG/dvcqg.log)"
export EGOV_DVCQG_PAUSE_SECONDS="${EGOV_DVCQG_PAUSE_SECONDS:-0}"
if ! airflow dags test egov_dvcqg "$LOGICAL_DATE" > "$LOG/dvcqg.log" 2>&1; then
  tail -n 40 "$LOG/dvcqg.log"; echo "egov_dvcqg failed: see $LOG/dvcqg.log"; exit 1
fi
python -m egov.runtime.test_runs egov_dvcqg >> "$LOG/dvcqg.log" 2>&1 || true
python - <<'PY'
from sqlalchemy import text
from egov.warehouse.db import make_engine
engine = make_engine()
with engine.connect() as conn:
    for r in conn.execute(text(
            "SELECT province_code, SUM(score) AS total FROM dvcqg_score "
            "WHERE department_id = root_department_id AND period_type = 'year' "
            "GROUP BY province_code ORDER BY province_code")):
        print(f"  766 index {r.province_code:<10} year total {r.total:6.2f} points")
    flagged = conn.execute(text("SELECT COUNT(*) FROM mart_source_reconciliation "
                                "WHERE flagged")).scalar()
    rows = conn.execute(text("SELECT COUNT(*) FROM mart_source_reconciliation")).scalar()
    unmapped = conn.execute(text("SELECT COUNT(DISTINCT department_id) "
                                 "FROM bi_dvcqg_unmapped")).scalar()
    print(f"  reconciliation: {rows} rows, {flagged} flagged; {unmapped} departments unmapped")
engine.dispose()
PY
# The targets on the index (dvcqg:...) were evaluated by egov_nightly before the index was
# read: the as-of day's marts again, from the warehouse (no portal called).
AS_OF="$(python -c "import pendulum, sys; from egov.periods import as_of_for_logical_date; print(as_of_for_logical_date(pendulum.parse(sys.argv[1], tz='Asia/Ho_Chi_Minh')))" "$LOGICAL_DATE")"
python -m egov.compute.recompute --from "$AS_OF" > "$LOG/recompute-index.log" 2>&1 \
  || { cat "$LOG/recompute-index.log"; exit 1; }

echo
python -m egov.serve.reports.target_report

echo
echo "== airflow dags test egov_reports (the HTML report and Biểu 06 files; log: $LOG/reports.log)"
export EGOV_REPORTS_DIR="${EGOV_REPORTS_DIR:-$AIRFLOW_HOME/egov_reports}"
if ! airflow dags test egov_reports "$LOGICAL_DATE" > "$LOG/reports.log" 2>&1; then
  tail -n 40 "$LOG/reports.log"; echo "egov_reports failed: see $LOG/reports.log"; exit 1
fi
python -m egov.runtime.test_runs egov_reports >> "$LOG/reports.log" 2>&1 || true
echo "  $EGOV_REPORTS_DIR/latest/ : $(ls "$EGOV_REPORTS_DIR/latest" | tr '\n' ' ')"

MID_YEAR="${EGOV_DEMO_MID_YEAR:-2025-06-30}"
echo
echo "== mid-year outlook: the marts recomputed as of $MID_YEAR from the warehouse (no portal called)"
python -m egov.compute.recompute --from "$MID_YEAR" > "$LOG/recompute.log" 2>&1 \
  || { cat "$LOG/recompute.log"; exit 1; }
python -m egov.serve.reports.target_report --as-of "$MID_YEAR" --outlook
echo
echo "== the Airflow UI with this run and the Targets page: make ui"
