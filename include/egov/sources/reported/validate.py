"""Rows of a reported file validated by a Great Expectations suite (egov.quality.gxrun).

Each row becomes a frame row of its raw texts and the values parsed from them (an
unparseable value becomes a sentinel the suite rejects), plus the keys the suite checks
against the plans (plan, plan|target, plan|target|year, plan|target|unit). One expectation
per rule; a row breaking any rule is rejected with every rule it broke; the other rows are
accepted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from egov.quality.rules import Rule

SUITE = "reported_figures"
MAX_COUNT = 10_000_000  # a count above this is a typing error (and sums must fit the marts)
INVALID_INT = -1
INVALID_DATE = "invalid"
_PCT_TEXT = r"^(?:100(?:\.0{1,2})?|\d{1,2}(?:\.\d{1,2})?)$"
_DATE_TEXT = r"^\d{4}-\d{2}-\d{2}$"
_FAR = date(9999, 12, 31).toordinal()


@dataclass(frozen=True)
class Verdict:
    number: int
    accepted: bool
    rules: tuple[str, ...]  # broken rules, in the suite's order
    messages: tuple[str, ...]  # Vietnamese
    values: dict  # the parsed values (accepted rows: what is stored)


# ----------------------------------------------------------------------------- parsing

def _text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime):
        value = value.date()
    text = value.isoformat() if isinstance(value, date) else str(value)
    text = text.strip()
    return text or None


def parse_int(value) -> int | None:
    """A non-negative integer count, else INVALID_INT; None when blank."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        return INVALID_INT
    if isinstance(value, int):
        return value if 0 <= value <= MAX_COUNT else INVALID_INT
    if isinstance(value, float):
        return int(value) if value.is_integer() and 0 <= value <= MAX_COUNT else INVALID_INT
    text = str(value).strip().replace(" ", "")
    if re.fullmatch(r"\d{1,3}([.,]\d{3})+", text):  # 1.234 / 1,234 thousands separators
        text = re.sub(r"[.,]", "", text)
    if not re.fullmatch(r"\d{1,9}", text):
        return INVALID_INT
    number = int(text)
    return number if number <= MAX_COUNT else INVALID_INT


def pct_text(value) -> str | None:
    """value_pct as canonical text (decimal point), for the regex rule; None when blank."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        return "invalid"
    if isinstance(value, int | float):
        try:
            d = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        except InvalidOperation:
            return "invalid"
        if not d.is_finite():
            return "invalid"
        d = d.normalize()
        return format(d, "f")
    return str(value).strip().replace(",", ".").rstrip("%").strip()


def parse_date(value) -> date | None | str:
    """A date (ISO `YYYY-MM-DD` or `DD/MM/YYYY`, or a date cell), None when blank, else
    INVALID_DATE."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return date.fromisoformat(text)
        match = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", text)
        if match:
            return date(int(match[3]), int(match[2]), int(match[1]))
    except ValueError:
        return INVALID_DATE
    return INVALID_DATE


def parse_year(value) -> int | None:
    n = parse_int(value)
    return n if n is None or 2000 <= n <= 2100 else INVALID_INT


# ----------------------------------------------------------------------------- the suite

# (rule, column, message in Vietnamese, expectation, kwargs)
def rules(known: Known, received: date) -> list[Rule]:
    def rule(name, column, message, expectation, **kwargs):
        return Rule(name, column, message, expectation, {"column": column, **kwargs}
                    if "column_A" not in kwargs else kwargs)

    required = [
        ("plan", "plan_required", "Thiếu mã kế hoạch [plan]"),
        ("target", "target_required", "Thiếu mã chỉ tiêu [target]"),
        ("unit", "unit_required", "Thiếu mã đơn vị [unit]"),
        ("year", "year_required", "Thiếu năm [year]"),
        ("data_to", "data_to_required", "Thiếu ngày cuối kỳ số liệu [data_to]"),
        ("source_doc", "source_doc_required",
         "Thiếu văn bản nguồn [source_doc] (số và ngày của báo cáo)"),
        ("approved_by", "approved_by_required", "Thiếu người ký duyệt [approved_by]"),
        ("approved_at", "approved_at_required", "Thiếu ngày ký [approved_at]"),
        ("basis", "basis_required", "Thiếu căn cứ [basis] (self_reported hoặc verified)"),
    ]
    out = [rule("formula", "formula_cells",
                "Ô chứa công thức: không được tính; hãy nhập giá trị (số, chữ), không nhập công "
                "thức", "ExpectColumnValuesToBeInSet", value_set=[0])]
    out += [rule(name, f"raw_{col}", message, "ExpectColumnValuesToNotBeNull")
            for col, name, message in required]
    out += [
        rule("plan_unknown", "plan", "Mã kế hoạch không có trong các kế hoạch đã nạp",
             "ExpectColumnValuesToBeInSet", value_set=sorted(known.plans)),
        rule("year_invalid", "year", "Năm [year] phải là số nguyên 2000..2100",
             "ExpectColumnValuesToBeBetween", min_value=2000, max_value=2100),
        rule("target_unknown", "plan_target", "Mã chỉ tiêu không thuộc kế hoạch này",
             "ExpectColumnValuesToBeInSet", value_set=sorted(known.targets)),
        rule("year_not_in_target", "plan_target_year",
             "Chỉ tiêu không có mục tiêu cho năm này", "ExpectColumnValuesToBeInSet",
             value_set=sorted(known.target_years)),
        rule("unit_not_reporter", "plan_target_unit",
             "Đơn vị không thuộc các đơn vị báo cáo chỉ tiêu này", "ExpectColumnValuesToBeInSet",
             value_set=sorted(known.reporters)),
        rule("data_to_invalid", "data_to",
             "Ngày [data_to] không hợp lệ (dùng ngày dạng YYYY-MM-DD hoặc DD/MM/YYYY)",
             "ExpectColumnValuesToMatchRegex", regex=_DATE_TEXT),
        rule("data_to_outside_year", "data_to_year",
             "Ngày [data_to] phải nằm trong năm [year] của chỉ tiêu",
             "ExpectColumnPairValuesToBeEqual", column_A="data_to_year", column_B="year",
             ignore_row_if="either_value_is_missing"),
        rule("data_from_invalid", "data_from",
             "Ngày [data_from] không hợp lệ (dùng ngày dạng YYYY-MM-DD hoặc DD/MM/YYYY)",
             "ExpectColumnValuesToMatchRegex", regex=_DATE_TEXT),
        rule("data_from_after_data_to", "data_to_ord",
             "Ngày [data_from] sau ngày [data_to]", "ExpectColumnPairValuesAToBeGreaterThanB",
             column_A="data_to_ord", column_B="data_from_ord", or_equal=True,
             ignore_row_if="either_value_is_missing"),
        rule("figure_missing", "figure_kind",
             "Cần tử số [numerator] và mẫu số [denominator], hoặc tỷ lệ [value_pct] khi nguồn "
             "không có số đếm", "ExpectColumnValuesToBeInSet", value_set=["counts", "pct"]),
        rule("numerator_invalid", "numerator",
             f"Tử số phải là số nguyên không âm (tối đa {MAX_COUNT})",
             "ExpectColumnValuesToBeBetween", min_value=0, max_value=MAX_COUNT),
        rule("denominator_invalid", "denominator",
             f"Mẫu số phải là số nguyên không âm (tối đa {MAX_COUNT})",
             "ExpectColumnValuesToBeBetween", min_value=0, max_value=MAX_COUNT),
        rule("numerator_above_denominator", "numerator",
             "Tử số lớn hơn mẫu số", "ExpectColumnPairValuesAToBeGreaterThanB",
             column_A="denominator", column_B="numerator", or_equal=True,
             ignore_row_if="either_value_is_missing"),
        rule("value_pct_invalid", "value_pct_text",
             "Tỷ lệ [value_pct] phải là số 0..100, tối đa 2 chữ số thập phân",
             "ExpectColumnValuesToMatchRegex", regex=_PCT_TEXT),
        rule("value_pct_mismatch", "value_pct_hundredths",
             "Tỷ lệ [value_pct] khác tỷ lệ tính từ tử số / mẫu số (để trống tỷ lệ khi đã có "
             "số đếm)", "ExpectColumnPairValuesToBeEqual", column_A="value_pct_hundredths",
             column_B="counts_hundredths", ignore_row_if="either_value_is_missing"),
        rule("approved_at_invalid", "approved_at",
             "Ngày ký [approved_at] không hợp lệ (dùng ngày dạng YYYY-MM-DD hoặc DD/MM/YYYY)",
             "ExpectColumnValuesToMatchRegex", regex=_DATE_TEXT),
        rule("approved_at_future", "approved_at_ord",
             f"Ngày ký [approved_at] sau ngày nhận tệp ({received:%d/%m/%Y})",
             "ExpectColumnValuesToBeBetween", min_value=0, max_value=received.toordinal()),
        rule("basis_invalid", "basis",
             "Căn cứ [basis] phải là self_reported (đơn vị tự báo cáo) hoặc verified (đã "
             "thẩm định)", "ExpectColumnValuesToBeInSet", value_set=["self_reported", "verified"]),
    ]
    return out


@dataclass(frozen=True)
class Known:
    """What the plans (and the unit tree) allow, as keys the suite checks."""

    plans: frozenset
    targets: frozenset  # "plan|target"
    target_years: frozenset  # "plan|target|year"
    reporters: frozenset  # "plan|target|unit"


def known_from(plans, children: dict[str, list[str]]) -> Known:
    from egov.reported_figures import reporters

    p, t, ty, r = set(), set(), set(), set()
    for plan in plans:
        p.add(plan.code)
        for target in plan.targets:
            key = f"{plan.code}|{target.code}"
            t.add(key)
            ty.update(f"{key}|{year}" for year in target.thresholds)
            r.update(f"{key}|{unit}" for unit in reporters(target, plan.unit, children))
    return Known(frozenset(p), frozenset(t), frozenset(ty), frozenset(r))


def _hundredths(numerator, denominator) -> int | None:
    """round(10000 × n / d) half away from zero, as value_pct rounds."""
    if numerator is None or denominator in (None, 0) or INVALID_INT in (numerator, denominator):
        return None
    q, rest = divmod(10_000 * numerator, denominator)
    return q + (1 if 2 * rest >= denominator else 0)


def frame_row(raw) -> dict:
    v = raw.values
    num, den = parse_int(v.get("numerator")), parse_int(v.get("denominator"))
    pct = pct_text(v.get("value_pct"))
    year = parse_year(v.get("year"))
    data_to, data_from, approved = (parse_date(v.get(k)) for k in
                                    ("data_to", "data_from", "approved_at"))
    plan, target, unit = (_text(v.get(k)) for k in ("plan", "target", "unit"))
    pct_ok = pct is not None and re.fullmatch(_PCT_TEXT, pct) is not None
    if num is not None and den is not None:
        kind = "counts"
    elif num is None and den is None and pct is not None:
        kind = "pct"
    else:
        kind = "none" if num is None and den is None else "partial"

    def iso(d):
        return d.isoformat() if isinstance(d, date) else d

    def ordinal(d):
        return d.toordinal() if isinstance(d, date) else None

    row = {
        "formula_cells": len(raw.formulas),
        "plan": plan, "target": target, "unit": unit,
        "year": year,
        "plan_target": f"{plan}|{target}" if plan and target else None,
        "plan_target_year": (f"{plan}|{target}|{year}"
                             if plan and target and year not in (None, INVALID_INT) else None),
        "plan_target_unit": f"{plan}|{target}|{unit}" if plan and target and unit else None,
        "data_to": iso(data_to), "data_from": iso(data_from), "approved_at": iso(approved),
        "data_to_year": data_to.year if isinstance(data_to, date) else None,
        "data_to_ord": ordinal(data_to), "data_from_ord": ordinal(data_from),
        "approved_at_ord": ordinal(approved),
        "figure_kind": kind,
        "numerator": num, "denominator": den,
        "value_pct_text": pct,
        "value_pct_hundredths": (int(Decimal(pct) * 100) if pct_ok and kind == "counts"
                                 else None),
        "counts_hundredths": _hundredths(num, den) if kind == "counts" else None,
        "basis": _text(v.get("basis")),
    }
    if row["year"] == INVALID_INT:
        row["plan_target_year"] = None
    for key in ("plan", "target", "unit", "year", "data_to", "source_doc", "approved_by",
                "approved_at", "basis"):
        row[f"raw_{key}"] = None if key in raw.formulas else _text(v.get(key))
    return row


def stored_values(raw, row: dict) -> dict:
    """The columns of fct_reported_figure of an accepted row."""
    v = raw.values
    kind = row["figure_kind"]
    return {
        "plan_code": row["plan"], "target_code": row["target"], "unit_code": row["unit"],
        "year": row["year"],
        "data_from": parse_date(v.get("data_from")) or None,
        "data_to": parse_date(v.get("data_to")),
        "numerator": row["numerator"] if kind == "counts" else None,
        "denominator": row["denominator"] if kind == "counts" else None,
        "value_pct": (Decimal(row["value_pct_text"]).quantize(Decimal("0.01"))
                      if kind == "pct" else None),
        "source_doc": _text(v.get("source_doc")),
        "evidence_ref": _text(v.get("evidence_ref")),
        "prepared_by": _text(v.get("prepared_by")),
        "approved_by": _text(v.get("approved_by")),
        "approved_at": parse_date(v.get("approved_at")),
        "basis": row["basis"],
        "note": _text(v.get("note")),
    }


def validate_rows(raw_rows, known: Known, received: date) -> list[Verdict]:
    """One verdict per row, by the GX suite `reported_figures`."""
    if not raw_rows:
        return []
    import pandas as pd

    from egov.quality.gxrun import run_rules

    frame_rows = [frame_row(r) for r in raw_rows]
    frame = pd.DataFrame(frame_rows)
    for column in ("year", "numerator", "denominator", "data_to_year", "data_to_ord",
                   "data_from_ord", "approved_at_ord", "value_pct_hundredths",
                   "counts_hundredths", "formula_cells"):
        # floats (NaN: blank): exact for these magnitudes, and what GX's pandas maps read
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    suite = rules(known, received)
    results = run_rules(SUITE, suite, frame)
    broken: dict[int, list] = {}
    for res in results:
        for index in res.rows:
            broken.setdefault(index, []).append(res.rule)
    verdicts = []
    for i, raw in enumerate(raw_rows):
        failed = broken.get(i, [])
        verdicts.append(Verdict(
            raw.number, not failed, tuple(r.name for r in failed),
            tuple(r.message for r in failed),
            {} if failed else stored_values(raw, frame_rows[i])))
    return verdicts
