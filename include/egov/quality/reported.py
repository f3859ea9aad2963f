"""Rows of a reported file validated by a Great Expectations suite (egov.quality.gxrun).

Each row becomes a frame row of its raw texts and the values parsed from them (an
unparseable value becomes a sentinel the suite rejects; egov.sources.reported.rows), plus the
keys the suite checks against the plans (plan, plan|target, plan|target|year,
plan|target|unit; `Known`, built by egov.compute.reported.known_from). One expectation
per rule; a row breaking any rule is rejected with every rule it broke; the other rows are
accepted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from egov.quality.rules import Rule
from egov.sources.reported.rows import (
    MAX_COUNT,
    PCT_TEXT,
    Known,
    frame_row,
    stored_values,
)

SUITE = "reported_figures"
_DATE_TEXT = r"^\d{4}-\d{2}-\d{2}$"
_FAR = date(9999, 12, 31).toordinal()


@dataclass(frozen=True)
class Verdict:
    number: int
    accepted: bool
    rules: tuple[str, ...]  # broken rules, in the suite's order
    messages: tuple[str, ...]  # Vietnamese
    values: dict  # the parsed values (accepted rows: what is stored)



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
             "ExpectColumnValuesToMatchRegex", regex=PCT_TEXT),
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
