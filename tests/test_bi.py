"""BI views and the indicator dictionary, on SQLite and PostgreSQL: created by migration 0005,
kept across later table changes, showing the marts' figures; every SQL query of docs/bi.md
runs on both databases and answers what it says."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa

from egov.compute.indicators.codes import ALL_INDICATORS
from egov.compute.recompute import recompute
from egov.warehouse.bi_views import VIEWS, create_views, drop_views
from egov.warehouse.migrations import upgrade
from egov.warehouse.schema import (
    dim_unit,
    mart_form06,
    mart_indicator_snapshot,
    mart_target_evaluation,
)
from tests.e2e_support import REPO
from tests.test_recompute import PORTAL, load

DAYS = [date(2025, 3, 31), date(2025, 4, 30), date(2025, 5, 31), date(2025, 6, 15)]
ROOT, DISTRICT = "000.00.00.H52", "000.00.21.H52"


def doc_queries() -> list[str]:
    text = (REPO / "docs" / "bi.md").read_text(encoding="utf-8")
    return re.findall(r"```sql\n(.*?)```", text, flags=re.S)


def plain(value):
    if isinstance(value, Decimal | float):
        return Decimal(str(value)).quantize(Decimal("0.01"))
    if isinstance(value, date):
        return value.isoformat()
    return value


def run(engine, sql: str) -> list[dict]:
    with engine.connect() as conn:
        return [{k: plain(v) for k, v in r.items()}
                for r in conn.execute(sa.text(sql.strip().rstrip(";"))).mappings()]


@pytest.fixture(scope="module")
def world():
    from egov.simulator.world import build_world

    return build_world(seed=3, scale=100, clock=datetime(2025, 6, 30, 20, 0))


@pytest.fixture
def filled(warehouse, world):
    load(warehouse, world)
    recompute(DAYS, engine=warehouse, run_id="rc")
    return warehouse


def test_views_and_dictionary_exist(warehouse):
    assert set(VIEWS) <= set(sa.inspect(warehouse).get_view_names())
    with warehouse.connect() as conn:
        rows = conn.execute(sa.text("SELECT * FROM dim_indicator ORDER BY sort_order")
                            ).mappings().all()
    assert [r["indicator_code"] for r in rows] == list(ALL_INDICATORS)
    for r in rows:
        assert r["name_vi"] and r["name_en"] and r["numerator"] and r["denominator"]
        assert r["kind"] == ("catalogue" if r["indicator_code"].startswith("catalog_")
                             else "record")
        assert r["source"].startswith("Danh mục" if r["kind"] == "catalogue" else "Hồ sơ")
    on_time = rows[0]
    assert (on_time["name_vi"], on_time["name_en"]) == (
        "Tỷ lệ hồ sơ giải quyết đúng hạn", "On-time resolution rate")


def test_downgrade_and_upgrade_again(warehouse):
    from alembic import command

    from egov.warehouse.migrations import alembic_config

    cfg = alembic_config()
    with warehouse.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0003")
    inspector = sa.inspect(warehouse)
    assert not set(VIEWS) & set(inspector.get_view_names())
    assert "mart_form06" not in inspector.get_table_names()
    upgrade(warehouse)
    assert set(VIEWS) <= set(sa.inspect(warehouse).get_view_names())


def test_a_table_rebuild_needs_the_views_out_of_the_way(warehouse):
    """What migrations/env.py does around pending migrations: a later migration may rebuild
    or retype a table a view reads (SQLite batch mode, PostgreSQL ALTER TYPE)."""
    from alembic.migration import MigrationContext
    from alembic.operations import Operations

    def retype(conn):
        ops = Operations(MigrationContext.configure(conn))
        with ops.batch_alter_table("dim_unit", recreate="always") as batch:
            batch.alter_column("unit_name", type_=sa.String(400), existing_type=sa.Text())

    with pytest.raises(sa.exc.DBAPIError), warehouse.begin() as conn:
        retype(conn)  # the views pin dim_unit
    with warehouse.begin() as conn:  # pysqlite does not roll DDL back: tidy up
        conn.execute(sa.text("DROP TABLE IF EXISTS _alembic_tmp_dim_unit"))
    with warehouse.begin() as conn:
        drop_views(conn)
        retype(conn)
        create_views(conn)
    assert set(VIEWS) <= set(sa.inspect(warehouse).get_view_names())
    with warehouse.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM bi_unit_hierarchy")).scalar() == 0


def test_views_show_the_marts(filled):
    e = mart_target_evaluation.c
    with filled.connect() as conn:
        newest = conn.execute(sa.select(sa.func.max(e.as_of_date))).scalar()
        marts = conn.execute(sa.select(mart_target_evaluation).where(e.as_of_date == newest)
                             ).mappings().all()
        n_snapshots = conn.execute(sa.select(sa.func.count()).select_from(
            mart_indicator_snapshot)).scalar()
        n_form = conn.execute(sa.select(sa.func.count()).select_from(mart_form06)).scalar()
        units = conn.execute(sa.select(dim_unit)).mappings().all()
    latest = run(filled, "SELECT * FROM bi_target_latest")
    assert len(latest) == len(marts) > 0
    by_key = {(r["plan_code"], r["target_code"], r["year"]): r for r in latest}
    for m in marts:
        v = by_key[(m["plan_code"], m["target_code"], m["year"])]
        assert v["as_of_date"] == DAYS[-1].isoformat()
        assert (v["status"], v["outlook"], v["numerator"], v["denominator"]) == (
            m["status"], m["outlook"], m["numerator"], m["denominator"])
        assert v["needed_share_pct"] == plain(m["needed_share_pct"])
        if m["indicator_code"]:
            assert v["indicator_name_vi"] and v["unit_name"]
    assert len(run(filled, "SELECT * FROM bi_indicator_trend")) == n_snapshots
    assert len(run(filled, "SELECT * FROM bi_form06")) == n_form
    tree = {r["unit_code"]: r for r in run(filled, "SELECT * FROM bi_unit_hierarchy")}
    assert len(tree) == len(units)
    assert (tree[ROOT]["depth"], tree[ROOT]["root_code"], tree[ROOT]["unit_level_name"]) == (
        0, ROOT, "Tỉnh")
    assert tree[ROOT]["descendant_count"] == len(units) - 1
    district = tree[DISTRICT]
    assert (district["depth"], district["parent_name"], district["unit_level_name"]) == (
        1, "UBND tỉnh Tây Ninh", "Huyện")
    assert district["child_count"] == sum(1 for u in units if u["parent_code"] == DISTRICT) > 0
    for r in run(filled, "SELECT * FROM bi_form06"):
        assert r["total_to_handle"] == r["resolved_total"] + r["withdrawn_or_stopped"] + r[
            "open_total"]
        assert (r["is_total"] == 1) == (r["field_code"] is None)


def test_every_query_of_the_bi_doc_runs_and_answers(filled):
    queries = doc_queries()
    assert len(queries) >= 9
    results = [run(filled, q) for q in queries]
    for q, rows in zip(queries, results, strict=True):
        assert rows, f"no rows:\n{q}"
    at_risk, margins, monthly, year_so_far, worst, form, districts, children, subtree, dic = (
        results[:10])
    latest = run(filled, "SELECT * FROM bi_target_latest")
    assert {(r["plan_code"], r["target_code"], r["year"]) for r in at_risk} == {
        (r["plan_code"], r["target_code"], r["year"]) for r in latest
        if r["status"] in ("at_risk", "missed") or r["outlook"] == "out_of_reach"}
    assert [r["margin_pct"] for r in margins] == sorted(r["margin_pct"] for r in margins)
    assert [r["period_start"] for r in monthly] == ["2025-03-01", "2025-04-01", "2025-05-01"]
    assert [r["as_of_date"] for r in year_so_far] == [d.isoformat() for d in DAYS]
    snap = mart_indicator_snapshot.c
    with filled.connect() as conn:
        may = conn.execute(sa.select(snap.numerator, snap.denominator).where(
            snap.unit_code == ROOT, snap.indicator_code == "on_time_rate",
            snap.period_type == "month", snap.as_of_date == date(2025, 5, 31))).one()
    assert (monthly[2]["numerator"], monthly[2]["denominator"]) == tuple(may)
    ratios = [Decimal(r["numerator"]) / r["denominator"] for r in worst]
    assert ratios == sorted(ratios) and len(worst) <= 10
    assert {r["period_start"] for r in worst} == {"2025-01-01"}  # the newest ended quarter
    assert form[0]["field_label"] == "Tổng cộng"
    assert form[0]["total_to_handle"] == sum(r["total_to_handle"] for r in form[1:])
    assert all(r["unit_code"] != ROOT for r in districts)
    assert [r["unit_code"] for r in children] == sorted(r["unit_code"] for r in children)
    assert subtree[0]["unit_code"] == DISTRICT and len(subtree) == 1 + len(
        [r for r in run(filled, "SELECT * FROM bi_unit_hierarchy")
         if r["parent_code"] == DISTRICT])
    assert [r["indicator_code"] for r in dic] == list(ALL_INDICATORS)
    assert PORTAL == "tay-ninh"  # the codes the doc uses are Tây Ninh's


def test_a_later_migration_may_rebuild_a_table_the_views_read(tmp_path, request, kind_url):
    """A fresh upgrade through 0005 and a later migration that rebuilds dim_unit (SQLite) or
    retypes one of its columns (PostgreSQL): env.py keeps the views out of its way."""
    from alembic import command

    from egov.warehouse.db import make_engine
    from egov.warehouse.migrations import SCRIPT_LOCATION, alembic_config, head_revision

    later = tmp_path / "later"
    later.mkdir()
    (later / "9999_rebuild_dim_unit.py").write_text(f'''
from alembic import op
import sqlalchemy as sa

revision = "9999"
down_revision = "{head_revision()}"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("dim_unit", recreate="always") as batch:
        batch.alter_column("unit_name", type_=sa.String(400), existing_type=sa.Text())


def downgrade():
    pass
''')
    engine = make_engine(kind_url)
    cfg = alembic_config()
    cfg.set_main_option("version_locations", f"{SCRIPT_LOCATION / 'versions'} {later}")
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "heads")
    inspector = sa.inspect(engine)
    assert set(VIEWS) <= set(inspector.get_view_names())
    name_type = {c["name"]: c["type"] for c in inspector.get_columns("dim_unit")}["unit_name"]
    assert getattr(name_type, "length", None) == 400
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def kind_url(request, tmp_path):
    from tests.conftest import create_pg_database, drop_pg_database

    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'fresh.db'}"
    url = create_pg_database()
    request.addfinalizer(lambda: drop_pg_database(url))
    return url


def _doc_query(startswith: str) -> str:
    return next(q for q in doc_queries() if startswith in q)


def test_the_worst_districts_answer_on_the_second_day_of_a_quarter(warehouse, world):
    """Issue 19: 'the quarter of the newest as-of day' answered nothing on 2 July (nothing
    resolved yet in the new quarter); the doc's query answers the last ended quarter."""
    load(warehouse, world)
    recompute([date(2025, 6, 30), date(2025, 7, 1), date(2025, 7, 2)], engine=warehouse,
              run_id="rc")
    quarter_so_far = """
        SELECT unit_code FROM bi_indicator_trend
        WHERE indicator_code = 'on_time_rate' AND period_type = 'quarter'
          AND unit_level = 'HUYEN' AND denominator > 0
          AND as_of_date = (SELECT max(as_of_date) FROM mart_indicator_snapshot)"""
    assert run(warehouse, quarter_so_far) == []  # what the doc asked before
    worst = run(warehouse, _doc_query("unit_level = 'HUYEN' AND denominator > 0"))
    assert worst and {(r["period_start"]) for r in worst} == {"2025-04-01"}
    snap = mart_indicator_snapshot.c
    with warehouse.connect() as conn:
        final = dict(conn.execute(sa.select(snap.unit_code, snap.numerator).where(
            snap.indicator_code == "on_time_rate", snap.period_type == "quarter",
            snap.period_start == date(2025, 4, 1), snap.as_of_date == date(2025, 6, 30))).all())
    assert all(final[r["unit_code"]] == r["numerator"] for r in worst)


def test_margins_carry_no_rounding_noise(filled):
    margins = _doc_query("AS margin_pct")
    with filled.connect() as conn:
        rows = conn.execute(sa.text(margins.strip().rstrip(";"))).mappings().all()
    assert rows
    for r in rows:
        text = str(r["margin_pct"])
        assert len(text.split(".")[-1]) <= 2 or "." not in text, text


def test_every_column_of_every_view_is_in_the_column_dictionary(warehouse):
    text = (REPO / "docs" / "bi.md").read_text(encoding="utf-8")
    dictionary = text.split("## Column dictionary", 1)[1].split("\n## ", 1)[0]
    with warehouse.connect() as conn:
        for view in VIEWS:
            section = dictionary.split(f"### `{view}`", 1)[1].split("\n### ", 1)[0]
            documented = re.findall(r"^\| `(\w+)` \|", section, flags=re.M)
            columns = list(conn.execute(sa.text(f"SELECT * FROM {view} WHERE 1 = 0")).keys())
            assert documented == columns, view


def test_the_records_behind_a_figure_add_up_to_it(filled):
    """Issue 19, 2: the doc's bi_dossier query lists the records behind the on-time rate of
    a district: as many rows as the denominator, the on-time ones the numerator; the same
    for the district's own records."""
    query = _doc_query("FROM bi_dossier d")
    rows = run(filled, query)
    snap = mart_indicator_snapshot.c
    with filled.connect() as conn:
        figure = conn.execute(sa.select(snap.numerator, snap.denominator).where(
            snap.unit_code == DISTRICT, snap.indicator_code == "on_time_rate",
            snap.period_type == "year", snap.period_start == date(2025, 1, 1),
            snap.as_of_date == date(2025, 6, 15))).one()
        personal = {c["name"] for c in sa.inspect(conn).get_columns("bi_dossier")} & {
            "applicant_id_hash", "fee_total", "applicant_type"}
    assert personal == set()
    assert (sum(r["resolved_on_time"] for r in rows), len(rows)) == tuple(figure)
    assert [r["resolved_on_time"] for r in rows] == sorted(r["resolved_on_time"] for r in rows)
    own = run(filled, query.replace(
        "JOIN unit_closure c ON c.descendant_code = d.unit_code\n", "").replace(
        "c.ancestor_code = '000.00.21.H52'", "d.unit_code = '000.00.21.H52'"))
    with filled.connect() as conn:
        children = conn.execute(sa.select(
            sa.func.coalesce(sa.func.sum(snap.numerator), 0),
            sa.func.coalesce(sa.func.sum(snap.denominator), 0)).where(
            snap.unit_code.in_(sa.select(dim_unit.c.unit_code).where(
                dim_unit.c.parent_code == DISTRICT)),
            snap.indicator_code == "on_time_rate", snap.period_type == "year",
            snap.period_start == date(2025, 1, 1), snap.as_of_date == date(2025, 6, 15))).one()
    assert {r["unit_code"] for r in own} <= {DISTRICT}
    assert (sum(r["resolved_on_time"] for r in own), len(own)) == (
        figure[0] - children[0], figure[1] - children[1])
