"""egov_reported: reminders once per unit past report_due (silences respected), on both
warehouses; and the DAG run for real (`airflow dags test egov_reported`)."""

from __future__ import annotations

import csv
import io
import subprocess
from datetime import date, datetime

import pytest
import sqlalchemy as sa
import yaml

from egov.warehouse.schema import alert_state, dim_unit, fct_reported_figure, mart_target_evaluation
from tests.alert_support import SmtpReceiver, WebhookReceiver

PROV, DEPT, DIST = "000.00.00.H08", "000.00.01.H08", "000.00.21.H08"
PLAN = {"code": "bd-test", "title": "Kế hoạch thử Bình Định", "portal": "binh-dinh",
        "unit": PROV, "targets": [
            {"code": "docs", "indicator": None, "comparator": ">=", "thresholds": {2025: 90},
             "clause": "90% văn bản ký số"},
            {"code": "self-check", "indicator": None, "comparator": ">=",
             "thresholds": {2025: 100}, "clause": "100% đơn vị tự kiểm tra",
             "report_by": "children", "report_due": "02-15"},
            {"code": "old", "indicator": None, "comparator": ">=", "thresholds": {2021: 100},
             "clause": "năm 2021: không nhắc nữa"}]}


def units(engine):
    with engine.begin() as conn:
        conn.execute(sa.insert(dim_unit), [
            {"unit_code": c, "portal_code": "binh-dinh", "unit_name": n, "parent_code": p,
             "unit_level": lvl}
            for c, n, p, lvl in [(PROV, "UBND tỉnh", None, "TINH"), (DEPT, "Sở Nội vụ", PROV, "SO"),
                                 (DIST, "Huyện A", PROV, "HUYEN")]])


@pytest.fixture
def env(warehouse, tmp_path, monkeypatch):
    plans = tmp_path / "plans"
    plans.mkdir()
    (plans / "bd.yaml").write_text(yaml.safe_dump(PLAN, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("EGOV_PLANS_DIR", str(plans))
    monkeypatch.setenv("AIRFLOW_CONN_EGOV_WAREHOUSE",
                       warehouse.url.render_as_string(hide_password=False))
    monkeypatch.delenv("EGOV_ALERT_SILENCE", raising=False)
    monkeypatch.delenv("EGOV_ALERTS", raising=False)
    units(warehouse)
    with WebhookReceiver() as hook, SmtpReceiver() as smtp:
        monkeypatch.setenv("AIRFLOW_CONN_EGOV_ALERT_WEBHOOK", hook.conn_uri)
        monkeypatch.setenv("AIRFLOW_CONN_EGOV_SMTP", smtp.conn_uri())
        yield warehouse, hook, smtp


def keys(body) -> set[str]:
    return {a["key"] for a in body["alerts"]}


def test_reminders_once_past_report_due_and_silences(env, monkeypatch):
    from egov.pipeline.reported.step import remind

    engine, hook, smtp = env
    # 20 January: docs is due (01-20) but not past; self-check not before 15 February
    assert remind(as_of=date(2026, 1, 20), run_id="r0")["notified"] == 0
    assert not hook.bodies
    assert remind(as_of=date(2026, 1, 21), run_id="r1")["notified"] == 1
    assert keys(hook.bodies[-1]) == {"report_due:bd-test:docs:2025:" + PROV}
    assert "UBND tỉnh" in hook.bodies[-1]["alerts"][0]["message"]
    assert len(smtp.messages) == 1
    assert remind(as_of=date(2026, 1, 22), run_id="r2")["notified"] == 0  # once only
    monkeypatch.setenv("EGOV_ALERT_SILENCE", f"report_due:bd-test:self-check:2025:{DIST}")
    with engine.begin() as conn:  # the department reports in time
        conn.execute(sa.insert(fct_reported_figure), [{
            "file_hash": "a" * 64, "row_number": 2, "file_name": "so.csv",
            "received_at": datetime(2026, 2, 1), "taken_seq": 1, "plan_code": "bd-test",
            "target_code": "self-check", "unit_code": DEPT, "year": 2025, "data_from": None,
            "data_to": date(2025, 12, 31), "numerator": 1, "denominator": 1, "value_pct": None,
            "source_doc": "1/BC", "evidence_ref": None, "prepared_by": None,
            "approved_by": "GĐ", "approved_at": date(2026, 2, 1), "basis": "self_reported",
            "note": None, "is_sample": False}])
    result = remind(as_of=date(2026, 2, 16), run_id="r3")
    assert (result["notified"], result["silenced"]) == (0, 1)  # the district is silenced
    assert len(hook.bodies) == 1
    with engine.connect() as conn:
        states = dict(conn.execute(sa.select(alert_state.c.alert_key, alert_state.c.state)
                                   .where(alert_state.c.kind == "report_due")).all())
    assert states == {f"report_due:bd-test:docs:2025:{PROV}": "awaiting_report",
                      f"report_due:bd-test:self-check:2025:{DIST}": "awaiting_report"}


HEADER = ["Mã kế hoạch [plan]", "Mã chỉ tiêu [target]", "Mã đơn vị [unit]", "Năm [year]",
          "Số liệu đến ngày [data_to]", "Tử số [numerator]", "Mẫu số [denominator]",
          "Văn bản nguồn [source_doc]", "Người ký duyệt [approved_by]", "Ngày ký [approved_at]",
          "Căn cứ [basis]"]


def test_airflow_dags_test_egov_reported(tmp_path):
    """`airflow dags test egov_reported 2026-02-01`: the inbox file is taken, its receipt
    written, the plan evaluated as of 2026-01-31, the units past due reminded; a second run
    takes nothing and sends nothing."""
    from egov.warehouse.db import make_engine
    from egov.warehouse.migrations import upgrade
    from tests.e2e_support import AIRFLOW, airflow_env, migrate_metadata

    plans = tmp_path / "plans"
    plans.mkdir()
    (plans / "bd.yaml").write_text(yaml.safe_dump(PLAN, allow_unicode=True), encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'wh.db'}"
    engine = make_engine(url)
    upgrade(engine)
    units(engine)
    inbox = tmp_path / "reported" / "inbox"
    inbox.mkdir(parents=True)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    writer.writerow(["bd-test", "self-check", DEPT, "2025", "2025-12-31", "3", "3", "9/BC",
                     "Giám đốc", "2026-01-10", "verified"])
    writer.writerow(["bd-test", "self-check", DEPT, "2025", "2025-12-31", "4", "3", "9/BC",
                     "Giám đốc", "2026-01-10", "verified"])
    (inbox / "so-noi-vu.csv").write_text(buffer.getvalue(), encoding="utf-8")
    with WebhookReceiver() as hook, SmtpReceiver() as smtp:
        env = {**airflow_env(tmp_path / "home"), "AIRFLOW_CONN_EGOV_WAREHOUSE": url,
               "EGOV_PLANS_DIR": str(plans), "EGOV_REPORTED_DIR": str(tmp_path / "reported"),
               "AIRFLOW_CONN_EGOV_ALERT_WEBHOOK": hook.conn_uri,
               "AIRFLOW_CONN_EGOV_SMTP": smtp.conn_uri()}
        (tmp_path / "home").mkdir()
        migrate_metadata(env)

        def run(day):
            proc = subprocess.run([AIRFLOW, "dags", "test", "egov_reported", day], env=env,
                                  capture_output=True, text=True, timeout=900)
            text = proc.stdout + proc.stderr
            (tmp_path / f"dags-test-{day}.log").write_text(text)
            return proc.returncode, text

        code, text = run("2026-02-01")
        assert code == 0, text[-4000:]
        receipt = (tmp_path / "reported" / "receipts" / "so-noi-vu.csv.receipt.csv")
        lines = list(csv.DictReader(io.StringIO(receipt.read_text(encoding="utf-8-sig"),
                                                newline="")))
        assert [(r["row"], r["status"], r["rule"]) for r in lines] == [
            ("2", "accepted", ""), ("3", "rejected", "numerator_above_denominator")]
        with engine.connect() as conn:
            rows = {r["target_code"]: r for r in conn.execute(
                sa.select(mart_target_evaluation).where(
                    mart_target_evaluation.c.as_of_date == date(2026, 1, 31))).mappings()}
        assert {k: r["status"] for k, r in rows.items()} == {
            "docs": "awaiting_report", "self-check": "met", "old": "awaiting_report"}
        r = rows["self-check"]  # the department reported; the district not yet (due 15/02)
        assert (r["numerator"], r["denominator"], r["reported_units"], r["expected_units"],
                r["basis"]) == (3, 3, 1, 2, "verified")
        assert len(hook.bodies) == 1 and len(smtp.messages) == 1, text[-3000:]
        assert keys(hook.bodies[0]) == {f"report_due:bd-test:docs:2025:{PROV}"}

        code, text = run("2026-02-01")  # nothing new: nothing taken, nothing sent
        assert code == 0, text[-4000:]
        assert len(hook.bodies) == 1 and not list(inbox.iterdir())
    engine.dispose()
