"""Stable views for analysts and BI tools (docs/bi.md), the same SQL on SQLite and PostgreSQL.

Migration 0005 creates `VIEWS_0005`. Views pin the tables they read: PostgreSQL refuses to
change the type of a column a view uses, and SQLite's table rebuilds (Alembic batch mode)
fail on a view that names the table. So the migration environment (migrations/env.py) drops
the views before it runs pending migrations and creates `VIEWS` (the current definitions)
after them; a later migration that changes a view adds `VIEWS_<revision>` here and points
`VIEWS` at it (0011 adds `VIEWS_0011`). Views only read columns that exist from revision 0005
on.
"""

from __future__ import annotations

VIEWS_0005: dict[str, str] = {
    # The newest evaluation of every target of every plan (each plan as of its newest day).
    "bi_target_latest": """
SELECT e.as_of_date, e.plan_code, e.plan_title, e.portal_code, e.target_code, e.year,
       e.unit_code, u.unit_name, u.unit_level,
       e.indicator_code, i.name_vi AS indicator_name_vi, i.name_en AS indicator_name_en,
       e.comparator, e.threshold_pct, e.value_pct, e.numerator, e.denominator, e.status,
       e.outlook, e.needed_share_pct, e.needed_numerator, e.projected_denominator,
       e.clause, e.run_id, e.computed_at
FROM mart_target_evaluation e
LEFT JOIN dim_unit u ON u.unit_code = e.unit_code
LEFT JOIN dim_indicator i ON i.indicator_code = e.indicator_code
WHERE e.as_of_date = (SELECT max(l.as_of_date) FROM mart_target_evaluation l
                      WHERE l.plan_code = e.plan_code)""",
    # Every snapshot with the names of its unit and indicator; period_complete = 1 when the
    # period had ended by the as-of day (the period's final figure).
    "bi_indicator_trend": """
SELECT s.as_of_date, s.portal_code, s.unit_code, u.unit_name, u.unit_level,
       s.indicator_code, i.name_vi AS indicator_name_vi, i.name_en AS indicator_name_en,
       i.kind AS indicator_kind, s.period_type, s.period_start, s.period_end,
       s.numerator, s.denominator, s.value_pct,
       CASE WHEN s.as_of_date >= s.period_end THEN 1 ELSE 0 END AS period_complete,
       s.run_id, s.computed_at
FROM mart_indicator_snapshot s
LEFT JOIN dim_unit u ON u.unit_code = s.unit_code
LEFT JOIN dim_indicator i ON i.indicator_code = s.indicator_code""",
    # The unit tree: names, levels, parent, depth from the root (0), the root, children.
    "bi_unit_hierarchy": """
SELECT u.portal_code, u.unit_code, u.unit_name, u.unit_level,
       CASE u.unit_level WHEN 'TINH' THEN 'Tỉnh' WHEN 'SO' THEN 'Sở, ngành'
            WHEN 'HUYEN' THEN 'Huyện' WHEN 'XA' THEN 'Xã' ELSE u.unit_level END
           AS unit_level_name,
       u.parent_code, p.unit_name AS parent_name,
       (SELECT max(c.depth) FROM unit_closure c WHERE c.descendant_code = u.unit_code)
           AS depth,
       (SELECT c.ancestor_code FROM unit_closure c WHERE c.descendant_code = u.unit_code
        ORDER BY c.depth DESC LIMIT 1) AS root_code,
       (SELECT count(*) FROM dim_unit k WHERE k.parent_code = u.unit_code) AS child_count,
       (SELECT count(*) FROM unit_closure c WHERE c.ancestor_code = u.unit_code
        AND c.descendant_code <> u.unit_code) AS descendant_count
FROM dim_unit u
LEFT JOIN dim_unit p ON p.unit_code = u.parent_code""",
    # Biểu số 06/VPCP/KSTT with the form's totals: (1) total_to_handle = (5) resolved_total
    # + (9) withdrawn_or_stopped + (10) open_total.
    "bi_form06": """
SELECT f.as_of_date, f.portal_code, f.unit_code, u.unit_name, u.unit_level,
       f.period_type, f.period_start, f.period_end, f.field_code, f.field_name,
       CASE WHEN f.field_code IS NULL THEN 'Tổng cộng'
            WHEN f.field_code = '' THEN '(Không xác định lĩnh vực)'
            ELSE COALESCE(f.field_name, f.field_code) END AS field_label,
       CASE WHEN f.field_code IS NULL THEN 1 ELSE 0 END AS is_total,
       f.received_online + f.received_in_person_or_postal + f.carried_over
           AS total_to_handle,
       f.carried_over, f.received_online, f.received_in_person_or_postal,
       f.resolved_early + f.resolved_on_time + f.resolved_late AS resolved_total,
       f.resolved_early, f.resolved_on_time, f.resolved_late, f.withdrawn_or_stopped,
       f.open_within_deadline + f.open_overdue AS open_total,
       f.open_within_deadline, f.open_overdue, f.run_id, f.computed_at
FROM mart_form06 f
LEFT JOIN dim_unit u ON u.unit_code = f.unit_code""",
}

# Revision 0010 (reported figures): bi_target_latest gains the provenance columns, and
# bi_reported_figures lists every revision; `counts` = 1 for the revision that counts as of
# its plan's newest evaluated day (docs/contracts/reported-figures.md, "Which figure counts").
VIEWS_0010: dict[str, str] = {
    **VIEWS_0005,
    "bi_target_latest": """
SELECT e.as_of_date, e.plan_code, e.plan_title, e.portal_code, e.target_code, e.year,
       e.unit_code, u.unit_name, u.unit_level,
       e.indicator_code, i.name_vi AS indicator_name_vi, i.name_en AS indicator_name_en,
       e.comparator, e.threshold_pct, e.value_pct, e.numerator, e.denominator, e.status,
       e.outlook, e.needed_share_pct, e.needed_numerator, e.projected_denominator,
       e.basis, e.source_doc, e.data_to, e.reported_units, e.expected_units, e.percent_only,
       e.is_sample, e.clause, e.run_id, e.computed_at
FROM mart_target_evaluation e
LEFT JOIN dim_unit u ON u.unit_code = e.unit_code
LEFT JOIN dim_indicator i ON i.indicator_code = e.indicator_code
WHERE e.as_of_date = (SELECT max(l.as_of_date) FROM mart_target_evaluation l
                      WHERE l.plan_code = e.plan_code)""",
    "bi_reported_figures": """
WITH latest AS (
    SELECT plan_code, max(as_of_date) AS as_of_date FROM mart_target_evaluation
    GROUP BY plan_code),
ranked AS (
    SELECT f.file_hash, f.row_number,
           ROW_NUMBER() OVER (
               PARTITION BY f.plan_code, f.target_code, f.unit_code, f.year
               ORDER BY CASE f.basis WHEN 'verified' THEN 0 ELSE 1 END, f.data_to DESC,
                        f.approved_at DESC, f.taken_seq DESC, f.row_number) AS rank_no
    FROM fct_reported_figure f
    JOIN latest l ON l.plan_code = f.plan_code
    WHERE f.data_to <= l.as_of_date AND f.approved_at <= l.as_of_date)
SELECT f.plan_code, f.target_code, f.year, f.unit_code, u.unit_name, u.unit_level,
       f.data_from, f.data_to, f.numerator, f.denominator, f.value_pct, f.basis,
       f.source_doc, f.evidence_ref, f.prepared_by, f.approved_by, f.approved_at, f.note,
       f.is_sample, f.file_name, f.file_hash, f.row_number, f.received_at, f.taken_seq,
       l.as_of_date AS counts_as_of,
       CASE WHEN r.rank_no = 1 THEN 1 ELSE 0 END AS counts
FROM fct_reported_figure f
LEFT JOIN latest l ON l.plan_code = f.plan_code
LEFT JOIN ranked r ON r.file_hash = f.file_hash AND r.row_number = f.row_number
LEFT JOIN dim_unit u ON u.unit_code = f.unit_code""",
}

# Migration 0011: the records behind the figures, one row per record, no personal data
# (no applicant hash, no fees paid, no result links): the flags the indicators count.
VIEWS_0011: dict[str, str] = {
    "bi_dossier": """
SELECT f.portal_code, f.dossier_code, f.unit_code, u.unit_name, u.unit_level,
       f.procedure_code, f.procedure_name, f.field_code, f.field_name,
       f.channel,
       CASE f.channel WHEN 1 THEN 'Trực tiếp' WHEN 2 THEN 'Trực tuyến'
            WHEN 3 THEN 'Bưu chính công ích' END AS channel_name,
       f.service_level, f.status,
       CASE f.status WHEN 1 THEN 'Mới đăng ký' WHEN 2 THEN 'Được tiếp nhận'
            WHEN 3 THEN 'Không được tiếp nhận' WHEN 4 THEN 'Đang xử lý'
            WHEN 5 THEN 'Yêu cầu bổ sung' WHEN 6 THEN 'Yêu cầu thực hiện nghĩa vụ tài chính'
            WHEN 7 THEN 'Công dân rút hồ sơ' WHEN 8 THEN 'Dừng xử lý'
            WHEN 9 THEN 'Đã xử lý xong' WHEN 10 THEN 'Đã trả kết quả' END AS status_name,
       f.received_date, f.due_date, f.ended_date,
       CASE WHEN f.status NOT IN (1, 3) THEN 1 ELSE 0 END AS is_received,
       CASE WHEN f.status IN (9, 10) THEN 1 ELSE 0 END AS is_resolved,
       CASE WHEN f.status IN (9, 10) AND (f.due_date IS NULL OR f.ended_date <= f.due_date)
            THEN 1 ELSE 0 END AS resolved_on_time,
       f.run_id, f.loaded_at
FROM fct_dossier f
LEFT JOIN dim_unit u ON u.unit_code = f.unit_code""",
}

# Migration 0012 (the 766 index's crosswalk): its unmapped departments.
VIEWS_0012: dict[str, str] = {
    # The index's departments no confirmed mapping names (dvcqg-766.md rule 4), with the
    # proposals for each (null when none) and the last read figures' total, still shown.
    "bi_dvcqg_unmapped": """
SELECT d.root_department_id, d.department_id, d.department_code, d.department_name,
       d.department_type, d.department_level, d.first_seen, d.last_seen,
       p.unit_code AS proposed_unit_code, p.unit_name AS proposed_unit_name,
       p.basis AS proposed_by
FROM dvcqg_department d
LEFT JOIN dvcqg_crosswalk p ON p.department_id = d.department_id AND p.status = 'proposed'
WHERE NOT EXISTS (SELECT 1 FROM dvcqg_crosswalk c
                  WHERE c.department_id = d.department_id AND c.status = 'confirmed')""",
}

VIEWS: dict[str, str] = {**VIEWS_0010, **VIEWS_0011, **VIEWS_0012}
# Tables the views read: the views exist only where all of them do (revision 0005 on).
REQUIRED_TABLES = ("mart_target_evaluation", "mart_indicator_snapshot", "mart_form06",
                   "dim_unit", "unit_closure", "dim_indicator", "fct_dossier")


def views_for(conn) -> dict[str, str]:
    """The view definitions the schema `conn` sees supports: 0005's, 0010's from revision
    0010 (reported figures), with 0011's (bi_dossier) from revision 0011 and 0012's (bi_dvcqg_unmapped) from 0012."""
    from sqlalchemy import inspect, text

    tables = inspect(conn).get_table_names()
    views = dict(VIEWS_0010 if "fct_reported_figure" in tables else VIEWS_0005)
    revision = None
    if "alembic_version" in tables:
        revision = conn.execute(text("SELECT max(version_num) FROM alembic_version")).scalar()
    if revision is not None and str(revision) >= "0011":
        views.update(VIEWS_0011)
    if revision is not None and str(revision) >= "0012":
        views.update(VIEWS_0012)
    return views


def create_views(conn, views: dict[str, str] = VIEWS) -> None:
    """(Re)create every view, in the caller's transaction."""
    from sqlalchemy import text

    for name, select in views.items():
        conn.execute(text(f"DROP VIEW IF EXISTS {name}"))
        conn.execute(text(f"CREATE VIEW {name} AS {select.strip()}"))


def drop_views(conn, views: dict[str, str] = VIEWS) -> None:
    from sqlalchemy import text

    for name in reversed(list(views)):
        conn.execute(text(f"DROP VIEW IF EXISTS {name}"))


def tables_present(conn) -> bool:
    from sqlalchemy import inspect

    return set(REQUIRED_TABLES) <= set(inspect(conn).get_table_names())
