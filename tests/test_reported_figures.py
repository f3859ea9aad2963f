"""Which reported figure counts, the target's figure and its status
(docs/contracts/reported-figures.md), pure and on both warehouses."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction

import pytest
import sqlalchemy as sa

from egov.compute.reported import (
    Revision,
    counting,
    due_date,
    reported_status,
    target_figure,
)
from egov.compute.targets import evaluate_targets
from egov.warehouse.schema import dim_unit, fct_reported_figure, mart_target_evaluation

PROV = "000.00.00.H99"
DEPT, DIST, DIST2 = "000.00.01.H99", "000.00.21.H99", "000.00.22.H99"
COMMUNE = "000.01.21.H99"


def rev(unit=PROV, data_to=date(2025, 12, 31), approved_at=date(2026, 1, 5), basis="self_reported",
        num=9, den=10, pct=None, seq=1, row=2, doc="1/BC", sample=False) -> Revision:
    return Revision(unit, data_to, approved_at, basis, num, den,
                    None if pct is None else Decimal(pct), doc, seq, row, sample, "f.xlsx")


# ---------------------------------------------------------------------- which revision counts

AS_OF = date(2026, 2, 1)


def test_verified_wins_over_self_reported_even_older():
    verified = rev(basis="verified", data_to=date(2025, 9, 30), row=3)
    newer_self = rev(basis="self_reported", data_to=date(2025, 12, 31), row=4)
    assert counting([newer_self, verified], AS_OF) is verified


def test_then_latest_data_to_then_latest_approved_at():
    a = rev(data_to=date(2025, 9, 30), approved_at=date(2026, 1, 10))
    b = rev(data_to=date(2025, 12, 31), approved_at=date(2026, 1, 2))
    assert counting([a, b], AS_OF) is b
    c = rev(data_to=date(2025, 12, 31), approved_at=date(2026, 1, 9))
    assert counting([a, b, c], AS_OF) is c


def test_then_the_file_taken_last_then_the_lower_row():
    first = rev(seq=1, row=2)
    later = rev(seq=2, row=9)
    assert counting([first, later], AS_OF) is later
    lower = rev(seq=2, row=3)
    assert counting([first, later, lower], AS_OF) is lower


def test_a_figure_counts_from_the_day_it_was_signed_whatever_its_arrival():
    signed_late = rev(basis="verified", approved_at=date(2026, 1, 25), seq=1)
    early = rev(basis="self_reported", approved_at=date(2026, 1, 5), seq=2)
    assert counting([signed_late, early], date(2026, 1, 24)) is early
    assert counting([signed_late, early], date(2026, 1, 25)) is signed_late
    # data_to after the as-of day: not yet
    future = rev(data_to=date(2026, 3, 31), approved_at=date(2026, 1, 1))
    assert counting([future], AS_OF) is None


# ---------------------------------------------------------------------- the target's figure

def test_unit_figure():
    fig = target_figure({PROV: rev(num=19, den=20)}, [PROV], summed=False)
    assert (fig.numerator, fig.denominator, fig.value) == (19, 20, Fraction(95))
    assert (fig.reported_units, fig.expected_units, fig.percent_only) == (1, 1, False)
    assert target_figure({}, [PROV], summed=False) is None


def test_children_summed_counted_verified_only_when_all_are():
    by_unit = {
        DEPT: rev(DEPT, num=9, den=10, basis="verified", data_to=date(2025, 12, 31), doc="A"),
        DIST: rev(DIST, num=1, den=10, basis="self_reported", data_to=date(2025, 9, 30),
                  doc="B"),
    }
    fig = target_figure(by_unit, [DEPT, DIST, DIST2], summed=True)
    assert (fig.numerator, fig.denominator) == (10, 20)
    assert fig.value == Fraction(50)  # 10/20 from the sums
    assert (fig.reported_units, fig.expected_units) == (2, 3)
    assert fig.basis == "self_reported" and fig.data_to == date(2025, 12, 31)
    assert fig.source_doc == "A; B"
    by_unit[DIST] = rev(DIST, num=1, den=30, basis="verified")
    fig = target_figure(by_unit, [DEPT, DIST, DIST2], summed=True)
    assert fig.value == Fraction(1000, 40) and fig.basis == "verified"  # 10/40, not mean


def test_children_percent_only_is_the_mean_of_values():
    by_unit = {DEPT: rev(DEPT, num=1, den=4), DIST: rev(DIST, num=None, den=None, pct="80.50")}
    fig = target_figure(by_unit, [DEPT, DIST], summed=True)
    assert fig.percent_only and (fig.numerator, fig.denominator) == (None, None)
    assert fig.value == (Fraction(25) + Fraction("80.5")) / 2


# ---------------------------------------------------------------------- status

@dataclass(frozen=True)
class T:
    code: str
    indicator: str | None
    unit: str
    comparator: str
    thresholds: dict
    clause: str = "clause"
    report_by: str = "unit"
    report_due: str = "01-20"


@pytest.mark.parametrize("as_of, expected", [
    (date(2025, 6, 30), "not_due"),  # the year is running
    (date(2026, 1, 19), "not_due"),
    (date(2026, 1, 20), "not_due"),  # due that day: not yet past
    (date(2026, 1, 21), "awaiting_report"),
    (date(2027, 5, 1), "awaiting_report"),
])
def test_no_figure_statuses_either_side_of_report_due(as_of, expected):
    due = due_date(T("t", None, PROV, ">=", {2025: 90}), 2025)
    assert due == date(2026, 1, 20)
    assert reported_status(None, ">=", Decimal(90), 2025, as_of, due) == expected


def test_custom_report_due():
    assert due_date(T("t", None, PROV, ">=", {}, report_due="03-31"), 2024) == date(2025, 3, 31)


def test_figure_statuses():
    due = date(2026, 1, 20)
    full = target_figure({PROV: rev(num=9, den=10)}, [PROV], summed=False)
    part = target_figure({PROV: rev(num=9, den=10, data_to=date(2025, 9, 30))}, [PROV],
                         summed=False)
    assert reported_status(full, ">=", Decimal(90), 2025, date(2026, 1, 2), due) == "met"
    assert reported_status(full, ">", Decimal(90), 2025, date(2026, 1, 2), due) == "missed"
    # a figure to 30 September only: the year's result is not known yet
    assert reported_status(part, ">=", Decimal(90), 2025, date(2026, 3, 1), due) == "on_track"
    assert reported_status(part, ">=", Decimal("90.01"), 2025, date(2026, 3, 1), due) == \
        "at_risk"
    assert reported_status(full, ">=", Decimal(90), 2025, date(2025, 12, 30), due) == "on_track"
    pct = target_figure({PROV: rev(num=None, den=None, pct="89.99")}, [PROV], summed=False)
    assert reported_status(pct, ">=", Decimal(90), 2025, date(2026, 2, 1), due) == "missed"


# ---------------------------------------------------------------------- on the warehouses

@dataclass(frozen=True)
class P:
    code: str
    title: str
    portal: str
    unit: str
    targets: tuple = field(default_factory=tuple)


PLAN = P("rp", "Kế hoạch RP", "p1", PROV, (
    T("t-unit", None, PROV, ">=", {2025: Decimal(90)}),
    T("t-children", None, PROV, ">=", {2025: Decimal(50)}, report_by="children"),
    T("t-late", None, PROV, ">=", {2025: Decimal(50)}, report_due="02-15"),
    T("t-pct", None, PROV, ">=", {2025: Decimal(80)}, report_by="children"),
    T("t-measured", "online_rate", PROV, ">=", {2025: Decimal(50)}),
))

_seq = iter(range(1, 10_000))


def figure_row(target, unit=PROV, *, num=9, den=10, pct=None, basis="self_reported",
               data_to=date(2025, 12, 31), approved_at=date(2026, 1, 10), seq=None, row=2,
               sample=False) -> dict:
    seq = next(_seq) if seq is None else seq
    return {"file_hash": f"{seq:064d}", "row_number": row, "file_name": f"f{seq}.xlsx",
            "received_at": datetime(2026, 1, 15, 9), "taken_seq": seq, "plan_code": "rp",
            "target_code": target, "unit_code": unit, "year": 2025, "data_from": None,
            "data_to": data_to, "numerator": num, "denominator": den,
            "value_pct": None if pct is None else Decimal(pct), "source_doc": f"{seq}/BC",
            "evidence_ref": None, "prepared_by": "Phòng A", "approved_by": "Giám đốc",
            "approved_at": approved_at, "basis": basis, "note": None, "is_sample": sample}


def units_tree():
    rows = [(PROV, None, "TINH"), (DEPT, PROV, "SO"), (DIST, PROV, "HUYEN"),
            (DIST2, PROV, "HUYEN"), (COMMUNE, DIST, "XA")]
    return [{"unit_code": c, "portal_code": "p1", "unit_name": c, "parent_code": p,
             "unit_level": lvl} for c, p, lvl in rows]


def evaluate(engine, as_of):
    with engine.begin() as conn:
        evaluate_targets(conn, [PLAN], as_of=as_of, portal_codes=["p1"], run_id="r",
                         computed_at=datetime(2026, 2, 2))
    with engine.connect() as conn:
        rows = conn.execute(sa.select(mart_target_evaluation).where(
            mart_target_evaluation.c.as_of_date == as_of)).mappings().all()
    return {r["target_code"]: dict(r) for r in rows}


def test_evaluation_with_reported_figures(warehouse):
    with warehouse.begin() as conn:
        conn.execute(sa.insert(dim_unit), units_tree())
        conn.execute(sa.insert(fct_reported_figure), [
            figure_row("t-unit", num=45, den=50, basis="self_reported"),
            figure_row("t-unit", num=40, den=50, basis="verified", data_to=date(2025, 12, 31),
                       approved_at=date(2026, 1, 18)),
            figure_row("t-children", DEPT, num=3, den=4, basis="verified"),
            figure_row("t-children", DIST, num=1, den=6, basis="verified"),
            figure_row("t-children", COMMUNE, num=100, den=100),  # a grandchild: not counted
            figure_row("t-pct", DEPT, num=9, den=10),
            figure_row("t-pct", DIST2, num=None, den=None, pct="70.25", sample=True),
            figure_row("t-measured", num=1, den=1),  # beside the measured one, never in it
        ])
    before = evaluate(warehouse, date(2026, 1, 17))  # the verified unit figure is not signed
    after = evaluate(warehouse, date(2026, 2, 16))
    assert {k: r["status"] for k, r in before.items()} == {
        "t-unit": "met", "t-children": "missed", "t-late": "not_due", "t-pct": "met",
        "t-measured": "no_data"}
    r = before["t-unit"]
    assert (r["numerator"], r["denominator"], r["basis"]) == (45, 50, "self_reported")
    assert (r["reported_units"], r["expected_units"]) == (1, 1)
    assert Decimal(str(r["value_pct"])) == Decimal("90.00")
    assert {k: r["status"] for k, r in after.items()} == {
        "t-unit": "missed", "t-children": "missed", "t-late": "awaiting_report", "t-pct": "met",
        "t-measured": "no_data"}
    r = after["t-unit"]  # verified 40/50 wins over the self-reported 45/50
    assert (r["numerator"], r["denominator"], r["basis"]) == (40, 50, "verified")
    assert r["data_to"] == date(2025, 12, 31) and r["source_doc"].endswith("/BC")
    r = after["t-children"]
    # 3/4 + 1/6 summed (the commune is a grandchild): 4/10 = 40 % < 50 %
    assert (r["numerator"], r["denominator"], r["basis"]) == (4, 10, "verified")
    assert (r["reported_units"], r["expected_units"], r["percent_only"]) == (2, 3, False)
    assert Decimal(str(r["value_pct"])) == Decimal("40.00")
    r = after["t-pct"]  # mean of 90 and 70.25
    assert (r["numerator"], r["denominator"], bool(r["percent_only"])) == (None, None, True)
    assert Decimal(str(r["value_pct"])) == Decimal("80.13") and bool(r["is_sample"])
    assert (r["reported_units"], r["expected_units"]) == (2, 3)
    r = after["t-late"]
    assert (r["reported_units"], r["expected_units"], r["basis"]) == (0, 1, None)
    r = after["t-measured"]
    assert (r["basis"], r["reported_units"]) == ("measured", None)
    assert "not_measured" not in {r["status"] for r in after.values()}
    with warehouse.connect() as conn:
        view = conn.execute(sa.text(
            "SELECT target_code, unit_code, numerator, basis, counts, counts_as_of "
            "FROM bi_reported_figures")).mappings().all()
    assert len(view) == 8
    counting_rows = {(v["target_code"], v["unit_code"], v["numerator"]) for v in view
                     if v["counts"] == 1}
    assert ("t-unit", PROV, 40) in counting_rows and ("t-unit", PROV, 45) not in counting_rows
    assert ("t-measured", PROV, 1) in counting_rows
    assert {str(v["counts_as_of"])[:10] for v in view} == {"2026-02-16"}
