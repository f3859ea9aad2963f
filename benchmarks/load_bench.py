"""Benchmark the validate + load stage alone: extract a simulated first load once (kept in
--work), then load it into a fresh warehouse, optionally under cProfile.

    python benchmarks/load_bench.py --scale 5000 --work /tmp/egov-load-5000 \
        [--db egov_load_bench] [--docs] [--profile /tmp/load.prof]

--db names a PostgreSQL database on 127.0.0.1 (dropped and created; else SQLite in --work).
Prints records/s of the load step (the `pipeline.load` of every window; GX imported first),
the Python process's CPU seconds and the load average (the machine may be shared).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

PG = "postgresql+psycopg2://postgres@127.0.0.1:5432/"


def _fresh_pg(name: str) -> None:
    for sql in (f"DROP DATABASE IF EXISTS {name}", f"CREATE DATABASE {name}"):
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", sql], check=True)


def _extract(work: Path, scale: int, clock: datetime) -> list[dict]:
    from egov import pipeline
    from egov.simulator.server import SimulatorFleet
    from egov.simulator.world import build_world

    world = build_world(seed=7, scale=scale, clock=clock)
    world.prepare()
    portals = world.portal_codes()
    credentials = {p: (p, f"bench-{p}") for p in portals}
    with SimulatorFleet(world, base_port=0, credentials=credentials) as fleet:
        for p, (user, password) in credentials.items():
            url = fleet.base_url(p).replace("://", f"://{user}:{password}@")
            os.environ[f"AIRFLOW_CONN_PORTAL_{p.upper().replace('-', '_')}"] = url
        jobs = pipeline.prepare(params={}, logical_date=clock + timedelta(hours=2))
        return [pipeline.extract(job, run_id="bench-first") for job in jobs]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=5000, help="records/province/year")
    parser.add_argument("--work", required=True, help="folder kept between runs")
    parser.add_argument("--db", help="PostgreSQL database name (recreated); default SQLite")
    parser.add_argument("--docs", action="store_true", help="build GX Data Docs too")
    parser.add_argument("--profile", help="write cProfile stats here")
    args = parser.parse_args(argv)

    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    sqlite = work / "warehouse.db"
    url = PG + args.db if args.db else f"sqlite:///{sqlite}"
    os.environ.update({
        "AIRFLOW_HOME": str(work), "GX_ANALYTICS_ENABLED": "False",
        "EGOV_DATA_DOCS": "true" if args.docs else "false",
        "EGOV_DATA_DOCS_DIR": str(work / "data_docs"),
        "EGOV_RAW_DIR": str(work / "raw"), "EGOV_PII_KEY": "benchmark-key-not-secret",
        "EGOV_FIRST_LOAD_WINDOW_MONTHS": "12", "AIRFLOW_CONN_EGOV_WAREHOUSE": url,
    })
    extracted_file = work / f"extracted-{args.scale}.json"
    for _ in range(2):  # the extraction (first time only) writes to a warehouse too
        if args.db:
            _fresh_pg(args.db)
        elif sqlite.exists():
            sqlite.unlink()
        if extracted_file.exists():
            break
        extracted_file.write_text(json.dumps(_extract(work, args.scale,
                                                      datetime(2025, 12, 31, 23))))
    extracted = json.loads(extracted_file.read_text())

    import great_expectations  # noqa: F401 - its import (seconds) is not the load's

    from egov import pipeline
    from egov.sources.raw_zone import read_manifest
    from egov.warehouse.db import make_engine
    from egov.warehouse.migrations import upgrade

    records = sum(read_manifest(e["manifest"])["record_versions"] for e in extracted)
    engine = make_engine()
    upgrade(engine)
    engine.dispose()
    profile = None
    if args.profile:
        import cProfile

        profile = cProfile.Profile()
    started, cpu = time.perf_counter(), time.process_time()
    if profile:
        profile.enable()
    for e in extracted:
        pipeline.load(e, run_id="bench-first")
    if profile:
        profile.disable()
        profile.dump_stats(args.profile)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(f"validate + load: {records} records in {len(extracted)} windows, {seconds:.1f} s, "
          f"{records / seconds:,.0f} records/s ({url.split(':')[0]}, data docs "
          f"{'on' if args.docs else 'off'}); Python CPU {cpu:.1f} s; "
          f"load average {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
