"""Warehouse tables (SQLAlchemy Core). Migrations in `migrations/` create them; BI reads them.

Local times (Asia/Ho_Chi_Minh) are stored naive, as the portals send them; `*_date`
columns hold their calendar day so indicator SQL compares dates the same way on every
database.
"""

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Double,
    Index,
    Integer,
    MetaData,
    Numeric,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

dim_unit = Table(
    "dim_unit",
    metadata,
    Column("unit_code", String(255), primary_key=True),
    Column("portal_code", String(64), nullable=False),
    Column("unit_name", Text),
    Column("parent_code", String(255)),
    Column("unit_level", String(32)),
    Column("run_id", Text),
    Column("loaded_at", DateTime),
    Index("ix_dim_unit_portal", "portal_code"),
)

# Every (ancestor, descendant) pair of the MaDonViCha tree, each unit being its own ancestor.
unit_closure = Table(
    "unit_closure",
    metadata,
    Column("ancestor_code", String(255), nullable=False),
    Column("descendant_code", String(255), nullable=False),
    Column("portal_code", String(64), nullable=False),
    Column("depth", SmallInteger, nullable=False),
    PrimaryKeyConstraint("ancestor_code", "descendant_code"),
    Index("ix_unit_closure_descendant", "descendant_code"),
)

dim_procedure = Table(
    "dim_procedure",
    metadata,
    Column("portal_code", String(64), nullable=False),
    Column("procedure_code", String(255), nullable=False),
    Column("procedure_name", Text),
    Column("field_code", Text),
    Column("field_name", Text),
    Column("service_level", String(32)),
    Column("full_online_eligible", Boolean, nullable=False),
    Column("has_fee", Boolean, nullable=False),
    Column("online_payment_offered", Boolean, nullable=False),
    Column("on_national_portal", Boolean, nullable=False),
    Column("run_id", Text),
    Column("loaded_at", DateTime),
    PrimaryKeyConstraint("portal_code", "procedure_code"),
)

procedure_unit = Table(
    "procedure_unit",
    metadata,
    Column("portal_code", String(64), nullable=False),
    Column("procedure_code", String(255), nullable=False),
    Column("unit_code", String(255), nullable=False),
    PrimaryKeyConstraint("portal_code", "procedure_code", "unit_code"),
    Index("ix_procedure_unit_unit", "unit_code"),
)

fct_dossier = Table(
    "fct_dossier",
    metadata,
    Column("portal_code", String(64), nullable=False),
    Column("dossier_code", String(255), nullable=False),
    Column("unit_code", String(255), nullable=False),
    Column("procedure_code", String(255)),
    Column("procedure_name", Text),
    Column("field_code", Text),
    Column("field_name", Text),
    Column("is_certification", Boolean, nullable=False),
    Column("channel", SmallInteger, nullable=False),
    Column("service_level", String(32)),
    Column("applicant_type", SmallInteger),
    Column("applicant_id_hash", String(64)),
    Column("status", SmallInteger, nullable=False),
    Column("received_at", DateTime),
    Column("due_at", DateTime),
    Column("ended_at", DateTime),
    Column("returned_at", DateTime),
    Column("updated_at", DateTime, nullable=False),
    Column("received_date", Date),
    Column("due_date", Date),
    Column("ended_date", Date),
    Column("result_delivery", SmallInteger),
    Column("online_payment", SmallInteger),
    Column("has_digitized_papers", Boolean, nullable=False),
    Column("fee_total", BigInteger, nullable=False),
    Column("has_fee", Boolean, nullable=False),
    Column("has_electronic_result", Boolean, nullable=False),
    Column("supplement_requests", SmallInteger, nullable=False),
    Column("satisfaction", SmallInteger),
    Column("run_id", Text),
    Column("loaded_at", DateTime),
    PrimaryKeyConstraint("portal_code", "dossier_code"),
    Index("ix_fct_dossier_unit_received", "unit_code", "received_date"),
    Index("ix_fct_dossier_unit_ended", "unit_code", "ended_date"),
)

quarantine_record = Table(
    "quarantine_record",
    metadata,
    Column("portal_code", String(64), nullable=False),
    Column("record_key", String(255), nullable=False),
    # NgayCapNhat as received ('' when missing): with record_key it names the version.
    Column("version_key", String(64), nullable=False),
    Column("rule", String(64), nullable=False),
    Column("field", String(64)),
    Column("value", Text),
    Column("reason", Text, nullable=False),
    Column("payload", Text, nullable=False),
    Column("raw_page", Text),
    Column("status", String(16), nullable=False),  # open | replayed
    Column("run_id", Text),
    Column("quarantined_at", DateTime),
    PrimaryKeyConstraint("portal_code", "record_key", "version_key"),
    Index("ix_quarantine_run", "run_id"),
)

etl_watermark = Table(
    "etl_watermark",
    metadata,
    Column("portal_code", String(64), primary_key=True),
    Column("updated_through", DateTime, nullable=False),
    Column("run_id", Text),
    Column("committed_at", DateTime),
)

etl_portal_run = Table(
    "etl_portal_run",
    metadata,
    Column("run_id", String(250), nullable=False),
    Column("portal_code", String(64), nullable=False),
    Column("status", String(16), nullable=False),  # loaded | failed
    Column("window_from", DateTime),
    Column("window_to", DateTime),
    Column("pages", Integer),
    Column("records_received", Integer),
    Column("records_distinct", Integer),
    Column("duplicates_dropped", Integer),
    Column("records_loaded", Integer),
    Column("records_quarantined", Integer),
    Column("records_stale", Integer),
    Column("units", Integer),
    Column("procedures", Integer),
    Column("retries", Integer),
    Column("seconds", Numeric(12, 3)),
    Column("error", Text),
    Column("finished_at", DateTime),
    PrimaryKeyConstraint("run_id", "portal_code"),
)

# One row per extraction window: a first load or full refresh is split into windows that
# run (and are retried) one by one; the watermark only covers the committed prefix of them.
etl_extract_window = Table(
    "etl_extract_window",
    metadata,
    Column("run_id", String(250), nullable=False),
    Column("portal_code", String(64), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("window_from", DateTime, nullable=False),
    Column("window_to", DateTime),  # null: open-ended (up to what the portal has now)
    Column("status", String(16), nullable=False),  # committed | failed
    Column("newest_update", DateTime),
    Column("manifest", Text),
    Column("pages", Integer),
    Column("records_received", Integer),
    Column("records_distinct", Integer),
    Column("duplicates_dropped", Integer),
    Column("records_loaded", Integer),
    Column("records_quarantined", Integer),
    Column("retries", Integer),
    Column("seconds", Numeric(12, 3)),
    Column("committed_at", DateTime),
    PrimaryKeyConstraint("run_id", "portal_code", "seq"),
)

mart_indicator_snapshot = Table(
    "mart_indicator_snapshot",
    metadata,
    Column("as_of_date", Date, nullable=False),
    Column("portal_code", Text, nullable=False),
    Column("unit_code", String(255), nullable=False),
    Column("indicator_code", String(64), nullable=False),
    Column("period_type", String(8), nullable=False),
    Column("period_start", Date, nullable=False),
    Column("period_end", Date, nullable=False),
    Column("numerator", Integer, nullable=False),
    Column("denominator", Integer, nullable=False),
    Column("value_pct", Numeric(7, 2)),
    Column("run_id", Text),
    Column("computed_at", DateTime),
    PrimaryKeyConstraint(
        "as_of_date", "unit_code", "indicator_code", "period_type", "period_start"
    ),
    Index("ix_mart_snapshot_portal_asof", "portal_code", "as_of_date"),
)

mart_target_evaluation = Table(
    "mart_target_evaluation",
    metadata,
    Column("as_of_date", Date, nullable=False),
    Column("plan_code", String(128), nullable=False),
    Column("target_code", String(128), nullable=False),
    Column("unit_code", String(255), nullable=False),
    Column("indicator_code", String(64)),
    Column("year", Integer, nullable=False),
    Column("comparator", String(2), nullable=False),
    Column("threshold_pct", Numeric(9, 4), nullable=False),
    Column("value_pct", Numeric(7, 2)),
    Column("numerator", Integer),
    Column("denominator", Integer),
    Column("status", String(16), nullable=False),
    Column("clause", Text, nullable=False),
    Column("portal_code", Text),
    Column("plan_title", Text),
    Column("run_id", Text),
    Column("computed_at", DateTime),
    # what threshold_pct and value_pct hold: percent, or points (the 766 index's scores)
    Column("measure", String(8), nullable=False, server_default="percent"),
    PrimaryKeyConstraint("as_of_date", "plan_code", "target_code", "year"),
)

# --- data quality (migration 0003) ---------------------------------------------------------

# One row per expectation of every GX validation of a portal's batch (docs/data-quality.md):
# a rerun replaces the rows of its (run_id, portal_code, window_seq, suite).
dq_validation_result = Table(
    "dq_validation_result",
    metadata,
    Column("run_id", String(250), nullable=False),
    Column("portal_code", String(64), nullable=False),
    Column("window_seq", Integer, nullable=False),  # extraction window of the run (0 first)
    Column("suite", String(64), nullable=False),
    Column("seq", Integer, nullable=False),  # position of the expectation in the suite
    Column("expectation_type", String(128), nullable=False),
    Column("rule", String(64), nullable=False),
    Column("field", String(64)),
    Column("severity", String(16), nullable=False),  # error | warning
    Column("success", Boolean, nullable=False),
    Column("element_count", Integer),
    Column("unexpected_count", Integer),
    Column("missing_count", Integer),
    Column("observed_value", Text),  # JSON
    Column("partial_unexpected_list", Text),  # JSON list (at most 20 values)
    Column("details", Text),  # JSON: bounds, mostly, value set size, row condition
    Column("message", Text),
    Column("validated_at", DateTime, nullable=False),
    PrimaryKeyConstraint("run_id", "portal_code", "window_seq", "suite", "seq"),
    Index("ix_dq_result_portal_suite_time", "portal_code", "suite", "validated_at"),
)

# Nullable columns added to quarantine_record by migration 0003 (replay and retention).
quarantine_record.append_column(Column("replayed_at", DateTime))
quarantine_record.append_column(Column("replay_run_id", Text))
quarantine_record.append_column(Column("redacted_at", DateTime))

# --- outlook, Biểu 06, indicator dictionary (migration 0005) -------------------------------

# The outlook of a running-year target (indicators.md, "What it takes").
mart_target_evaluation.append_column(Column("projected_denominator", Integer))
mart_target_evaluation.append_column(Column("needed_numerator", Integer))
mart_target_evaluation.append_column(Column("needed_share_pct", Numeric(9, 2)))
mart_target_evaluation.append_column(Column("outlook", String(16)))

# Biểu số 06/VPCP/KSTT: one row per (as_of_date, unit_code, period_type, period_start,
# field_code); field_code NULL is the row for all fields, '' the records without a field.
# No primary key (field_code is null on the total row): a rerun deletes (as_of, portal) first.
FORM06_COUNTS: tuple[str, ...] = (
    "received_online",
    "received_in_person_or_postal",
    "carried_over",
    "resolved_early",
    "resolved_on_time",
    "resolved_late",
    "withdrawn_or_stopped",
    "open_within_deadline",
    "open_overdue",
)
mart_form06 = Table(
    "mart_form06",
    metadata,
    Column("as_of_date", Date, nullable=False),
    Column("portal_code", Text, nullable=False),
    Column("unit_code", String(255), nullable=False),
    Column("period_type", String(8), nullable=False),
    Column("period_start", Date, nullable=False),
    Column("period_end", Date, nullable=False),
    Column("field_code", Text),
    Column("field_name", Text),
    *[Column(name, Integer, nullable=False) for name in FORM06_COUNTS],
    Column("run_id", Text),
    Column("computed_at", DateTime),
    Index("ix_mart_form06_key", "as_of_date", "unit_code", "period_type", "period_start"),
    Index("ix_mart_form06_portal_asof", "portal_code", "as_of_date"),
)

# The indicator dictionary for analysts, seeded by migration 0005 (egov.compute.indicators.dictionary).
dim_indicator = Table(
    "dim_indicator",
    metadata,
    Column("indicator_code", String(64), primary_key=True),
    Column("kind", String(16), nullable=False),  # record | catalogue
    Column("name_vi", Text, nullable=False),
    Column("name_en", Text, nullable=False),
    Column("numerator", Text, nullable=False),
    Column("denominator", Text, nullable=False),
    Column("source", Text, nullable=False),
    Column("plan_wording", Text),
    Column("sort_order", Integer, nullable=False),
)

# --- alerts (migration 0006) ----------------------------------------------------------------

# One row per alert key (a target's year, a portal's failure or staleness, a late nightly run):
# the state last seen and whether (and when) it was notified; docs/alerts.md.
alert_state = Table(
    "alert_state",
    metadata,
    Column("alert_key", String(400), primary_key=True),
    Column("kind", String(32), nullable=False),  # target | portal_failed | portal_stale | deadline
    Column("subject", Text),
    Column("state", String(32), nullable=False),  # at_risk, missed, out_of_reach, failed, ... ok
    Column("alerting", Boolean, nullable=False),
    Column("message", Text),
    Column("changed_at", DateTime, nullable=False),
    Column("notified_at", DateTime),
    Column("run_id", Text),
    Column("silenced_until", DateTime),
    Column("silenced_by", Text),
    Index("ix_alert_state_kind", "kind", "state"),
)

# --- the portal boundary (migration 0004) -------------------------------------------------
# Codes are String(255) and short texts String(32) (egov.sources.onestop.records bounds what it writes to
# them); the request moment of a quarantined version (rule updated_at_future, replay); how
# many kept values were stored as null or cut to fit their column, per window and run.
quarantine_record.append_column(Column("requested_at", DateTime))
for _table in (etl_extract_window, etl_portal_run):
    _table.append_column(Column("values_nulled", Integer))
    _table.append_column(Column("values_cut", Integer))

# ------------------------------------------------------------------ incremental aggregates
# Maintained from fct_dossier by egov.warehouse.aggregates (docs/performance.md "Incremental
# snapshots"); migration 0007 adds them and the triggers that fill agg_dossier_log.

# The columns of a fct_dossier row that any snapshot or Biểu 06 count reads.
AGG_RECORD_COLUMNS = (
    "portal_code", "unit_code", "procedure_code", "field_code", "field_name", "status",
    "channel", "service_level", "received_date", "due_date", "ended_date", "has_fee",
    "online_payment", "has_digitized_papers", "is_certification", "result_delivery",
    "has_electronic_result", "satisfaction",
)

# Change log: one row per before-image (sign -1) and after-image (sign +1) of a changed
# fct_dossier row, written by triggers; consumed (folded, then deleted) by compute.
agg_dossier_log = Table(
    "agg_dossier_log",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
           autoincrement=True),
    Column("sign", SmallInteger, nullable=False),
    Column("portal_code", String(64), nullable=False),
    Column("unit_code", String(255), nullable=False),
    Column("procedure_code", String(255)),
    Column("field_code", Text),
    Column("field_name", Text),
    Column("status", SmallInteger, nullable=False),
    Column("channel", SmallInteger, nullable=False),
    Column("service_level", String(32)),
    Column("received_date", Date),
    Column("due_date", Date),
    Column("ended_date", Date),
    Column("has_fee", Boolean, nullable=False),
    Column("online_payment", SmallInteger),
    Column("has_digitized_papers", Boolean, nullable=False),
    Column("is_certification", Boolean, nullable=False),
    Column("result_delivery", SmallInteger),
    Column("has_electronic_result", Boolean, nullable=False),
    Column("satisfaction", SmallInteger),
    Index("ix_agg_dossier_log_portal", "portal_code"),
)

# Text keys of the aggregates compare by code point (collation "C" on PostgreSQL): fast to
# sort and index, and the order the smallest field name is taken in.
_CODE = String(255).with_variant(String(255, collation="C"), "postgresql")
_KEY_TEXT = Text().with_variant(Text(collation="C"), "postgresql")

# Additive record counts per (portal, grain 'd' day / 'm' month / 'y' year, day, unit, field, name, kind).
AGG_MEASURES = (
    "n", "online", "full_online", "postal", "fee", "fee_paid_online", "digitized",
    "resolved", "on_time", "e_result", "cert", "cert_e_result", "rated", "satisfied",
    "early", "on_day", "late", "withdrawn",
)
agg_dossier_day = Table(
    "agg_dossier_day",
    metadata,
    Column("portal_code", String(64), nullable=False),
    Column("grain", String(1), nullable=False),
    Column("day", Date, nullable=False),
    Column("unit_code", _CODE, nullable=False),
    Column("field_code", _KEY_TEXT, nullable=False),
    Column("name_key", _KEY_TEXT, nullable=False),
    Column("kind", String(1), nullable=False),
    *[Column(name, Integer, nullable=False) for name in AGG_MEASURES],
    PrimaryKeyConstraint("portal_code", "grain", "day", "unit_code", "field_code", "name_key",
                         "kind"),
)

# RECEIVED records per (portal, grain, day, unit, procedure): the "active procedures".
agg_procedure_day = Table(
    "agg_procedure_day",
    metadata,
    Column("portal_code", String(64), nullable=False),
    Column("grain", String(1), nullable=False),
    Column("day", Date, nullable=False),
    Column("unit_code", _CODE, nullable=False),
    Column("procedure_code", _CODE, nullable=False),
    Column("n", Integer, nullable=False),
    PrimaryKeyConstraint("portal_code", "grain", "day", "unit_code", "procedure_code"),
)

# Portals whose aggregates are built (no row: rebuilt from fct_dossier at the next compute);
# day rows (grain 'd') are kept from `daily_from` on, month rows for all history.
agg_state = Table(
    "agg_state",
    metadata,
    Column("portal_code", String(64), primary_key=True),
    Column("built_at", DateTime, nullable=False),
    Column("daily_from", Date, nullable=False),
)

# ---- The national portal's 766 index (docs/dvcqg.md; contract dvcqg-766.md) -----------------
# Numbers as the portal gives them (double precision: every JSON number of the recorded
# answers exactly; null stays null). `extra`: fields and odd values kept as they came (JSON);
# `issues`: why a value is null or odd; `score_check`: the known formula's value (never the
# record). The current tables hold the newest complete read of a (province, period); the
# *_history tables every complete read (`read_at`).
_DVCQG_PERIOD = ("root_department_id", "period_type", "period_start")


def _dvcqg_score_columns() -> list:
    return [
        Column("root_department_id", String(64), nullable=False),
        Column("period_type", String(8), nullable=False),
        Column("period_start", Date, nullable=False),
        Column("department_id", String(64), nullable=False),
        Column("group_code", String(32), nullable=False),
        Column("province_code", String(64), nullable=False),
        Column("department_code", Text),
        Column("department_name", Text),
        Column("department_type", Text),
        Column("department_level", Text),
        Column("agency_level", Text),
        Column("position", Double),
        Column("unit_code", String(255)),
        Column("score", Double),
        Column("max_score", Double),
        Column("ratio", Double),
        Column("score_delta", Double),
        Column("score_check", Double),
        Column("extra", Text),
        Column("issues", Text),
        Column("provisional", Boolean, nullable=False),
        Column("read_at", DateTime, nullable=False),
    ]


def _dvcqg_metric_columns() -> list:
    return [
        Column("root_department_id", String(64), nullable=False),
        Column("period_type", String(8), nullable=False),
        Column("period_start", Date, nullable=False),
        Column("department_id", String(64), nullable=False),
        Column("group_code", String(32), nullable=False),
        Column("metric_code", String(128), nullable=False),
        Column("province_code", String(64), nullable=False),
        Column("metric_name", Text),
        Column("numerator", Double),
        Column("denominator", Double),
        Column("ratio", Double),
        Column("score", Double),
        Column("max_score", Double),
        Column("score_check", Double),
        Column("data_quality_status", Text),
        Column("data_quality_message", Text),
        Column("extra", Text),
        Column("issues", Text),
        Column("provisional", Boolean, nullable=False),
        Column("read_at", DateTime, nullable=False),
    ]


dvcqg_read = Table(
    "dvcqg_read",
    metadata,
    Column("root_department_id", String(64), nullable=False),
    Column("period_type", String(8), nullable=False),
    Column("period_start", Date, nullable=False),
    Column("read_at", DateTime, nullable=False),  # UTC
    Column("province_code", String(64), nullable=False),
    Column("period_end", Date, nullable=False),
    Column("complete", Boolean, nullable=False),
    Column("provisional", Boolean, nullable=False),
    Column("reason", Text),  # null when complete: which group failed and why
    Column("groups_read", Text),
    Column("http_status", Integer),
    Column("new_fields", Text),
    Column("score_warnings", Integer),
    Column("as_of_date", Date),
    Column("run_id", Text),
    PrimaryKeyConstraint(*_DVCQG_PERIOD, "read_at"),
)

dvcqg_score = Table(
    "dvcqg_score", metadata, *_dvcqg_score_columns(),
    PrimaryKeyConstraint(*_DVCQG_PERIOD, "department_id", "group_code"),
)

dvcqg_metric = Table(
    "dvcqg_metric", metadata, *_dvcqg_metric_columns(),
    PrimaryKeyConstraint(*_DVCQG_PERIOD, "department_id", "group_code", "metric_code"),
)

dvcqg_score_history = Table(
    "dvcqg_score_history", metadata, *_dvcqg_score_columns(),
    PrimaryKeyConstraint(*_DVCQG_PERIOD, "read_at", "department_id", "group_code"),
)

dvcqg_metric_history = Table(
    "dvcqg_metric_history", metadata, *_dvcqg_metric_columns(),
    PrimaryKeyConstraint(*_DVCQG_PERIOD, "read_at", "department_id", "group_code",
                         "metric_code"),
)

# Departments and communes as last seen (dvcqg-766.md rule 4); dates are as-of days.
dvcqg_department = Table(
    "dvcqg_department",
    metadata,
    Column("department_id", String(64), primary_key=True),
    Column("root_department_id", String(64), nullable=False),
    Column("department_code", Text),
    Column("department_name", Text),
    Column("department_type", Text),
    Column("department_level", Text),
    Column("first_seen", Date, nullable=False),
    Column("last_seen", Date, nullable=False),
    Index("ix_dvcqg_department_root", "root_department_id"),
)
# ------------------------------------------------------------------ reported figures
# docs/contracts/reported-figures.md; migration 0010.

# One row per file taken from the inbox (by content hash: the same content is taken once).
etl_reported_file = Table(
    "etl_reported_file",
    metadata,
    Column("file_hash", String(64), primary_key=True),  # sha256 of the content
    Column("file_name", Text, nullable=False),  # sanitised name, as received
    Column("stored_as", Text),  # path under EGOV_REPORTED_DIR
    Column("received_at", DateTime, nullable=False),
    Column("taken_seq", Integer, nullable=False),  # order of intake (the later file wins ties)
    Column("status", String(16), nullable=False),  # taken | rejected (unreadable, whole)
    Column("rows_accepted", Integer, nullable=False),
    Column("rows_rejected", Integer, nullable=False),
    Column("reason", Text),  # why a whole file was rejected
    Column("is_sample", Boolean, nullable=False),  # demo figures, not real ones
    Column("uploaded_by", Text),  # the signed-in user of an upload; null: the inbox
    Column("run_id", Text),
)

# Every accepted row of every file: revisions, never overwritten (which counts: egov.reported).
fct_reported_figure = Table(
    "fct_reported_figure",
    metadata,
    Column("file_hash", String(64), nullable=False),
    Column("row_number", Integer, nullable=False),  # the spreadsheet's row (header: 1)
    Column("file_name", Text, nullable=False),
    Column("received_at", DateTime, nullable=False),
    Column("taken_seq", Integer, nullable=False),
    Column("plan_code", String(128), nullable=False),
    Column("target_code", String(128), nullable=False),
    Column("unit_code", String(255), nullable=False),
    Column("year", Integer, nullable=False),
    Column("data_from", Date),
    Column("data_to", Date, nullable=False),
    Column("numerator", Integer),
    Column("denominator", Integer),
    Column("value_pct", Numeric(7, 2)),
    Column("source_doc", Text, nullable=False),
    Column("evidence_ref", Text),
    Column("prepared_by", Text),
    Column("approved_by", Text, nullable=False),
    Column("approved_at", Date, nullable=False),
    Column("basis", String(16), nullable=False),  # self_reported | verified
    Column("note", Text),
    Column("is_sample", Boolean, nullable=False),
    PrimaryKeyConstraint("file_hash", "row_number"),
    Index("ix_fct_reported_figure_key", "plan_code", "target_code", "year", "unit_code"),
)

# Provenance of each evaluation: measured, or the reported figure that counts.
mart_target_evaluation.append_column(Column("basis", String(16)))  # measured | self_reported | verified
mart_target_evaluation.append_column(Column("source_doc", Text))
mart_target_evaluation.append_column(Column("data_to", Date))
mart_target_evaluation.append_column(Column("reported_units", Integer))
mart_target_evaluation.append_column(Column("expected_units", Integer))
mart_target_evaluation.append_column(Column("percent_only", Boolean))  # a child gave % only
mart_target_evaluation.append_column(Column("is_sample", Boolean))  # a counted figure is a sample


# --- the 766 index beside the one-stop records (migration 0012) ------------------------------

# Departments mapped to one-stop units: `confirmed` (the operator's file) or `proposed`
# (by code and/or normalised name: `basis`); the index's figures of an unmapped department
# are still shown under its own name.
dvcqg_crosswalk = Table(
    "dvcqg_crosswalk",
    metadata,
    Column("department_id", String(64), nullable=False),
    Column("unit_code", String(255), nullable=False),
    Column("status", String(16), nullable=False),  # confirmed | proposed
    Column("basis", String(32), nullable=False),  # file | code | name | code+name
    Column("root_department_id", String(64)),
    Column("department_name", Text),
    Column("unit_name", Text),
    Column("note", Text),
    Column("updated_at", DateTime),
    PrimaryKeyConstraint("department_id", "unit_code"),
)

# Proposals an editor confirmed on the "Chỉ số 766" page (migration 0013): merged with the
# operator's file by each egov_dvcqg run (the file wins on a conflict).
dvcqg_crosswalk_confirmation = Table(
    "dvcqg_crosswalk_confirmation",
    metadata,
    Column("department_id", String(64), nullable=False),
    Column("unit_code", String(255), nullable=False),
    Column("root_department_id", String(64)),
    Column("basis", String(32), nullable=False),  # the proposal's: code | name | code+name
    Column("confirmed_by", String(255), nullable=False),  # the Airflow user
    Column("confirmed_at", DateTime, nullable=False),
    PrimaryKeyConstraint("department_id"),
    UniqueConstraint("unit_code", name="uq_dvcqg_crosswalk_confirmation_unit"),
)

# dvcqg-766.md "Reconciliation": one row per (period, mapped unit, measure) for the closed
# periods the index has read: the one-stop figures (ours_*) beside the index's (theirs_*).
mart_source_reconciliation = Table(
    "mart_source_reconciliation",
    metadata,
    Column("period_type", String(8), nullable=False),
    Column("period_start", Date, nullable=False),
    Column("unit_code", String(255), nullable=False),
    Column("measure", String(32), nullable=False),
    Column("department_id", String(64), nullable=False),
    Column("root_department_id", String(64), nullable=False),
    Column("period_end", Date, nullable=False),
    Column("ours_numerator", Double),
    Column("ours_denominator", Double),
    Column("ours_pct", Double),
    Column("theirs_numerator", Double),
    Column("theirs_denominator", Double),
    Column("theirs_pct", Double),
    Column("diff_pp", Double),
    Column("diff_count", Double),
    Column("flagged", Boolean, nullable=False),
    Column("provisional", Boolean, nullable=False),
    Column("read_at", DateTime),
    Column("as_of_date", Date, nullable=False),
    Column("run_id", Text),
    Column("computed_at", DateTime),
    PrimaryKeyConstraint("period_type", "period_start", "unit_code", "measure"),
)

# The running month scored with the known formulas from one-stop records: a preview beside
# the last published figures, never stored as the portal's.
mart_dvcqg_preview = Table(
    "mart_dvcqg_preview",
    metadata,
    Column("period_start", Date, nullable=False),
    Column("unit_code", String(255), nullable=False),
    Column("measure", String(64), nullable=False),
    Column("department_id", String(64), nullable=False),
    Column("group_code", String(32), nullable=False),
    Column("period_end", Date, nullable=False),
    Column("ours_numerator", Double),
    Column("ours_denominator", Double),
    Column("ours_pct", Double),
    Column("preview_score", Double),
    Column("max_score", Double),
    Column("published_period_start", Date),
    Column("published_score", Double),
    Column("as_of_date", Date, nullable=False),
    Column("run_id", Text),
    Column("computed_at", DateTime),
    PrimaryKeyConstraint("period_start", "unit_code", "measure"),
)
