"""The Targets page in a real headless Chromium, served by a live Airflow API server over a
warehouse filled by real `airflow dags test` runs against the portal simulator: signed-in
users only, the figures equal the warehouse's, drill-down works, the page sits in the UI's
navigation, and the runs show their real duration."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from tests.e2e_support import PORTALS, airflow_env, migrate_metadata, portal_conn_env, run_dag
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
RUNS = ("2025-06-01", "2025-07-01")  # as of 31 May and 30 June 2025: a trend of two points


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    from egov.simulator.server import SimulatorFleet
    from egov.simulator.world import build_world
    from egov.warehouse.db import make_engine

    home = tmp_path_factory.mktemp("airflow_targets")
    world = build_world(seed=5, scale=120, clock=datetime(2025, 6, 30, 20, 0),
                        malformed_rate=0.01)
    credentials = {code: (code, f"pw-{code}-ui") for code in PORTALS}
    fleet = SimulatorFleet(world, host="127.0.0.1", base_port=0, credentials=credentials)
    fleet.start()
    url = f"sqlite:///{home / 'warehouse.db'}"
    auth, password = auth_env(home)
    env = {**airflow_env(home), **auth, **portal_conn_env(fleet, credentials),
           "AIRFLOW_CONN_EGOV_WAREHOUSE": url, "EGOV_RAW_DIR": str(home / "raw"),
           "EGOV_FIRST_LOAD_WINDOW_MONTHS": "60"}
    migrate_metadata(env)
    started = datetime.now(UTC)
    try:
        for logical in RUNS:
            code, text = run_dag(env, logical, log_dir=home / "logs")
            assert code == 0, text[-4000:]
    finally:
        fleet.stop()
    fix = subprocess.run([sys.executable, "-m", "egov.runtime.test_runs", "egov_nightly"], env=env,
                         capture_output=True, text=True, timeout=300)
    assert fix.returncode == 0, fix.stderr[-2000:]
    # The report step (DAG egov_reports, run on the marts' asset events) for the newest day.
    env["EGOV_REPORTS_DIR"] = str(home / "reports")
    pub = subprocess.run([sys.executable, "-m", "egov.serve.reports.publish", "--url", url],
                         env=env, capture_output=True, text=True, timeout=600)
    assert pub.returncode == 0, pub.stderr[-2000:]
    api = ApiServer(env, home / "api-server.log").wait()
    engine = make_engine(url)
    yield api, password, engine, started
    api.stop()
    engine.dispose()


def _pct(text: str):
    text = text.strip()
    return None if text == "—" else Decimal(text.rstrip("%").replace(".", "").replace(",", "."))


def _int(text: str):
    text = text.strip()
    return None if text == "—" else int(text.replace(".", ""))


def _rows(engine, sql: str, **params):
    from sqlalchemy import text

    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(text(sql), params).mappings()]


def test_anonymous_users_are_refused(live):
    api, *_ = live
    for path in (f"{PREFIX}/", f"{PREFIX}/plan/binh-dinh-2021", f"{PREFIX}/reports/html"):
        status, headers, body = api.get(path)
        assert status == 401, (path, status)
        assert b"binh-dinh" not in body
    status, _, body = api.get(f"{PREFIX}/", accept="text/html")
    assert status == 401 and "Cần đăng nhập" in body.decode() and "/auth/login" in body.decode()
    status, _, _ = api.get(f"{PREFIX}/", token="not-a-token")
    assert status in (401, 403)


def test_dags_test_runs_show_their_real_duration(live):
    import json

    api, password, _, started = live
    token = api.token("analyst", password)
    status, _, body = api.get("/api/v2/dags/egov_nightly/dagRuns?order_by=run_after", token=token)
    assert status == 200, body[:500]
    runs = json.loads(body)["dag_runs"]
    assert len(runs) == len(RUNS)
    for run in runs:
        start = datetime.fromisoformat(run["start_date"])
        end = datetime.fromisoformat(run["end_date"])
        assert start >= started - timedelta(seconds=5), run
        assert timedelta(0) < end - start < timedelta(hours=1), run
        assert run["queued_at"] is not None
        assert run["logical_date"][:10] in RUNS


def test_the_page_shows_the_warehouse_figures_and_drills_down(live):
    from playwright.sync_api import sync_playwright

    api, password, engine, _ = live
    shots = artifacts_dir()
    latest = _rows(engine, "select plan_code, max(as_of_date) as as_of "
                           "from mart_target_evaluation group by plan_code")
    assert latest
    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            requests = RequestLog(page)
            page.goto(f"{api.base}{PREFIX}/")
            assert "Cần đăng nhập" in page.inner_text("body")  # not signed in yet
            sign_in(page, api, password)

            # Overview: counts per status of every plan, freshness per portal.
            page.goto(f"{api.base}{PREFIX}/")
            for plan in latest:
                counts = _rows(engine, "select status, count(*) as n from mart_target_evaluation"
                                       " where plan_code = :p and as_of_date = :d group by status",
                               p=plan["plan_code"], d=plan["as_of"])
                shown = {el.get_attribute("data-status"): int(el.get_attribute("data-count"))
                         for el in page.query_selector_all(
                             f"tr[data-plan='{plan['plan_code']}'] [data-status]")}
                assert shown == {c["status"]: c["n"] for c in counts}, plan
            for code in PORTALS:
                run = _rows(engine, "select records_quarantined from etl_portal_run where "
                                    "portal_code = :c order by finished_at desc limit 1", c=code)[0]
                cell = page.inner_text(f"tr[data-portal='{code}'] .quarantined")
                assert _int(cell) == run["records_quarantined"], code
                snap = page.inner_text(f"tr[data-portal='{code}'] .snapshot")
                assert snap.startswith("30/06/2025"), snap
            page.screenshot(path=str(shots / "targets-overview.png"), full_page=True)
            kinds = {el.get_attribute("data-kind"): el.get_attribute("href")
                     for el in page.query_selector_all("#reports a")}
            assert {"html", "csv", "xlsx"} <= set(kinds), kinds
            assert "30/06/2025" in page.inner_text("#reports-day")
            status, headers, body = api.get(kinds["xlsx"], token=api.token("analyst", password))
            assert status == 200 and body[:2] == b"PK"  # an XLSX (zip) file
            status, headers, body = api.get(kinds["html"], token=api.token("analyst", password))
            assert status == 200 and "sandbox" in headers.get("content-security-policy", "")

            # A plan with a running year: every row of that year equals the warehouse's.
            plan_code = "tay-ninh-2021-2025"
            page.click(f"tr[data-plan='{plan_code}'] a.plan-link")
            page.wait_for_load_state("load")
            assert page.inner_text(".as-of") == "30/06/2025"
            rows = _rows(engine, "select * from mart_target_evaluation where plan_code = :p and "
                                 "as_of_date = :d and year = 2025", p=plan_code,
                         d=date(2025, 6, 30))
            assert rows and {r["status"] for r in rows} & {"on_track", "at_risk"}
            for r in rows:
                tr = f"tr[data-target='{r['target_code']}'][data-year='2025']"
                assert page.get_attribute(tr, "data-status") == r["status"]
                assert _pct(page.inner_text(f"{tr} .value")) == (
                    None if r["value_pct"] is None else Decimal(str(r["value_pct"])))
                assert _int(page.inner_text(f"{tr} .numerator")) == r["numerator"]
                assert _int(page.inner_text(f"{tr} .denominator")) == r["denominator"]
                assert r["clause"] in page.inner_text(f"{tr} .clause")
                if r.get("outlook") is not None:
                    assert page.get_attribute(f"{tr} .outlook", "data-outlook") == r["outlook"]
                    assert _pct(page.inner_text(f"{tr} .needed-share")) == Decimal(
                        str(r["needed_share_pct"]))
            page.screenshot(path=str(shots / "targets-plan.png"), full_page=True)

            # A measured target of the province: trend over the two as-of days, threshold drawn.
            target = next(r for r in rows if r["indicator_code"] in ("on_time_rate",
                                                                     "online_rate"))
            page.click(f"tr[data-target='{target['target_code']}'] a.target-link")
            page.wait_for_load_state("load")
            trend = _rows(engine, "select as_of_date, value_pct from mart_indicator_snapshot "
                                  "where unit_code = :u and indicator_code = :i and period_type"
                                  " = 'year' and period_start = :y", u=target["unit_code"],
                          i=target["indicator_code"], y=date(2025, 1, 1))
            assert len(trend) == 2
            assert len(page.query_selector_all("svg.egov-trend circle.point")) == 2
            assert page.query_selector("svg.egov-trend line.threshold") is not None

            # Children worst first, figures as in the warehouse; a click goes one level down.
            children = _rows(engine, """
                select u.unit_code, s.numerator, s.denominator, s.value_pct
                from dim_unit u left join mart_indicator_snapshot s
                  on s.unit_code = u.unit_code and s.indicator_code = :i
                 and s.period_type = 'year' and s.period_start = :y and s.as_of_date = :d
                where u.parent_code = :u""", u=target["unit_code"], i=target["indicator_code"],
                y=date(2025, 1, 1), d=date(2025, 6, 30))
            shown = [el.get_attribute("data-unit")
                     for el in page.query_selector_all("#children tbody tr")]
            assert sorted(shown) == sorted(c["unit_code"] for c in children)
            by_code = {c["unit_code"]: c for c in children}
            ratios = [Decimal(by_code[c]["numerator"]) / by_code[c]["denominator"]
                      for c in shown if by_code[c]["denominator"]]
            assert ratios == sorted(ratios), "worst first"
            first = shown[0]
            assert _int(page.inner_text(f"#children tr[data-unit='{first}'] .numerator")) == \
                by_code[first]["numerator"]
            page.screenshot(path=str(shots / "targets-target.png"), full_page=True)
            page.click(f"#children tr[data-unit='{first}'] a.drill")
            page.wait_for_load_state("load")
            assert re.search(r"unit=" + re.escape(first), page.url)
            assert page.get_attribute("#unit", "data-unit") == first
            if by_code[first]["denominator"]:
                assert _int(page.get_attribute("#current", "data-numerator")) == \
                    by_code[first]["numerator"]
            page.screenshot(path=str(shots / "targets-drilldown.png"), full_page=True)

            # The page inside the Airflow UI: its navigation entry shows it in a frame.
            page.goto(f"{api.base}/plugin/egov-targets")
            frame = page.frame_locator("iframe").first
            frame.locator("#plans").wait_for(timeout=60_000)
            assert "Chỉ tiêu cải cách hành chính" in frame.locator("h1").inner_text()
            page.screenshot(path=str(shots / "targets-in-airflow-ui.png"))
            assert requests.outside() == [], requests.outside()
        finally:
            browser.close()
