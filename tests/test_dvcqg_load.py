"""The index's reads into the warehouse (SQLite and PostgreSQL): a complete read becomes the
current figures with every value as recorded; reloading a read changes nothing; a partial or
failed read (5xx, 403/429, an envelope code, a body that is not JSON, a row without its key)
is recorded with its reason and never replaces the last complete read; 403/429 stop that
province only."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from egov.pipeline.dvcqg import read_province
from egov.sources.dvcqg.client import DvcqgClient
from egov.warehouse.schema import (
    dvcqg_department,
    dvcqg_metric,
    dvcqg_metric_history,
    dvcqg_read,
    dvcqg_score,
    dvcqg_score_history,
)
from tests.dvcqg_replay import RECORDED_ROOT, ReplayServer, recorded

OTHER_ROOT = "019d2be3-0000-7000-8000-00000000a0a0"
PROVINCE = {"code": "phu-tho", "name": "Phú Thọ", "conn_id": "dvcqg_portal",
            "root_department_id": RECORDED_ROOT}
OTHER = {"code": "other", "name": "Other", "conn_id": "dvcqg_portal",
         "root_department_id": OTHER_ROOT}
YEAR = [{"period": "2026", "provisional": True}]


@pytest.fixture
def server():
    with ReplayServer() as srv:
        yield srv


def _read(server, engine, province=PROVINCE, periods=YEAR, tmp=None, run_id="test__1",
          as_of="2026-09-25"):
    client = DvcqgClient(server.base_url, province_code=province["code"], pause=0,
                         backoff_base=0.001, max_retries=2)
    return read_province(province, periods, as_of=as_of, run_id=run_id, engine=engine,
                         client=client, raw_root=str(tmp))


def _count(engine, table, **where):
    query = select(func.count()).select_from(table)
    for k, v in where.items():
        query = query.where(table.c[k] == v)
    with engine.connect() as conn:
        return conn.execute(query).scalar()


def test_a_complete_read_is_stored_exactly_and_reloading_changes_nothing(
        warehouse, server, tmp_path):
    [result] = _read(server, warehouse, tmp=tmp_path)
    assert result["complete"] and result["current"] and result["score_warnings"] == 0
    assert _count(warehouse, dvcqg_score) == 6 * 164
    with warehouse.connect() as conn:
        scores = {(r.department_id, r.group_code): r for r in conn.execute(select(dvcqg_score))}
        metrics = {(r.department_id, r.group_code, r.metric_code): r
                   for r in conn.execute(select(dvcqg_metric))}
        [read] = conn.execute(select(dvcqg_read)).all()
    assert read.complete and read.provisional and read.reason is None
    assert read.period_type == "year" and read.period_start == date(2026, 1, 1)
    assert read.groups_read.split(",") == ["transparency", "satisfaction", "digitized",
                                           "progress", "online_service", "online_payment"]
    # every recorded number and null, through the warehouse
    bodies = recorded()
    data = json.loads(bodies["evaluation/dossier-digitized"])["data"]
    for row in [data["overview"]] + data["evaluation"]:
        for m in row["metrics"]:
            stored = metrics[(row["departmentId"], "digitized", m["code"])]
            for field, column in (("numerator", "numerator"), ("denominator", "denominator"),
                                  ("ratio", "ratio"), ("score", "score"),
                                  ("maxScore", "max_score")):
                assert getattr(stored, column) == m[field] if m[field] is not None \
                    else getattr(stored, column) is None, (row["departmentId"], m["code"])
    progress = json.loads(bodies["evaluation/dvc-progress-tree"])["data"]
    child = progress["children"][7]
    assert scores[(child["departmentId"], "progress")].score == child["score"]
    assert metrics[(child["departmentId"], "progress", "avgProcessingDays")].numerator == \
        child["avgProcessingDays"]
    assert scores[(RECORDED_ROOT, "online_payment")].score == 6.67
    assert sum(scores[(RECORDED_ROOT, g)].score for g in
               ("transparency", "satisfaction", "digitized", "progress", "online_service",
                "online_payment")) == pytest.approx(61.89)
    sync = metrics[(RECORDED_ROOT, "transparency", "DOSSIER_SYNC")]
    assert sync.data_quality_status == "TEMP_NATIONAL_REPORT_DENOMINATOR"
    assert _count(warehouse, dvcqg_department) == 164
    # the raw zone holds each response with its request and SHA-256
    manifest = json.loads(open(result["manifest"], encoding="utf-8").read())
    assert len(manifest["responses"]) == 6 and manifest["complete"]
    import hashlib

    from egov.sources.dvcqg.raw import read_response

    for entry in manifest["responses"]:
        content = read_response(Path(result["manifest"]).parent, entry)
        assert hashlib.sha256(content).hexdigest() == entry["sha256"]
        assert content == bodies[entry["path"].split("/reporting/")[1]]
    # the same read loaded again (a retried load) changes nothing
    from egov.periods import period_containing
    from egov.sources.dvcqg.groups import GROUPS
    from egov.sources.dvcqg.records import parse_group
    from egov.sources.dvcqg.scores import check
    from egov.warehouse.dvcqg import ReadOutcome, load_read

    groups = []
    for g in GROUPS:
        rows = parse_group(g, [json.loads(bodies[g.path])["data"]], RECORDED_ROOT)
        check(rows)
        groups.append(rows)
    from datetime import datetime

    outcome = ReadOutcome("phu-tho", RECORDED_ROOT, period_containing("year", date(2026, 1, 1)),
                          datetime.fromisoformat(result["read_at"]), True, True,
                          as_of=date(2026, 9, 25))
    before = _count(warehouse, dvcqg_metric_history)
    with warehouse.begin() as conn:
        assert load_read(conn, outcome, groups)
    assert _count(warehouse, dvcqg_read) == 1
    assert _count(warehouse, dvcqg_metric_history) == before == _count(warehouse, dvcqg_metric)


def _endless(body):
    data = {"parent": {}, "children": [], "pagination": {
        "total": 10**7, "currentPage": body["currentPage"], "pageSize": 100,
        "totalPages": 10**5}}
    return 201, json.dumps({"code": "OK", "data": data, "message": "OK"}).encode()


@pytest.mark.parametrize("failure", ["5xx", "403", "429", "envelope", "not_json", "no_key",
                                     "never_ends"])
def test_a_failed_read_is_recorded_and_never_replaces_the_complete_one(
        warehouse, server, tmp_path, failure):
    _read(server, warehouse, tmp=tmp_path, run_id="first")
    with warehouse.connect() as conn:
        before = sorted(map(tuple, conn.execute(select(dvcqg_score)).all()))
    key = (RECORDED_ROOT, "evaluation/dvc-progress-tree")
    no_key = json.loads(recorded()["evaluation/dvc-progress-tree"])
    no_key["data"]["children"][3]["departmentId"] = None
    answers = {"5xx": [(503, b"")] * 5, "403": [(403, b"")], "429": [(429, b"")],
               "envelope": [(201, b'{"code": "ERROR", "data": null, "message": "loi"}')],
               "not_json": [(201, b"<html>")] * 5,
               "no_key": [(201, json.dumps(no_key).encode())],
               "never_ends": [_endless] * 60}[failure]
    server.script[key] = list(answers)
    periods = YEAR + [{"period": "2026-Q3", "provisional": True}]
    results = _read(server, warehouse, periods=periods, tmp=tmp_path, run_id="second")
    failed = results[0]
    assert not failed["complete"] and failed["reason"].startswith("progress: ")
    with warehouse.connect() as conn:
        after = sorted(map(tuple, conn.execute(select(dvcqg_score)
                                               .where(dvcqg_score.c.period_type == "year"))
                           .all()))
        reads = conn.execute(select(dvcqg_read).order_by(dvcqg_read.c.read_at)).all()
    assert after == before  # the last complete read stays current
    assert [r.complete for r in reads[:2]] == [True, False]
    assert reads[1].groups_read == "transparency,satisfaction,digitized"
    if failure in ("403", "429"):  # no retry; the province's next period is not read
        assert reads[1].http_status == int(failure)
        assert not results[1]["complete"] and "not read" in results[1]["reason"]
        assert f"HTTP {failure}" in results[1]["reason"]
    else:  # the next period is read
        assert results[1]["complete"]
    assert _count(warehouse, dvcqg_score_history) == 6 * 164 * (1 + results[1]["complete"])


def test_a_blocked_province_does_not_stop_the_others(warehouse, server, tmp_path):
    server.script[(OTHER_ROOT, "evaluation/transparency")] = [(429, b"")]
    blocked = _read(server, warehouse, province=OTHER, tmp=tmp_path)
    fine = _read(server, warehouse, tmp=tmp_path)
    assert not blocked[0]["complete"] and "HTTP 429" in blocked[0]["reason"]
    assert fine[0]["complete"]
    assert _count(warehouse, dvcqg_score, root_department_id=RECORDED_ROOT) == 6 * 164
    assert _count(warehouse, dvcqg_score, root_department_id=OTHER_ROOT) == 0
    assert len([r for r in server.requests if r[1].get("rootDepartmentId") == OTHER_ROOT]) == 1


def test_an_older_complete_read_never_replaces_a_newer_one(warehouse, tmp_path):
    from datetime import datetime, timedelta

    from egov.periods import period_containing
    from egov.sources.dvcqg.groups import GROUPS
    from egov.sources.dvcqg.records import parse_group
    from egov.warehouse.dvcqg import ReadOutcome, load_read

    bodies = recorded()
    groups = [parse_group(g, [json.loads(bodies[g.path])["data"]], RECORDED_ROOT)
              for g in GROUPS]
    year = period_containing("year", date(2026, 1, 1))
    newer = datetime(2026, 9, 26, 2, 0)
    with warehouse.begin() as conn:
        assert load_read(conn, ReadOutcome("phu-tho", RECORDED_ROOT, year, newer, False, True),
                         groups)
    changed = [parse_group(g, [json.loads(bodies[g.path])["data"]], RECORDED_ROOT)
               for g in GROUPS]
    for g in changed:
        for row in g.scores:
            row["score"] = 0.0
    with warehouse.begin() as conn:
        assert not load_read(conn, ReadOutcome("phu-tho", RECORDED_ROOT, year,
                                               newer - timedelta(hours=1), True, True), changed)
    with warehouse.connect() as conn:
        assert conn.execute(select(func.max(dvcqg_score.c.read_at))).scalar() == newer
        assert conn.execute(select(func.sum(dvcqg_score.c.score))).scalar() > 0
    assert _count(warehouse, dvcqg_score_history) == 2 * 6 * 164  # both kept in history


def test_plan_reads_the_runs_periods_and_provisional_ones_until_final(
        warehouse, monkeypatch, tmp_path):
    """As of 2026-09-25: 2026-08, Q3 and 2026 (provisional); July, read only while it was
    provisional and now final (closed > 45 days), is read once more, as final."""
    from datetime import datetime

    from egov.periods import period_containing
    from egov.pipeline.dvcqg import plan_jobs
    from egov.settings import ConfigError
    from egov.warehouse.dvcqg import ReadOutcome, record_read

    monkeypatch.setenv("AIRFLOW_CONN_EGOV_WAREHOUSE",
                       warehouse.url.render_as_string(hide_password=False))
    provinces = tmp_path / "p.yaml"
    provinces.write_text(f"provinces:\n  - {{code: phu-tho, conn_id: c, root_department_id: "
                         f"{RECORDED_ROOT}}}\n", encoding="utf-8")
    monkeypatch.setenv("EGOV_DVCQG_FILE", str(provinces))
    july = period_containing("month", date(2026, 7, 1))
    june = period_containing("month", date(2026, 6, 1))
    with warehouse.begin() as conn:
        record_read(conn, ReadOutcome("phu-tho", RECORDED_ROOT, july, datetime(2026, 8, 2),
                                      True, True))
        record_read(conn, ReadOutcome("phu-tho", RECORDED_ROOT, june, datetime(2026, 7, 2),
                                      True, True))
        record_read(conn, ReadOutcome("phu-tho", RECORDED_ROOT, june, datetime(2026, 8, 20),
                                      False, True))  # June was read final: settled
    [job] = plan_jobs(params={}, logical_date=datetime(2026, 9, 26))
    assert job["as_of"] == "2026-09-25"
    assert job["periods"] == [{"period": "2026-08", "provisional": True},
                              {"period": "2026-Q3", "provisional": True},
                              {"period": "2026", "provisional": True},
                              {"period": "2026-07", "provisional": False}]
    [job] = plan_jobs(params={"periods": ["2025", "2026-Q1"]},
                      logical_date=datetime(2026, 9, 26))
    assert job["periods"] == [{"period": "2025", "provisional": False},
                              {"period": "2026-Q1", "provisional": False}]
    with pytest.raises(ConfigError, match="params.periods: month 2026-09 is not over"):
        plan_jobs(params={"periods": ["2026-09"]}, logical_date=datetime(2026, 9, 26))
    with pytest.raises(ConfigError, match="params.provinces"):
        plan_jobs(params={"provinces": ["nowhere"]}, logical_date=datetime(2026, 9, 26))


def test_every_query_of_the_operators_doc_runs_and_answers(warehouse, server, tmp_path):
    import re

    from sqlalchemy import text

    from tests.e2e_support import REPO

    _read(server, warehouse, tmp=tmp_path)
    server.script[(RECORDED_ROOT, "evaluation/transparency")] = [(403, b"")]
    _read(server, warehouse, periods=[{"period": "2026-08", "provisional": True}],
          tmp=tmp_path, run_id="test__2")
    doc = (REPO / "docs" / "dvcqg.md").read_text(encoding="utf-8")
    queries = re.findall(r"```sql\n(.*?)```", doc, flags=re.S)
    assert len(queries) >= 3  # the first three read what this test loads; the rest must run
    answers = []
    with warehouse.connect() as conn:
        for n, q in enumerate(queries):
            rows = conn.execute(text(q.strip().rstrip(";"))).mappings().all()
            assert rows or n >= 3, q
            answers.append(rows)
    [total] = answers[0]
    assert total["total"] == pytest.approx(61.89) and total["max_total"] == 100
    assert len(answers[1]) == 163 and answers[1][0]["total"] <= answers[1][-1]["total"]
    assert answers[2][0]["http_status"] == 403 and "HTTP 403" in answers[2][0]["reason"]


def test_the_index_indicators_from_the_recorded_read(warehouse, server, tmp_path):
    from egov.compute.indicators.dvcqg import IndicatorError, meets, parse_indicator, values

    _read(server, warehouse, tmp=tmp_path)
    key = {"root_department_id": RECORDED_ROOT, "period_type": "year",
           "period_start": date(2026, 1, 1)}
    with warehouse.connect() as conn:
        def one(code, dep=RECORDED_ROOT):
            [v] = values(conn, code, department_id=dep, **key)
            return v

        total = one("dvcqg:score")
        assert (total.value, total.max_value, total.unit) == (pytest.approx(61.89), 100,
                                                              "points")
        assert one("dvcqg:score:progress").value == 17.68
        p = one("dvcqg:progress")
        assert (p.numerator, p.denominator) == (528684, 597918)
        assert p.value == pytest.approx(100 * 528684 / 597918)
        o = one("dvcqg:online_dossiers")
        assert (o.numerator, o.denominator) == (589496, 597894)
        pay = one("dvcqg:online_payment")
        assert (pay.numerator, pay.denominator) == (309542, 358625)
        on_time = one("dvcqg:PUBLISH_ON_TIME")
        assert (on_time.numerator, on_time.denominator, on_time.value) == (0, 89, 0.0)
        copy_ = one("dvcqg:ELECTRONIC_CERTIFIED_COPY")  # no counts: the portal's ratio
        assert copy_.numerator is None and copy_.value is not None
        units = values(conn, "dvcqg:score", **key)
        assert len(units) == 164 and all(v.max_value == 100 for v in units)
        # children of the online-service tree carry no counts: no value, not 0
        assert [v.department_id for v in values(conn, "dvcqg:online_dossiers", **key)] == \
            [RECORDED_ROOT]
    assert meets(61.89, ">=", 80) is False and meets(81, ">=", 80) is True
    assert meets(None, ">=", 80) is None
    for bad in ("score", "dvcqg:score:nothing", "dvcqg:", "dvcqg:1abc", None):
        with pytest.raises(IndicatorError):
            parse_indicator(bad)
    assert parse_indicator("dvcqg:score:digitized").unit == "points"
    assert parse_indicator("dvcqg:REUSED_DIGITIZED_DATA").unit == "percent"


def test_a_department_renamed_or_gone(warehouse, server, tmp_path):
    """A renamed department keeps its key with its new name; one gone from the answer leaves
    the current figures (its earlier ones stay in history) and keeps its last-seen day."""
    from egov.sources.dvcqg.groups import GROUPS

    _read(server, warehouse, tmp=tmp_path, as_of="2026-09-25")
    bodies = recorded()
    renamed_id = json.loads(bodies["evaluation/transparency"])["data"]["evaluation"][0][
        "departmentId"]
    gone_id = json.loads(bodies["evaluation/transparency"])["data"]["evaluation"][1][
        "departmentId"]
    for g in GROUPS:
        data = json.loads(bodies[g.path])
        rows = data["data"]["evaluation" if "evaluation" in data["data"] else "children"]
        rows[0]["departmentName"] = "Văn phòng UBND tỉnh (tên mới)"
        del rows[1]
        server.script[(RECORDED_ROOT, g.path)] = [(201, json.dumps(data).encode())]
    [result] = _read(server, warehouse, tmp=tmp_path, run_id="test__2", as_of="2026-09-26")
    assert result["complete"]
    with warehouse.connect() as conn:
        names = {r.department_name for r in conn.execute(
            select(dvcqg_score.c.department_name)
            .where(dvcqg_score.c.department_id == renamed_id))}
        deps = {r.department_id: r for r in conn.execute(select(dvcqg_department))}
        gone_history = conn.execute(select(func.count()).select_from(dvcqg_score_history)
                                    .where(dvcqg_score_history.c.department_id == gone_id)
                                    ).scalar()
    assert names == {"Văn phòng UBND tỉnh (tên mới)"}
    assert _count(warehouse, dvcqg_score, department_id=gone_id) == 0
    assert gone_history == 6
    assert deps[renamed_id].department_name == "Văn phòng UBND tỉnh (tên mới)"
    assert (deps[renamed_id].first_seen, deps[renamed_id].last_seen) == (date(2026, 9, 25),
                                                                         date(2026, 9, 26))
    assert deps[gone_id].last_seen == date(2026, 9, 25)


def test_odd_values_in_any_field_are_stored_on_both_warehouses(warehouse, server, tmp_path):
    """Text where numbers go, numbers where text goes, NUL and lone surrogates, huge numbers,
    lists and objects, unknown fields and metrics: a complete read, every value stored."""
    odd = ["x\x00y", "\ud800", 10**40, [1, {"a": None}], {"k": "v"}, True, "12.5", -0.0,
           1e300, "", "  "]
    bodies = recorded()
    for path in ("evaluation/transparency", "evaluation/dvc-progress-tree"):
        data = json.loads(bodies[path])
        rows = data["data"]["evaluation" if "evaluation" in data["data"] else "children"]
        for i, row in enumerate(rows[:40]):
            for j, field in enumerate([k for k in row if k != "departmentId"]):
                row[field] = odd[(i + j) % len(odd)]
            row["brandNewField"] = odd[i % len(odd)]
            row["brandNewCount"] = i
            if isinstance(row.get("metrics"), list):
                row["metrics"].append({"code": "NEW_\x00CODE", "numerator": "7",
                                       "name": "\udfff", "surprise": odd[i % len(odd)]})
        text = json.dumps(data)  # \u escapes: the portal may send them
        server.script[(RECORDED_ROOT, path)] = [(201, text.encode())]
    [result] = _read(server, warehouse, tmp=tmp_path)
    assert result["complete"], result["reason"]
    with warehouse.connect() as conn:
        issues = conn.execute(select(func.count()).select_from(dvcqg_score)
                              .where(dvcqg_score.c.issues.is_not(None))).scalar()
        [read] = conn.execute(select(dvcqg_read)).all()
        stored = conn.execute(select(dvcqg_metric.c.numerator, dvcqg_metric.c.extra)
                              .where(dvcqg_metric.c.metric_code == "brandNewCount")).all()
    assert issues >= 60
    assert "transparency.brandNewField" in read.new_fields
    assert sorted(r.numerator for r in stored) == sorted(list(range(40)) * 2)
