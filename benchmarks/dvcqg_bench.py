"""Benchmark the 766 index's parse and load for one province and one period (the six
recorded groups, 163 departments and communes): JSON decode + parse + score check, then the
warehouse load (dvcqg_read, history and current tables, departments), each timed on its own.

    python benchmarks/dvcqg_bench.py [--repeat 5] [--db sqlite|postgresql|both]

PostgreSQL: a fresh database on EGOV_TEST_PG_URL's server (dropped after). Prints seconds
and rows/s (best of `--repeat`); never a timed test. The read itself is bound by politeness
(a pause of EGOV_DVCQG_PAUSE_SECONDS between six requests), not measured here.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def _recorded() -> dict[str, bytes]:
    from tests.dvcqg_replay import recorded

    return recorded()


def parse_all(bodies: dict[str, bytes], root: str):
    from egov.sources.dvcqg.groups import GROUPS
    from egov.sources.dvcqg.records import parse_group
    from egov.sources.dvcqg.scores import check
    from egov.sources.onestop import json_body

    groups = []
    for group in GROUPS:
        data = json_body.loads(bodies[group.path])["data"]
        rows = parse_group(group, [data], root)
        check(rows)
        groups.append(rows)
    return groups


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="sqlite")
    args = ap.parse_args()

    from egov.periods import period_containing
    from egov.warehouse.db import make_engine
    from egov.warehouse.dvcqg import ReadOutcome, load_read
    from egov.warehouse.migrations import upgrade
    from tests.dvcqg_replay import RECORDED_ROOT

    bodies = _recorded()
    best_parse, groups = float("inf"), None
    for _ in range(args.repeat):
        started = time.perf_counter()
        groups = parse_all(bodies, RECORDED_ROOT)
        best_parse = min(best_parse, time.perf_counter() - started)
    rows = sum(len(g.scores) + len(g.metrics) for g in groups)
    units = len(groups[0].scores)
    print(f"parse (decode + parse + score check), 6 groups, {units} rows per group: "
          f"{best_parse:.3f} s, {rows / best_parse:,.0f} rows/s ({rows} rows)")

    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    for kind in kinds:
        cleanup = None
        if kind == "sqlite":
            url = f"sqlite:///{tempfile.mkdtemp(prefix='dvcqg-bench-')}/w.db"
        else:
            from tests.conftest import create_pg_database, drop_pg_database

            url = cleanup = create_pg_database("egov_bench")
        engine = make_engine(url)
        try:
            upgrade(engine)
            period = period_containing("year", date(2026, 1, 1))
            best = float("inf")
            base = datetime.now(UTC).replace(tzinfo=None)
            for i in range(args.repeat):
                outcome = ReadOutcome("phu-tho", RECORDED_ROOT, period,
                                      base + timedelta(seconds=i), True, True,
                                      groups_read=tuple(g.group_code for g in groups),
                                      as_of=date(2026, 9, 25), run_id="bench")
                started = time.perf_counter()
                with engine.begin() as conn:
                    load_read(conn, outcome, groups)
                best = min(best, time.perf_counter() - started)
            print(f"load on {kind} (read row, history, current, departments): {best:.3f} s, "
                  f"{rows / best:,.0f} rows/s")
            print(f"parse + load on {kind}: {best_parse + best:.3f} s for one province-period")
        finally:
            engine.dispose()
            if cleanup:
                drop_pg_database(cleanup)
    return 0


if __name__ == "__main__":
    sys.exit(main())
