"""The target report: every target of every plan, as of a day, from mart_target_evaluation."""

from __future__ import annotations

import argparse
from datetime import date
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy import Connection

STATUS_MARK = {"met": "MET", "missed": "MISSED", "on_track": "on track", "at_risk": "AT RISK",
               "no_data": "no data", "not_measured": "not measured",
               "awaiting_report": "AWAITING REPORT", "not_due": "report not due"}


def _pct(value: Any) -> str:
    return "—" if value is None else f"{float(value):.2f}%"


def outlook_line(r: dict[str, Any]) -> str:
    """What it takes, in one line: the share of the rest of the year's records that must pass."""
    verdict = "OUT OF REACH" if r["outlook"] == "out_of_reach" else "reachable"
    return (f"outlook {verdict}: {float(r['needed_share_pct']):.2f}% of the rest of the year's "
            f"records must pass ({r['needed_numerator']} of a projected "
            f"{r['projected_denominator']} for the year)")


def evaluation_rows(conn: Connection, as_of: date) -> list[dict[str, Any]]:
    from sqlalchemy import select

    from egov.warehouse.schema import mart_target_evaluation as t

    stmt = (select(t).where(t.c.as_of_date == as_of)
            .order_by(t.c.plan_code, t.c.target_code, t.c.year))
    return [dict(r._mapping) for r in conn.execute(stmt)]


def target_report(conn: Connection, as_of: date) -> str:
    rows = evaluation_rows(conn, as_of)
    if not rows:
        return f"No target evaluations as of {as_of}."
    lines = [f"Target report as of {as_of}"]
    counts: dict[str, int] = {}
    plan = None
    for r in rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
        if r["plan_code"] != plan:
            plan = r["plan_code"]
            lines += ["", f"== {plan}: {r.get('plan_title') or ''}"]
        measured = r["indicator_code"] or "(not measured by portal data)"
        points = r.get("measure") == "points"  # the 766 index's scores
        if r.get("basis") in ("self_reported", "verified"):  # docs/reported-figures.md
            units = (f", {r['reported_units']}/{r['expected_units']} units"
                     if r.get("expected_units") not in (None, 1) else "")
            measured = (f"reported, {r['basis']}{units}{', SAMPLE' if r.get('is_sample') else ''}"
                        f": {r.get('source_doc') or ''}"[:120])
        elif not r["indicator_code"] and r.get("expected_units") is not None:
            measured = f"reported: {r.get('reported_units') or 0}/{r['expected_units']} units"
        figures = (f"{_pct(r['value_pct'])} ({r['numerator']}/{r['denominator']})"
                   if r["denominator"] is not None else _pct(r["value_pct"]))
        if points:
            figures = "—" if r["value_pct"] is None else f"{float(r['value_pct']):g} points"
        lines.append(
            f"  {r['year']} {r['target_code']:<28} {STATUS_MARK.get(r['status'], r['status']):<13}"
            f" {figures:<26} target {r['comparator']} {float(r['threshold_pct']):g}"
            f"{' points' if points else '%'}"
            f"  [{measured} @ {r['unit_code']}]"
        )
        if r.get("outlook"):
            lines.append(f"       {outlook_line(r)}")
        lines.append(f"       “{r['clause']}”")
    summary = ", ".join(f"{STATUS_MARK.get(k, k)}: {v}" for k, v in sorted(counts.items()))
    lines += ["", f"{len(rows)} evaluations — {summary}"]
    return "\n".join(lines)


def outlook_report(conn: Connection, as_of: date) -> str:
    """What it takes: every running-year target with an outlook, as of `as_of`."""
    rows = [r for r in evaluation_rows(conn, as_of) if r.get("outlook")]
    if not rows:
        return f"No running-year target with an outlook as of {as_of}."
    lines = [f"What it takes, as of {as_of} (share of the rest of the year's records that"
             " must pass)"]
    for r in sorted(rows, key=lambda r: (r["outlook"] != "out_of_reach",
                                         -float(r["needed_share_pct"]), r["plan_code"],
                                         r["target_code"])):
        verdict = "OUT OF REACH" if r["outlook"] == "out_of_reach" else "reachable"
        lines.append(
            f"  {r['plan_code']:<26} {r['target_code']:<28} {verdict:<12} "
            f"needs {float(r['needed_share_pct']):6.2f}%  now {_pct(r['value_pct'])} "
            f"({r['numerator']}/{r['denominator']}), target {r['comparator']} "
            f"{float(r['threshold_pct']):g}%")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from egov.warehouse.cli_args import existing_warehouse

    parser = argparse.ArgumentParser(description="Print the target report from the warehouse.")
    parser.add_argument("--as-of", type=date.fromisoformat, help="default: the latest as-of day")
    parser.add_argument("--url", type=existing_warehouse,
                        help="SQLAlchemy URL (default: connection egov_warehouse)")
    parser.add_argument("--outlook", action="store_true",
                        help="only the running-year targets and what it takes to meet them")
    args = parser.parse_args(argv)
    from sqlalchemy import func, select

    from egov.warehouse.db import make_engine
    from egov.warehouse.schema import mart_target_evaluation as t

    engine = make_engine(args.url)
    with engine.connect() as conn:
        as_of = args.as_of or conn.execute(select(func.max(t.c.as_of_date))).scalar()
        if as_of is None:
            print("The warehouse holds no target evaluations yet.")
            return 1
        print(outlook_report(conn, as_of) if args.outlook else target_report(conn, as_of))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
