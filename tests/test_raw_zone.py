"""The raw zone and housekeeping: retention deletes only run folders a raw-zone manifest names,
manifests are written atomically (a damaged one is named, by the load and by the rebuild),
and what holds personal data is readable by its owner only."""

from __future__ import annotations

import json
import os
import shutil
import stat
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from egov import pipeline
from egov.pipeline import rebuild
from egov.quality.retention import purge_raw_zone
from egov.sources.raw_zone import (
    MANIFEST,
    PageWriter,
    RawZoneError,
    manifests,
    page_items,
    read_manifest,
    run_key,
)
from tests.e2e_support import REPO
from tests.test_pipeline_steps import UNITS, record

NOW = datetime(2025, 7, 1, 2, 0)
OLD = NOW - timedelta(days=400)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


RUN1 = f"{run_key('run-1')}.w000"  # the folder of run "run-1", window 0


def write_run(root, portal="p", run_id="run-1", *, extracted_at="2025-03-03T01:00:00",
              records=None, seq=0) -> str:
    """A finished extraction of one window, as pipeline.extract writes it."""
    writer = PageWriter(portal, run_id, root=str(root), window=seq)
    data = records if records is not None else [record(i) for i in range(5)]
    for endpoint, items in (("/api/donvi", UNITS), ("/api/tthc", []), ("/api/hoso", data)):
        body = json.dumps({"error_code": "0", "tongSo": len(items), "data": items}).encode()
        writer.on_page(endpoint, {}, 1, 200, body)
    return writer.finish(extracted_at=extracted_at, as_of="2025-03-02", seq=seq, windows=1,
                         full_refresh=False, window_from="2025-03-01T00:00:00", window_to=None,
                         client_stats={"retries": 0}, seconds=0.1)


def age(path, when: datetime) -> None:
    """Make every file and folder under `path` look written at `when`."""
    for p in [path, *path.rglob("*")]:
        os.utime(p, (when.timestamp(), when.timestamp()), follow_symlinks=False)


def snapshot(root) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not p.is_symlink()}


# --- retention deletes only what it owns ----------------------------------------------------------

def test_retention_deletes_old_run_folders_and_keeps_recent_ones(tmp_path):
    root = tmp_path / "raw"
    old = write_run(root, "binh-dinh", "scheduled__2025-03-01", extracted_at="2025-03-01T01:00")
    recent = write_run(root, "binh-dinh", "scheduled__2025-06-20",
                       extracted_at="2025-06-20T01:00")
    other = write_run(root, "tay-ninh", "scheduled__2025-03-01", extracted_at="2025-03-01T01:00",
                      seq=2)
    unfinished = PageWriter("tay-ninh", "manual__2026-01-01", root=str(root)).folder  # crashed
    removed = purge_raw_zone(root, 30, NOW)
    assert sorted(removed) == sorted(str(os.path.dirname(m)) for m in (old, other))
    assert os.path.exists(recent) and not os.path.exists(old) and unfinished.exists()
    # an extraction that never ended ages from when it started
    later = datetime.now() + timedelta(days=31)
    assert sorted(purge_raw_zone(root, 30, later)) == sorted(
        [str(unfinished), os.path.dirname(recent)])
    assert purge_raw_zone(root, None, NOW) == []
    assert purge_raw_zone(root / "missing", 30, NOW) == []


def _not_a_raw_zone(base):
    """What an operator may point EGOV_RAW_DIR at by mistake: the project, Airflow's logs."""
    shutil.copytree(REPO / "include" / "plans", base / "include" / "plans")
    shutil.copytree(REPO / "dags", base / "dags", ignore=shutil.ignore_patterns("__pycache__"))
    logs = base / "logs" / "dag_id=egov_nightly" / "run_id=scheduled__2025-01-01"
    logs.mkdir(parents=True)
    (logs / "attempt=1.log").write_text("log line\n")
    # folders that look like raw-zone runs, but whose manifest does not name them
    fake = base / "binh-dinh" / "run_x.w000"
    fake.mkdir(parents=True)
    (fake / "notes.txt").write_text("mine")
    (fake / MANIFEST).write_text(json.dumps({"portal_code": "tay-ninh", "run_id": "run_x",
                                             "pages": []}))
    other_run = base / "binh-dinh" / "important"
    other_run.mkdir()
    (other_run / MANIFEST).write_text(json.dumps({"portal_code": "binh-dinh", "run_id": "run_y",
                                                  "pages": []}))
    empty = base / "tay-ninh" / "run_z.w000"
    empty.mkdir(parents=True)
    (empty / "hoso-00001.json.gz").write_bytes(b"not ours")
    cut = base / "tay-ninh" / "run_c.w000"
    cut.mkdir()
    (cut / MANIFEST).write_text('{"portal_code": "tay-ninh", "run_id": "run_c", "pa')
    (base / "vinh-phuc").mkdir()
    (base / "vinh-phuc" / "run_l.w000").symlink_to(base / "include", target_is_directory=True)
    age(base, OLD)


def test_a_folder_that_is_not_a_raw_zone_survives_retention(tmp_path):
    _not_a_raw_zone(tmp_path)
    before = snapshot(tmp_path)
    assert len(before) > 10
    assert purge_raw_zone(tmp_path, 1, NOW) == []
    assert snapshot(tmp_path) == before


def test_a_folder_that_is_not_a_raw_zone_survives_housekeeping(tmp_path, monkeypatch):
    """The nightly housekeeping task itself, pointed at the wrong folder."""
    target = tmp_path / "project"
    _not_a_raw_zone(target)
    kept = write_run(target, "thanh-hoa", "scheduled__2020-01-01", extracted_at="2020-01-02T01:00")
    before = snapshot(target)
    monkeypatch.setenv("EGOV_RAW_DIR", str(target))
    monkeypatch.setenv("EGOV_RAW_RETENTION_DAYS", "1")
    monkeypatch.setenv("AIRFLOW_CONN_EGOV_WAREHOUSE", f"sqlite:///{tmp_path / 'wh.db'}")
    from egov.warehouse.migrations import upgrade

    upgrade(pipeline._engine())
    monkeypatch.setenv("EGOV_DATA_DOCS_DIR", str(tmp_path / "docs"))
    assert pipeline.housekeeping() == {"raw_runs_deleted": 1, "payloads_redacted": 0,
                                       "samples_cleared": 0, "data_docs_deleted": 0}
    after = snapshot(target)
    gone = {k for k in before if k.startswith("thanh-hoa/")}
    assert gone and not os.path.exists(kept)
    assert after == {k: v for k, v in before.items() if k not in gone}


# --- manifests: atomic, and a damaged one is named -------------------------------------------------

def test_a_run_folder_carries_its_manifest_from_the_start(tmp_path):
    writer = PageWriter("p", "run-1", root=str(tmp_path))
    first = read_manifest(str(writer.folder / MANIFEST))
    assert (first["portal_code"], first["run_id"], first["state"]) == ("p", "run-1",
                                                                       "extracting")
    assert manifests(root=str(tmp_path)) == []  # an extraction not ended is nobody's input
    location = write_run(tmp_path)
    assert read_manifest(location)["state"] == "complete"
    assert manifests(root=str(tmp_path)) == [location]
    assert sorted(p.name for p in writer.folder.iterdir()) == [
        "donvi-00001.json.gz", "hoso-00003.json.gz", MANIFEST, "tthc-00002.json.gz"]


def test_a_manifest_is_replaced_whole_or_not_at_all(tmp_path, monkeypatch):
    location = write_run(tmp_path)
    before = (tmp_path / "p" / RUN1 / MANIFEST).read_bytes()
    writer = PageWriter.__new__(PageWriter)  # the same folder, written again
    writer.__dict__.update(portal_code="p", run_id="run-1", folder=(tmp_path / "p" / RUN1),
                           pages=[], started_at="2025-03-03T00:00:00+00:00")

    def crash(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        writer.finish(extracted_at="2025-03-04T01:00:00")
    assert (tmp_path / "p" / RUN1 / MANIFEST).read_bytes() == before
    assert read_manifest(location)["extracted_at"] == "2025-03-03T01:00:00"


@pytest.mark.parametrize("content", [b'{"portal_code": "p", "run_id": "run-1", "pag', b"",
                                     b"\xff\xfe", b"[]", b'{"pages": []}'])
def test_a_damaged_manifest_is_named(tmp_path, content):
    location = write_run(tmp_path)
    with open(location, "wb") as f:
        f.write(content)
    with pytest.raises(RawZoneError) as exc:
        read_manifest(location)
    assert str(exc.value).startswith(f"{location}: ")
    with pytest.raises(RawZoneError, match=location):
        page_items(location, "hoso")
    with pytest.raises(RawZoneError, match=location):
        manifests(root=str(tmp_path))


def test_a_damaged_page_is_named(tmp_path):
    location = write_run(tmp_path)
    page = tmp_path / "p" / RUN1 / "hoso-00003.json.gz"
    page.write_bytes(page.read_bytes()[:20])
    with pytest.raises(RawZoneError, match=str(page)):
        page_items(location, "hoso")


@pytest.fixture
def two_runs(tmp_path, monkeypatch):
    """A raw zone with one good run and one whose manifest was cut short."""
    raw = tmp_path / "raw"
    write_run(raw, "p", "run-1")
    cut = write_run(raw, "q", "run-2", extracted_at="2025-03-04T01:00:00",
                    records=[record(i, MaHoSo=f"Q{i}") for i in range(3)])
    with open(cut, "r+b") as f:
        f.truncate(os.path.getsize(cut) // 2)
    monkeypatch.setenv("EGOV_DATA_DOCS", "false")
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))
    monkeypatch.setenv("AIRFLOW_CONN_EGOV_WAREHOUSE", "sqlite:///unused")  # main() sets it
    return raw, cut


def test_rebuild_stops_naming_a_damaged_manifest(two_runs, tmp_path, capsys):
    raw, cut = two_runs
    db = tmp_path / "rebuilt.db"
    assert rebuild.main(["--url", f"sqlite:///{db}", "--raw-dir", str(raw)]) == 2
    err = capsys.readouterr().err
    assert f"rebuild stopped: {cut}: unreadable raw-zone manifest" in err
    assert "--skip-unreadable" in err and "Traceback" not in err
    assert not db.exists()  # stopped before the warehouse was touched


def test_rebuild_can_leave_a_damaged_manifest_out(two_runs, tmp_path, capsys, caplog):
    raw, cut = two_runs
    db = tmp_path / "rebuilt.db"
    url = f"sqlite:///{db}"
    assert rebuild.main(["--url", url, "--raw-dir", str(raw), "--skip-unreadable"]) == 0
    assert f"{cut}: unreadable raw-zone manifest" in caplog.text and "left out" in caplog.text
    from egov.warehouse.db import make_engine
    from egov.warehouse.schema import fct_dossier

    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(select(fct_dossier.c.portal_code, func.count())
                            .group_by(fct_dossier.c.portal_code)).all()
    engine.dispose()
    assert rows == [("p", 5)]


# --- readable by the owner only -------------------------------------------------------------------

@pytest.fixture
def open_umask():
    old = os.umask(0o022)  # a usual umask: files 0644, folders 0755 unless told otherwise
    yield
    os.umask(old)


def test_raw_zone_files_and_folders_are_private(tmp_path, open_umask):
    root = tmp_path / "deep" / "raw"
    location = write_run(root, "binh-dinh", "run-1")
    folder = root / "binh-dinh" / RUN1
    for d in (tmp_path / "deep", root, root / "binh-dinh", folder):
        assert mode(d) == 0o700, d
    files = list(folder.iterdir())
    assert len(files) == 4 and all(mode(f) == 0o600 for f in files)
    assert os.path.basename(location) == MANIFEST


def test_an_existing_root_keeps_its_mode_and_old_folders_are_tightened(tmp_path, open_umask):
    root = tmp_path / "raw"
    root.mkdir(mode=0o750)
    os.chmod(root, 0o750)
    (root / "p" / RUN1).mkdir(parents=True, mode=0o755)
    (root / "p" / RUN1 / "hoso-00001.json.gz").write_bytes(b"old")
    write_run(root)
    assert mode(root) == 0o750
    assert mode(root / "p") == mode(root / "p" / RUN1) == 0o700
    assert all(mode(f) == 0o600 for f in (root / "p" / RUN1).iterdir())


def test_the_sqlite_warehouse_is_private(tmp_path, open_umask):
    from egov.warehouse.db import make_engine

    path = tmp_path / "wh" / "warehouse.db"
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
        conn.execute(text("INSERT INTO t VALUES (1)"))
    conn = engine.connect()  # keeps the -wal and -shm files open
    assert conn.execute(text("SELECT x FROM t")).scalar() == 1
    side = [path.with_name(path.name + s) for s in ("-wal", "-shm")]
    assert all(p.exists() for p in side)
    for p in (path, *side):
        assert mode(p) == 0o600, p
    conn.close()
    engine.dispose()


def test_run_ids_differing_only_in_punctuation_get_their_own_folders(tmp_path):
    """Issue 20.7: ':' / '+' and '_' used to give the same folder (one run's pages replaced
    the other's)."""
    from egov.sources.raw_zone import is_run_folder_of, run_folder

    a, b = "manual__2025-01-01T00:00:00+00:00", "manual__2025-01-01T00_00_00_00_00"
    assert run_folder("p", a, root=str(tmp_path)) != run_folder("p", b, root=str(tmp_path))
    first, second = write_run(tmp_path, "p", a), write_run(tmp_path, "p", b)
    assert first != second
    assert {read_manifest(first)["run_id"], read_manifest(second)["run_id"]} == {a, b}
    name = run_folder("p", a, root=str(tmp_path)).name
    assert is_run_folder_of(name, a) and not is_run_folder_of(name, b)
    assert is_run_folder_of("manual__2025-01-01T00_00_00_00_00.w000", a), \
        "folders named before the hash was added are still recognised (retention)"
