"""The "Chỉ số 766" page in a real headless Chromium, served by a live Airflow API server
over a warehouse holding the recorded index read, the crosswalk and the reconciliation:
signed-in users only, every figure equal to the warehouse's, drill-down to a unit's metrics
with its data-quality flags, unmapped departments and reconciliation flags listed."""

from __future__ import annotations

import pytest

from tests.dvcqg_replay import RECORDED_ROOT, ReplayServer
from tests.e2e_support import airflow_env, migrate_metadata
from tests.test_dvcqg_load import PROVINCE
from tests.test_dvcqg_reconciliation import _one_stop
from tests.ui_support import (
    ApiServer,
    RequestLog,
    artifacts_dir,
    auth_env,
    launch_chromium,
    sign_in,
)

pytestmark = pytest.mark.e2e

PREFIX = "/egov-targets"
MONTH = "month:2026-08-01"  # closed by the as-of day 2026-09-25: reconciled


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    from egov.pipeline.dvcqg import read_province, reconcile_step
    from egov.sources.dvcqg.client import DvcqgClient
    from egov.warehouse.db import make_engine
    from egov.warehouse.migrations import upgrade

    home = tmp_path_factory.mktemp("airflow_index766")
    url = f"sqlite:///{home / 'warehouse.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with ReplayServer() as srv:  # the recorded answers (year 2026) for both periods
        client = DvcqgClient(srv.base_url, province_code="phu-tho", pause=0)
        results = read_province(PROVINCE, [{"period": "2026", "provisional": True},
                                           {"period": "2026-08", "provisional": True}],
                                as_of="2026-09-25", run_id="ui__1", engine=engine,
                                client=client, raw_root=str(home / "raw"))
    assert all(r["complete"] for r in results)
    _one_stop(engine)
    counts = reconcile_step(as_of="2026-09-25", engine=engine)
    assert counts["flagged"] > 0
    auth, password = auth_env(home)
    env = {**airflow_env(home), **auth, "AIRFLOW_CONN_EGOV_WAREHOUSE": url,
           "EGOV_RAW_DIR": str(home / "raw")}
    migrate_metadata(env)
    api = ApiServer(env, home / "api-server.log").wait()
    yield api, password, engine
    api.stop()
    engine.dispose()


def _rows(engine, sql: str, **params):
    from sqlalchemy import text

    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(text(sql), params).mappings()]


def _value(el) -> float | None:
    raw = el.get_attribute("data-value")
    return None if raw in (None, "") else float(raw)


def test_anonymous_users_are_refused(live):
    api, *_ = live
    status, _, body = api.get(f"{PREFIX}/index766")
    assert status == 401 and b"Ph" not in body


def test_the_page_shows_the_warehouse_figures_and_drills_down(live):
    from playwright.sync_api import sync_playwright

    api, password, engine = live
    shots = artifacts_dir()
    scores = {r["group_code"]: r["score"] for r in _rows(
        engine, "select group_code, score from dvcqg_score where department_id = :root and "
                "period_type = 'month' and period_start = '2026-08-01'", root=RECORDED_ROOT)}
    ranking = _rows(engine, "select department_id, sum(score) as total from dvcqg_score where "
                            "period_type = 'month' and period_start = '2026-08-01' and "
                            "department_id <> root_department_id group by department_id "
                            "order by total, department_id")
    flagged = _rows(engine, "select unit_code, measure from mart_source_reconciliation where "
                            "flagged and period_start = '2026-08-01' and period_type = 'month'")
    unmapped = {r["department_id"] for r in _rows(
        engine, "select department_id from bi_dvcqg_unmapped")}
    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            requests = RequestLog(page)
            sign_in(page, api, password)
            page.goto(f"{api.base}{PREFIX}/index766?period={MONTH}")
            assert "Tháng 8/2026" in page.inner_text("#periods strong")
            for group, score in scores.items():
                cell = page.query_selector(f"#groups tr[data-group='{group}'] .score")
                assert _value(cell) == score, group
            total = _value(page.query_selector("#groups tr[data-group='total'] .score"))
            assert total == pytest.approx(sum(scores.values()), abs=0.005)
            assert total == pytest.approx(61.89, abs=0.005)  # the recorded province total
            rows = page.query_selector_all("#ranking tr[data-department]")
            assert len(rows) == len(ranking) == 163
            shown = [_value(r.query_selector(".total")) for r in rows]
            assert shown == sorted(shown)  # worst first
            assert shown == pytest.approx([round(r["total"], 2) for r in ranking], abs=0.005)
            got = {(r.get_attribute("data-unit"), r.get_attribute("data-measure"))
                   for r in page.query_selector_all("#flags tr[data-unit]")}
            assert got == {(f["unit_code"], f["measure"]) for f in flagged} and got
            listed = {r.get_attribute("data-department")
                      for r in page.query_selector_all("#unmapped tr[data-department]")}
            assert listed == unmapped and RECORDED_ROOT not in listed and len(listed) == 163
            page.screenshot(path=str(shots / "index766.png"), full_page=True)

            worst = rows[0].get_attribute("data-department")
            rows[0].query_selector("a").click()
            page.wait_for_load_state("load")
            metrics = _rows(engine, "select metric_code, score, data_quality_status from "
                                    "dvcqg_metric where department_id = :d and period_type = "
                                    "'month' and period_start = '2026-08-01'", d=worst)
            cells = page.query_selector_all("#metrics tr[data-metric]")
            assert len(cells) == len(metrics) > 0
            assert len(page.query_selector_all("#metrics tr.flagged")) == sum(
                1 for m in metrics if m["data_quality_status"] is not None)
            by_code = {m["metric_code"]: m["score"] for m in metrics}
            for tr in cells:
                assert _value(tr.query_selector(".score")) == by_code[
                    tr.get_attribute("data-metric")]
            page.screenshot(path=str(shots / "index766-unit.png"), full_page=True)
            assert not requests.outside()
        finally:
            browser.close()
