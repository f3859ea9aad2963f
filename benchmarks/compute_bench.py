"""Benchmark the `compute` step (snapshots + Biểu 06) on a large PostgreSQL warehouse filled
by SQL, full recompute against the incremental aggregates (docs/performance.md).

    python benchmarks/compute_bench.py --records 10000000 --changes 20000 \
        --url postgresql+psycopg2://postgres@127.0.0.1:5432/postgres

Creates a scratch database next to the one of `--url` (dropped at the end), loads the units
and catalogue of one simulated portal, inserts `--records` records over four years by
`generate_series` (the fct_dossier triggers fill the change log, as a COPY would), then times:
the aggregates' first build (egov.warehouse.aggregates.rebuild), a full compute (incremental=False), an
incremental compute with nothing changed, and one after `--changes` records changed.
"""

from __future__ import annotations

import argparse
import time
import uuid
from datetime import date, datetime

import sqlalchemy as sa

PORTAL = "tay-ninh"
AS_OF = date(2025, 12, 30)

FILL = """
INSERT INTO fct_dossier (portal_code, dossier_code, unit_code, procedure_code, procedure_name,
  field_code, field_name, is_certification, channel, service_level, status, received_at,
  updated_at, received_date, due_date, ended_date, result_delivery, online_payment,
  has_digitized_papers, fee_total, has_fee, has_electronic_result, supplement_requests,
  satisfaction)
SELECT :portal, 'B-' || g, u.unit_code, p.procedure_code, p.procedure_name, p.field_code,
  p.field_name, p.field_name = 'Chứng thực', CAST(1 + g % 3 AS int), p.service_level,
  CASE WHEN x.ended > :as_of OR (g % 40 = 0 AND x.received > :as_of - 90) THEN 2 + 2 * (g % 2)
       WHEN g % 10 = 0 THEN 7 + g % 2 ELSE 9 + g % 2 END,
  x.received, x.received, x.received, x.received + CAST(g % 20 AS int),
  CASE WHEN x.ended > :as_of OR (g % 40 = 0 AND x.received > :as_of - 90) THEN NULL
       ELSE x.ended END,
  g % 3, g % 4, g % 2 = 0, (g % 5) * 1000, g % 5 > 0, g % 3 = 0, 0,
  CASE WHEN g % 7 = 0 THEN NULL ELSE 1 + g % 4 END
FROM generate_series(CAST(:first AS bigint), CAST(:last AS bigint)) AS g
CROSS JOIN LATERAL (SELECT (date '2022-01-01' + CAST(g % 1460 AS int)) AS received,
                           (date '2022-01-01' + CAST(g % 1460 + g % 25 AS int)) AS ended) AS x
JOIN bench_unit u ON u.k = (g * 7919) % :units
JOIN bench_proc p ON p.k = (g * 104729) % :procs
"""

CHANGE = """
UPDATE fct_dossier SET status = 10, ended_date = :as_of, updated_at = :now
WHERE portal_code = :portal AND dossier_code IN (
  SELECT dossier_code FROM fct_dossier WHERE portal_code = :portal
  ORDER BY dossier_code DESC LIMIT :n)
"""


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--changes", type=int, default=20_000)
    parser.add_argument("--url", default="postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument("--database", help="reuse this database filled by an earlier --keep run")
    args = parser.parse_args(argv)

    from egov.simulator.world import build_world
    from egov.warehouse.db import make_engine
    from egov.warehouse.load import replace_catalogue, replace_units
    from egov.warehouse.migrations import upgrade

    name = args.database or f"egov_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(args.url, isolation_level="AUTOCOMMIT")
    if not args.database:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.make_url(args.url).set(database=name)
    engine = make_engine(url.render_as_string(hide_password=False))
    figures = []

    def timed(label, fn):
        started = time.perf_counter()
        out = fn()
        figures.append((label, time.perf_counter() - started))
        print(f"{label:<55} {figures[-1][1]:8.2f} s", flush=True)
        return out

    try:
        now = datetime(2025, 12, 31)
        with engine.begin() as conn:
            units = conn.scalar(sa.text("SELECT count(*) FROM bench_unit")) if args.database else 0
            procs = conn.scalar(sa.text("SELECT count(*) FROM bench_proc")) if args.database else 0
            records = conn.scalar(sa.text("SELECT count(*) FROM fct_dossier")) if args.database \
                else args.records
        if args.database:
            print(f"{records} records, {units} units, {procs} procedures; as of {AS_OF}")
            return _measure(engine, args, now, timed)
        upgrade(engine)
        world = build_world(seed=1, scale=100, clock=datetime(2025, 12, 31, 20, 0))
        with engine.begin() as conn:
            replace_units(conn, PORTAL, world.units(PORTAL), run_id="bench", now=now)
            replace_catalogue(conn, PORTAL, world.procedures(PORTAL), run_id="bench", now=now)
            conn.execute(sa.text(
                "CREATE TABLE bench_unit AS SELECT unit_code, (row_number() OVER "
                "(ORDER BY unit_code)) - 1 AS k FROM dim_unit"))
            conn.execute(sa.text(
                "CREATE TABLE bench_proc AS SELECT procedure_code, procedure_name, field_code, "
                "field_name, service_level, (row_number() OVER (ORDER BY procedure_code)) - 1 "
                "AS k FROM dim_procedure"))
            units = conn.scalar(sa.text("SELECT count(*) FROM bench_unit"))
            procs = conn.scalar(sa.text("SELECT count(*) FROM bench_proc"))
        print(f"{args.records} records, {units} units, {procs} procedures; as of {AS_OF}")

        def fill():
            step = 1_000_000
            for first in range(1, args.records + 1, step):
                with engine.begin() as conn:
                    conn.execute(sa.text(FILL), {
                        "portal": PORTAL, "as_of": AS_OF, "first": first,
                        "last": min(first + step - 1, args.records),
                        "units": units, "procs": procs})
            with engine.begin() as conn:
                conn.execute(sa.text("ANALYZE"))

        timed("insert records (triggers log them)", fill)
        _measure(engine, args, now, timed)
    finally:
        engine.dispose()
        if not args.keep and not args.database:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()
    return 0


def _measure(engine, args, now, timed) -> int:
    from egov.compute.form06 import compute_form06
    from egov.compute.indicators.snapshots import compute_snapshots
    from egov.periods import snapshot_periods
    from egov.warehouse.aggregates import rebuild

    def build():
        with engine.begin() as conn:
            rebuild(conn, [PORTAL], daily_from=AS_OF)
            conn.execute(sa.text("ANALYZE"))

    timed("aggregates: first build (rebuild)", build)
    periods = snapshot_periods(AS_OF, {2024, 2025})

    def compute(incremental):
        def run():
            with engine.begin() as conn:
                compute_snapshots(conn, portal_codes=[PORTAL], as_of=AS_OF, periods=periods,
                                  run_id="bench", computed_at=now, incremental=incremental)
                compute_form06(conn, portal_codes=[PORTAL], as_of=AS_OF, run_id="bench",
                               computed_at=now, incremental=incremental)
        return run

    timed("compute, full (incremental=False)", compute(False))
    timed("compute, incremental, nothing changed", compute(True))

    def change():
        with engine.begin() as conn:
            conn.execute(sa.text(CHANGE), {"portal": PORTAL, "as_of": AS_OF, "now": now,
                                           "n": args.changes})

    timed(f"change {args.changes} records (UPDATE, triggers log them)", change)
    timed(f"compute, incremental, {args.changes} changed (fold + marts)", compute(True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
