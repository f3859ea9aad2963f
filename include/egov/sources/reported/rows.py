"""The rows of a reported file parsed (the boundary of the source): raw texts and the values
parsed from them, an unparseable value a sentinel the suite (egov.quality.reported) rejects,
plus the keys it checks against the plans (plan, plan|target, plan|target|year,
plan|target|unit; `Known`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from egov.sources.reported.files import RawRow

MAX_COUNT = 10_000_000  # a count above this is a typing error (and sums must fit the marts)
INVALID_INT = -1
INVALID_DATE = "invalid"
PCT_TEXT = r"^(?:100(?:\.0{1,2})?|\d{1,2}(?:\.\d{1,2})?)$"


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime):
        value = value.date()
    text = value.isoformat() if isinstance(value, date) else str(value)
    text = text.strip()
    return text or None


def parse_int(value: Any) -> int | None:
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


def pct_text(value: Any) -> str | None:
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


def parse_date(value: Any) -> date | None | str:
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


def parse_year(value: Any) -> int | None:
    n = parse_int(value)
    return n if n is None or 2000 <= n <= 2100 else INVALID_INT


@dataclass(frozen=True)
class Known:
    """What the plans (and the unit tree) allow, as keys the suite checks."""

    plans: frozenset[str]
    targets: frozenset[str]  # "plan|target"
    target_years: frozenset[str]  # "plan|target|year"
    reporters: frozenset[str]  # "plan|target|unit"


def _hundredths(numerator: int | None, denominator: int | None) -> int | None:
    """round(10000 × n / d) half away from zero, as value_pct rounds."""
    if numerator is None or denominator in (None, 0) or INVALID_INT in (numerator, denominator):
        return None
    q, rest = divmod(10_000 * numerator, denominator)
    return q + (1 if 2 * rest >= denominator else 0)


def frame_row(raw: RawRow) -> dict[str, Any]:
    v = raw.values
    num, den = parse_int(v.get("numerator")), parse_int(v.get("denominator"))
    pct = pct_text(v.get("value_pct"))
    year = parse_year(v.get("year"))
    data_to, data_from, approved = (parse_date(v.get(k)) for k in
                                    ("data_to", "data_from", "approved_at"))
    plan, target, unit = (_text(v.get(k)) for k in ("plan", "target", "unit"))
    pct_ok = pct is not None and re.fullmatch(PCT_TEXT, pct) is not None
    if num is not None and den is not None:
        kind = "counts"
    elif num is None and den is None and pct is not None:
        kind = "pct"
    else:
        kind = "none" if num is None and den is None else "partial"

    def iso(d: date | str | None) -> str | None:
        return d.isoformat() if isinstance(d, date) else d

    def ordinal(d: date | str | None) -> int | None:
        return d.toordinal() if isinstance(d, date) else None

    row: dict[str, Any] = {
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
        "value_pct_hundredths": (int(Decimal(cast(str, pct)) * 100) if pct_ok and kind == "counts"
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


def stored_values(raw: RawRow, row: dict[str, Any]) -> dict[str, Any]:
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
