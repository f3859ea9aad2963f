"""Recompute the marts for past as-of days from the warehouse alone, without calling any
portal: indicator snapshots, target evaluations (with their outlook) and Biểu 06.

    python -m egov.compute.recompute --from 2025-01-01 --to 2025-03-31 [--portal binh-dinh ...]
                             [--url SQLALCHEMY_URL]

Each day is one transaction that replaces that day's mart rows of the portals recomputed,
exactly as a nightly run as of that day replaces them (reruns never duplicate). Records are
taken in the state the warehouse holds now; the as-of day selects by the records' own dates
what counts, as the nightly job does (docs/runbook.md, "Backfill").
The nightly DAG runs the same code for one day with the param `recompute_only`.
"""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine

    from egov.compute.plans import Plan

log = logging.getLogger(__name__)


def days_between(start: date, end: date) -> list[date]:
    if end < start:
        raise ValueError(f"--to {end} is before --from {start}")
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def warehouse_portals(conn: Connection) -> list[str]:
    """Portals whose units the warehouse holds (loaded at least once)."""
    from sqlalchemy import select

    from egov.warehouse.schema import dim_unit

    return sorted(conn.execute(select(dim_unit.c.portal_code).distinct()).scalars())


def recompute_day(conn: Connection, day: date, *, portals: Sequence[str], plans: Sequence[Plan], run_id: str,
                  computed_at: datetime) -> dict[str, Any]:
    """Snapshots, targets and Biểu 06 of `portals` as of `day`, in the caller's transaction."""
    from egov.compute.form06 import compute_form06
    from egov.compute.indicators.snapshots import compute_snapshots
    from egov.compute.targets import evaluate_targets, target_years
    from egov.periods import snapshot_periods

    years = target_years([p for p in plans if p.portal in portals])
    snapshots = compute_snapshots(conn, portal_codes=portals, as_of=day,
                                  periods=snapshot_periods(day, years), run_id=run_id,
                                  computed_at=computed_at)
    evaluations = evaluate_targets(conn, plans, as_of=day, portal_codes=portals, run_id=run_id,
                                   computed_at=computed_at)
    form06 = compute_form06(conn, portal_codes=portals, as_of=day, run_id=run_id,
                            computed_at=computed_at)
    return {"as_of": day.isoformat(), "portals": list(portals), "snapshot_rows": snapshots,
            "evaluations": len(evaluations), "form06_rows": form06}


def recompute(days: Iterable[date], *, portals: Sequence[str] | None = None, engine: Engine | None = None,
              run_id: str | None = None) -> list[dict[str, Any]]:
    """Recompute every day of `days` (one transaction each); return one summary per day.

    `portals`: default every portal the warehouse holds units of; a portal it does not hold
    is an error (nothing would be computed for it)."""
    from egov.compute.plans import load_plans
    from egov.settings import ConfigError
    from egov.warehouse.db import make_engine
    from egov.warehouse.migrations import upgrade

    plans = load_plans()
    own = engine is None
    engine = engine or make_engine()
    upgrade(engine)
    computed_at = datetime.now().replace(microsecond=0)
    run_id = run_id or f"recompute__{computed_at:%Y%m%dT%H%M%S}"
    with engine.connect() as conn:
        held = warehouse_portals(conn)
    wanted = list(dict.fromkeys(portals or held))
    unknown = sorted(set(wanted) - set(held))
    if unknown:
        raise ConfigError(f"not in the warehouse (never loaded): {', '.join(unknown)}"
                          f" (held: {', '.join(held) or 'none'})")
    if not wanted:
        raise ConfigError("the warehouse holds no portal yet: run egov_nightly first")
    results = []
    for day in days:
        with engine.begin() as conn:
            result = recompute_day(conn, day, portals=wanted, plans=plans, run_id=run_id,
                                   computed_at=computed_at)
        log.info("recomputed as of %s for %s: %d snapshot rows, %d evaluations, %d Biểu 06"
                 " rows", day, ", ".join(wanted), result["snapshot_rows"],
                 result["evaluations"], result["form06_rows"])
        results.append(result)
    if own:
        engine.dispose()
    return results


def recompute_for_run(*, params: dict[str, Any], logical_date: datetime | None, run_id: str) -> dict[str, Any]:
    """The `compute` step of a nightly run with `recompute_only`: the run's as-of day, for
    the portals of `params.portals` (default: every portal the warehouse holds)."""
    from egov.periods import as_of_for_logical_date

    if params.get("as_of"):
        day = date.fromisoformat(str(params["as_of"]))
    else:
        day = as_of_for_logical_date(cast(datetime, logical_date))  # a scheduled run has one
    (result,) = recompute([day], portals=params.get("portals") or None, run_id=run_id)
    return result


def main(argv: list[str] | None = None) -> int:
    from egov.warehouse.cli_args import day_range, existing_warehouse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="start", required=True, type=date.fromisoformat,
                        help="first as-of day (YYYY-MM-DD)")
    parser.add_argument("--to", dest="end", type=date.fromisoformat,
                        help="last as-of day (default: --from)")
    parser.add_argument("--portal", action="append", dest="portals",
                        help="a portal code (repeat; default: every portal in the warehouse)")
    parser.add_argument("--url", type=existing_warehouse,
                        help="warehouse SQLAlchemy URL (default: egov_warehouse)")
    args = parser.parse_args(argv)
    try:
        day_range(args.start, args.end or args.start)
    except ValueError as exc:
        parser.error(str(exc))
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    if args.url:
        os.environ["AIRFLOW_CONN_EGOV_WAREHOUSE"] = args.url
    from egov.settings import ConfigError

    try:
        results = recompute(days_between(args.start, args.end or args.start),
                            portals=args.portals)
    except (ConfigError, ValueError) as exc:
        print(f"recompute: {exc}")
        return 2
    print(f"recomputed {len(results)} days from {args.start} for "
          f"{', '.join(results[0]['portals'])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
