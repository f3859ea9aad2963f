"""Great Expectations suite of the portal contract's record rules, and the split it makes.

Each rule of portal-api.md ("Which record versions are malformed") is one or two GX
expectations on a frame built from the raw record versions. A version that fails any rule
is rejected with every rule it broke; the rest are accepted.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field

from egov.records import DATE_FIELDS, as_int, fee_items_valid

log = logging.getLogger(__name__)

VALID_STATUSES = [str(s) for s in range(1, 11)]
RECEIVED_REQUIRED = [s for s in VALID_STATUSES if s not in ("1", "3")]
ENDED_REQUIRED = ["7", "8", "9", "10"]
RETURNED_REQUIRED = ["10"]


@dataclass(frozen=True)
class Rule:
    """One contract rule, as one GX expectation; `field` is the portal field it reads."""

    name: str
    field: str
    message: str
    expectation: str
    kwargs: dict = field(default_factory=dict)


def _rules(unit_codes) -> list[Rule]:
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
                          "ExpectColumnValuesToMatchRegex", {"column": name, "regex": r"^\d{14}$"}))
        rules.append(Rule("date_exists", name, f"{name} is not a real date and time",
                          "ExpectColumnValuesToMatchStrftimeFormat",
                          {"column": name, "strftime_format": "%Y%m%d%H%M%S"}))
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


@dataclass(frozen=True)
class Failure:
    rule: str
    field: str
    value: object
    message: str

    @property
    def reason(self) -> str:
        return f"{self.rule}: {self.field}={self.value!r}: {self.message}"


@dataclass
class Outcome:
    accepted: list[dict]
    rejected: list[tuple[dict, list[Failure]]]
    expectations: list[dict]  # one summary per expectation: rule, field, success, failed rows

    @property
    def success(self) -> bool:
        return not self.rejected


def _text(value):
    """A field for the frame: None stays None, "" is missing, other values as text."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    return repr(value)


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


def _day(value) -> str | None:
    return value[:8] if isinstance(value, str) and len(value) == 14 and value.isdigit() else None


def record_frame(records: list[dict]):
    """The columns the suite reads, one row per record version (index = list position)."""
    import pandas as pd

    rows = []
    for r in records:
        row = {
            "MaHoSo": _code(r.get("MaHoSo")),
            "MaDonVi": _code(r.get("MaDonVi")),
            "TrangThaiHoSo": _normalized_int(r.get("TrangThaiHoSo"), nullable=False),
            "KenhThucHien": _normalized_int(r.get("KenhThucHien"), nullable=True),
            "fees_valid": fee_items_valid(r.get("DanhSachLePhi")),
        }
        for name in DATE_FIELDS:
            row[name] = _text(r.get(name))
        row["received_day"] = _day(row["NgayTiepNhan"])
        row["due_day"] = _day(row["NgayHenTra"])
        rows.append(row)
    columns = ["MaHoSo", "MaDonVi", "TrangThaiHoSo", "KenhThucHien", "fees_valid",
               *DATE_FIELDS, "received_day", "due_day"]
    return pd.DataFrame(rows, columns=columns, dtype=object)


def _gx():
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    import great_expectations as gx

    return gx


def build_suite(gx, unit_codes, name: str = "dossier_contract"):
    suite = gx.ExpectationSuite(name=name)
    for rule in _rules(unit_codes):
        cls = getattr(gx.expectations, rule.expectation)
        meta = {"rule": rule.name, "field": rule.field, "message": rule.message}
        suite.add_expectation(cls(**rule.kwargs, meta=meta))
    return suite


def validate_dossiers(records: list[dict], unit_codes) -> Outcome:
    """Run the contract suite on `records` (raw API versions) and split them."""
    if not records:
        return Outcome([], [], [])
    gx = _gx()
    from great_expectations.data_context.types.base import ProgressBarsConfig

    frame = record_frame(records)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    batch_def = (
        context.data_sources.add_pandas("portal")
        .add_dataframe_asset("dossier_versions")
        .add_batch_definition_whole_dataframe("batch")
    )
    suite = context.suites.add(build_suite(gx, unit_codes))
    batch = batch_def.get_batch(batch_parameters={"dataframe": frame})
    result = batch.validate(suite, result_format={"result_format": "COMPLETE"})

    failures: dict[int, list[Failure]] = {}
    summaries = []
    for res in result.results:
        meta = res.expectation_config.meta
        if res.exception_info and res.exception_info.get("raised_exception"):
            raise RuntimeError(
                f"GX expectation {meta['rule']} ({meta['field']}) raised: "
                f"{res.exception_info.get('exception_message')}"
            )
        rows = res.result.get("unexpected_index_list") or []
        summaries.append({
            "rule": meta["rule"], "field": meta["field"],
            "expectation": res.expectation_config.type, "success": bool(res.success),
            "unexpected_count": len(rows), "element_count": len(frame),
        })
        for idx in rows:
            idx = idx if isinstance(idx, int) else int(idx.get("index", idx))
            value = records[idx].get(meta["field"])
            failures.setdefault(idx, []).append(
                Failure(meta["rule"], meta["field"], value, meta["message"])
            )
    accepted = [r for i, r in enumerate(records) if i not in failures]
    rejected = [(records[i], failures[i]) for i in sorted(failures)]
    return Outcome(accepted, rejected, summaries)
