"""Benchmark the nightly job in process (no scheduler), with the simulator in the loop.

Scale mode (docs/performance.md, "Benchmark"):

    python benchmarks/pipeline_bench.py --scales 10000,100000 --db both

For each warehouse and each scale (records in total, four portals, 2021..2025), a fresh
warehouse gets a first load then an incremental run two days later, through the ordinary
`egov.pipeline` steps (prepare, extract over HTTP from a simulator child process, load,
compute) and `egov.serve.reports.publish`. Each stage is timed on its own (the functions the
steps call are wrapped with timers, so the path measured is the ordinary one), with its
peak memory; then the floor (parse the kept JSON pages, COPY flat rows into PostgreSQL,
nothing else), the pipeline as a multiple of the floor, the ratio between scales, the
exactness check (marts of the run = marts of `egov.compute.recompute`) and the DAG files' parse time.

Nightly mode:

    python benchmarks/pipeline_bench.py --nightly --base 10000000 --changes 20000 [--explain]

Seeds a PostgreSQL warehouse of `--base` records by the fastest route (a real first load of
the simulator's last weeks, then `INSERT ... SELECT` copies of those rows shifted back in
time, secondary indexes rebuilt after), then times a nightly run of about `--changes`
changed records served by the simulator over HTTP, step by step as the DAG runs them.
`--explain` prints EXPLAIN (ANALYZE, BUFFERS) of the snapshot and Biểu 06 queries.

Never a timed test: it prints figures. Exit status 1 when an exactness check differs.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PG_ADMIN = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
CLOCK = datetime(2025, 12, 31, 23, 0)  # the simulator's clock at the first load
YEARS = 5  # 2021-01-01 .. 2025-12-31: records in total = scale x 4 portals x 5 years
NIGHT_CHANGES_PER_SCALE = 377 / 10000  # changed records on a working day per unit of scale
MARTS = ("mart_indicator_snapshot", "mart_form06", "mart_target_evaluation")


# --------------------------------------------------------------------------------------------
# timing and memory

class Meter:
    """Wall time per stage (inclusive, summed over calls) and peak RSS per stage, sampled
    every 10 ms by a thread while the stage is the innermost one running."""

    def __init__(self):
        import psutil

        self.proc = psutil.Process()
        self.seconds: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self.peak: dict[str, int] = {}
        self.start_rss: dict[str, int] = {}
        self.stack: list[str] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()

    def _sample(self):
        while not self.stop.wait(0.01):
            rss = self.proc.memory_info().rss
            with self.lock:
                for name in self.stack:
                    if rss > self.peak.get(name, 0):
                        self.peak[name] = rss

    @contextmanager
    def stage(self, name: str):
        rss = self.proc.memory_info().rss
        with self.lock:
            self.stack.append(name)
            self.start_rss.setdefault(name, rss)
            self.peak[name] = max(self.peak.get(name, 0), rss)
        started, cpu = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - started
            cpu = time.process_time() - cpu
            rss = self.proc.memory_info().rss
            with self.lock:
                self.seconds[name] = self.seconds.get(name, 0.0) + elapsed
                self.cpu[name] = self.cpu.get(name, 0.0) + cpu
                self.peak[name] = max(self.peak.get(name, 0), rss)
                self.stack.remove(name)

    def close(self):
        self.stop.set()
        self.thread.join()


@contextmanager
def wrapped(meter: Meter, targets: dict[str, tuple[str, str]]):
    """Wrap module functions with `meter.stage(label)` for the duration (the pipeline imports
    them inside its functions, so the wrappers are what it calls). A missing one is skipped."""
    import importlib

    saved = []
    for label, (module_name, attr) in targets.items():
        try:
            module = importlib.import_module(module_name)
            original = getattr(module, attr)
        except (ImportError, AttributeError):
            continue

        def make(original=original, label=label):
            def timed(*args, **kwargs):
                with meter.stage(label):
                    return original(*args, **kwargs)
            return timed

        setattr(module, attr, make())
        saved.append((module, attr, original))
    try:
        yield
    finally:
        for module, attr, original in saved:
            setattr(module, attr, original)


LOAD_PARTS = {
    "load: parse pages": ("egov.sources.onestop.batch", "read_window"),
    "load: validate (GX)": ("egov.quality.portal", "validate_batch"),
    "load: data docs": ("egov.quality.data_docs", "publish_data_docs"),
}
COMPUTE_PARTS = {
    "compute: snapshots": ("egov.compute.indicators.snapshots", "compute_snapshots"),
    "compute: evaluation": ("egov.compute.targets", "evaluate_targets"),
    "compute: Biểu 06": ("egov.compute.form06", "compute_form06"),
}


# --------------------------------------------------------------------------------------------
# databases, simulator

def pg_admin():
    import psycopg2

    conn = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres")
    conn.autocommit = True
    return conn


def create_pg_database(tag: str) -> str:
    name = f"egov_bench_{os.getpid()}_{tag}"
    conn = pg_admin()
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()
    return name


def drop_pg_database(name: str) -> None:
    conn = pg_admin()
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    conn.close()


def pg_url(name: str) -> str:
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"


class Simulator:
    """`python -m egov.simulator` in a child process (its CPU and memory are not the
    pipeline's); sets the portals' connections in os.environ."""

    def __init__(self, work: Path, scale: int, clock: datetime, history_start: date):
        self.conn_file = work / "portals.env"
        cmd = [sys.executable, "-m", "egov.simulator", "--seed", "7", "--scale", str(scale),
               "--clock", clock.strftime("%Y-%m-%dT%H:%M"), "--history-start",
               history_start.isoformat(), "--base-port", "0",
               "--connections-file", str(self.conn_file)]
        started = time.perf_counter()
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True,
                                     start_new_session=True)
        line = self.proc.stdout.readline()
        if "ready" not in line:
            self.close()
            raise RuntimeError(f"simulator did not start: {line!r}")
        self.generate_seconds = time.perf_counter() - started
        self.records = int(re.search(r"records=(\d+)", line).group(1))
        self.urls = {}
        for row in self.conn_file.read_text().splitlines():
            m = re.match(r"export (AIRFLOW_CONN_PORTAL_\w+)='(.*)'", row)
            if m:
                os.environ[m.group(1)] = m.group(2)
                self.urls[m.group(1)] = m.group(2)

    def set_clock(self, clock: datetime) -> None:
        import urllib.request
        from urllib.parse import urlsplit

        parts = urlsplit(next(iter(self.urls.values())))
        req = urllib.request.Request(
            f"http://{parts.hostname}:{parts.port}/_sim/clock", method="POST",
            data=json.dumps({"now": clock.strftime("%Y%m%d%H%M%S")}).encode(),
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=600) as resp:
            resp.read()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        for name in self.urls:
            os.environ.pop(name, None)


def set_environment(work: Path, url: str, data_docs: bool) -> None:
    os.environ.update({
        "AIRFLOW_HOME": str(work), "GX_ANALYTICS_ENABLED": "False",
        "EGOV_DATA_DOCS": "true" if data_docs else "false",
        "EGOV_DATA_DOCS_DIR": str(work / "data_docs"), "EGOV_RAW_DIR": str(work / "raw"),
        "EGOV_REPORTS_DIR": str(work / "reports"),
        "EGOV_PII_KEY": os.environ.get("EGOV_PII_KEY") or "benchmark-key-not-secret",
        "AIRFLOW_CONN_EGOV_WAREHOUSE": url,
    })


# --------------------------------------------------------------------------------------------
# one nightly run, staged

def run_nightly(meter: Meter, prefix: str, logical: datetime, run_id: str) -> dict:
    """prepare, extract, load, compute, finish and publish, as the two DAGs run them."""
    from egov import pipeline
    from egov.sources.raw_zone import read_manifest

    stages = {f"{prefix}{k}": v for k, v in {**LOAD_PARTS, **COMPUTE_PARTS}.items()}
    with wrapped(meter, stages), meter.stage(f"{prefix}end to end"):
        with meter.stage(f"{prefix}prepare (migrate, plan windows)"):
            jobs = pipeline.prepare(params={}, logical_date=logical)
        with meter.stage(f"{prefix}extract (fetch + keep pages, HTTP)"):
            extracted = [pipeline.extract(job, run_id=run_id) for job in jobs]
        versions = sum(read_manifest(e["manifest"])["record_versions"] for e in extracted)
        with meter.stage(f"{prefix}load (all)"):
            for e in extracted:
                pipeline.load(e, run_id=run_id)
        with meter.stage(f"{prefix}compute (all)"):
            result = pipeline.compute(as_of=jobs[0]["as_of"], run_id=run_id)
        with meter.stage(f"{prefix}finish (target report)"):
            pipeline.finish(requested=sorted({j["portal_code"] for j in jobs}),
                            as_of=jobs[0]["as_of"], run_id=run_id)
        with meter.stage(f"{prefix}reports (HTML + Biểu 06 files)"):
            from egov.serve.reports.publish import publish_days

            publish_days([date.fromisoformat(jobs[0]["as_of"])])
    return {"as_of": jobs[0]["as_of"], "versions": versions,
            "manifests": [e["manifest"] for e in extracted], "compute": result}


STAGE_ROWS = [  # (label, parent to subtract the children from, records: versions|total)
    ("extract (fetch + keep pages, HTTP)", None, "versions"),
    ("load: parse pages", None, "versions"),
    ("load: validate (GX)", None, "versions"),
    ("load: data docs", None, "versions"),
    ("load: write (upsert, accounting)", "load (all)", "versions"),
    ("compute: snapshots", None, "total"),
    ("compute: evaluation", None, "total"),
    ("compute: Biểu 06", None, "total"),
    ("reports (HTML + Biểu 06 files)", None, "total"),
    ("prepare (migrate, plan windows)", None, None),
    ("finish (target report)", None, None),
    ("end to end", None, "versions"),
]


def stage_figures(meter: Meter, prefix: str, versions: int, total: int) -> list[dict]:
    rows = []
    for label, parent, per in STAGE_ROWS:
        key = prefix + label
        if parent:
            children = [prefix + k for k in LOAD_PARTS]
            seconds = meter.seconds.get(prefix + parent, 0.0) - sum(
                meter.seconds.get(c, 0.0) for c in children)
            cpu = meter.cpu.get(prefix + parent, 0.0) - sum(
                meter.cpu.get(c, 0.0) for c in children)
            peak = meter.peak.get(prefix + parent, 0)
        elif key in meter.seconds:
            seconds, cpu, peak = meter.seconds[key], meter.cpu[key], meter.peak.get(key, 0)
        else:
            continue
        records = {"versions": versions, "total": total}.get(per or "", 0)
        rows.append({"stage": label, "seconds": seconds, "cpu": cpu, "records": records,
                     "peak_mb": peak / 2**20})
    return rows


# --------------------------------------------------------------------------------------------
# the floor

def floor(manifests: list[str], floor_db: str) -> dict:
    """Parse the kept /api/hoso pages (gzip + JSON, with the pipeline's parser:
    egov.sources.onestop.json_body) and COPY flat rows into PostgreSQL."""
    import csv
    import gzip
    import io

    import psycopg2

    from egov.sources.onestop import json_body
    from egov.sources.raw_zone import read_manifest

    conn = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname=floor_db)
    parse_s = copy_s = 0.0
    rows = 0
    columns: list[str] | None = None
    try:
        with conn.cursor() as cur:
            cur.execute("DROP TABLE IF EXISTS floor_dossier")
        for location in manifests:
            manifest = read_manifest(location)
            folder = Path(location).parent
            for entry in manifest["pages"]:
                if not entry["endpoint"].rstrip("/").endswith("hoso"):
                    continue
                t0 = time.perf_counter()
                items = json_body.loads(gzip.decompress((folder / entry["file"]).read_bytes()))
                items = items.get("data") or []
                if columns is None and items:
                    columns = sorted(items[0])
                buf = io.StringIO()
                out = csv.writer(buf)
                for item in items:
                    out.writerow([v if not isinstance(v, list | dict) else json.dumps(v)
                                  for v in (item.get(c) for c in columns)])
                buf.seek(0)
                t1 = time.perf_counter()
                with conn.cursor() as cur:
                    if rows == 0 and columns:
                        cur.execute("CREATE TABLE floor_dossier ("
                                    + ", ".join(f'"{c}" text' for c in columns) + ")")
                    cur.copy_expert("COPY floor_dossier FROM STDIN WITH (FORMAT csv)", buf)
                conn.commit()
                t2 = time.perf_counter()
                parse_s += t1 - t0
                copy_s += t2 - t1
                rows += len(items)
        with conn.cursor() as cur:
            cur.execute("DROP TABLE IF EXISTS floor_dossier")
        conn.commit()
    finally:
        conn.close()
    return {"parse": parse_s, "copy": copy_s, "seconds": parse_s + copy_s, "rows": rows}


# --------------------------------------------------------------------------------------------
# exactness

def _norm(value):
    """One spelling per value on both warehouses (SQLite's NUMERIC affinity returns 100.00 as
    the integer 100, booleans as 0/1; PostgreSQL Decimal and bool)."""
    if isinstance(value, bool | int | float | Decimal):
        return str(Decimal(str(int(value) if isinstance(value, bool) else value))
                   .quantize(Decimal("0.0001")))
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def mart_rows(engine, as_of: str) -> dict[str, list]:
    from sqlalchemy import text

    out = {}
    with engine.connect() as conn:
        for table in MARTS:
            result = conn.execute(text(f"SELECT * FROM {table} WHERE as_of_date = :d"),
                                  {"d": date.fromisoformat(as_of)})
            keys = [k for k in result.keys() if k not in ("run_id", "computed_at")]
            rows = [tuple(_norm(r._mapping[k]) for k in keys) for r in result]
            out[table] = sorted(rows, key=lambda r: tuple((x is None, str(x)) for x in r))
    return out


def compare(a: dict[str, list], b: dict[str, list]) -> tuple[bool, str]:
    parts, same = [], True
    for table in MARTS:
        ok = a[table] == b[table]
        same &= ok
        parts.append(f"{table} {len(a[table])} rows {'=' if ok else '!='} {len(b[table])}")
    return same, "; ".join(parts)


def check_against_recompute(as_of: str) -> tuple[bool, str]:
    """The marts the run wrote = the marts `egov.compute.recompute` writes for that day."""
    from egov.compute.recompute import recompute
    from egov.warehouse.db import make_engine

    engine = make_engine()
    before = mart_rows(engine, as_of)
    recompute([date.fromisoformat(as_of)], engine=engine, run_id="bench-recompute")
    after = mart_rows(engine, as_of)
    engine.dispose()
    return compare(before, after) + (before,)


# --------------------------------------------------------------------------------------------
# EXPLAIN of the snapshot and Biểu 06 queries

@contextmanager
def capture_statements(engine, into: list):
    from sqlalchemy import event

    def before(conn, cursor, statement, parameters, context, executemany):
        if not executemany and "fct_dossier" in statement:
            into.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield
    finally:
        event.remove(engine, "before_cursor_execute", before)


def explain_compute(as_of: str, portals: list[str], limit_chars: int = 6000) -> None:
    """Run the snapshot and Biểu 06 computations once with their statements captured, then
    EXPLAIN (ANALYZE, BUFFERS) each captured statement that reads fct_dossier (in a
    transaction rolled back)."""
    from egov.compute.form06 import compute_form06
    from egov.compute.indicators.snapshots import compute_snapshots
    from egov.compute.plans import load_plans
    from egov.compute.targets import target_years
    from egov.periods import snapshot_periods
    from egov.warehouse.db import make_engine

    engine = make_engine()
    day = date.fromisoformat(as_of)
    years = target_years(load_plans())
    for name, run in (
        ("snapshots", lambda c: compute_snapshots(c, portal_codes=portals, as_of=day,
                                                  periods=snapshot_periods(day, years),
                                                  run_id="explain", computed_at=None)),
        ("Biểu 06", lambda c: compute_form06(c, portal_codes=portals, as_of=day,
                                            run_id="explain", computed_at=None)),
    ):
        captured: list = []
        with capture_statements(engine, captured):
            conn = engine.connect()
            trans = conn.begin()
            run(conn)
            trans.rollback()
            conn.close()
        print(f"\n=== EXPLAIN (ANALYZE, BUFFERS): {name}: {len(captured)} statements read "
              f"fct_dossier ===")
        raw = engine.raw_connection()
        try:
            seen = set()
            for statement, parameters in captured:
                if statement in seen:
                    continue
                seen.add(statement)
                cur = raw.cursor()
                cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
                plan = "\n".join(r[0] for r in cur.fetchall())
                raw.rollback()
                head = " ".join(statement.split())[:300]
                print(f"\n--- {head} ...\n{plan[:limit_chars]}")
        finally:
            raw.close()
    engine.dispose()


# --------------------------------------------------------------------------------------------
# DAG files' parse time

def dag_parse_times() -> list[dict]:
    """Each DAG file parsed by Airflow's DagBag in a fresh interpreter that has already
    imported what the DAG processor holds (airflow.sdk, the DagBag): the duration DagBag
    records (as `airflow dags report` prints it), the CPU seconds, and the file's heaviest
    imports (python -X importtime)."""
    out = []
    code = ("import sys, time, logging; import pendulum; from airflow.sdk import Asset, Param,"
            " dag, task, get_current_context; from airflow.dag_processing.dagbag import DagBag;"
            " logging.disable(logging.CRITICAL); sys.stderr.write('@@mark\\n');"
            " sys.stderr.flush(); c = time.process_time(); bag = DagBag(dag_folder=sys.argv[1]);"
            " cpu = time.process_time() - c; assert not bag.import_errors, bag.import_errors;"
            " print(cpu); print(sum(s.duration.total_seconds() for s in bag.dagbag_stats))")
    for path in sorted((REPO / "dags").glob("*.py")):
        proc = subprocess.run([sys.executable, "-X", "importtime", "-c", code, str(path)],
                              capture_output=True, text=True, env={**os.environ}, timeout=300)
        try:
            cpu, seconds = (float(x) for x in proc.stdout.strip().splitlines()[-2:])
        except (ValueError, IndexError):
            out.append({"file": path.name, "seconds": None, "error": proc.stderr[-500:]})
            continue
        after = proc.stderr.split("@@mark", 1)[-1].splitlines()
        heavy = []
        for line in after:
            m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
            if m and len(m.group(3)) <= 1:  # imports made by the DAG file itself
                heavy.append((int(m.group(2)) / 1e6, m.group(4)))
        heavy.sort(reverse=True)
        out.append({"file": path.name, "seconds": seconds, "cpu": cpu, "heavy": heavy[:3]})
    return out


# --------------------------------------------------------------------------------------------
# scale mode

def run_scale(db: str, total: int, args, floor_db: str | None) -> dict:
    work = Path(tempfile.mkdtemp(prefix=f"egov-bench-{db}-{total}-"))
    pg_name = create_pg_database(f"{db[:2]}{total}") if db == "postgresql" else None
    url = pg_url(pg_name) if pg_name else f"sqlite:///{work / 'warehouse.db'}"
    set_environment(work, url, args.data_docs)
    scale = max(1, round(total / (4 * YEARS)))
    sim = Simulator(work, scale, CLOCK, date(2021, 1, 1))
    meter = Meter()
    result = {"db": db, "target": total, "records": sim.records,
              "generate_s": sim.generate_seconds}
    try:
        first = run_nightly(meter, "", CLOCK + timedelta(hours=2), "bench-first")
        result["first"] = stage_figures(meter, "", first["versions"], sim.records)
        result["versions"] = first["versions"]
        if floor_db:
            result["floor"] = floor(first["manifests"], floor_db)
        if args.profile:
            result["profile"] = profile_snapshots(first["as_of"])
        if total <= args.check_max:
            same, text, marts = check_against_recompute(first["as_of"])
            result["check_first"] = (same, text)
            result["marts_first"] = marts
        if args.explain and db == "postgresql":
            explain_compute(first["as_of"], first["compute"]["portals"])
        if not args.no_incremental:
            sim.set_clock(CLOCK + timedelta(days=2))
            incr = run_nightly(meter, "incr ", CLOCK + timedelta(days=2, hours=2),
                               "bench-incremental")
            result["incr"] = stage_figures(meter, "incr ", incr["versions"], sim.records)
            result["incr_versions"] = incr["versions"]
            if total <= args.check_max:
                result["check_incr"] = check_against_recompute(incr["as_of"])[:2]
        result["bytes"] = warehouse_bytes(url)
    finally:
        meter.close()
        sim.close()
        if pg_name:
            drop_pg_database(pg_name)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return result


def profile_snapshots(as_of: str, top: int = 18) -> str:
    """cProfile of one more snapshot computation (rolled back), the top functions by
    cumulative time."""
    import cProfile
    import io
    import pstats

    from egov.compute.indicators.snapshots import compute_snapshots
    from egov.compute.plans import load_plans
    from egov.compute.recompute import warehouse_portals
    from egov.compute.targets import target_years
    from egov.periods import snapshot_periods
    from egov.warehouse.db import make_engine

    engine = make_engine()
    day = date.fromisoformat(as_of)
    conn = engine.connect()
    trans = conn.begin()
    portals = warehouse_portals(conn)
    profiler = cProfile.Profile()
    profiler.enable()
    compute_snapshots(conn, portal_codes=portals, as_of=day,
                      periods=snapshot_periods(day, target_years(load_plans())),
                      run_id="profile", computed_at=None)
    profiler.disable()
    trans.rollback()
    conn.close()
    engine.dispose()
    buf = io.StringIO()
    pstats.Stats(profiler, stream=buf).sort_stats("cumulative").print_stats(top)
    return buf.getvalue()


def warehouse_bytes(url: str) -> dict:
    """Bytes of fct_dossier (table, indexes, TOAST) and of the whole database, on PG."""
    if not url.startswith("postgresql"):
        return {}
    from sqlalchemy import text

    from egov.warehouse.db import make_engine

    engine = make_engine(url)
    with engine.connect() as conn:
        fct = conn.execute(text("SELECT pg_total_relation_size('fct_dossier')")).scalar()
        rows = conn.execute(text("SELECT count(*) FROM fct_dossier")).scalar()
        whole = conn.execute(text("SELECT pg_database_size(current_database())")).scalar()
    engine.dispose()
    return {"fct_dossier": fct, "rows": rows, "database": whole}


LEGEND = ("seconds: wall time of the stage in this process; CPU s: this process's CPU time"
          " in it (the database server's and the simulator's are not counted); peak MB: highest"
          " RSS sampled every 10 ms while the stage ran; ratio: seconds per record at this"
          " scale / at the previous scale")


def print_scale_results(results: list[dict], dags: list[dict]) -> None:
    print("\n" + "=" * 100)
    print(f"egov pipeline benchmark ({LEGEND})")
    previous: dict[tuple, float] = {}
    for r in results:
        print_result(r, previous)
    print_checks_and_dags(results, dags)


def print_result(r: dict, previous: dict[tuple, float]) -> None:
    print(f"\n## {r['db']}, {r['records']:,} records ({r['versions']:,} record versions in"
          f" the first load; simulator generated them in {r['generate_s']:.1f} s in a"
          f" child process)")
    print(f"{'stage':<46} {'seconds':>9} {'CPU s':>8} {'records/s':>11} {'peak MB':>8}"
          f" {'ratio':>6}")
    for part, rows in (("first load", r["first"]), ("incremental +2 days",
                                                    r.get("incr") or [])):
        if not rows:
            continue
        extra = f" ({r['incr_versions']:,} changed versions)" if part.startswith("incr") \
            else ""
        print(f"-- {part}{extra}")
        for row in rows:
            rate = (f"{row['records'] / row['seconds']:,.0f}"
                    if row["records"] and row["seconds"] >= 0.01 else "")
            key = (r["db"], part, row["stage"])
            per = row["seconds"] / max(r["records"], 1)
            ratio = f"{per / previous[key]:.2f}" if previous.get(key) else ""
            previous[key] = per
            print(f"{row['stage']:<46} {row['seconds']:>9.2f} {row['cpu']:>8.2f} {rate:>11} "
                  f"{row['peak_mb']:>8.0f} {ratio:>6}")
    f = r.get("floor")
    if f:
        by = {row["stage"]: row["seconds"] for row in r["first"]}
        vl = sum(by.get(k, 0) for k in ("load: parse pages", "load: validate (GX)",
                                         "load: data docs",
                                         "load: write (upsert, accounting)"))
        print(f"floor: parse {f['parse']:.2f} s + COPY {f['copy']:.2f} s = "
              f"{f['seconds']:.2f} s for {f['rows']:,} rows "
              f"({f['rows'] / max(f['seconds'], 1e-9):,.0f} rows/s)")
        print(f"pipeline validate+load = {vl / f['seconds']:.1f}x the floor; "
              f"end to end = {by.get('end to end', 0) / f['seconds']:.1f}x the floor")
    b = r.get("bytes")
    if b and b.get("rows"):
        print(f"PostgreSQL size: fct_dossier {b['fct_dossier'] / 2**20:,.1f} MB "
              f"({b['fct_dossier'] / b['rows']:,.0f} bytes/record with indexes), database "
              f"{b['database'] / 2**20:,.1f} MB")
    for key, label in (("check_first", "first load"), ("check_incr", "incremental")):
        if key in r:
            same, text = r[key]
            print(f"exactness ({label}): marts of the run vs egov.compute.recompute: "
                  f"{'OK' if same else 'DIFF'} ({text})")
    if r.get("profile"):
        print("cProfile of compute_snapshots (cumulative):\n" + r["profile"])
    sys.stdout.flush()


def print_checks_and_dags(results: list[dict], dags: list[dict]) -> None:
    by_scale: dict[int, dict] = {}
    for r in results:
        if "marts_first" in r:
            by_scale.setdefault(r["target"], {})[r["db"]] = r["marts_first"]
    for total, marts in by_scale.items():
        if len(marts) == 2:
            same, text = compare(marts["sqlite"], marts["postgresql"])
            print(f"exactness at {total:,}: SQLite marts vs PostgreSQL marts: "
                  f"{'OK' if same else 'DIFF'} ({text})")
    if dags:
        print("\nDAG files: parse time (DagBag of the file alone, in a fresh interpreter with"
              " airflow.sdk and the DagBag already imported, as in the DAG processor; goal"
              " < 0.3 s)")
        for d in dags:
            if d["seconds"] is None:
                print(f"{d['file']:<24} ERROR {d['error']}")
                continue
            heavy = ", ".join(f"{m} {s:.2f}s" for s, m in d["heavy"])
            verdict = "OK" if d["seconds"] < 0.3 else "OVER"
            print(f"{d['file']:<24} wall {d['seconds']:.3f} s, CPU {d['cpu']:.3f} s {verdict}"
                  f"  heaviest imports: {heavy}")


def scale_mode(args) -> int:
    scales = [int(s.replace("_", "")) for s in args.scales.split(",") if s.strip()]
    dbs = ["postgresql", "sqlite"] if args.db == "both" else [args.db]
    floor_db = None if args.no_floor else create_pg_database("floor")
    results = []
    previous: dict[tuple, float] = {}
    try:
        for db in dbs:
            for total in scales:
                print(f"# {db}, {total:,} records ...", flush=True)
                results.append(run_scale(db, total, args, floor_db))
                print(f"# done ({LEGEND})")
                print_result(results[-1], previous)
    finally:
        if floor_db:
            drop_pg_database(floor_db)
    dags = [] if args.no_dag_parse else dag_parse_times()
    print_scale_results(results, dags)
    checks = [r[k][0] for r in results for k in ("check_first", "check_incr") if k in r]
    return 0 if all(checks) else 1


# --------------------------------------------------------------------------------------------
# nightly mode

def seed(base: int, url: str) -> dict:
    """Grow fct_dossier to `base` rows: copies of the loaded rows under new codes, each copy
    shifted back by whole multiples of the loaded span (so the history reaches years back),
    secondary indexes dropped during the copy and rebuilt after; then ANALYZE, and the
    aggregate tables rebuilt if this version has them (egov.warehouse.aggregates.rebuild)."""
    from sqlalchemy import text

    from egov.warehouse.db import make_engine

    engine = make_engine(url)
    with engine.connect() as conn:
        n0, span = conn.execute(text(
            "SELECT count(*), GREATEST(1, (max(updated_at)::date - min(received_at)::date) + 1)"
            " FROM fct_dossier")).one()
        cols = [r[0] for r in conn.execute(text(
            "SELECT column_name FROM information_schema.columns WHERE table_name ="
            " 'fct_dossier' ORDER BY ordinal_position"))]
        indexes = conn.execute(text(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'fct_dossier'"
            " AND indexname NOT IN (SELECT conname FROM pg_constraint)")).all()
    copies = max(0, -(-(base - n0) // max(n0, 1)))
    shifted = {"received_at", "due_at", "ended_at", "returned_at", "updated_at",
               "received_date", "due_date", "ended_date", "loaded_at"}
    select = []
    for c in cols:
        if c == "dossier_code":
            select.append("f.dossier_code || '-S' || g")
        elif c in shifted:
            select.append(f"f.{c} - make_interval(days => g * :span)"
                          if not c.endswith("_date") else f"f.{c} - g * :span")
        elif c == "run_id":
            select.append("'bench-seed'")
        else:
            select.append(f"f.{c}")
    started = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE fct_dossier DISABLE TRIGGER USER"))
        for name, _ in indexes:
            conn.execute(text(f'DROP INDEX "{name}"'))
    remaining = base - n0
    g = 1
    while remaining > 0 and copies:
        batch = max(1, min(copies - g + 1, 2_000_000 // max(n0, 1) or 1))
        with engine.begin() as conn:
            conn.execute(text(
                f"INSERT INTO fct_dossier ({', '.join(cols)}) SELECT {', '.join(select)} FROM"
                f" (SELECT * FROM fct_dossier WHERE run_id IS DISTINCT FROM 'bench-seed') f"
                f" CROSS JOIN generate_series(:g0, :g1) g LIMIT :lim"),
                {"span": int(span), "g0": g, "g1": g + batch - 1, "lim": remaining})
        remaining -= min(remaining, batch * n0)
        g += batch
        print(f"  seeded {base - remaining:,} / {base:,} records "
              f"({time.perf_counter() - started:.0f} s)", flush=True)
    insert_s = time.perf_counter() - started
    t1 = time.perf_counter()
    with engine.begin() as conn:
        for _, definition in indexes:
            conn.execute(text(definition))
        conn.execute(text("ALTER TABLE fct_dossier ENABLE TRIGGER USER"))
    index_s = time.perf_counter() - t1
    t2 = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE fct_dossier"))
    analyze_s = time.perf_counter() - t2
    rebuild_s = None
    try:
        from egov.warehouse import (
            aggregates,  # issue 8 (h8snap): aggregate tables, if this has them
        )
    except ImportError:
        aggregates = None
    if aggregates is not None and hasattr(aggregates, "rebuild"):
        from egov.compute.recompute import warehouse_portals

        t3 = time.perf_counter()
        with engine.begin() as conn:
            aggregates.rebuild(conn, warehouse_portals(conn))
        rebuild_s = time.perf_counter() - t3
    engine.dispose()
    return {"loaded": n0, "span_days": int(span), "copies": g - 1, "insert_s": insert_s,
            "index_s": index_s, "analyze_s": analyze_s, "rebuild_s": rebuild_s}


def nightly_mode(args) -> int:
    work = Path(tempfile.mkdtemp(prefix="egov-bench-nightly-"))
    pg_name = create_pg_database("nightly")
    url = pg_url(pg_name)
    set_environment(work, url, args.data_docs)
    t0 = datetime(2025, 12, 29, 23, 0)  # a Monday night: the next day is a working day
    t1 = t0 + timedelta(days=1)
    scale = max(1, round(args.changes / NIGHT_CHANGES_PER_SCALE))
    history_start = (t0 - timedelta(days=args.seed_days)).date()
    sim = Simulator(work, scale, t0, history_start)
    os.environ["EGOV_HISTORY_START"] = history_start.isoformat()  # no empty first-load windows
    os.environ["EGOV_DATA_DOCS"] = "false"  # the seed is not measured; the night is as set
    meter = Meter()
    status = 0
    try:
        print(f"# seeding: first load of {sim.records:,} simulated records "
              f"({history_start}..{t0:%Y-%m-%d}, scale {scale})", flush=True)
        s0 = time.perf_counter()
        seed_run = run_nightly(meter, "seed ", t0 + timedelta(hours=2), "bench-seed-load")
        seed_load_s = time.perf_counter() - s0
        print(f"# seeding: growing fct_dossier to {args.base:,} records", flush=True)
        seeded = seed(args.base, url)
        seed_recompute_s = None
        if args.seed_recompute:
            print("# seeding: recomputing the seed day's marts on the grown warehouse",
                  flush=True)
            s1 = time.perf_counter()
            from egov.compute.recompute import recompute

            recompute([date.fromisoformat(seed_run["as_of"])])
            seed_recompute_s = time.perf_counter() - s1
        before = warehouse_bytes(url)
        print("# the nightly run", flush=True)
        os.environ["EGOV_DATA_DOCS"] = "true" if args.data_docs else "false"
        sim.set_clock(t1)
        night = run_nightly(meter, "night ", t1 + timedelta(hours=2), "bench-night")
        rows = stage_figures(meter, "night ", night["versions"], before["rows"])
        print("\n" + "=" * 100)
        print(f"nightly run of {night['versions']:,} changed record versions over "
              f"{before['rows']:,} records (PostgreSQL)")
        print(f"seeding: first load {seed_load_s:.1f} s ({seeded['loaded']:,} records over "
              f"{seeded['span_days']} days), {seeded['copies']} shifted copies inserted in "
              f"{seeded['insert_s']:.1f} s, indexes {seeded['index_s']:.1f} s, VACUUM ANALYZE "
              f"{seeded['analyze_s']:.1f} s, aggregates rebuild "
              + (f"{seeded['rebuild_s']:.1f} s" if seeded["rebuild_s"] is not None
                 else "(none in this version)")
              + (f", full recompute of the seed day {seed_recompute_s:.1f} s"
                 if seed_recompute_s is not None else ""))
        print(f"{'step':<46} {'seconds':>9} {'CPU s':>8} {'records/s':>11} {'peak MB':>8}")
        for row in rows:
            rate = (f"{row['records'] / row['seconds']:,.0f}"
                    if row["records"] and row["seconds"] >= 0.01 else "")
            print(f"{row['stage']:<46} {row['seconds']:>9.2f} {row['cpu']:>8.2f} {rate:>11} "
                  f"{row['peak_mb']:>8.0f}")
        task = sum(meter.seconds.get(f"night {k}", 0) for k in (
            "prepare (migrate, plan windows)", "extract (fetch + keep pages, HTTP)",
            "load (all)", "compute (all)", "finish (target report)"))
        print(f"task time of the nightly DAG (prepare + extract + load + compute + finish): "
              f"{task:.1f} s (goal < 30 s); with the reports DAG: "
              f"{task + meter.seconds.get('night reports (HTML + Biểu 06 files)', 0):.1f} s")
        print(f"PostgreSQL size: fct_dossier {before['fct_dossier'] / 2**30:,.2f} GB "
              f"({before['fct_dossier'] / before['rows']:,.0f} bytes/record with indexes); "
              f"database {before['database'] / 2**30:,.2f} GB")
        if args.check:
            same, text, _ = check_against_recompute(night["as_of"])
            print(f"exactness (nightly run): marts vs egov.compute.recompute: "
                  f"{'OK' if same else 'DIFF'} ({text})")
            status = 0 if same else 1
        if args.explain:
            explain_compute(night["as_of"], night["compute"]["portals"])
    finally:
        meter.close()
        sim.close()
        if not args.keep:
            drop_pg_database(pg_name)
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"kept: database {pg_name}, folder {work}")
    return status


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="10000,100000",
                        help="records in total, comma-separated (default 10000,100000)")
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--no-incremental", action="store_true",
                        help="skip the incremental run two days after the first load")
    parser.add_argument("--no-floor", action="store_true", help="skip the floor")
    parser.add_argument("--no-dag-parse", action="store_true", help="skip DAG parse times")
    parser.add_argument("--check-max", type=int, default=None,
                        help="check exactness at scales up to this (default: the smallest)")
    parser.add_argument("--profile", action="store_true",
                        help="print a cProfile of the snapshot computation")
    parser.add_argument("--data-docs", action=argparse.BooleanOptionalAction, default=True,
                        help="build Data Docs in the load step (default on, as deployed)")
    parser.add_argument("--keep", action="store_true", help="keep work folders/databases")
    parser.add_argument("--nightly", action="store_true", help="the nightly mode")
    parser.add_argument("--base", type=int, default=10_000_000,
                        help="nightly mode: records in the seeded warehouse")
    parser.add_argument("--changes", type=int, default=20_000,
                        help="nightly mode: changed records in the night (about)")
    parser.add_argument("--seed-days", type=int, default=21,
                        help="nightly mode: days of simulated history loaded before copying")
    parser.add_argument("--seed-recompute", action="store_true",
                        help="nightly mode: recompute the seed day's marts on the grown"
                             " warehouse before the night (a full recompute; slow)")
    parser.add_argument("--check", action=argparse.BooleanOptionalAction, default=True,
                        help="nightly mode: compare the marts with egov.compute.recompute")
    parser.add_argument("--explain", action="store_true",
                        help="EXPLAIN (ANALYZE, BUFFERS) the snapshot and Biểu 06 queries")
    args = parser.parse_args(argv)
    if args.nightly:
        return nightly_mode(args)
    if args.check_max is None:
        args.check_max = min(int(s) for s in args.scales.replace("_", "").split(",") if s)
    return scale_mode(args)


if __name__ == "__main__":
    sys.exit(main())
