"""Alerts against a local HTTP receiver and a local SMTP server: one message per change of
state, nothing on reruns, one again when the state changes again; portal failures and stale
data; silencing; delivery failures retried; the Deadline Alert's callback, run the way the
triggerer runs it. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import insert, select, update

from egov.warehouse.schema import alert_state, etl_portal_run, mart_target_evaluation
from tests.alert_support import SmtpReceiver, WebhookReceiver

AS_OF = date(2025, 6, 30)
NOW = datetime(2025, 7, 1, 2, 0)
PORTALS = ["binh-dinh", "tay-ninh"]


@pytest.fixture
def receivers(monkeypatch):
    with WebhookReceiver() as hook, SmtpReceiver() as smtp:
        monkeypatch.setenv("AIRFLOW_CONN_EGOV_ALERT_WEBHOOK", hook.conn_uri)
        monkeypatch.setenv("AIRFLOW_CONN_EGOV_SMTP", smtp.conn_uri())
        monkeypatch.delenv("EGOV_ALERT_SILENCE", raising=False)
        monkeypatch.delenv("EGOV_ALERTS", raising=False)
        yield hook, smtp


@pytest.fixture
def wh(warehouse, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_EGOV_WAREHOUSE",
                       warehouse.url.render_as_string(hide_password=False))
    return warehouse


def _evaluation(target: str, status: str, *, year: int = 2025, as_of: date = AS_OF,
                plan: str = "plan-a", num: int = 40, den: int = 100) -> dict:
    return {"as_of_date": as_of, "plan_code": plan, "target_code": target, "unit_code": "U1",
            "indicator_code": "online_rate", "year": year, "comparator": ">=",
            "threshold_pct": 50, "value_pct": round(100 * num / den, 2), "numerator": num,
            "denominator": den, "status": status, "clause": f"“{target}” tối thiểu 50%",
            "portal_code": "binh-dinh", "plan_title": "Kế hoạch A", "run_id": "r"}


def _portal_run(run_id: str, portal: str, status: str, finished: datetime) -> dict:
    return {"run_id": run_id, "portal_code": portal, "status": status, "finished_at": finished}


def _seed(engine, evaluations, runs):
    with engine.begin() as conn:
        if evaluations:
            conn.execute(insert(mart_target_evaluation), evaluations)
        if runs:
            conn.execute(insert(etl_portal_run), runs)


def _run(run_id="run-1", as_of=AS_OF, now=NOW):
    from egov.serve.alerts.step import run_alerts

    return run_alerts(run_id=run_id, as_of=as_of.isoformat(), portals=PORTALS, now=now)


def _keys(body) -> set[str]:
    return {a["key"] for a in body["alerts"]}


def test_one_message_per_change_never_a_storm_on_reruns(wh, receivers):
    hook, smtp = receivers
    _seed(wh, [_evaluation("t-risk", "at_risk"), _evaluation("t-ok", "on_track", num=60),
               _evaluation("t-missed-2024", "missed", year=2024),
               _evaluation("t-old", "missed", year=2022)],
          [_portal_run("run-1", "binh-dinh", "loaded", NOW - timedelta(hours=1)),
           _portal_run("run-1", "tay-ninh", "failed", NOW - timedelta(hours=1))])
    result = _run()
    assert result["notified"] == 4 and result["channels"] == ["webhook", "email"]
    [body] = hook.bodies
    assert _keys(body) == {"target:plan-a:t-risk:2025", "target:plan-a:t-missed-2024:2024",
                           "portal_failed:tay-ninh", "portal_stale:tay-ninh"}
    assert body["run_id"] == "run-1" and body["as_of"] == "2025-06-30"
    risk = next(a for a in body["alerts"] if a["key"].endswith("t-risk:2025"))
    assert risk["state"] == "at_risk" and risk["previous"] is None
    assert "40.00% (40/100)" in risk["message"] and "“t-risk” tối thiểu 50%" in risk["message"]
    [mail] = smtp.messages
    assert mail["To"] == "ops@example.vn, analyst@example.vn"
    assert "4 cảnh báo" in mail["Subject"]
    assert "t-risk" in mail.get_content() and "tay-ninh" in mail.get_content()

    # The same run again (a rerun, a retry): nothing new goes out.
    assert _run()["notified"] == 0
    assert _run(run_id="run-1b")["notified"] == 0
    assert len(hook.bodies) == 1 and len(smtp.messages) == 1

    # The state changes again: one message, naming that change only.
    with wh.begin() as conn:
        conn.execute(update(mart_target_evaluation)
                     .where(mart_target_evaluation.c.target_code == "t-ok")
                     .values(status="at_risk", numerator=45, value_pct=45))
    assert _run()["notified"] == 1
    assert len(hook.bodies) == 2 and len(smtp.messages) == 2
    assert _keys(hook.bodies[-1]) == {"target:plan-a:t-ok:2025"}
    assert hook.bodies[-1]["alerts"][0]["previous"] is None

    # at_risk -> out_of_reach (the outlook): a change, one message.
    with wh.begin() as conn:
        conn.execute(update(mart_target_evaluation)
                     .where(mart_target_evaluation.c.target_code == "t-ok")
                     .values(outlook="out_of_reach", needed_share_pct=130))
    assert _run()["notified"] == 1
    last = hook.bodies[-1]["alerts"]
    assert [(a["key"], a["previous"], a["state"]) for a in last] == [
        ("target:plan-a:t-ok:2025", "at_risk", "out_of_reach")]
    assert "130.00%" in last[0]["message"]
    assert len(hook.bodies) == 3 and len(smtp.messages) == 3

    # Recovery is recorded silently; a relapse alerts again, once.
    with wh.begin() as conn:
        conn.execute(update(mart_target_evaluation)
                     .where(mart_target_evaluation.c.target_code == "t-risk")
                     .values(status="on_track"))
    assert _run()["notified"] == 0 and len(hook.bodies) == 3
    with wh.connect() as conn:
        assert conn.execute(select(alert_state.c.state).where(
            alert_state.c.alert_key == "target:plan-a:t-risk:2025")).scalar() == "ok"
    with wh.begin() as conn:
        conn.execute(update(mart_target_evaluation)
                     .where(mart_target_evaluation.c.target_code == "t-risk")
                     .values(status="at_risk"))
    assert _run()["notified"] == 1
    assert hook.bodies[-1]["alerts"][0]["previous"] == "ok"
    assert len(hook.bodies) == 4 and len(smtp.messages) == 4


def test_portal_recovers_and_fails_again(wh, receivers):
    hook, _ = receivers
    _seed(wh, [], [_portal_run("r1", "binh-dinh", "failed", NOW),
                   _portal_run("r1", "tay-ninh", "loaded", NOW)])
    _run("r1", now=NOW)
    assert "portal_failed:binh-dinh" in _keys(hook.bodies[-1])
    _seed(wh, [], [_portal_run("r2", "binh-dinh", "loaded", NOW + timedelta(days=1)),
                   _portal_run("r2", "tay-ninh", "loaded", NOW + timedelta(days=1))])
    assert _run("r2", now=NOW + timedelta(days=1, hours=1))["notified"] == 0
    _seed(wh, [], [_portal_run("r3", "binh-dinh", "failed", NOW + timedelta(days=2)),
                   _portal_run("r3", "tay-ninh", "loaded", NOW + timedelta(days=2))])
    assert _run("r3", now=NOW + timedelta(days=2, hours=1))["notified"] == 1
    assert _keys(hook.bodies[-1]) == {"portal_failed:binh-dinh"}


def test_stale_data_after_the_configured_age(wh, receivers, monkeypatch):
    hook, _ = receivers
    monkeypatch.setenv("EGOV_ALERT_STALE_HOURS", "48")
    _seed(wh, [], [_portal_run("r1", "binh-dinh", "loaded", NOW),
                   _portal_run("r1", "tay-ninh", "loaded", NOW)])
    assert _run("r1", now=NOW + timedelta(hours=47))["notified"] == 0
    assert _run("r1", now=NOW + timedelta(hours=49))["notified"] == 2
    assert _keys(hook.bodies[-1]) == {"portal_stale:binh-dinh", "portal_stale:tay-ninh"}
    assert "48 giờ" in hook.bodies[-1]["alerts"][0]["message"]
    assert _run("r1", now=NOW + timedelta(hours=72))["notified"] == 0


def test_silenced_alerts_send_nothing(wh, receivers, monkeypatch):
    from egov.serve.alerts.__main__ import main

    hook, smtp = receivers
    monkeypatch.setenv("EGOV_ALERT_SILENCE", "portal_stale:*")
    _seed(wh, [_evaluation("t1", "at_risk")], [_portal_run("r1", "binh-dinh", "loaded", NOW),
                                                _portal_run("r1", "tay-ninh", "failed", NOW)])
    _run("r1")
    assert _keys(hook.bodies[-1]) == {"target:plan-a:t1:2025", "portal_failed:tay-ninh"}
    url = wh.url.render_as_string(hide_password=False)
    assert main(["--url", url, "silence", "target:plan-a:*", "--days", "3"]) == 0
    with wh.begin() as conn:
        conn.execute(update(mart_target_evaluation).values(status="on_track"))
    _run("r1")
    with wh.begin() as conn:
        conn.execute(update(mart_target_evaluation).values(status="at_risk"))
    assert _run("r1")["notified"] == 0 and len(hook.bodies) == 1
    assert main(["--url", url, "unsilence", "target:plan-a:*"]) == 0


def test_a_failed_delivery_is_sent_again_next_time(wh, receivers):
    from egov.serve.alerts.channels import ChannelError

    hook, smtp = receivers
    _seed(wh, [_evaluation("t1", "at_risk")], [_portal_run("r1", "binh-dinh", "loaded", NOW),
                                                _portal_run("r1", "tay-ninh", "loaded", NOW)])
    hook.status = 500
    with pytest.raises(ChannelError, match="HTTP 500"):
        _run("r1")
    with wh.connect() as conn:
        assert conn.execute(select(alert_state)).first() is None  # nothing recorded
    hook.status = 200
    assert _run("r1")["notified"] == 1
    assert _keys(hook.bodies[-1]) == {"target:plan-a:t1:2025"}


def test_only_the_latest_day_of_a_plan_alerts(wh, receivers):
    hook, _ = receivers
    _seed(wh, [_evaluation("t1", "at_risk", as_of=date(2025, 5, 31)),
               _evaluation("t1", "on_track", num=70)],
          [_portal_run("r1", "binh-dinh", "loaded", NOW),
           _portal_run("r1", "tay-ninh", "loaded", NOW)])
    assert _run("recompute", as_of=date(2025, 5, 31))["notified"] == 0  # a past day
    assert not hook.bodies


def test_deadline_callback_as_the_triggerer_runs_it(wh, receivers):
    """`CallbackTrigger` is what the triggerer runs for an AsyncCallback."""
    from airflow.triggers.callback import CallbackTrigger

    hook, smtp = receivers

    def fire(run_type: str, run_id: str):
        trigger = CallbackTrigger(
            "egov.serve.alerts.notifier.EgovAlertNotifier",
            {"event": "deadline", "deadline_hour": 7,
             "context": {"dag_run": {"dag_id": "egov_nightly", "dag_run_id": run_id,
                                     "run_type": run_type},
                         "deadline": {"deadline_time": "2025-07-01T00:00:00+00:00"}}})

        async def collect():
            return [event.payload async for event in trigger.run()]

        return asyncio.run(collect())

    events = fire("scheduled", "scheduled__2025-07-01")
    assert events[-1]["state"] == "success", events
    [body] = hook.bodies
    assert body["event"] == "deadline"
    assert _keys(body) == {"deadline:egov_nightly:scheduled__2025-07-01"}
    assert "7:00" in body["alerts"][0]["message"] and len(smtp.messages) == 1
    assert fire("scheduled", "scheduled__2025-07-01")[-1]["state"] == "success"
    assert fire("backfill", "backfill__2025-06-01")[-1]["state"] == "success"
    assert len(hook.bodies) == 1  # once per run; backfills are late by construction


def test_the_dag_has_the_deadline_alert(monkeypatch):
    from airflow.dag_processing.dagbag import DagBag
    from airflow.sdk import AsyncCallback, DeadlineReference

    from tests.e2e_support import REPO

    bag = DagBag(dag_folder=str(REPO / "dags"))
    dag = bag.dags["egov_nightly"]
    [alert] = dag.deadline if isinstance(dag.deadline, list) else [dag.deadline]
    assert alert.reference == DeadlineReference.DAGRUN_LOGICAL_DATE
    assert alert.interval == timedelta(hours=6)  # 01:00 + 6 h = 07:00 local (default)
    assert isinstance(alert.callback, AsyncCallback)
    assert alert.callback.path == "egov.serve.alerts.notifier.EgovAlertNotifier"
    assert "alerts" in dag.task_ids and dag.get_task("alerts").trigger_rule == "all_done"


@pytest.mark.e2e
def test_the_nightly_run_alerts_once(tmp_path):
    """`airflow dags test` against the simulator: the alerts task sends the run's changes to
    the webhook and the SMTP server; the same run again sends nothing."""
    from egov.simulator.server import SimulatorFleet
    from egov.simulator.world import build_world
    from tests.e2e_support import airflow_env, migrate_metadata, portal_conn_env, run_dag

    world = build_world(seed=3, scale=60, clock=datetime(2025, 6, 30, 20, 0), malformed_rate=0)
    credentials = {"tay-ninh": ("tay-ninh", "pw-alerts")}  # its plans run to 2025
    fleet = SimulatorFleet(world, host="127.0.0.1", base_port=0, credentials=credentials)
    fleet.start()
    try:
        with WebhookReceiver() as hook, SmtpReceiver() as smtp:
            env = {**airflow_env(tmp_path / "home"), **portal_conn_env(fleet, credentials),
                   "AIRFLOW_CONN_EGOV_WAREHOUSE": f"sqlite:///{tmp_path / 'wh.db'}",
                   "EGOV_RAW_DIR": str(tmp_path / "raw"), "EGOV_FIRST_LOAD_WINDOW_MONTHS": "60",
                   "AIRFLOW_CONN_EGOV_ALERT_WEBHOOK": hook.conn_uri,
                   "AIRFLOW_CONN_EGOV_SMTP": smtp.conn_uri()}
            (tmp_path / "home").mkdir()
            migrate_metadata(env)
            conf = {"portals": ["tay-ninh"]}
            code, text = run_dag(env, "2025-07-01", conf, log_dir=tmp_path / "logs")
            assert code == 0, text[-4000:]
            assert len(hook.bodies) == 1 and len(smtp.messages) == 1, text[-3000:]
            keys = _keys(hook.bodies[0])
            from egov.warehouse.db import make_engine

            engine = make_engine(env["AIRFLOW_CONN_EGOV_WAREHOUSE"])
            with engine.connect() as conn:
                expected = {f"target:{p}:{t}:{y}" for p, t, y in conn.execute(
                    select(mart_target_evaluation.c.plan_code,
                           mart_target_evaluation.c.target_code, mart_target_evaluation.c.year)
                    .where(mart_target_evaluation.c.as_of_date == AS_OF,
                           mart_target_evaluation.c.year >= 2024,
                           mart_target_evaluation.c.status.in_(["at_risk", "missed"])))}
            engine.dispose()
            assert expected and keys == expected

            code, text = run_dag(env, "2025-07-01", conf, log_dir=tmp_path / "logs")
            assert code == 0, text[-4000:]
            assert len(hook.bodies) == 1 and len(smtp.messages) == 1  # a rerun: nothing new
    finally:
        fleet.stop()
