"""The "Chỉ số 766" page in a real headless Chromium, served by a live Airflow API server
over a warehouse holding the recorded index read, the crosswalk and the reconciliation:
signed-in users only, every figure equal to the warehouse's, drill-down to a unit's metrics
with its data-quality flags, unmapped departments and reconciliation flags listed; an editor
confirms a crosswalk proposal and withdraws it, a viewer and another site are refused."""

from __future__ import annotations

import json
import secrets
from datetime import date, datetime

import pytest

from tests.dvcqg_replay import RECORDED_ROOT, ReplayServer
from tests.e2e_support import airflow_env, migrate_metadata
from tests.test_dvcqg_load import PROVINCE
from tests.test_dvcqg_reconciliation import TRADE_DEPARTMENT, TRADE_UNIT, _one_stop
from tests.test_dvcqg_targets import TARGETS, _plan
from tests.ui_support import USER as VIEWER
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
EDITOR = "cchc-editor"
MONTH = "month:2026-08-01"  # closed by the as-of day 2026-09-25: reconciled


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    from egov.compute.targets import evaluate_targets
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
    with engine.begin() as conn:  # a plan with targets in points and in percent
        evaluate_targets(conn, [_plan(home, TARGETS[:3])], as_of=date(2026, 9, 25),
                         portal_codes=["phu-tho"], run_id="ui__1",
                         computed_at=datetime(2026, 9, 26))
    auth, password = auth_env(home)
    editor_password = secrets.token_urlsafe(12)  # a second user whose role may edit
    passwords = json.loads((home / "passwords.json").read_text())
    (home / "passwords.json").write_text(json.dumps({**passwords, EDITOR: editor_password}))
    auth["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"] += f",{EDITOR}:user"
    env = {**airflow_env(home), **auth, "AIRFLOW_CONN_EGOV_WAREHOUSE": url,
           "EGOV_RAW_DIR": str(home / "raw")}
    migrate_metadata(env)
    api = ApiServer(env, home / "api-server.log").wait()
    api.editor_password = editor_password
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
            months = _rows(engine, "select distinct period_start from dvcqg_score where "
                                   "department_id = :root and period_type = 'month'",
                           root=RECORDED_ROOT)
            dots = page.query_selector_all("#trend-chart svg circle.point")
            assert len(dots) == len(months) == 1  # the month read: one point, in points
            tip = dots[0].query_selector("title").text_content()
            assert tip.endswith(f"{total:.2f}".replace(".", ",") + " điểm"), tip
            assert "%" not in page.text_content("#trend-chart")
            page.locator("#trend-chart").screenshot(path=str(shots / "index766-trend.png"))
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


def test_an_editor_confirms_a_proposal_a_viewer_and_another_site_cannot(live):
    import yaml
    from playwright.sync_api import sync_playwright

    from egov.sources.dvcqg.crosswalk import Mapping, load_crosswalk

    api, password, engine = live
    unit_of = ("select distinct unit_code from dvcqg_score where department_id = :d")
    form = {"department_id": TRADE_DEPARTMENT, "unit_code": TRADE_UNIT,
            "province": RECORDED_ROOT, "period": MONTH}
    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        try:
            viewer = browser.new_context()
            page = viewer.new_page()
            sign_in(page, api, password, user=VIEWER)
            page.goto(f"{api.base}{PREFIX}/index766?period={MONTH}")
            assert page.query_selector(
                f"#unmapped tr[data-department='{TRADE_DEPARTMENT}'][data-proposal]")
            assert page.query_selector_all("form.confirm, form.withdraw") == []
            response = viewer.request.post(f"{api.base}{PREFIX}/index766/crosswalk/confirm",
                                           headers={"Origin": api.base}, form=form)
            assert response.status == 403
            viewer.close()
            assert _rows(engine, unit_of, d=TRADE_DEPARTMENT) == [{"unit_code": None}]

            editor = browser.new_context(viewport={"width": 1400, "height": 1000},
                                         accept_downloads=True)
            page = editor.new_page()
            requests = RequestLog(page)
            sign_in(page, api, api.editor_password, user=EDITOR)
            response = editor.request.post(  # another site riding on the editor's cookie
                f"{api.base}{PREFIX}/index766/crosswalk/confirm",
                headers={"Origin": "http://evil.example"}, form=form)
            assert response.status == 403
            page.goto(f"{api.base}{PREFIX}/index766?period={MONTH}")
            before = len(page.query_selector_all("#unmapped tr[data-department]"))
            row = f"#unmapped tr[data-department='{TRADE_DEPARTMENT}'][data-proposal='{TRADE_UNIT}']"
            page.click(f"{row} form.confirm button")
            page.wait_for_selector("#done")
            assert "Đã xác nhận" in page.inner_text("#done")
            assert "done=confirmed" in page.url and f"period={MONTH.replace(':', '%3A')}" in page.url
            assert page.query_selector(f"#unmapped tr[data-department='{TRADE_DEPARTMENT}']") is None
            assert len(page.query_selector_all("#unmapped tr[data-department]")) == before - 1
            ranked = page.query_selector(f"#ranking tr[data-department='{TRADE_DEPARTMENT}']")
            assert TRADE_UNIT in ranked.inner_text()
            confirmed = page.query_selector_all("#confirmations tr[data-department]")
            assert [(c.get_attribute("data-department"), c.get_attribute("data-unit"),
                     c.get_attribute("data-applied")) for c in confirmed] == [
                (TRADE_DEPARTMENT, TRADE_UNIT, "yes")]
            assert EDITOR in confirmed[0].inner_text()
            assert _rows(engine, unit_of, d=TRADE_DEPARTMENT) == [{"unit_code": TRADE_UNIT}]
            page.locator("#done").scroll_into_view_if_needed()
            page.screenshot(path=str(artifacts_dir() / "index766-crosswalk.png"))

            # the crosswalk file to commit: the shipped mapping and the page's
            with page.expect_download() as info:
                page.click("#crosswalk-download")
            path = info.value.path()
            assert info.value.suggested_filename == "dvcqg_crosswalk.yaml"
            got = load_crosswalk(path)
            assert got[:-1] == load_crosswalk()
            assert (got[-1].department_id, got[-1].unit_code) == (TRADE_DEPARTMENT, TRADE_UNIT)
            assert f"by {EDITOR}" in got[-1].note
            assert yaml.safe_load(open(path, encoding="utf-8"))["mappings"][-1][
                "department_id"] == TRADE_DEPARTMENT
            assert not isinstance(got[-1], dict) and isinstance(got[-1], Mapping)

            # confirming it again (a second tab): refused with a reason, nothing changes
            response = editor.request.post(f"{api.base}{PREFIX}/index766/crosswalk/confirm",
                                           headers={"Origin": api.base}, form=form)
            assert response.status == 409 and "không còn" in response.text()

            page.click(f"#confirmations tr[data-department='{TRADE_DEPARTMENT}'] "
                       "form.withdraw button")
            page.wait_for_selector("#done")
            assert "Đã bỏ xác nhận" in page.inner_text("#done")
            assert page.query_selector(row) is not None  # proposed again
            assert page.query_selector("#confirmations") is None
            assert _rows(engine, unit_of, d=TRADE_DEPARTMENT) == [{"unit_code": None}]
            assert not requests.outside()
            editor.close()
        finally:
            browser.close()


def test_targets_on_the_index_scores_read_in_points(live):
    """A `dvcqg:score` target compares points: the plan page, the target page and the HTML
    report say "điểm", never "%"; a percent target beside it keeps "%"."""
    from playwright.sync_api import sync_playwright

    from egov.serve.reports.html_report import render_report

    api, password, engine = live
    rows = {r["target_code"]: r for r in _rows(
        engine, "select target_code, value_pct, threshold_pct, measure, status from "
                "mart_target_evaluation where plan_code = 'phu-tho-766' and year = 2026")}
    assert rows["total"]["measure"] == "points" and rows["published"]["measure"] == "percent"
    total = float(rows["total"]["value_pct"])
    shown = f"{total:.2f}".replace(".", ",")
    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            sign_in(page, api, password)
            page.goto(f"{api.base}{PREFIX}/plan/phu-tho-766?year=2026")
            tr = "tr[data-target='total'][data-year='2026']"
            assert page.inner_text(f"{tr} .threshold").strip().endswith("60 điểm")
            assert page.inner_text(f"{tr} .value").strip() == f"{shown} điểm"
            progress = "tr[data-target='progress-points'][data-year='2026']"
            assert "%" not in page.inner_text(f"{progress} .threshold")
            published = "tr[data-target='published'][data-year='2026']"
            assert page.inner_text(f"{published} .threshold").strip().endswith("100%")
            page.click(f"{tr} a.target-link")
            page.wait_for_load_state("load")
            assert "60 điểm" in page.inner_text("body") and "60%" not in page.inner_text("body")
            assert page.inner_text("h1").startswith("Chỉ số 766: tổng điểm")
            assert float(page.get_attribute("#index-figure", "data-value")) == pytest.approx(
                total)
            assert f"{shown} điểm" in page.inner_text("#index-figure")
            page.click("#index-link")  # to the department's figures on the 766 page
            page.wait_for_load_state("load")
            assert "Năm 2026" in page.inner_text("p.muted")
            assert _value(page.query_selector("#unit-total")) == pytest.approx(total, abs=0.005)
            assert page.query_selector_all("#metrics tr[data-metric]")
            page.go_back()
            page.screenshot(path=str(artifacts_dir() / "plan-points.png"), full_page=True)
        finally:
            browser.close()
    with engine.connect() as conn:
        html = render_report(conn, date(2026, 9, 25))
    row = html[html.index('data-target="total"'):]
    row = row[:row.index("</tr>")]
    assert "≥ 60 điểm" in row and f"{shown} điểm" in row and "%" not in row
    assert "Chỉ số 766: tổng điểm" in row
