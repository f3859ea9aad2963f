"""Great Expectations suite of the portal contract's record rules, and the split it makes.

Each rule of portal-api.md ("Which record versions are malformed") is one GX expectation
of severity `error` on a frame built from the raw record versions: a version that breaks any
of them is rejected (quarantined) with every error rule it broke. Rules of severity `warning`
(procedure not in the catalogue, odd `LoaiDoiTuong` / `MucDoHaiLong`, and the batch-level
expectations of `egov.quality.suites`) keep the version and are reported.

No rule reads a personal field (ChuHoSo, SoGiayToChuHoSo, SoDienThoai, Email, DiaChi), and a
failure carries only the failing field's value (`egov.quality.rules.Failure`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from egov.quality.rules import ERROR, WARNING, Failure, Rule
from egov.records import DATE_FIELDS, as_int, fee_items_valid, parse_portal_time

log = logging.getLogger(__name__)

RECORD_SUITE = "dossier_versions"
BATCH_SUITE = "dossier_batch"

VALID_STATUSES = [str(s) for s in range(1, 11)]
RECEIVED_REQUIRED = [s for s in VALID_STATUSES if s not in ("1", "3")]
ENDED_REQUIRED = ["7", "8", "9", "10"]
RETURNED_REQUIRED = ["10"]
APPLICANT_TYPES = ["1", "2", "3", "4"]
SATISFACTION_LEVELS = ["1", "2", "3"]

__all__ = ["Failure", "Outcome", "Rule", "record_frame", "record_rules", "validate_dossiers"]


def _error_rules(unit_codes) -> list[Rule]:
    """The contract's rules (portal-api.md), each of severity error."""
    rules = [
        Rule("dossier_code_present", "MaHoSo", "MaHoSo is missing or blank",
             "ExpectColumnValuesToNotBeNull", {"column": "MaHoSo"}),
        Rule("unit_code_present", "MaDonVi", "MaDonVi is missing or blank",
             "ExpectColumnValuesToNotBeNull", {"column": "MaDonVi"}),
        Rule("unit_known", "MaDonVi", "MaDonVi is not a unit of /api/donvi",
             "ExpectColumnValuesToBeInSet", {"column": "MaDonVi", "value_set": sorted(unit_codes)}),
        Rule("status_valid", "TrangThaiHoSo", "TrangThaiHoSo is not an integer 1..10",
             "ExpectColumnValuesToBeInSet", {"column": "TrangThaiHoSo", "value_set": VALID_STATUSES}),
        Rule("channel_valid", "KenhThucHien", "KenhThucHien is not null, 1, 2 or 3",
             "ExpectColumnValuesToBeInSet", {"column": "KenhThucHien", "value_set": ["1", "2", "3"]}),
        Rule("updated_at_present", "NgayCapNhat", "NgayCapNhat is missing",
             "ExpectColumnValuesToNotBeNull", {"column": "NgayCapNhat"}),
    ]
    for name in DATE_FIELDS:
        rules.append(Rule("date_format", name, f"{name} is not a yyyyMMddHHmmss date",
                          "ExpectColumnValuesToMatchRegex", {"column": name, "regex": r"^[0-9]{14}$"}))
        # `<name>__real`: True / False for a 14-digit value that is / is not a real local
        # time, null otherwise (date_format reports those). Vectorised, unlike GX's
        # strftime expectation, which calls strptime row by row.
        rules.append(Rule("date_exists", name, f"{name} is not a real date and time",
                          "ExpectColumnValuesToBeInSet",
                          {"column": f"{name}__real", "value_set": [True]}))
    for name, statuses in (("NgayTiepNhan", RECEIVED_REQUIRED),
                           ("NgayKetThucXuLy", ENDED_REQUIRED),
                           ("NgayTra", RETURNED_REQUIRED)):
        rules.append(Rule(
            "required_by_status", name, f"{name} is required for status {','.join(statuses)}",
            "ExpectColumnValuesToNotBeNull",
            {"column": name, "row_condition": f"TrangThaiHoSo in {statuses!r}",
             "condition_parser": "pandas"},
        ))
    rules += [
        Rule("due_not_before_received", "NgayHenTra",
             "the day of NgayHenTra is before the day of NgayTiepNhan",
             "ExpectColumnPairValuesAToBeGreaterThanB",
             {"column_A": "due_day", "column_B": "received_day", "or_equal": True,
              "ignore_row_if": "either_value_is_missing"}),
        Rule("fee_valid", "DanhSachLePhi", "a Gia of DanhSachLePhi is not an integer >= 0",
             "ExpectColumnValuesToBeInSet", {"column": "fees_valid", "value_set": [True]}),
    ]
    return rules


def _warning_rules(procedure_codes) -> list[Rule]:
    """Kept-but-reported rules: values that simply match no indicator condition."""
    rules = []
    if procedure_codes is not None:
        rules.append(Rule(
            "procedure_known", "MaTTHC", "MaTTHC is not a procedure of /api/tthc (kept)",
            "ExpectColumnValuesToBeInSet",
            {"column": "procedure_code", "value_set": sorted(procedure_codes)}, WARNING))
    rules += [
        Rule("applicant_type_valid", "LoaiDoiTuong", "LoaiDoiTuong is not 1..4 (kept)",
             "ExpectColumnValuesToBeInSet",
             {"column": "LoaiDoiTuong", "value_set": APPLICANT_TYPES}, WARNING),
        Rule("satisfaction_valid", "MucDoHaiLong", "MucDoHaiLong is not null or 1..3 (kept)",
             "ExpectColumnValuesToBeInSet",
             {"column": "MucDoHaiLong", "value_set": SATISFACTION_LEVELS}, WARNING),
    ]
    return rules


def record_rules(unit_codes, procedure_codes=None) -> list[Rule]:
    """Every row-level rule of the record suite: errors (the contract) then warnings."""
    return _error_rules(unit_codes) + _warning_rules(procedure_codes)


@dataclass
class Outcome:
    accepted: list[dict]
    rejected: list[tuple[dict, list[Failure]]]  # error failures only
    # One summary per expectation (every suite run): suite, rule, field, severity, message,
    # expectation, success, element_count, unexpected_count, missing_count, observed_value,
    # partial_unexpected_list, details. JSON-serialisable; what store_results keeps.
    expectations: list[dict]
    warnings: list[tuple[dict, list[Failure]]] = field(default_factory=list)  # accepted rows

    @property
    def success(self) -> bool:
        return not self.rejected

    @property
    def batch_warnings(self) -> list[dict]:
        return [s for s in self.expectations if s["suite"] == BATCH_SUITE and not s["success"]]


def _text(value):
    """A date field for the frame: None and "" are missing; a string is kept; anything else
    (an int 20240101080000, a list) can never be a date."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    return f"invalid:{value!r}"


def _code(value):
    """A code as text (kept exactly, so an untrimmed MaDonVi matches no unit); blank → None."""
    if isinstance(value, bool) or value is None:
        return None
    text = str(value)
    return text if text.strip() else None


def _normalized_int(value, *, nullable: bool):
    if value is None and nullable:
        return None
    number = as_int(value)
    return str(number) if number is not None else f"invalid:{value!r}"


def _is_real_time(value) -> bool | None:
    """None unless 14 ASCII digits; then whether they are a real date and time."""
    if not (isinstance(value, str) and len(value) == 14 and value.isascii() and value.isdigit()):
        return None
    try:
        parse_portal_time(value)
    except ValueError:
        return False
    return True


def _day(value) -> str | None:
    """The calendar day (yyyyMMdd) of a real date; None when missing or malformed (the date
    rules report those; the due-date rule then has nothing to compare)."""
    try:
        moment = parse_portal_time(value)
    except ValueError:
        return None
    return moment.strftime("%Y%m%d") if moment else None


RECORD_COLUMNS = ["MaHoSo", "MaDonVi", "TrangThaiHoSo", "KenhThucHien", "fees_valid",
                  *DATE_FIELDS, *(f"{n}__real" for n in DATE_FIELDS), "received_day",
                  "due_day", "procedure_code", "LoaiDoiTuong", "MucDoHaiLong"]


def record_frame(records: list[dict]):
    """The columns the suites read, one row per record version (index = list position).
    No personal field is ever copied into it."""
    import pandas as pd

    rows = []
    for r in records:
        row = {
            "MaHoSo": _code(r.get("MaHoSo")),
            "MaDonVi": _code(r.get("MaDonVi")),
            "TrangThaiHoSo": _normalized_int(r.get("TrangThaiHoSo"), nullable=False),
            "KenhThucHien": _normalized_int(r.get("KenhThucHien"), nullable=True),
            "fees_valid": fee_items_valid(r.get("DanhSachLePhi")),
            "procedure_code": _code(r.get("MaTTHC")) or "",
            "LoaiDoiTuong": _normalized_int(r.get("LoaiDoiTuong"), nullable=True),
            "MucDoHaiLong": _normalized_int(r.get("MucDoHaiLong"), nullable=True),
        }
        for name in DATE_FIELDS:
            row[name] = _text(r.get(name))
            row[f"{name}__real"] = _is_real_time(row[name])
        row["received_day"] = _day(row["NgayTiepNhan"])
        row["due_day"] = _day(row["NgayHenTra"])
        rows.append(row)
    return pd.DataFrame(rows, columns=RECORD_COLUMNS, dtype=object)


def build_suite(gx, unit_codes, name: str = RECORD_SUITE, procedure_codes=None):
    """The record suite as a GX ExpectationSuite (kept for callers of the old API)."""
    from egov.quality.gxrun import build_suite as build

    return build(name, record_rules(unit_codes, procedure_codes))


def validate_dossiers(records: list[dict], unit_codes, procedure_codes=None, *,
                      history=None, context=None) -> Outcome:
    """Run the record suite on `records` (raw API versions) and split them.

    - `unit_codes`: the MaDonVi of /api/donvi (error rule `unit_known`);
    - `procedure_codes`: the MaTTHC of /api/tthc, or None to skip the warning
      `procedure_known`;
    - `history`: an `egov.quality.history.BatchHistory` of recent runs, or None to skip the
      batch-level warnings (volume, share of null channels / null due dates).
    """
    return run_record_suites(records, unit_codes, procedure_codes, history=history,
                             context=context)[0]


def run_record_suites(records, unit_codes, procedure_codes=None, *, history=None,
                      context=None):
    """`validate_dossiers`, also returning what ran: [(suite name, rules, frame)]."""
    from egov.quality.gxrun import ephemeral_context, run_rules
    from egov.quality.suites import batch_rules

    if not records and history is None:
        return Outcome([], [], []), []
    frame = record_frame(records)
    context = context or ephemeral_context()
    ran, results = [], []
    if records:
        rules = record_rules(unit_codes, procedure_codes)
        results += run_rules(RECORD_SUITE, rules, frame, context=context)
        ran.append((RECORD_SUITE, rules, frame))
    rules = batch_rules(history) if history is not None else []
    if rules:
        results += run_rules(BATCH_SUITE, rules, frame, context=context)
        ran.append((BATCH_SUITE, rules, frame))

    errors: dict[int, list[Failure]] = {}
    warnings: dict[int, list[Failure]] = {}
    for res in results:
        rule = res.rule
        target = errors if rule.severity == ERROR else warnings
        for idx in res.rows:
            target.setdefault(idx, []).append(
                Failure(rule.name, rule.field, records[idx].get(rule.field), rule.message,
                        rule.severity))
    accepted = [r for i, r in enumerate(records) if i not in errors]
    rejected = [(records[i], errors[i]) for i in sorted(errors)]
    warned = [(records[i], warnings[i]) for i in sorted(warnings) if i not in errors]
    return Outcome(accepted, rejected, [r.summary for r in results], warned), ran
