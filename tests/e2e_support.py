"""Helpers for end-to-end runs: an isolated Airflow home, `airflow dags test` as a subprocess,
the simulator's ground truth, and warehouse read-backs in comparable form."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
AIRFLOW = str(Path(sys.executable).with_name("airflow"))
PORTALS = ["binh-dinh", "tay-ninh", "thanh-hoa", "vinh-phuc"]
VOLATILE = {"run_id", "computed_at", "loaded_at", "quarantined_at", "committed_at", "raw_page",
            "requested_at"}


def airflow_env(home: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "EGOV_"))}
    env.update({
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "GX_ANALYTICS_ENABLED": "False",
        "EGOV_TASK_RETRIES": "0",
        "EGOV_FIRST_LOAD_WINDOW_MONTHS": "24",
        "EGOV_DATA_DOCS": "false",  # ~2.5 s per portal and run; the nightly test turns it on
        "EGOV_PII_KEY": "test-only-pii-key",
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
    })
    return env


_MIGRATED: list[Path] = []  # this process's freshly migrated metadata database


def migrate_metadata(env: dict) -> None:
    """The Airflow metadata database of `env`, migrated. An SQLite one in AIRFLOW_HOME (the
    default) is a copy of a database `airflow db migrate` made once per test process
    (a fresh migration is the same file every time; it costs ~5 s of CPU a call); any other
    is migrated in place."""
    import shutil
    import tempfile

    def migrate(run_env: dict) -> None:
        proc = subprocess.run([AIRFLOW, "db", "migrate"], env=run_env, capture_output=True,
                              text=True, timeout=300)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    if env.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN") or not env.get("AIRFLOW_HOME"):
        migrate(env)
        return
    target = Path(env["AIRFLOW_HOME"]) / "airflow.db"
    if target.exists():
        migrate(env)
        return
    if not _MIGRATED:
        import atexit

        home = Path(tempfile.mkdtemp(prefix="egov-airflow-template-"))
        atexit.register(shutil.rmtree, home, True)
        migrate({**airflow_env(home)})
        _MIGRATED.append(home / "airflow.db")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_MIGRATED[0], target)


def run_dag(env: dict, logical_date: str, conf: dict | None = None, *, log_dir: Path):
    """`airflow dags test egov_nightly <logical_date>`; returns (returncode, log text)."""
    cmd = [AIRFLOW, "dags", "test", "egov_nightly", logical_date]
    if conf:
        cmd += ["-c", json.dumps(conf)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    text = proc.stdout + proc.stderr
    log_dir.mkdir(parents=True, exist_ok=True)
    (log_dir / f"dags-test-{logical_date.replace(':', '')}.log").write_text(text)
    return proc.returncode, text


def portal_conn_env(fleet, credentials: dict[str, tuple[str, str]], query: str = "") -> dict:
    """AIRFLOW_CONN_PORTAL_* for each portal of the fleet; `query` sets client options
    through the connection's extra (e.g. "read_timeout=1&max_retries=8")."""
    from urllib.parse import quote

    env = {}
    for code, (user, password) in credentials.items():
        url = fleet.base_url(code)
        scheme, rest = url.split("://", 1)
        env[f"AIRFLOW_CONN_PORTAL_{code.upper().replace('-', '_')}"] = (
            f"{scheme}://{quote(user, safe='')}:{quote(password, safe='')}@{rest}"
            + (f"?{query}" if query else ""))
    return env


def _plain(value):
    if isinstance(value, Decimal):
        return value.quantize(Decimal("0.01"))
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def snapshot_table(engine, as_of: date) -> dict:
    """{(unit, indicator, period_type, period_start): (num, den, value_pct)} for one as-of day."""
    from sqlalchemy import select

    from egov.warehouse.schema import mart_indicator_snapshot as t

    with engine.connect() as conn:
        rows = conn.execute(select(t).where(t.c.as_of_date == as_of)).mappings().all()
    return {
        (r["unit_code"], r["indicator_code"], r["period_type"], _plain(r["period_start"])):
        (r["numerator"], r["denominator"], _plain(r["value_pct"]))
        for r in rows
    }


def table_rows(engine, table, *, drop=VOLATILE) -> list[tuple]:
    """Every row of a table, volatile columns dropped, sorted: for equality of warehouses."""
    from sqlalchemy import select

    with engine.connect() as conn:
        rows = conn.execute(select(table)).mappings().all()
    out = [tuple((k, _plain(v)) for k, v in sorted(r.items()) if k not in drop) for r in rows]
    return sorted(out, key=repr)


def expected_snapshots(world, portals, extraction_clocks, as_of: date, target_years) -> dict:
    """What the oracle says the run's snapshot rows must be, from the simulator's truth."""
    from tests import oracle

    expected = {}
    for portal in portals:
        records = list(world.warehouse_truth(portal, extraction_clocks).values())
        run = oracle.compute_run(records, world.procedures(portal), world.units(portal), as_of,
                                 target_years)
        for key, (num, den, value) in run.items():
            expected[(key[0], key[1], key[2], _plain(key[3]))] = (num, den, _plain(value))
    return expected


def target_years(portals=PORTALS) -> set[int]:
    """Years named by targets with an indicator, of plans on these portals."""
    from egov.compute.plans import load_plans

    return {y for p in load_plans() if p.portal in portals for t in p.targets if t.indicator
            for y in t.thresholds}


def form06_table(engine, as_of: date) -> dict:
    """{(unit, period_type, period_start, field_code): (field_name, nine counts)}."""
    from sqlalchemy import select

    from egov.warehouse.schema import FORM06_COUNTS
    from egov.warehouse.schema import mart_form06 as t

    with engine.connect() as conn:
        rows = conn.execute(select(t).where(t.c.as_of_date == as_of)).mappings().all()
    return {
        (r["unit_code"], r["period_type"], _plain(r["period_start"]), r["field_code"]):
        (r["field_name"], tuple(r[c] for c in FORM06_COUNTS))
        for r in rows
    }


def expected_form06(world, portals, extraction_clocks, as_of: date) -> dict:
    """What the oracle says the run's Biểu 06 rows must be (quarter and year of as_of)."""
    from tests import oracle

    expected = {}
    for portal in portals:
        records = list(world.warehouse_truth(portal, extraction_clocks).values())
        for period_type in ("quarter", "year"):
            start = oracle.period_bounds(period_type, as_of)[0]
            rows = oracle.compute_form06(records, world.units(portal), as_of, period_type, start)
            for (unit, field), value in rows.items():
                expected[(unit, period_type, start.isoformat(), field)] = value
    return expected
