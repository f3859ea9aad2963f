"""Benchmark the nightly job's stages in process (no scheduler), against the simulator.

    python benchmarks/pipeline_bench.py --scale 20000 [--url postgresql+psycopg2://...]

Prints seconds per stage, records per second and peak memory (RSS) for a first load of the
four simulated portals, then an incremental run two days later.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=5000, help="records/province/year")
    parser.add_argument("--clock", default="2025-12-31T23:00")
    parser.add_argument("--url", help="warehouse URL (default: a fresh SQLite file)")
    parser.add_argument("--window-months", type=int, default=12)
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="egov-bench-"))
    os.environ.update({
        "AIRFLOW_HOME": str(work), "GX_ANALYTICS_ENABLED": "False", "EGOV_DATA_DOCS": "false",
        "EGOV_RAW_DIR": str(work / "raw"), "EGOV_PII_KEY": "benchmark-key-not-secret",
        "EGOV_FIRST_LOAD_WINDOW_MONTHS": str(args.window_months),
        "AIRFLOW_CONN_EGOV_WAREHOUSE": args.url or f"sqlite:///{work / 'warehouse.db'}",
    })
    from egov import pipeline
    from egov.simulator.server import SimulatorFleet
    from egov.simulator.world import build_world

    figures: list[tuple[str, float, int]] = []

    @contextmanager
    def stage(name, records=0):
        started = time.perf_counter()
        box = {"records": records}
        yield box
        figures.append((name, time.perf_counter() - started, box["records"]))

    def run_once(label: str, logical: datetime) -> None:
        from egov.raw_zone import read_manifest

        run_id = f"bench-{label.split()[0]}"
        with stage(f"{label}: prepare"):
            jobs = pipeline.prepare(params={}, logical_date=logical)
        with stage(f"{label}: extract ({len(jobs)} windows, HTTP)") as box:
            extracted = [pipeline.extract(job, run_id=run_id) for job in jobs]
            box["records"] = sum(read_manifest(e["manifest"])["record_versions"]
                                 for e in extracted)
        with stage(f"{label}: validate + load", box["records"]):
            for e in extracted:
                pipeline.load(e, run_id=run_id)
        with stage(f"{label}: snapshots + targets", n_records):
            pipeline.compute(as_of=jobs[0]["as_of"], run_id=run_id)

    clock = datetime.fromisoformat(args.clock)
    world = build_world(seed=7, scale=args.scale, clock=clock)
    with stage("simulate (generate records)"):
        world.prepare()
    portals = world.portal_codes()
    n_records = sum(world.record_count(p) for p in portals)
    credentials = {p: (p, f"bench-{p}") for p in portals}
    with SimulatorFleet(world, base_port=0, credentials=credentials) as fleet:
        for p, (user, pw) in credentials.items():
            url = fleet.base_url(p).replace("://", f"://{user}:{pw}@")
            os.environ[f"AIRFLOW_CONN_PORTAL_{p.upper().replace('-', '_')}"] = url
        run_once("first load", clock + timedelta(hours=2))
        world.set_clock(clock + timedelta(days=2))
        run_once("incremental (+2 days)", clock + timedelta(days=2, hours=2))

    print(f"\negov pipeline benchmark: scale {args.scale} records/province/year, "
          f"{n_records} records in 4 portals, warehouse {os.environ['AIRFLOW_CONN_EGOV_WAREHOUSE'].split(':')[0]}")
    print(f"{'stage':<52} {'seconds':>9} {'records/s':>11}")
    for name, seconds, records in figures:
        rate = f"{records / seconds:,.0f}" if records and seconds else ""
        print(f"{name:<52} {seconds:>9.2f} {rate:>11}")
    print(f"peak memory (RSS): {peak_rss_mb():,.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
