# Source me: the local Airflow environment that `make demo` and `make test` use.
# Everything lives under the repository (.airflow/ is ignored by git).
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export REPO_ROOT
export PATH="$REPO_ROOT/.venv/bin:$PATH"
export AIRFLOW_HOME="${AIRFLOW_HOME:-$REPO_ROOT/.airflow}"
export AIRFLOW__CORE__DAGS_FOLDER="$REPO_ROOT/dags"
export AIRFLOW__CORE__PLUGINS_FOLDER="$REPO_ROOT/plugins"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__LOGGING__LOGGING_LEVEL="${AIRFLOW__LOGGING__LOGGING_LEVEL:-INFO}"
export GX_ANALYTICS_ENABLED=False
export EGOV_RAW_DIR="${EGOV_RAW_DIR:-$AIRFLOW_HOME/egov_raw}"
mkdir -p "$AIRFLOW_HOME"
# The key for hashing applicants' ID numbers: from the environment, else a local random one.
if [ -z "${EGOV_PII_KEY:-}" ]; then
  if [ ! -s "$AIRFLOW_HOME/pii.key" ]; then
    (umask 077; python3 -c "import secrets; print(secrets.token_urlsafe(32))" > "$AIRFLOW_HOME/pii.key")
  fi
  EGOV_PII_KEY="$(cat "$AIRFLOW_HOME/pii.key")"
  export EGOV_PII_KEY
fi
