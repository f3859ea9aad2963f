"""The warehouse schema is created by Alembic, identically and idempotently, on both databases."""

import sqlalchemy as sa

from egov.warehouse.migrations import current_revision, upgrade
from egov.warehouse.schema import metadata


def test_migrations_create_every_table_and_rerun_cleanly(warehouse):
    upgrade(warehouse)  # a second upgrade is a no-op
    from egov.warehouse.migrations import head_revision

    assert current_revision(warehouse) == head_revision()
    inspector = sa.inspect(warehouse)
    tables = set(inspector.get_table_names())
    assert set(metadata.tables) <= tables
    for name, table in metadata.tables.items():
        columns = {c["name"] for c in inspector.get_columns(name)}
        assert columns == {c.name for c in table.columns}, name


def test_bi_contract_columns_exist(warehouse):
    """The columns interfaces.md fixes for BI."""
    inspector = sa.inspect(warehouse)
    cols = lambda t: {c["name"] for c in inspector.get_columns(t)}  # noqa: E731
    assert {
        "as_of_date", "portal_code", "unit_code", "indicator_code", "period_type",
        "period_start", "period_end", "numerator", "denominator", "value_pct", "run_id",
        "computed_at",
    } <= cols("mart_indicator_snapshot")
    assert {
        "as_of_date", "plan_code", "target_code", "unit_code", "indicator_code", "year",
        "comparator", "threshold_pct", "value_pct", "numerator", "denominator", "status",
        "clause", "run_id", "computed_at",
    } <= cols("mart_target_evaluation")
    assert {"portal_code", "record_key", "reason", "payload", "run_id"} <= cols(
        "quarantine_record"
    )
    assert {"portal_code", "dossier_code"} <= cols("fct_dossier")
    assert not {"ChuHoSo", "SoGiayToChuHoSo", "SoDienThoai", "Email", "DiaChi"} & cols(
        "fct_dossier"
    )


def test_reported_figures_columns_and_migration_0010_down_and_up(warehouse):
    """reported-figures.md, "In the marts": the provenance columns, the revisions table and
    the view; 0010 goes down to 0008 and back up cleanly (views recreated each way)."""
    from alembic import command

    from egov.warehouse.migrations import alembic_config

    inspector = sa.inspect(warehouse)
    cols = {c["name"] for c in inspector.get_columns("mart_target_evaluation")}
    assert {"basis", "source_doc", "data_to", "reported_units", "expected_units"} <= cols
    assert "bi_reported_figures" in inspector.get_view_names()
    cfg = alembic_config()
    with warehouse.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0008")
    inspector = sa.inspect(warehouse)
    assert "fct_reported_figure" not in inspector.get_table_names()
    assert "basis" not in {c["name"] for c in inspector.get_columns("mart_target_evaluation")}
    assert "bi_target_latest" in inspector.get_view_names()  # 0005's definition
    assert "bi_reported_figures" not in inspector.get_view_names()
    upgrade(warehouse)
    inspector = sa.inspect(warehouse)
    assert {"fct_reported_figure", "etl_reported_file"} <= set(inspector.get_table_names())
    assert "bi_reported_figures" in inspector.get_view_names()
