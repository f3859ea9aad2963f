"""Great Expectations suite of the portal contract's record rules, and the split it makes.

Each rule of portal-api.md ("Which record versions are malformed") is one GX expectation
of severity `error` on a frame built from the parsed record versions (`egov.sources.onestop.records`: each
item parsed once, `RecordVersion.checks`): a version that breaks any of them is rejected
(quarantined) with every error rule it broke. Rules of severity `warning`
(procedure not in the catalogue, odd `LoaiDoiTuong` / `MucDoHaiLong`, and the batch-level
expectations of `egov.quality.suites`) keep the version and are reported.

No rule reads a personal field (ChuHoSo, SoGiayToChuHoSo, SoDienThoai, Email, DiaChi), and a
failure carries only the failing field's value (`egov.quality.rules.Failure`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from egov.quality.rules import ERROR, WARNING, Failure, Rule
from egov.sources.onestop.records import (
    DATE_FIELDS,
    MAX_NESTING,
    RECORD_COLUMNS,
    RecordVersion,
    parse_version,
)

log = logging.getLogger(__name__)

RECORD_SUITE = "dossier_versions"
BATCH_SUITE = "dossier_batch"

VALID_STATUSES = [str(s) for s in range(1, 11)]
RECEIVED_REQUIRED = [s for s in VALID_STATUSES if s not in ("1", "3")]
ENDED_REQUIRED = ["7", "8", "9", "10"]
RETURNED_REQUIRED = ["10"]
APPLICANT_TYPES = ["1", "2", "3", "4"]
SATISFACTION_LEVELS = ["1", "2", "3"]
ITEM_FIELD = "(item)"  # the rule on the item itself (not an object)
NESTING_FIELD = "(nesting)"  # the rule on the item's nesting: its value names the fields

__all__ = ["Failure", "Outcome", "Rule", "record_frame", "record_rules", "validate_dossiers"]


def _error_rules(unit_codes) -> list[Rule]:
    """The contract's rules (portal-api.md), each of severity error."""
    rules = [
        Rule("record_is_object", ITEM_FIELD, "the item of data is not a JSON object",
             "ExpectColumnValuesToBeInSet", {"column": "is_object", "value_set": [True]}),
        Rule("nesting_within_limit", NESTING_FIELD,
             f"these fields hold arrays / objects nested deeper than {MAX_NESTING} levels",
             "ExpectColumnValuesToBeInSet", {"column": "nesting", "value_set": [True]}),
        Rule("dossier_code_present", "MaHoSo", "MaHoSo is missing, blank or not a string",
             "ExpectColumnValuesToNotBeNull", {"column": "MaHoSo"}),
        Rule("unit_code_present", "MaDonVi", "MaDonVi is missing, blank or not a string",
             "ExpectColumnValuesToNotBeNull", {"column": "MaDonVi"}),
        Rule("unit_known", "MaDonVi", "MaDonVi is not a unit of /api/donvi",
             "ExpectColumnValuesToBeInSet", {"column": "MaDonVi", "value_set": sorted(unit_codes)}),
        Rule("status_valid", "TrangThaiHoSo", "TrangThaiHoSo is not an integer 1..10",
             "ExpectColumnValuesToBeInSet", {"column": "TrangThaiHoSo", "value_set": VALID_STATUSES}),
        Rule("channel_valid", "KenhThucHien", "KenhThucHien is not null, 1, 2 or 3",
             "ExpectColumnValuesToBeInSet", {"column": "KenhThucHien", "value_set": ["1", "2", "3"]}),
        Rule("updated_at_present", "NgayCapNhat", "NgayCapNhat is missing",
             "ExpectColumnValuesToNotBeNull", {"column": "NgayCapNhat"}),
        # `NgayCapNhat__not_future`: False when NgayCapNhat is more than a day after the
        # request that returned the version, null when either is unknown.
        Rule("updated_at_future", "NgayCapNhat",
             "NgayCapNhat is more than one day after the request that returned it",
             "ExpectColumnValuesToBeInSet",
             {"column": "NgayCapNhat__not_future", "value_set": [True]}),
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
        Rule("fee_valid", "DanhSachLePhi",
             "a Gia of DanhSachLePhi is not an integer in 0..10^12",
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
    """The split of a batch of record versions (`egov.sources.onestop.records.RecordVersion`)."""

    accepted: list[RecordVersion]
    rejected: list[tuple[RecordVersion, list[Failure]]]  # error failures only
    # One summary per expectation (every suite run): suite, rule, field, severity, message,
    # expectation, success, element_count, unexpected_count, missing_count, observed_value,
    # partial_unexpected_list, details. JSON-serialisable; what store_results keeps.
    expectations: list[dict]
    warnings: list[tuple[RecordVersion, list[Failure]]] = field(default_factory=list)

    @property
    def success(self) -> bool:
        return not self.rejected

    @property
    def batch_warnings(self) -> list[dict]:
        return [s for s in self.expectations if s["suite"] == BATCH_SUITE and not s["success"]]


# Compared with each other (ExpectColumnPairValuesAToBeGreaterThanB): plain objects, since
# two categoricals only compare when their categories are the same.
_OBJECT_COLUMNS = ("received_day", "due_day")


def record_frame(versions):
    """The columns the suites read, one row per record version (index = list position), from
    each version's `checks` (egov.sources.onestop.records.parse_version). No personal field is ever in it.

    Categorical columns: GX filters the whole frame for each row-conditioned metric, and a
    categorical column is taken as its integer codes, not as Python objects (validation of a
    50,000-version window ≈ 2x faster); the values and nulls GX sees are the same."""
    import pandas as pd

    frame = pd.DataFrame([v.checks for v in versions], columns=list(RECORD_COLUMNS),
                         dtype=object)
    for name in RECORD_COLUMNS:
        if name not in _OBJECT_COLUMNS:
            frame[name] = frame[name].astype("category")
    return frame


def build_suite(gx, unit_codes, name: str = RECORD_SUITE, procedure_codes=None):
    """The record suite as a GX ExpectationSuite (kept for callers of the old API)."""
    from egov.quality.gxrun import build_suite as build

    return build(name, record_rules(unit_codes, procedure_codes))


def validate_dossiers(records, unit_codes, procedure_codes=None, *, history=None,
                      context=None, requested_at=None) -> Outcome:
    """Run the record suite on `records` and split them.

    - `records`: parsed `RecordVersion`s, or raw API items (then parsed here, each with
      `requested_at`: the local time of the request that returned them; None skips the rule
      `updated_at_future`);
    - `unit_codes`: the MaDonVi of /api/donvi (error rule `unit_known`);
    - `procedure_codes`: the MaTTHC of /api/tthc, or None to skip the warning
      `procedure_known`;
    - `history`: an `egov.quality.history.BatchHistory` of recent runs, or None to skip the
      batch-level warnings (volume, share of null channels / null due dates).
    """
    return run_record_suites(records, unit_codes, procedure_codes, history=history,
                             context=context, requested_at=requested_at)[0]


def _failure_value(version: RecordVersion, rule: Rule):
    if rule.field == ITEM_FIELD:  # the item itself: only its type, whatever it holds
        return f"<{type(version.payload).__name__}>"
    if rule.field == NESTING_FIELD:  # the names of the fields nested too deeply
        return version.checks[RECORD_COLUMNS.index("nesting")]
    return version.value(rule.field)


def run_record_suites(records, unit_codes, procedure_codes=None, *, history=None,
                      context=None, requested_at=None):
    """`validate_dossiers`, also returning what ran: [(suite name, rules, frame, GX
    validation result)]."""
    from egov.quality.gxrun import ephemeral_context, run_suite
    from egov.quality.suites import batch_rules

    versions = [r if isinstance(r, RecordVersion) else parse_version(r, requested_at)
                for r in records]
    if not versions and history is None:
        return Outcome([], [], []), []
    frame = record_frame(versions)
    context = context or ephemeral_context()
    ran, results = [], []
    if versions:
        rules = record_rules(unit_codes, procedure_codes)
        found, validation = run_suite(RECORD_SUITE, rules, frame, context=context)
        results += found
        ran.append((RECORD_SUITE, rules, frame, validation))
    rules = batch_rules(history) if history is not None else []
    if rules:
        found, validation = run_suite(BATCH_SUITE, rules, frame, context=context)
        results += found
        ran.append((BATCH_SUITE, rules, frame, validation))

    errors: dict[int, list[Failure]] = {}
    warnings: dict[int, list[Failure]] = {}
    for res in results:
        rule = res.rule
        target = errors if rule.severity == ERROR else warnings
        for idx in res.rows:
            target.setdefault(idx, []).append(
                Failure(rule.name, rule.field, _failure_value(versions[idx], rule),
                        rule.message, rule.severity))
    accepted = [v for i, v in enumerate(versions) if i not in errors]
    rejected = [(versions[i], errors[i]) for i in sorted(errors)]
    warned = [(versions[i], warnings[i]) for i in sorted(warnings) if i not in errors]
    return Outcome(accepted, rejected, [r.summary for r in results], warned), ran
