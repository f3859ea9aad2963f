"""The Targets page's reported figures in a real headless Chromium against a live Airflow API
server: an editor uploads a filled file and reads its receipt; a viewer sees no form and gets
403 from the endpoint; the plan page shows the reported figure with its basis and source
document, the target page the revisions and the units still to report."""

from __future__ import annotations

import csv
import io
import json
import secrets
from datetime import date

import pytest
import sqlalchemy as sa
import yaml

from tests.e2e_support import airflow_env, migrate_metadata
from tests.ui_support import ApiServer, artifacts_dir, launch_chromium, sign_in

pytestmark = pytest.mark.e2e

PREFIX = "/egov-targets"
PROV, DEPT, DIST = "000.00.00.H08", "000.00.01.H08", "000.00.21.H08"
PLAN = {"code": "bd-page", "title": "Kế hoạch thử trang", "portal": "binh-dinh", "unit": PROV,
        "targets": [
            {"code": "self-check", "indicator": None, "comparator": ">=",
             "thresholds": {2025: 100}, "clause": "100% đơn vị tự kiểm tra",
             "report_by": "children"},
            {"code": "docs", "indicator": None, "comparator": ">=", "thresholds": {2025: 90},
             "clause": "90% văn bản ký số"},
            {"code": "online", "indicator": "online_rate", "comparator": ">=",
             "thresholds": {2025: 50}, "clause": "50% hồ sơ trực tuyến"}]}
HEADER = ["Mã kế hoạch [plan]", "Mã chỉ tiêu [target]", "Mã đơn vị [unit]", "Năm [year]",
          "Số liệu đến ngày [data_to]", "Tử số [numerator]", "Mẫu số [denominator]",
          "Văn bản nguồn [source_doc]", "Người ký duyệt [approved_by]", "Ngày ký [approved_at]",
          "Căn cứ [basis]"]


def filled_csv() -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    writer.writerow(["bd-page", "self-check", DEPT, "2025", "2025-12-31", "12", "12",
                     "33/BC-SNV ngày 05/01/2026", "Giám đốc Sở Nội vụ", "2026-01-05",
                     "verified"])
    writer.writerow(["bd-page", "self-check", DIST, "2025", "2025-12-31", "13", "12",
                     "7/BC-UBND", "Chủ tịch UBND huyện", "2026-01-05", "self_reported"])
    writer.writerow(["bd-page", "online", PROV, "2025", "2025-12-31", "7", "10",
                     "90/BC-UBND", "Chủ tịch UBND tỉnh", "2026-01-05", "self_reported"])
    return buffer.getvalue().encode("utf-8")


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    from egov.warehouse.db import make_engine
    from egov.warehouse.migrations import upgrade
    from egov.warehouse.schema import dim_unit

    home = tmp_path_factory.mktemp("airflow_reported_page")
    plans = home / "plans"
    plans.mkdir()
    (plans / "bd.yaml").write_text(yaml.safe_dump(PLAN, allow_unicode=True), encoding="utf-8")
    url = f"sqlite:///{home / 'warehouse.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(sa.insert(dim_unit), [
            {"unit_code": c, "portal_code": "binh-dinh", "unit_name": n, "parent_code": p,
             "unit_level": lvl}
            for c, n, p, lvl in [(PROV, "UBND tỉnh", None, "TINH"),
                                 (DEPT, "Sở Nội vụ", PROV, "SO"), (DIST, "Huyện A", PROV,
                                                                   "HUYEN")]])
    passwords = {"editor": secrets.token_urlsafe(12), "reader": secrets.token_urlsafe(12)}
    (home / "passwords.json").write_text(json.dumps(passwords))
    env = {**airflow_env(home),
           "AIRFLOW__CORE__AUTH_MANAGER":
               "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
           "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "editor:user,reader:viewer",
           "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
           "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
           "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
           "AIRFLOW_CONN_EGOV_WAREHOUSE": url, "EGOV_PLANS_DIR": str(plans),
           "EGOV_REPORTED_DIR": str(home / "reported")}
    migrate_metadata(env)
    api = ApiServer(env, home / "api-server.log").wait()
    yield api, passwords, engine, env, home
    api.stop()
    engine.dispose()


def test_editor_uploads_viewer_refused_and_the_page_shows_the_figures(live, monkeypatch):
    from playwright.sync_api import sync_playwright

    api, passwords, engine, env, home = live
    shots = artifacts_dir()
    upload = home / "Bao cao tu kiem tra 2025.csv"
    upload.write_bytes(filled_csv())
    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        try:
            # A viewer: no form, and the endpoint refuses with 403.
            viewer = browser.new_context()
            page = viewer.new_page()
            sign_in(page, api, passwords["reader"], user="reader")
            page.goto(f"{api.base}{PREFIX}/")
            assert page.query_selector("form#upload") is None
            response = viewer.request.post(
                f"{api.base}{PREFIX}/upload", headers={"Origin": api.base},
                multipart={"file": {"name": "x.csv", "mimeType": "text/csv",
                                    "buffer": filled_csv()}})
            assert response.status == 403, response.text()[:500]
            viewer.close()

            # An editor: the form, the upload, the receipt.
            editor = browser.new_context(viewport={"width": 1400, "height": 1000})
            page = editor.new_page()
            sign_in(page, api, passwords["editor"], user="editor")
            page.goto(f"{api.base}{PREFIX}/")
            page.set_input_files("form#upload input[type=file]", str(upload))
            page.click("form#upload button[type=submit]")
            page.wait_for_selector("table#receipt")
            rows = [(tr.get_attribute("data-row"), tr.get_attribute("data-status"),
                     tr.get_attribute("data-rule"))
                    for tr in page.query_selector_all("table#receipt tbody tr")]
            assert rows == [("2", "accepted", ""),
                            ("3", "rejected", "numerator_above_denominator"),
                            ("4", "accepted", "")]
            assert "Tử số lớn hơn mẫu số" in page.inner_text("table#receipt")
            assert page.get_attribute("#summary", "data-accepted") == "2"
            page.screenshot(path=str(shots / "reported-receipt.png"), full_page=True)
            # a cross-site form post is refused even for an editor
            response = editor.request.post(
                f"{api.base}{PREFIX}/upload", headers={"Origin": "http://evil.example"},
                multipart={"file": {"name": "y.csv", "mimeType": "text/csv",
                                    "buffer": filled_csv()}})
            assert response.status == 403

            # The DAG's evaluate step (as egov_reported runs it) for 31 January 2026.
            for key in ("AIRFLOW_CONN_EGOV_WAREHOUSE", "EGOV_PLANS_DIR", "EGOV_REPORTED_DIR"):
                monkeypatch.setenv(key, env[key])
            from egov.pipeline.reported.step import evaluate, take

            taken = take(run_id="manual")
            assert taken["plans"] == ["bd-page"]  # the upload, claimed by the run
            evaluate(taken["plans"], as_of=date(2026, 1, 31), run_id="manual")

            page.goto(f"{api.base}{PREFIX}/plan/bd-page")
            tr = "tr[data-target='self-check'][data-year='2025']"
            assert page.get_attribute(tr, "data-status") == "met"
            assert page.get_attribute(f"{tr} .basis", "data-basis") == "verified"
            assert "33/BC-SNV ngày 05/01/2026" in page.inner_text(f"{tr} .source-doc")
            assert page.get_attribute(f"{tr} .units", "data-reported") == "1"
            assert page.get_attribute(f"{tr} .units", "data-expected") == "2"
            docs = "tr[data-target='docs'][data-year='2025']"
            assert page.get_attribute(docs, "data-status") == "awaiting_report"
            # a measured target keeps its measured status (no snapshot here: no_data); its
            # reported figure is shown beside it
            online = "tr[data-target='online'][data-year='2025']"
            assert page.get_attribute(online, "data-status") == "no_data"
            assert page.get_attribute(f"{online} .basis", "data-basis") == "measured"
            assert page.get_attribute(f"{online} .reported-beside", "data-value") == "70.00"
            page.screenshot(path=str(shots / "reported-plan.png"), full_page=True)

            page.click(f"{tr} a.target-link")
            page.wait_for_selector("table#revisions")
            counted = {tr.get_attribute("data-unit"): tr.get_attribute("data-counts")
                       for tr in page.query_selector_all("table#revisions tbody tr")}
            assert counted == {DEPT: "1"}
            assert [li.get_attribute("data-unit")
                    for li in page.query_selector_all("#awaited li")] == [DIST]
            page.goto(f"{api.base}{PREFIX}/")
            links = [a.get_attribute("href") for a in page.query_selector_all("#receipts a")]
            assert links and links[0].endswith("Bao_cao_tu_kiem_tra_2025.csv.receipt.csv")
            editor.close()
        finally:
            browser.close()
