"""The parse boundary: the index's answers → warehouse rows with English names.

Contract field names are mapped here, once. Every value of every field gives a stored value:
numbers as given (null stays null, never 0); a value that is not a number where one is
expected is stored null and kept as it came in the row's `extra` (JSON), with the row's
`issues` saying which field and why. Fields and metric codes the contract does not list are
loaded all the same (numeric fields as metrics named by the field, others in `extra`) and
named in `GroupRows.new_fields` / `new_metrics` for the run's log. What cannot be a row
(no departmentId, a department twice, no province row, a shape that is not the contract's)
is a `ParseError`: a clear failed read of that group.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from egov.safe_errors import SafeMessageError
from egov.sources.dvcqg.groups import KNOWN_METRICS, OVERVIEW, ROW_COUNT_FIELDS, Group
from egov.sources.onestop.records import storable

MAX_ID = 64
_EXACT = 2**53  # integers beyond are not exact in a double: stored null, kept in extra

# row fields → columns of dvcqg_score (both shapes)
_ROW_TEXT = {"departmentName": "department_name", "departmentCode": "department_code",
             "departmentType": "department_type", "departmentLevel": "department_level",
             "level": "department_level", "agencyLevel": "agency_level"}
_ROW_NUMBERS = {"ratio": "ratio", "scoreDelta": "score_delta", "stt": "position"}
_SCORE_FIELDS = ("totalScore", "score")  # the first present is the row's score
_MAX_FIELDS = ("totalMaxScore", "maxScore")
_OVERVIEW_DATA = frozenset({"overview", "evaluation", "pagination", "source", "monthlyChart"})
_TREE_DATA = frozenset({"parent", "children", "pagination", "monthlyChart"})
_METRIC_NUMBERS = {"numerator": "numerator", "denominator": "denominator", "ratio": "ratio",
                   "score": "score", "maxScore": "max_score"}
_METRIC_TEXT = {"name": "metric_name", "dataQualityStatus": "data_quality_status",
                "dataQualityMessage": "data_quality_message"}
SCORE_COLUMNS = ("department_id", "group_code", "department_code", "department_name",
                 "department_type", "department_level", "agency_level", "position", "score",
                 "max_score", "ratio", "score_delta", "extra", "issues")
METRIC_COLUMNS = ("department_id", "group_code", "metric_code", "metric_name", "numerator",
                  "denominator", "ratio", "score", "max_score", "data_quality_status",
                  "data_quality_message", "extra", "issues")


class ParseError(SafeMessageError):
    """A group's answer cannot be rows: the read of that group failed (message says why)."""


@dataclass
class GroupRows:
    group_code: str
    scores: list[dict[str, Any]] = field(default_factory=list[Any])
    metrics: list[dict[str, Any]] = field(default_factory=list[Any])
    new_fields: set[str] = field(default_factory=set)
    new_metrics: set[str] = field(default_factory=set)
    odd_values: int = 0  # values stored null because they were not numbers


def number(value: Any) -> tuple[int | float | None, str | None]:
    """(the number to store, why not) for one JSON value: null → (None, None)."""
    if value is None:
        return None, None
    if isinstance(value, bool):
        return None, "a boolean, not a number"
    if isinstance(value, int):
        if -_EXACT <= value <= _EXACT:
            return value, None
        return None, "an integer too large to store exactly"
    if isinstance(value, float):
        if math.isfinite(value):
            return value, None
        return None, "not a finite number"
    if isinstance(value, Decimal):
        return None, "an integer too large to store exactly"
    if isinstance(value, str):
        text = value.strip()
        try:
            parsed = float(text)
        except ValueError:
            return None, "text, not a number"
        if not math.isfinite(parsed):
            return None, "not a finite number"
        if text.lstrip("+-").isdigit():
            as_int = int(text)
            if -_EXACT <= as_int <= _EXACT:
                return as_int, "a number given as text"
            return None, "an integer too large to store exactly"
        return parsed, "a number given as text"
    return None, f"a JSON {'list' if isinstance(value, list) else 'object'}, not a number"


def text(value: Any) -> tuple[str | None, str | None]:
    if value is None:
        return None, None
    if isinstance(value, str):
        stored, changed = storable(value)
        return stored, "characters no database stores replaced by U+FFFD" if changed else None
    if isinstance(value, bool | int | float | Decimal):
        return str(value), "a number or boolean where text was expected"
    return storable(json.dumps(value, ensure_ascii=False, default=str))[0], \
        "a JSON list or object where text was expected"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _json(value: dict[str, Any]) -> str | None:
    if not value:
        return None
    return storable(json.dumps(value, ensure_ascii=False, sort_keys=True, default=str))[0]


class _Row:
    """Collects one output row: values, the odd values kept as they came, the issues."""

    def __init__(self, out: GroupRows):
        self.out = out
        self.values: dict[str, Any] = {}
        self.extra: dict[str, Any] = {}
        self.issues: list[str] = []

    def number(self, source: str, column: str, value: Any) -> None:
        stored, why = number(value)
        self.values[column] = stored
        if why:
            self.issues.append(f"{source}: {why}")
            if stored is None or not isinstance(value, int | float):
                self.extra[source] = value
                self.out.odd_values += stored is None

    def text(self, source: str, column: str, value: Any) -> None:
        stored, why = text(value)
        self.values[column] = stored
        if why:
            self.issues.append(f"{source}: {why}")

    def finish(self) -> dict[str, Any]:
        self.values["extra"] = _json(self.extra)
        self.values["issues"] = "; ".join(self.issues) or None
        return self.values


def _department_id(row: dict[str, Any], where: str) -> str:
    value = row.get("departmentId")
    if not isinstance(value, str) or not value.strip():
        raise ParseError(f"{where}: no departmentId (got {type(value).__name__}): a row "
                         f"without its key cannot be stored")
    value = value.strip()
    if len(value) > MAX_ID:
        raise ParseError(f"{where}: departmentId longer than {MAX_ID} characters")
    if storable(value)[1]:
        raise ParseError(f"{where}: departmentId holds characters no database stores")
    return value


def _parse_row(group: Group, row: Any, department_id: str | None, where: str,
               out: GroupRows, counts: frozenset[str]) -> None:
    if not isinstance(row, dict):
        raise ParseError(f"{where}: a {type(row).__name__}, not a JSON object")
    dep = department_id or _department_id(row, where)
    score = _Row(out)
    score.values.update(department_id=dep, group_code=group.code)
    for column in ("department_code", "department_name", "department_type",
                   "department_level", "agency_level", "position", "ratio", "score_delta"):
        score.values[column] = None
    score_source = next((f for f in _SCORE_FIELDS if f in row), None)
    max_source = next((f for f in _MAX_FIELDS if f in row), None)
    score.number(score_source or "totalScore", "score", row.get(score_source))
    score.number(max_source or "totalMaxScore", "max_score", row.get(max_source))
    metric_rows: list[dict[str, Any]] = []
    for key, value in row.items():
        if key in ("departmentId", score_source, max_source):
            continue
        if key in _ROW_TEXT:
            if key == "level" and "departmentLevel" in row:
                score.extra[key] = value
                continue
            score.text(key, _ROW_TEXT[key], value)
        elif key in _ROW_NUMBERS:
            score.number(key, _ROW_NUMBERS[key], value)
        elif key in _SCORE_FIELDS or key in _MAX_FIELDS:
            score.extra[key] = value  # both spellings given: the first is the score
        elif key == "metrics" and group.shape == OVERVIEW:
            if isinstance(value, list):
                metric_rows.extend(_parse_metrics(group, value, dep, out))
            elif value is not None:
                score.issues.append(f"metrics: a {type(value).__name__}, not a list")
                score.extra[key] = value
        elif key in counts or _is_number(value):
            if key not in counts:
                out.new_fields.add(f"{group.code}.{key}")
                out.new_metrics.add(f"{group.code}:{key}")
            metric = _Row(out)
            metric.values.update(department_id=dep, group_code=group.code, metric_code=key,
                                 metric_name=None, denominator=None, ratio=None, score=None,
                                 max_score=None, data_quality_status=None,
                                 data_quality_message=None)
            metric.number(key, "numerator", value)
            metric_rows.append(metric.finish())
        else:
            out.new_fields.add(f"{group.code}.{key}")
            score.extra[key] = value
    if group.shape == OVERVIEW and "metrics" not in row:
        score.issues.append("metrics: absent")
    out.scores.append(score.finish())
    out.metrics.extend(metric_rows)


def _parse_metrics(group: Group, items: list[Any], dep: str,
                   out: GroupRows) -> list[dict[str, Any]]:
    known = KNOWN_METRICS.get(group.code, frozenset())
    rows: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(items):
        metric = _Row(out)
        if not isinstance(item, dict):  # kept as it came, under a code of its position
            metric.issues.append(f"metric: a {type(item).__name__}, not a JSON object")
            metric.extra["metric"] = item
            item = {}
        code = item.get("code")
        if not isinstance(code, str) or not code.strip():
            metric.issues.append(f"code: absent or not text ({type(code).__name__})")
            metric.extra["code"] = code
            code = f"_metric_{i + 1}"
        code, changed = storable(code.strip()[:128])
        if changed:
            metric.issues.append("code: characters no database stores replaced by U+FFFD")
        if code in seen:  # the same code twice: both kept, the second renamed
            seen[code] += 1
            metric.issues.append(f"code: {code} given {seen[code]} times")
            code = f"{code}#{seen[code]}"
        else:
            seen[code] = 1
        if code not in known:
            out.new_metrics.add(f"{group.code}:{code}")
        metric.values.update(department_id=dep, group_code=group.code, metric_code=code)
        for source, column in _METRIC_NUMBERS.items():
            metric.number(source, column, item.get(source))
        for source, column in _METRIC_TEXT.items():
            metric.text(source, column, item.get(source))
        for key, value in item.items():
            if key != "code" and key not in _METRIC_NUMBERS and key not in _METRIC_TEXT:
                out.new_fields.add(f"{group.code}.metrics.{key}")
                metric.extra[key] = value
        rows.append(metric.finish())
    return rows


def _pages_rows(group: Group, pages: list[Any], own: str, others: str) -> tuple[Any, list[Any]]:
    """The province's row (first page's) and every page's department rows."""
    if not pages:
        raise ParseError(f"{group.code}: no answer to parse")
    first = pages[0]
    if not isinstance(first, dict):
        raise ParseError(f"{group.code}: data is not a JSON object")
    if own not in first or first[own] is None:
        raise ParseError(f"{group.code}: data.{own} (the province's own row) is absent")
    rows: list[Any] = []
    for n, data in enumerate(pages, 1):
        items = data.get(others) if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise ParseError(f"{group.code}: page {n}: data.{others} is "
                             f"{type(items).__name__}, not a list")
        rows.extend(items)
    return first[own], rows


def parse_group(group: Group, pages: list[Any], root_department_id: str) -> GroupRows:
    """Rows of one group's answer (`pages`: the envelopes' `data`, in page order)."""
    out = GroupRows(group.code)
    own_key, others_key = ("overview", "evaluation") if group.shape == OVERVIEW \
        else ("parent", "children")
    data_keys = _OVERVIEW_DATA if group.shape == OVERVIEW else _TREE_DATA
    for data in pages:
        if isinstance(data, dict):
            out.new_fields.update(f"{group.code}.data.{k}" for k in data if k not in data_keys)
    own, rows = _pages_rows(group, pages, own_key, others_key)
    counts = KNOWN_METRICS[group.code] if group.shape != OVERVIEW \
        else ROW_COUNT_FIELDS.get(group.code, frozenset())
    where = f"{group.code}: data.{own_key}"
    if isinstance(own, dict):
        given = own.get("departmentId")
        if given is not None and given != root_department_id:
            raise ParseError(f"{where}: the answer is for another department than the "
                             f"province asked (rootDepartmentId): not stored")
    _parse_row(group, own, root_department_id, where, out, counts)
    seen = {root_department_id}
    for i, row in enumerate(rows):
        at = f"{group.code}: data.{others_key}[{i}]"
        before = len(out.scores)
        _parse_row(group, row, None, at, out, counts)
        dep = out.scores[before]["department_id"]
        if dep in seen:
            raise ParseError(f"{at}: departmentId {dep} appears twice in the answer")
        seen.add(dep)
    return out
