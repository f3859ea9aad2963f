"""The warehouse's mart tables as Airflow Assets: `egov_nightly.compute` updates them (each
event carries the as-of day in its extra), `egov_reports` is scheduled on them.

Cheap to import (only `airflow.sdk.Asset`): DAG files import it at parse time.
"""

from airflow.sdk import Asset

MART_TABLES = ("mart_indicator_snapshot", "mart_target_evaluation", "mart_form06")
MART_ASSETS = [
    Asset(name=f"egov.{table}", uri=f"egov://warehouse/{table}", group="egov-warehouse")
    for table in MART_TABLES
]

# The national portal's 766 index (dags/egov_dvcqg.py): updated when a complete read of a
# (province, period) is loaded; each event's extra names the periods loaded.
DVCQG_TABLES = ("dvcqg_score", "dvcqg_metric")
DVCQG_ASSETS = [
    Asset(name=f"egov.{table}", uri=f"egov://warehouse/{table}", group="egov-warehouse")
    for table in DVCQG_TABLES
]
# The one-stop figures beside the index's (egov_dvcqg.reconcile): each event's extra gives
# the as-of day and the flagged rows.
RECONCILIATION_TABLES = ("mart_source_reconciliation", "mart_dvcqg_preview")
RECONCILIATION_ASSETS = [
    Asset(name=f"egov.{table}", uri=f"egov://warehouse/{table}", group="egov-warehouse")
    for table in RECONCILIATION_TABLES
]
