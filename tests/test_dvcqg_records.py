"""The 766 index's parse boundary and score check over the recorded answers
(tests/fixtures/dvcqg/): every number and every null as recorded, and any value in any field
a stored value or a clear failed read."""

from __future__ import annotations

import copy
import hashlib
import json
import math
from datetime import date

import pytest

from egov.sources.dvcqg.groups import GROUPS, KNOWN_METRICS, OVERVIEW
from egov.sources.dvcqg.records import ParseError, parse_group
from egov.sources.dvcqg.scores import TOLERANCE, check
from tests.dvcqg_replay import FIXTURES, RECORDED_ROOT, manifest, recorded

BODIES = recorded()
ROW_NOT_METRIC = {"departmentId", "departmentName", "departmentCode", "departmentType",
                  "departmentLevel", "level", "agencyLevel", "totalScore", "totalMaxScore",
                  "score", "maxScore", "ratio", "scoreDelta", "stt", "metrics"}


def _data(group):
    return json.loads(BODIES[group.path])["data"]


def _rows_of(group, data):
    own, others = ("overview", "evaluation") if group.shape == OVERVIEW else ("parent", "children")
    return [data[own]] + data[others]


def _same(stored, given) -> bool:
    """Exactly the recorded value: null stays null (never 0), numbers equal."""
    if given is None:
        return stored is None
    return stored is not None and type(given) in (int, float) and stored == given


def test_fixtures_are_the_recorded_bytes():
    for capture in manifest()["captures"]:
        content = (FIXTURES / capture["file"]).read_bytes()
        assert hashlib.sha256(content).hexdigest() == capture["sha256"], capture["file"]
        assert len(content) == capture["bytes"]


@pytest.mark.parametrize("group", GROUPS, ids=lambda g: g.code)
def test_every_recorded_value_is_parsed_exactly(group):
    data = _data(group)
    rows = parse_group(group, [data], RECORDED_ROOT)
    given_rows = _rows_of(group, data)
    assert len(rows.scores) == len(given_rows) == 164  # the province and 163 units
    assert not rows.new_fields and not rows.new_metrics and rows.odd_values == 0
    scores = {r["department_id"]: r for r in rows.scores}
    metrics = {(m["department_id"], m["metric_code"]): m for m in rows.metrics}
    expected_metrics = 0
    for i, given in enumerate(given_rows):
        dep = RECORDED_ROOT if i == 0 else given["departmentId"]
        row = scores[dep]
        assert row["issues"] is None and row["extra"] is None, (dep, row["issues"])
        score_field = "totalScore" if "totalScore" in given else "score"
        max_field = "totalMaxScore" if "totalMaxScore" in given else "maxScore"
        assert _same(row["score"], given.get(score_field)), (dep, score_field)
        assert _same(row["max_score"], given.get(max_field)), (dep, max_field)
        for field, column in (("ratio", "ratio"), ("scoreDelta", "score_delta"),
                              ("stt", "position")):
            assert _same(row[column], given.get(field)), (dep, field)
        for field, column in (("departmentName", "department_name"),
                              ("departmentCode", "department_code"),
                              ("departmentType", "department_type"),
                              ("agencyLevel", "agency_level")):
            assert row[column] == given.get(field), (dep, field)
        assert row["department_level"] == given.get("departmentLevel", given.get("level"))
        for metric in given.get("metrics", []):
            expected_metrics += 1
            m = metrics[(dep, metric["code"])]
            for field, column in (("numerator", "numerator"), ("denominator", "denominator"),
                                  ("ratio", "ratio"), ("score", "score"),
                                  ("maxScore", "max_score")):
                assert _same(m[column], metric.get(field)), (dep, metric["code"], field)
            assert m["metric_name"] == metric["name"]
            assert m["data_quality_status"] == metric.get("dataQualityStatus")
            assert m["data_quality_message"] == metric.get("dataQualityMessage")
            assert m["issues"] is None and m["extra"] is None
        for field, value in given.items():
            if field in ROW_NOT_METRIC:
                continue
            expected_metrics += 1  # a count field: a metric named by the field
            m = metrics[(dep, field)]
            assert _same(m["numerator"], value), (dep, field)
            assert m["denominator"] is None and m["score"] is None
    assert len(rows.metrics) == expected_metrics


def test_recorded_nulls_stay_null_and_flags_are_kept():
    by_group = {g.code: parse_group(g, [_data(g)], RECORDED_ROOT) for g in GROUPS}
    copies = [m for m in by_group["digitized"].metrics
              if m["metric_code"] == "ELECTRONIC_CERTIFIED_COPY"]
    assert copies and all(m["numerator"] is None and m["denominator"] is None for m in copies)
    assert all(m["ratio"] is not None for m in copies)
    classification = [m for m in by_group["satisfaction"].metrics
                      if m["metric_code"] == "PETITION_CLASSIFICATION_STAFF"]
    assert classification and all(m["score"] is None and m["max_score"] == 0
                                  for m in classification)
    flagged = [m for m in by_group["transparency"].metrics if m["data_quality_status"]]
    assert {m["data_quality_status"] for m in flagged} >= {"TEMP_NATIONAL_REPORT_DENOMINATOR"}
    province = next(m for m in by_group["transparency"].metrics
                    if m["department_id"] == RECORDED_ROOT and m["metric_code"] == "DOSSIER_SYNC")
    assert (province["numerator"], province["denominator"]) == (475053, 475053)
    assert province["data_quality_message"].startswith("Mẫu số BCQG/GRIS")


def test_province_total_is_the_sum_of_the_six_groups():
    totals = {g.code: next(r["score"] for r in parse_group(g, [_data(g)], RECORDED_ROOT).scores
                           if r["department_id"] == RECORDED_ROOT) for g in GROUPS}
    assert totals == {"transparency": 7.96, "satisfaction": 11.43, "digitized": 9.59,
                      "progress": 17.68, "online_service": 8.56, "online_payment": 6.67}
    assert round(sum(totals.values()), 2) == 61.89


def test_known_formulas_reproduce_every_recorded_score_of_five_groups():
    checked = 0
    for group in GROUPS:
        rows = parse_group(group, [_data(group)], RECORDED_ROOT)
        assert check(rows) == [], group.code
        for row in rows.scores + rows.metrics:
            if row.get("score_check") is None:
                continue
            checked += 1
            assert abs(row["score_check"] - row["score"]) <= TOLERANCE + 1e-9
        if group.code == "online_service":  # formula unknown: never recomputed
            assert all(r["score_check"] is None for r in rows.scores + rows.metrics)
        else:  # every row's total is checked
            assert all(r["score_check"] is not None for r in rows.scores), group.code
        if group.shape == OVERVIEW:  # every metric with a score and its inputs is checked
            for m in rows.metrics:
                if m["metric_code"] in KNOWN_METRICS[group.code] and m["score"] is not None \
                        and m["ratio"] is not None and m["max_score"]:
                    assert m["score_check"] is not None, (group.code, m["metric_code"])
    assert checked > 3000


def test_a_score_off_by_more_than_the_tolerance_is_a_warning_naming_unit_and_metric():
    group = next(g for g in GROUPS if g.code == "transparency")
    data = copy.deepcopy(_data(group))
    unit = data["evaluation"][5]
    metric = next(m for m in unit["metrics"] if m["code"] == "PUBLIC_CONTENT_FULL")
    metric["score"] = round(metric["score"] + 0.05, 2)
    rows = parse_group(group, [data], RECORDED_ROOT)
    warnings = check(rows)
    assert len(warnings) == 2  # the metric, and the row's total no longer its metrics' sum
    w = next(w for w in warnings if w.metric_code)
    assert w.department_id == unit["departmentId"] and w.metric_code == "PUBLIC_CONTENT_FULL"
    assert unit["departmentName"] in str(w) and "PUBLIC_CONTENT_FULL" in str(w)
    stored = next(m for m in rows.metrics if m["department_id"] == unit["departmentId"]
                  and m["metric_code"] == "PUBLIC_CONTENT_FULL")
    assert stored["score"] == metric["score"]  # the portal's score stays the record
    progress = next(g for g in GROUPS if g.code == "progress")
    data = copy.deepcopy(_data(progress))
    data["children"][0]["score"] = 10.0
    warnings = check(parse_group(progress, [data], RECORDED_ROOT))
    assert [(w.department_id, w.metric_code) for w in warnings] == \
        [(data["children"][0]["departmentId"], None)]


ODD_VALUES = [None, "abc", "12.5", "", "  7 ", True, False, [], [1, 2], {"a": 1}, 10**30,
              -3, 0.1, "😀", "NaN", 1e308, "1e999"]


def _fields(group, data):
    own, others = ("overview", "evaluation") if group.shape == OVERVIEW else ("parent", "children")
    row = data[others][3]
    fields = [("row", k) for k in row]
    if group.shape == OVERVIEW:
        fields += [("metric", k) for k in row["metrics"][0]]
    return others, fields


@pytest.mark.parametrize("group", GROUPS, ids=lambda g: g.code)
def test_any_value_in_any_field_is_stored_or_a_clear_failed_read(group):
    base = _data(group)
    others, fields = _fields(group, base)
    base[others] = base[others][:5]  # the province and five units: every shape, quicker
    for where, field in fields:
        for value in ODD_VALUES:
            data = copy.deepcopy(base)
            row = data[others][3]
            target = row["metrics"][0] if where == "metric" else row
            target[field] = copy.deepcopy(value)
            try:
                rows = parse_group(group, [data], RECORDED_ROOT)
            except ParseError as exc:  # only the key may make a row impossible
                assert field == "departmentId", (field, value)
                assert group.code in str(exc)
                continue
            assert len(rows.scores) == 6
            dep = row["departmentId"] if field != "departmentId" else None
            if dep is None:
                continue
            stored = [r for r in rows.scores + rows.metrics if r["department_id"] == dep]
            assert stored
            for r in stored:
                for column in ("score", "max_score", "ratio", "numerator", "denominator"):
                    v = r.get(column)
                    assert v is None or (type(v) in (int, float) and math.isfinite(v))
                if r["extra"]:
                    json.loads(r["extra"])  # odd values kept as they came


def test_rows_that_cannot_be_rows_fail_the_group_clearly():
    group = GROUPS[0]
    data = copy.deepcopy(_data(group))
    data["evaluation"].append(copy.deepcopy(data["evaluation"][0]))
    with pytest.raises(ParseError, match="appears twice"):
        parse_group(group, [data], RECORDED_ROOT)
    with pytest.raises(ParseError, match="another department"):
        parse_group(group, [_data(group)], "019d0000-0000-0000-0000-000000000000")
    for bad in ({}, {"overview": None, "evaluation": []}, {"overview": {}, "evaluation": "x"}):
        with pytest.raises(ParseError):
            parse_group(group, [bad], RECORDED_ROOT)
    data = copy.deepcopy(_data(group))
    data["evaluation"][0] = "not a row"
    with pytest.raises(ParseError, match=r"evaluation\[0\]"):
        parse_group(group, [data], RECORDED_ROOT)


def test_unknown_fields_and_metrics_are_loaded_and_named():
    group = GROUPS[2]  # digitized
    data = copy.deepcopy(_data(group))
    row = data["evaluation"][0]
    row["newCount"] = 12
    row["newLabel"] = "x"
    row["metrics"].append({"code": "NEW_METRIC", "name": "n", "numerator": 1,
                           "denominator": 2, "ratio": 50, "score": 1, "maxScore": 2,
                           "newKey": [1]})
    rows = parse_group(group, [data], RECORDED_ROOT)
    assert "digitized:NEW_METRIC" in rows.new_metrics and "digitized:newCount" in rows.new_metrics
    assert {"digitized.newCount", "digitized.newLabel", "digitized.metrics.newKey"} <= rows.new_fields
    dep = row["departmentId"]
    new = next(m for m in rows.metrics if m["department_id"] == dep
               and m["metric_code"] == "NEW_METRIC")
    assert (new["numerator"], new["denominator"], new["score"]) == (1, 2, 1)
    assert json.loads(new["extra"]) == {"newKey": [1]}
    count = next(m for m in rows.metrics if m["department_id"] == dep
                 and m["metric_code"] == "newCount")
    assert count["numerator"] == 12
    score = next(r for r in rows.scores if r["department_id"] == dep)
    assert json.loads(score["extra"]) == {"newLabel": "x"}


def test_periods_of_a_run_and_named_periods():
    from egov.sources.dvcqg.periods import (
        PeriodError,
        check_readable,
        label,
        parse_period,
        request_fields,
        scheduled_periods,
    )

    assert [label(p) for p in scheduled_periods(date(2026, 9, 25), 45)] == \
        ["2026-08", "2026-Q3", "2026"]
    # early October: September and August closed < 45 days ago, Q3 closed, Q4 running
    assert [label(p) for p in scheduled_periods(date(2026, 10, 5), 45)] == \
        ["2026-08", "2026-09", "2026-Q3", "2026-Q4", "2026"]
    assert [label(p) for p in scheduled_periods(date(2027, 1, 2), 45)] == \
        ["2026-11", "2026-12", "2026-Q4", "2027-Q1", "2026", "2027"]
    for text, kind, start, end in (("2026-08", "month", date(2026, 8, 1), date(2026, 8, 31)),
                                   ("2026-Q3", "quarter", date(2026, 7, 1), date(2026, 9, 30)),
                                   ("2026", "year", date(2026, 1, 1), date(2026, 12, 31))):
        p = parse_period(text)
        assert (p.period_type, p.start, p.end, label(p)) == (kind, start, end, text)
    for bad in ("2026-13", "2026-Q5", "26", "2026-8", None, "abc"):
        with pytest.raises(PeriodError):
            parse_period(bad)
    with pytest.raises(PeriodError, match="not over"):
        check_readable(parse_period("2026-09"), date(2026, 9, 25))
    with pytest.raises(PeriodError, match="future"):
        check_readable(parse_period("2027"), date(2026, 9, 25))
    check_readable(parse_period("2026-Q3"), date(2026, 9, 25))  # running: provisional
    assert request_fields(False, parse_period("2026-Q3")) == \
        {"timeType": "quarter", "year": 2026, "quarter": 3}
    assert request_fields(False, parse_period("2026-08")) == \
        {"timeType": "month", "year": 2026, "month": 8}
    assert request_fields(True, parse_period("2026")) == \
        {"fromDate": "2026-01-01", "toDate": "2026-12-31"}


def test_provinces_file_errors_name_the_entry(tmp_path):
    from egov.settings import ConfigError
    from egov.sources.dvcqg.config import load_provinces

    good = tmp_path / "ok.yaml"
    good.write_text("provinces:\n  - {code: phu-tho, name: P, conn_id: dvcqg_portal, "
                    f"root_department_id: {RECORDED_ROOT}}}\n", encoding="utf-8")
    [p] = load_provinces(good)
    assert (p.code, p.conn_id, p.root_department_id) == ("phu-tho", "dvcqg_portal",
                                                         RECORDED_ROOT)
    cases = {
        "provinces: 3\n": "must be a list",
        "other: []\n": "'provinces'",
        "provinces:\n  - {code: Bad Code, conn_id: c, root_department_id: a1}\n": "code",
        "provinces:\n  - {code: a, conn_id: c}\n": "root_department_id: required",
        "provinces:\n  - {code: a, conn_id: 'x y', root_department_id: a1}\n": "conn_id",
        "provinces:\n  - {code: a, conn_id: c, root_department_id: '../x'}\n": "departmentId",
        "provinces:\n  - {code: a, conn_id: c, root_department_id: a1, extra: 1}\n": "unknown",
        "provinces:\n  - {code: a, conn_id: c, root_department_id: a1}\n"
        "  - {code: a, conn_id: c, root_department_id: b1}\n": "duplicate",
        "provinces: [\n": "not valid YAML",
    }
    for i, (text, message) in enumerate(cases.items()):
        path = tmp_path / f"bad{i}.yaml"
        path.write_text(text, encoding="utf-8")
        with pytest.raises(ConfigError, match=message) as info:
            load_provinces(path)
        assert str(path) in str(info.value)
    assert load_provinces()[0].root_department_id == RECORDED_ROOT  # the shipped file


def test_malformed_settings_are_named(monkeypatch):
    from egov.settings import ConfigError
    from egov.sources.dvcqg.config import check

    monkeypatch.setenv("EGOV_DVCQG_PAUSE_SECONDS", "soon")
    monkeypatch.setenv("EGOV_DVCQG_FINAL_DAYS", "-1")
    monkeypatch.setenv("EGOV_DVCQG_MAX_PAGES", "0")
    with pytest.raises(ConfigError) as info:
        check()
    for name in ("EGOV_DVCQG_PAUSE_SECONDS", "EGOV_DVCQG_FINAL_DAYS", "EGOV_DVCQG_MAX_PAGES"):
        assert name in str(info.value)
    monkeypatch.delenv("EGOV_DVCQG_PAUSE_SECONDS")
    monkeypatch.delenv("EGOV_DVCQG_FINAL_DAYS")
    monkeypatch.delenv("EGOV_DVCQG_MAX_PAGES")
    assert [p.code for p in check()] == ["phu-tho"]
