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
from zoneinfo import ZoneInfo

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
PAST_DAY = "2024-12-31"  # recomputed after the runs
FAILED_RUN, FAILING = "2025-06-15", "tay-ninh"  # after RUNS, as of an earlier day


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
           "EGOV_FIRST_LOAD_WINDOW_MONTHS": "60", "EGOV_DATA_DOCS": "true"}
    migrate_metadata(env)
    started = datetime.now(UTC)
    try:
        for logical in RUNS:
            code, text = run_dag(env, logical, log_dir=home / "logs")
            assert code == 0, text[-4000:]
        # A later run (as of an earlier day) in which Tây Ninh refuses the password: its
        # portal fails, the others load; the overview must say why and link the task.
        wrong = portal_conn_env(fleet, {**credentials, FAILING: (FAILING, "wrong-password")})
        code, text = run_dag({**env, **wrong}, FAILED_RUN, log_dir=home / "logs")
        assert code != 0 and FAILING in text, text[-4000:]
    finally:
        fleet.stop()
    env["EGOV_DEMO_LOG"] = str(home / "logs" / f"dags-test-{FAILED_RUN}.log")
    # A past as-of day (the year 2024's end), recomputed from the warehouse: a snapshot of
    # 2024 taken in 2024, and an older evaluated day for the as-of selector.
    past = subprocess.run([sys.executable, "-m", "egov.compute.recompute", "--from", PAST_DAY,
                           "--to", PAST_DAY, "--url", url], env=env, capture_output=True,
                          text=True, timeout=600)
    assert past.returncode == 0, past.stderr[-2000:]
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
    runs = [r for r in json.loads(body)["dag_runs"] if r["logical_date"][:10] != FAILED_RUN]
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
            for plan in latest:  # counts per year, not all years summed
                counts = _rows(engine, "select year, status, count(*) as n from "
                                       "mart_target_evaluation where plan_code = :p and "
                                       "as_of_date = :d group by year, status",
                               p=plan["plan_code"], d=plan["as_of"])
                shown = {(int(tr.get_attribute("data-year")), el.get_attribute("data-status")):
                         int(el.get_attribute("data-count"))
                         for tr in page.query_selector_all(
                             f"#plans tr[data-plan='{plan['plan_code']}']")
                         for el in tr.query_selector_all("[data-status]")}
                assert shown == {(c["year"], c["status"]): c["n"] for c in counts}, plan
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
                     for el in page.query_selector_all("#children tbody tr:not([data-own])")]
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


def _signed_in_page(pw, api, password, width=1400):
    browser = launch_chromium(pw)
    page = browser.new_page(viewport={"width": width, "height": 1000}, accept_downloads=True)
    sign_in(page, api, password)
    page.wait_for_url(lambda url: "/auth/" not in url, wait_until="load", timeout=60_000)
    return browser, page


def _download(page, click) -> tuple[str, bytes]:
    """Click, wait for the download, return (file name, content)."""
    with page.expect_download(timeout=30_000) as info:
        click()
    download = info.value
    assert download.failure() is None, download.failure()
    return download.suggested_filename, open(download.path(), "rb").read()


def _check_file(name: str, body: bytes) -> None:
    if name.endswith(".xlsx"):
        assert body[:2] == b"PK", name
    else:
        assert name.endswith(".csv") and "field_code" in body.decode("utf-8-sig"), name


def test_downloads_and_data_docs_work_on_the_page_in_the_frame_and_in_the_report(live):
    """Issue 19, 1: the Biểu 06 links download (on the page, inside the Airflow UI's frame,
    in targets.html) and the Data Docs link opens the docs inside the frame."""
    from playwright.sync_api import sync_playwright

    api, password, _, _ = live
    shots = artifacts_dir()
    with sync_playwright() as pw:
        browser, page = _signed_in_page(pw, api, password)
        try:
            page.goto(f"{api.base}{PREFIX}/")
            for kind in ("csv", "xlsx"):
                name, body = _download(page, lambda k=kind: page.click(
                    f"#reports a[data-kind='{k}']"))
                _check_file(name, body)

            # Inside the Airflow UI (its frame is sandboxed: scripts, forms, downloads).
            page.goto(f"{api.base}/plugin/egov-targets")
            frame = page.frame_locator("iframe").first
            frame.locator("#plans").wait_for(timeout=60_000)
            for kind in ("csv", "xlsx"):
                name, body = _download(page, lambda k=kind: frame.locator(
                    f"#reports a[data-kind='{k}']").first.click())
                _check_file(name, body)

            # The HTML report in the frame, and its own links to the Biểu 06 files.
            frame.locator("#reports a[data-kind='html']").first.click()
            frame.locator("ul.files a").first.wait_for(timeout=30_000)
            links = frame.locator("ul.files a")
            assert links.count() >= 2
            for i in range(links.count()):
                name, body = _download(page, lambda i=i: links.nth(i).click())
                _check_file(name, body)
            page.screenshot(path=str(shots / "targets-report-in-frame.png"))

            # The Data Docs link of the freshness table, inside the frame.
            page.goto(f"{api.base}/plugin/egov-targets")
            frame = page.frame_locator("iframe").first
            with page.expect_event("framenavigated", timeout=30_000,
                                   predicate=lambda f: "/egov-data-docs/" in f.url) as nav:
                frame.locator("#freshness a.data-docs").first.click()
            docs = nav.value
            docs.wait_for_load_state("load")
            assert docs.parent_frame is not None  # still inside the Airflow UI's frame
            assert "Expectation Validation Result" in docs.inner_text("body")
            page.screenshot(path=str(shots / "data-docs-in-frame.png"))
        finally:
            browser.close()


def _no_overflow(page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width, page.url


def test_as_of_legend_filters_sorting_and_a_narrow_screen(live):
    """Issue 19, 5 (and 3, 7): any evaluated day can be chosen (the older one included), a
    legend of the statuses, filters and sortable columns, nothing wider than a 390 px
    phone; a past year's trend spans that year; an unknown plan answers a page."""
    from playwright.sync_api import sync_playwright

    api, password, engine, _ = live
    shots = artifacts_dir()
    plan_code = "thanh-hoa-2024"  # a plan of 2024: evaluated at the end of its year too
    with sync_playwright() as pw:
        browser, page = _signed_in_page(pw, api, password, width=390)
        try:
            page.goto(f"{api.base}{PREFIX}/")
            _no_overflow(page, 390)
            legend = {el.get_attribute("data-status")
                      for el in page.query_selector_all("#legend li")}
            assert legend == {"met", "missed", "on_track", "at_risk", "no_data", "awaiting_report",
                              "not_due"}
            page.screenshot(path=str(shots / "targets-overview-390.png"), full_page=True)

            # The as-of selector offers every evaluated day; the older one shows its figures.
            days = [r["d"] for r in _rows(engine, "select distinct as_of_date as d from "
                                                  "mart_target_evaluation order by 1 desc")]
            offered = page.eval_on_selector_all("#as-of-select option",
                                                "els => els.map(e => e.value)")
            assert offered[1:] == [str(d)[:10] for d in days] and PAST_DAY in offered
            page.select_option("#as-of-select", PAST_DAY)
            page.click("#as-of-form button[type=submit]")
            page.wait_for_load_state("load")
            assert f"as_of={PAST_DAY}" in page.url
            for tr in page.query_selector_all(f"#plans tr[data-plan='{plan_code}']"):
                assert int(tr.get_attribute("data-year")) <= 2024
            page.click(f"tr[data-plan='{plan_code}'] a.plan-link")
            page.wait_for_load_state("load")
            assert page.inner_text(".as-of") == "31/12/2024"
            _no_overflow(page, 390)
            rows = _rows(engine, "select target_code, status, numerator, denominator, "
                                 "threshold_pct from mart_target_evaluation where plan_code = :p"
                                 " and as_of_date = :d and year = 2024", p=plan_code,
                         d=date(2024, 12, 31))
            shown = {el.get_attribute("data-target"): el.get_attribute("data-status")
                     for el in page.query_selector_all("#targets tbody tr")}
            assert shown == {r["target_code"]: r["status"] for r in rows}
            # The year just ended: measured targets met or missed; reported ones not yet due
            # (their report_due is in January of the next year).
            assert {r["status"] for r in rows} <= {"met", "missed", "no_data", "not_due"}

            # Filter on a status, then sort by value (descending): rows with figures first.
            status = next(r["status"] for r in rows if r["status"] != "not_due")
            page.click(f"#filters a[data-filter='{status}']")
            page.wait_for_load_state("load")
            assert {el.get_attribute("data-status") for el in page.query_selector_all(
                "#targets tbody tr")} == {status}
            page.goto(f"{api.base}{PREFIX}/plan/{plan_code}?year=2024&as_of={PAST_DAY}")
            page.click("#sorts a[data-sort='value']")  # the headers are hidden at 390 px
            page.wait_for_load_state("load")
            page.click("#sorts a[data-sort='value']")  # again: descending
            page.wait_for_load_state("load")
            assert "order=desc" in page.url
            order = [el.get_attribute("data-target")
                     for el in page.query_selector_all("#targets tbody tr")]
            by = {r["target_code"]: r for r in rows}
            ratios = [Decimal(by[t]["numerator"]) / by[t]["denominator"] for t in order
                      if by[t]["denominator"]]
            assert ratios == sorted(ratios, reverse=True)
            assert all(not by[t]["denominator"] for t in order[len(ratios):])
            page.screenshot(path=str(shots / "targets-plan-390.png"), full_page=True)

            # The past year's trend: its own snapshot day only; 2023 has none in 2023.
            target = next(r for r in _rows(
                engine, "select target_code, indicator_code from mart_target_evaluation where "
                        "plan_code = :p and year = 2024 and as_of_date = :d and indicator_code"
                        " is not null", p=plan_code, d=date(2025, 6, 30)))

            page.goto(f"{api.base}{PREFIX}/plan/{plan_code}/target/{target['target_code']}"
                      "?year=2024")
            _no_overflow(page, 390)
            tips = [t.text_content() for t in page.query_selector_all(
                "svg.egov-trend circle.point title")]
            assert tips and all(t.startswith("31/12/2024") for t in tips), tips
            assert "·" not in page.inner_text("p:has(+ .unit-trail)").rstrip()[-3:]
            if target["indicator_code"].startswith("catalog_"):  # counts that do not add up
                assert page.query_selector("#children tr[data-own]") is None
            children = page.query_selector_all("#children tbody tr:not([data-own])")
            assert children and {c.get_attribute("data-verdict") for c in children} <= {
                "met", "missed", "no-data"}  # a past year: met / missed, not on track
            page.screenshot(path=str(shots / "targets-past-year-390.png"), full_page=True)
            first = children[0].get_attribute("data-unit")
            page.click(f"#children tr[data-unit='{first}'] a.drill")
            page.wait_for_load_state("load")
            text = page.inner_text("p:has(+ .unit-trail)")
            assert not text.rstrip().endswith("·"), text  # no stray dot on a child's page
            past = next(r for r in _rows(
                engine, "select target_code from mart_target_evaluation where plan_code = "
                        "'tp-tay-ninh-2023' and year = 2023 and as_of_date = :d and "
                        "indicator_code is not null", d=date(2025, 6, 30)))
            page.goto(f"{api.base}{PREFIX}/plan/tp-tay-ninh-2023/target/"
                      f"{past['target_code']}?year=2023")
            assert page.query_selector("svg.egov-trend circle.point") is None
            assert "Không có số liệu chốt trong năm 2023" in page.inner_text("#no-trend")

            # An unknown plan: a page with a way back, not JSON.
            response = page.goto(f"{api.base}{PREFIX}/plan/no-such-plan")
            assert response.status == 404
            assert "text/html" in response.headers["content-type"]
            assert "Không tìm thấy" in page.inner_text("h1")
            assert page.query_selector(f"a[href='{PREFIX}/']") is not None
            response = page.goto(f"{api.base}{PREFIX}/plan/{plan_code}?as_of=not-a-day")
            assert response.status == 400 and "text/html" in response.headers["content-type"]
        finally:
            browser.close()


def test_a_failed_portal_shows_why_with_links_into_airflow(live):
    """Issue 19, 4: the stored error, the run and the failed task as links into the Airflow
    UI, hours since the last load against the stale threshold, each portal's own latest
    validation, times labelled Asia/Ho_Chi_Minh, and where the demo's task logs are."""
    from urllib.parse import quote

    from playwright.sync_api import sync_playwright

    api, password, engine, _ = live
    failed = _rows(engine, "select run_id, error from etl_portal_run where portal_code = :c "
                           "and status = 'failed'", c=FAILING)
    assert len(failed) == 1 and failed[0]["error"]
    run_id = failed[0]["run_id"]
    with sync_playwright() as pw:
        browser, page = _signed_in_page(pw, api, password)
        try:
            page.goto(f"{api.base}{PREFIX}/")
            assert "Asia/Ho_Chi_Minh" in page.inner_text("#freshness-note")
            row = f"#freshness tr[data-portal='{FAILING}']"
            assert page.get_attribute(row, "data-status") == "failed"
            assert page.inner_text(f"{row} .error") == failed[0]["error"]
            assert page.get_attribute(f"{row} a.run-link", "href") == \
                f"/dags/egov_nightly/runs/{quote(run_id, safe='')}"
            task = page.get_attribute(f"{row} a.task-link", "href")
            assert task.startswith(f"/dags/egov_nightly/runs/{quote(run_id, safe='')}/tasks/"
                                   "portal.") and "/mapped/" in task, task

            # Hours since the last successful load, against the threshold (36 h default).
            loaded = _rows(engine, "select portal_code, max(finished_at) as at from "
                                   "etl_portal_run where status = 'loaded' group by portal_code")
            now = datetime.now()
            for r in loaded:
                at = r["at"] if isinstance(r["at"], datetime) else datetime.fromisoformat(
                    str(r["at"]))
                age = page.get_attribute(f"#freshness tr[data-portal='{r['portal_code']}'] "
                                         ".age", "data-hours")
                assert abs(float(age) - (now - at).total_seconds() / 3600) < 0.2
                assert "ngưỡng 36 giờ" in page.inner_text(
                    f"#freshness tr[data-portal='{r['portal_code']}'] .age")
                shown = page.inner_text(f"#freshness tr[data-portal='{r['portal_code']}'] "
                                        ".loaded-at").splitlines()[0]
                assert shown == at.astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).strftime(
                    "%d/%m/%Y %H:%M")  # written on this machine's clock, shown in VN time

            # Each portal's own latest validation, and a Data Docs page of its own.
            hrefs = set()
            for code in PORTALS:
                newest = _rows(engine, "select run_id from dq_validation_result where "
                                       "portal_code = :c order by validated_at desc limit 1",
                               c=code)[0]["run_id"]
                checks = _rows(engine, "select severity, success from dq_validation_result "
                                       "where portal_code = :c and run_id = :r", c=code,
                               r=newest)
                badge = f"#freshness tr[data-portal='{code}'] .quality .badge"
                assert int(page.get_attribute(badge, "data-checked")) == len(checks)
                assert int(page.get_attribute(badge, "data-errors")) == sum(
                    1 for c in checks if c["severity"] == "error" and not c["success"])
                href = page.get_attribute(f"#freshness tr[data-portal='{code}'] a.data-docs",
                                          "href")
                assert f"validations/{code}/dossier_versions/" in href, href
                hrefs.add(href)
            assert len(hrefs) == len(PORTALS)
            assert f"dags-test-{FAILED_RUN}.log" in page.inner_text("#task-logs")
            page.screenshot(path=str(artifacts_dir() / "targets-failed-portal.png"),
                            full_page=True)

            # The links lead somewhere: the portal's own Data Docs page, the Airflow run.
            page.click(f"#freshness tr[data-portal='{FAILING}'] a.data-docs")
            page.wait_for_load_state("load")
            assert "Expectation Validation Result" in page.inner_text("body")
            response = page.goto(f"{api.base}{PREFIX}/")
            page.click(f"{row} a.task-link")
            page.wait_for_load_state("load")
            assert "/tasks/portal." in page.url and response.status == 200
        finally:
            browser.close()


def test_a_units_own_records_and_the_records_behind_a_figure(live):
    """Issue 19, 2: the unit's own records as a row of their own in the drill-down, and from
    there a paged list of the records behind the figure (no personal data) with a CSV."""
    import csv
    import io

    from playwright.sync_api import sync_playwright

    api, password, engine, _ = live
    plan_code = "tay-ninh-2021-2025"
    target = next(r for r in _rows(
        engine, "select target_code, unit_code, indicator_code from mart_target_evaluation "
                "where plan_code = :p and year = 2025 and as_of_date = :d and indicator_code "
                "in ('on_time_rate', 'online_rate')", p=plan_code, d=date(2025, 6, 30)))

    def snap(unit):
        found = _rows(engine, "select numerator, denominator from mart_indicator_snapshot "
                              "where unit_code = :u and indicator_code = :i and period_type = "
                              "'year' and period_start = :y and as_of_date = :d", u=unit,
                      i=target["indicator_code"], y=date(2025, 1, 1), d=date(2025, 6, 30))
        return (found[0]["numerator"], found[0]["denominator"]) if found else (0, 0)

    # A district with communes under it, and records of its own.
    districts = [r["unit_code"] for r in _rows(
        engine, "select unit_code from dim_unit where parent_code = :u and exists (select 1 "
                "from dim_unit c where c.parent_code = dim_unit.unit_code) order by unit_code",
        u=target["unit_code"])]
    children = {d: [r["unit_code"] for r in _rows(
        engine, "select unit_code from dim_unit where parent_code = :u", u=d)]
        for d in districts}
    own = {}
    for d in districts:
        whole = snap(d)
        parts = [snap(c) for c in children[d]]
        own[d] = (whole[0] - sum(p[0] for p in parts), whole[1] - sum(p[1] for p in parts))
    district = next(d for d in districts if own[d][1] > 0)
    base = f"{api.base}{PREFIX}/plan/{plan_code}/target/{target['target_code']}"
    with sync_playwright() as pw:
        browser, page = _signed_in_page(pw, api, password)
        try:
            page.goto(f"{base}?year=2025&unit={district}")
            row = "#children tr[data-own='1']"
            assert (_int(page.inner_text(f"{row} .numerator")),
                    _int(page.inner_text(f"{row} .denominator"))) == own[district]
            assert len(page.query_selector_all("#children tbody tr")) == 1 + len(
                children[district])
            page.screenshot(path=str(artifacts_dir() / "targets-own-records-row.png"),
                            full_page=True)
            page.click(f"{row} a.own-records")
            page.wait_for_load_state("load")
            assert (int(page.get_attribute("#totals", "data-passing")),
                    int(page.get_attribute("#totals", "data-total"))) == own[district]
            codes = {el.get_attribute("data-code")
                     for el in page.query_selector_all("#records tbody tr")}
            unit_of = {r["dossier_code"]: r["unit_code"] for r in _rows(
                engine, "select dossier_code, unit_code from fct_dossier where portal_code = "
                        "'tay-ninh' and unit_code = :u", u=district)}
            assert codes and codes <= set(unit_of)
            headers = [th.inner_text() for th in page.query_selector_all("#records th")]
            assert headers == ["Mã hồ sơ", "Đơn vị", "Thủ tục", "Ngày tiếp nhận",
                               "Ngày hẹn trả", "Ngày kết thúc", "Kênh", "Trạng thái", "Kết quả"]

            # The whole province: paged by 50, and the CSV holds every record.
            page.goto(f"{base}/records?year=2025")
            total = int(page.get_attribute("#totals", "data-total"))
            assert (int(page.get_attribute("#totals", "data-passing")), total) == snap(
                target["unit_code"])
            assert total > 50
            assert int(page.get_attribute("#pager", "data-pages")) == -(-total // 50)
            first = [el.get_attribute("data-code")
                     for el in page.query_selector_all("#records tbody tr")]
            page.click("#pager a[rel=next]")
            page.wait_for_load_state("load")
            second = [el.get_attribute("data-code")
                      for el in page.query_selector_all("#records tbody tr")]
            assert len(first) == 50 and second and not set(first) & set(second)
            page.screenshot(path=str(artifacts_dir() / "targets-records.png"), full_page=True)
            name, body = _download(page, lambda: page.click("#csv"))
            assert name.endswith(".csv")
            table = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
            assert table[0][:3] == ["ma_ho_so", "ma_don_vi", "ten_don_vi"]
            assert len(table) == 1 + total
            assert sum(1 for r in table[1:] if r[-1] == "đạt") == snap(target["unit_code"])[0]
        finally:
            browser.close()
