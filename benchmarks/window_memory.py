"""Peak memory (RSS) of one extract and one load task, by window size and by history size.

    python benchmarks/window_memory.py [--sizes 10000,50000,100000]
                                       [--first-loads 100000,1000000] [--cap 50000]
                                       [--url postgresql+psycopg2://.../empty_db]

Each task runs in a fresh process, as Airflow runs it (the simulator runs in this one, so its
memory is not counted); the figure is that process's peak RSS (VmHWM). Two tables:

1. one window of N record versions (the cap off): extract as it was (every item kept to
   reconcile, ``fetch_dossiers``) and as it is (a key per version), and load (every version
   of the window validated and loaded at once): what a task holds grows with its window;
2. a first load of one portal holding N records, windows by time only (12 months, the cap
   off: before) and cut by count to at most ``--cap`` versions (after): the largest peak over
   the windows' extract and load tasks.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

PORTAL = "binh-dinh"
CLOCK = datetime(2025, 12, 31, 23, 0)
YEARS = 5  # EGOV_HISTORY_START 2021-01-01 .. CLOCK: the simulator makes ~scale records a year
NO_CAP = 10**9


def peak_rss_mb() -> float:
    """This process image's peak RSS: VmHWM (Linux). Not ru_maxrss: on Linux it keeps the
    high-water mark of the process before execve, i.e. of this script's parent (which holds
    the simulator), and so reports at least the parent's size."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(step: str, payload: str, old: bool) -> None:
    """One task in this process; prints its figures as JSON."""
    from egov import pipeline

    if step == "idle":  # the floor: Python, the pipeline's imports, nothing done
        import egov.quality.portal  # noqa: F401
        import egov.sources.onestop.batch  # noqa: F401
        import egov.sources.onestop.client  # noqa: F401
        import egov.warehouse.load  # noqa: F401
        print(json.dumps({"peak_mb": peak_rss_mb()}))
        return
    if old:  # extract as it was: fetch_dossiers keeps every item of the window
        def fetch_all(client, updated_from, updated_to):
            newest = client.fetch_dossiers(updated_from, updated_to)
            return int(client.stats.get("distinct_versions", len(newest)))
        pipeline._fetch_dossiers = fetch_all
    started = time.perf_counter()
    job = json.loads(payload)
    out = getattr(pipeline, step)(job, run_id=job.pop("_run_id"))
    print(json.dumps({"peak_mb": peak_rss_mb(), "seconds": time.perf_counter() - started,
                      "result": out}, default=str))


def run_child(step: str, job: dict | None, run_id: str = "", old: bool = False) -> dict:
    cmd = [sys.executable, __file__, "--child", step,
           "--job", json.dumps({**(job or {}), "_run_id": run_id})]
    if old:
        cmd.append("--old")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=os.environ, check=False)
    if proc.returncode:
        raise SystemExit(f"{step} failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def first_load(*, cap: int, months: int, run_id: str, old: bool = False,
               load: int | None = None) -> dict:
    """Plan (prepare), then every window's extract, then the loads, each task in its own
    process. `load`: None loads every window (in order), N only the N largest (a load's
    memory follows its own window, not what the warehouse holds), 0 none."""
    from egov import pipeline
    from egov.sources.raw_zone import read_manifest

    os.environ["EGOV_WINDOW_MAX_VERSIONS"] = str(cap)
    os.environ["EGOV_FIRST_LOAD_WINDOW_MONTHS"] = str(months)
    jobs = pipeline.prepare(params={"portals": [PORTAL], "full_refresh": True},
                            logical_date=datetime(2026, 1, 1))
    figures = {"windows": len(jobs), "extract_mb": 0.0, "load_mb": 0.0, "versions": 0,
               "largest": 0, "extract_s": 0.0, "load_s": 0.0, "loaded": 0}
    extracted = []
    for job in jobs:
        ex = run_child("extract", job, run_id, old=old)
        n = read_manifest(ex["result"]["manifest"])["record_versions"]
        extracted.append((n, ex["result"]))
        figures["versions"] += n
        figures["largest"] = max(figures["largest"], n)
        figures["extract_mb"] = max(figures["extract_mb"], ex["peak_mb"])
        figures["extract_s"] += ex["seconds"]
    chosen = extracted if load is None else sorted(
        sorted(extracted, key=lambda e: -e[0])[:load], key=lambda e: e[1]["seq"])
    for _n, result in chosen:
        ld = run_child("load", result, run_id)
        figures["load_mb"] = max(figures["load_mb"], ld["peak_mb"])
        figures["load_s"] += ld["seconds"]
        figures["loaded"] += 1
    return figures


def with_portal(records: int, work: Path, fn):
    """Run `fn(fresh)` against a simulated portal holding about `records` records; `fresh()`
    gives the next step a warehouse and raw zone of its own."""
    from egov.simulator.server import SimulatorFleet
    from egov.simulator.world import build_world

    world = build_world(seed=7, scale=max(1, records // YEARS), clock=CLOCK)
    world.prepare([PORTAL])
    credentials = {PORTAL: (PORTAL, f"bench-{PORTAL}")}

    def fresh() -> None:
        folder = Path(tempfile.mkdtemp(prefix=f"n{records}-", dir=work))
        os.environ["EGOV_RAW_DIR"] = str(folder / "raw")
        if os.environ.get("WINDOW_MEMORY_URL"):
            _reset_postgres(os.environ["WINDOW_MEMORY_URL"])
        else:
            os.environ["AIRFLOW_CONN_EGOV_WAREHOUSE"] = f"sqlite:///{folder / 'warehouse.db'}"

    with SimulatorFleet(world, base_port=0, credentials=credentials) as fleet:
        url = fleet.base_url(PORTAL).replace("://", f"://{PORTAL}:bench-{PORTAL}@")
        os.environ["AIRFLOW_CONN_PORTAL_BINH_DINH"] = url
        return world.record_count(PORTAL), fn(fresh)


def _reset_postgres(url: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    os.environ["AIRFLOW_CONN_EGOV_WAREHOUSE"] = url


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,50000,100000",
                        help="records in the one window of table 1")
    parser.add_argument("--first-loads", default="100000,1000000",
                        help="records of the first loads of table 2")
    parser.add_argument("--load-all-below", type=int, default=200000,
                        help="table 2: a first load of more records loads only its "
                             "--sample-loads largest windows (the extracts all run)")
    parser.add_argument("--sample-loads", type=int, default=2)
    parser.add_argument("--before-load", action=argparse.BooleanOptionalAction, default=True,
                        help="table 2: load in the 'before' plan too (table 1 shows how a "
                             "load grows with its window)")
    parser.add_argument("--cap", type=int, default=50000, help="EGOV_WINDOW_MAX_VERSIONS")
    parser.add_argument("--before", action=argparse.BooleanOptionalAction, default=True,
                        help="table 2: also the first loads by time only (the cap off)")
    parser.add_argument("--url", help="an empty PostgreSQL database (default: SQLite files); "
                                      "its public schema is dropped and recreated")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--job", help=argparse.SUPPRESS)
    parser.add_argument("--old", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.job, args.old)
        return 0

    work = Path(tempfile.mkdtemp(prefix="egov-winmem-"))
    os.environ.update({
        "AIRFLOW_HOME": str(work), "GX_ANALYTICS_ENABLED": "False", "EGOV_DATA_DOCS": "false",
        "EGOV_PII_KEY": "benchmark-key-not-secret", "EGOV_HISTORY_START": "2021-01-01",
        "EGOV_MAX_REJECTED_SHARE": "1",
    })
    if args.url:
        os.environ["WINDOW_MEMORY_URL"] = args.url
    floor = run_child("idle", None)["peak_mb"]
    print(f"peak RSS of a process that only imports the pipeline: {floor:.0f} MB", flush=True)
    print(f"warehouse: {'PostgreSQL' if args.url else 'SQLite'}; portal {PORTAL}; "
          f"page size {os.environ.get('EGOV_PAGE_SIZE', '1000')}\n")

    sizes = [int(s) for s in args.sizes.split(",") if s]
    if sizes:
        print("1. one window of N record versions (no cap)")
        print(f"{'records':>9} {'versions':>9} {'extract before':>15} {'extract now':>12} "
              f"{'load':>8} {'load s':>7}")
        for n in sizes:
            def one_window(fresh):
                fresh()
                before = first_load(cap=NO_CAP, months=120, run_id="before", old=True,
                                    load=0)
                fresh()
                return before, first_load(cap=NO_CAP, months=120, run_id="now")
            records, (before, now) = with_portal(n, work, one_window)
            print(f"{records:>9} {now['largest']:>9} {before['extract_mb']:>12.0f} MB "
                  f"{now['extract_mb']:>9.0f} MB {now['load_mb']:>5.0f} MB "
                  f"{now['load_s']:>7.1f}", flush=True)
        print()

    loads = [int(s) for s in args.first_loads.split(",") if s]
    if loads:
        print(f"2. first load of one portal: windows of 12 months (before) vs cut to at most "
              f"{args.cap} versions (EGOV_WINDOW_MAX_VERSIONS)")
        print(f"{'records':>9} {'plan':>7} {'windows':>7} {'largest':>8} {'extract peak':>13} "
              f"{'load peak':>10} {'loaded':>6} {'extract s':>9} {'load s':>7}")
        plans = ([("before", NO_CAP, True)] if args.before else []) + \
            [("after", args.cap, False)]
        for n in loads:
            def both(fresh, n=n):
                out = []
                for label, cap, old in plans:
                    fresh()
                    sample = None if n < args.load_all_below else args.sample_loads
                    if label == "before" and not args.before_load:
                        sample = 0
                    out.append((label, first_load(cap=cap, months=12, run_id=label, old=old,
                                                  load=sample)))
                return out
            records, results = with_portal(n, work, both)
            for label, f in results:
                print(f"{records:>9} {label:>7} {f['windows']:>7} {f['largest']:>8} "
                      f"{f['extract_mb']:>10.0f} MB {f['load_mb']:>7.0f} MB "
                      f"{f['loaded']:>6} {f['extract_s']:>9.1f} {f['load_s']:>7.1f}",
                      flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
