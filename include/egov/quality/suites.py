"""Suites of the catalogue (`/api/tthc`), the unit tree (`/api/donvi`) and the batch-level
expectations of a portal's record versions.

Severities (docs/data-quality.md): the contract rejects record versions only, so for the
catalogue and the units only a missing code is an `error` (the item cannot be loaded and is
skipped by the load, as before); everything else is a `warning`: the item is loaded as given
(the indicators read it as the contract says) and the finding is reported.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field

from egov.quality.rules import ERROR, WARNING, Failure, Rule, short_repr
from egov.settings import number
from egov.sources.onestop.records import as_int, code_key, storable

CATALOGUE_SUITE = "procedure_catalogue"
UNIT_SUITE = "unit_tree"

SERVICE_LEVELS = ["2", "3", "4"]
CATALOGUE_FLAGS = ("DuDieuKienToanTrinh", "CoNghiaVuTaiChinh", "CoThanhToanTrucTuyen",
                   "DaTichHopDVCQG")
UNIT_LEVELS = ["TINH", "SO", "HUYEN", "XA"]


# ----------------------------------------------------------------------------- batch level

def volume_factor() -> float:
    """EGOV_DQ_VOLUME_FACTOR (default 3, >= 1): a run's volume outside
    [typical / f, typical * f] is a warning."""
    return number("EGOV_DQ_VOLUME_FACTOR")


def null_share_jump() -> float:
    """EGOV_DQ_NULL_SHARE_JUMP (default 0.15, 0..1): a share of null channels / due dates more than
    this (absolute) above the recent runs' typical share is a warning."""
    return number("EGOV_DQ_NULL_SHARE_JUMP")


def min_history_runs() -> int:
    """EGOV_DQ_MIN_HISTORY_RUNS (default 3, >= 1): fewer recent runs → no batch-level checks."""
    return number("EGOV_DQ_MIN_HISTORY_RUNS")


def batch_rules(history) -> list[Rule]:
    """Batch-level warnings against `history` (an `egov.quality.history.BatchHistory`)."""
    rules: list[Rule] = []
    need = min_history_runs()
    volumes = [v for v in history.volumes if v is not None]
    if len(volumes) >= need:
        typical = statistics.median(volumes)
        factor = volume_factor()
        low, high = math.floor(typical / factor), math.ceil(typical * factor)
        rules.append(Rule(
            "volume_typical", "(batch)",
            f"record versions in this run far from the recent typical volume {typical:g} "
            f"(allowed {low}..{high}; median of {len(volumes)} runs)",
            "ExpectTableRowCountToBeBetween", {"min_value": low, "max_value": high},
            WARNING, row_level=False))
    for rule, column, shares, what in (
        ("null_channel_share", "KenhThucHien", history.null_channel_shares, "null KenhThucHien"),
        ("null_due_date_share", "NgayHenTra", history.null_due_shares, "null NgayHenTra"),
    ):
        shares = [s for s in shares if s is not None]
        if len(shares) < need:
            continue
        typical = statistics.median(shares)
        allowed = min(1.0, typical + null_share_jump())
        rules.append(Rule(
            rule, column,
            f"share of {what} jumped above {allowed:.0%} (recent typical {typical:.1%})",
            "ExpectColumnValuesToNotBeNull",
            {"column": column, "mostly": round(max(0.0, 1.0 - allowed), 6)},
            WARNING, row_level=False))
    return rules


# ----------------------------------------------------------------------------- outcomes

@dataclass
class SuiteOutcome:
    """Catalogue or unit suite: errors (items that cannot be loaded) and warnings."""

    suite: str
    expectations: list[dict]
    errors: list[tuple[dict, list[Failure]]] = field(default_factory=list)
    warnings: list[tuple[dict, list[Failure]]] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)
    frame: object = None
    validation: object = None  # GX ExpectationSuiteValidationResult (for the Data Docs)


def _split(suite, items, rules, results, frame, validation=None) -> SuiteOutcome:
    errors: dict[int, list[Failure]] = {}
    warnings: dict[int, list[Failure]] = {}
    for res in results:
        target = errors if res.rule.severity == ERROR else warnings
        for idx in res.rows:
            item = items[idx] if isinstance(items[idx], dict) else {}
            target.setdefault(idx, []).append(Failure(
                res.rule.name, res.rule.field, item.get(res.rule.field), res.rule.message,
                res.rule.severity))
    return SuiteOutcome(
        suite, [r.summary for r in results],
        [(items[i], errors[i]) for i in sorted(errors)],
        [(items[i], warnings[i]) for i in sorted(warnings)], rules, frame, validation)


_code = code_key  # a non-blank string, as stored (storable, bounded); anything else: missing

def _flag(value) -> str:
    number = as_int(value)
    return str(number) if number in (0, 1) else "invalid:" + short_repr(value, 60)


def _text_or_invalid(value) -> str:
    return storable(value)[0] if isinstance(value, str) else "invalid:" + short_repr(value, 60)


def _get(item, key):
    return item.get(key) if isinstance(item, dict) else None


# ----------------------------------------------------------------------------- catalogue

def catalogue_rules(unit_codes) -> list[Rule]:
    rules = [
        Rule("procedure_code_present", "MaTTHC",
             "MaTTHC is missing, blank or not a string (item skipped)",
             "ExpectColumnValuesToNotBeNull", {"column": "MaTTHC"}, ERROR),
        Rule("procedure_code_unique", "MaTTHC",
             "MaTTHC appears more than once (the last item wins)",
             "ExpectColumnValuesToBeUnique", {"column": "MaTTHC"}, WARNING),
        Rule("service_level_valid", "MucDo", 'MucDo is not "2", "3" or "4"',
             "ExpectColumnValuesToBeInSet", {"column": "MucDo", "value_set": SERVICE_LEVELS},
             WARNING),
    ]
    for flag in CATALOGUE_FLAGS:
        rules.append(Rule("flag_valid", flag, f"{flag} is not 0 or 1",
                          "ExpectColumnValuesToBeInSet", {"column": flag, "value_set": ["0", "1"]},
                          WARNING))
    rules.append(Rule(
        "handling_units_known", "MaDonViThucHien",
        "MaDonViThucHien is not a list of units of /api/donvi",
        "ExpectColumnValuesToBeInSet", {"column": "units_known", "value_set": [True]}, WARNING))
    return rules


def _units_known(value, unit_codes) -> bool:
    if isinstance(value, str):  # read as a one-item list, as the load does
        value = [value]
    if not isinstance(value, list):
        return False
    return all(code_key(u) in unit_codes for u in value)


def catalogue_frame(items: list[dict], unit_codes):
    import pandas as pd

    units = set(unit_codes)
    rows = []
    for item in items:
        row = {"MaTTHC": _code(_get(item, "MaTTHC")),
               "MucDo": _text_or_invalid(_get(item, "MucDo")),
               "units_known": _units_known(_get(item, "MaDonViThucHien"), units)}
        for flag in CATALOGUE_FLAGS:
            row[flag] = _flag(_get(item, flag))
        rows.append(row)
    columns = ["MaTTHC", "MucDo", *CATALOGUE_FLAGS, "units_known"]
    return pd.DataFrame(rows, columns=columns, dtype=object)


def validate_catalogue(items: list[dict], unit_codes, *, context=None) -> SuiteOutcome:
    from egov.quality.gxrun import run_suite

    if not items:
        return SuiteOutcome(CATALOGUE_SUITE, [])
    rules = catalogue_rules(unit_codes)
    frame = catalogue_frame(items, unit_codes)
    results, validation = run_suite(CATALOGUE_SUITE, rules, frame, context=context)
    return _split(CATALOGUE_SUITE, items, rules, results, frame, validation)


# ----------------------------------------------------------------------------- units

def unit_rules() -> list[Rule]:
    return [
        Rule("unit_code_present", "MaDonVi",
             "MaDonVi is missing, blank or not a string (item skipped)",
             "ExpectColumnValuesToNotBeNull", {"column": "MaDonVi"}, ERROR),
        Rule("unit_code_unique", "MaDonVi", "MaDonVi appears more than once (the last wins)",
             "ExpectColumnValuesToBeUnique", {"column": "MaDonVi"}, WARNING),
        Rule("unit_level_valid", "CapDonVi", "CapDonVi is not TINH, SO, HUYEN or XA",
             "ExpectColumnValuesToBeInSet", {"column": "CapDonVi", "value_set": UNIT_LEVELS},
             WARNING),
        Rule("parent_known", "MaDonViCha", "MaDonViCha is not a unit of /api/donvi",
             "ExpectColumnValuesToBeInSet", {"column": "parent_known", "value_set": [True]},
             WARNING),
        Rule("one_root", "MaDonViCha", "the unit tree does not have exactly one root "
             "(a unit whose MaDonViCha is null)",
             "ExpectColumnSumToBeBetween", {"column": "is_root", "min_value": 1, "max_value": 1},
             WARNING, row_level=False),
    ]


def unit_frame(items: list[dict]):
    import pandas as pd

    codes = {c for c in (_code(_get(i, "MaDonVi")) for i in items) if c}
    rows = []
    for item in items:
        raw = _get(item, "MaDonViCha")
        parent = _code(raw)
        blank = raw is None or (isinstance(raw, str) and not raw.strip())
        rows.append({
            "MaDonVi": _code(_get(item, "MaDonVi")),
            "CapDonVi": _text_or_invalid(_get(item, "CapDonVi")),
            # a parent that is not a string is stored null (a root) and reported here
            "parent_known": blank or parent in codes,
            "is_root": 1 if parent is None else 0,
        })
    frame = pd.DataFrame(rows, columns=["MaDonVi", "CapDonVi", "parent_known", "is_root"],
                         dtype=object)
    frame["is_root"] = frame["is_root"].astype("int64")
    return frame


def validate_units(items: list[dict], *, context=None) -> SuiteOutcome:
    from egov.quality.gxrun import run_suite

    if not items:
        return SuiteOutcome(UNIT_SUITE, [])
    rules = unit_rules()
    frame = unit_frame(items)
    results, validation = run_suite(UNIT_SUITE, rules, frame, context=context)
    return _split(UNIT_SUITE, items, rules, results, frame, validation)
