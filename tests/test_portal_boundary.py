"""Values nobody promised (portal-api.md) and versions from the future, through the real load
step on SQLite and PostgreSQL: each value ends as the contract says (quarantined with a
readable reason, or kept and stored as null or cut, counted), the window commits, and a
version stamped after its request never moves the watermark."""

from __future__ import annotations

import json
from datetime import date, datetime

import pytest
from sqlalchemy import select

from egov import pipeline
from egov.sources.onestop.records import CODE_MAX, SHORT_MAX, parse_version
from egov.warehouse.schema import (
    etl_extract_window,
    etl_watermark,
    fct_dossier,
    quarantine_record,
)
from tests.boundary_support import UNITS, engine_url, pipeline_env, record, write_window

LONG_UNIT = "U" * 200  # a 200-character unit code: a legitimate, long code


@pytest.fixture
def env(warehouse, tmp_path, monkeypatch):
    for name, value in pipeline_env(engine_url(warehouse), tmp_path).items():
        monkeypatch.setenv(name, value)
    return tmp_path


def _facts(engine, portal="p"):
    with engine.connect() as conn:
        return {r["dossier_code"]: r for r in conn.execute(
            select(fct_dossier).where(fct_dossier.c.portal_code == portal)).mappings()}


def _quarantine(engine):
    with engine.connect() as conn:
        return {r["record_key"]: r for r in conn.execute(select(quarantine_record)).mappings()}


def _window(engine, run_id):
    with engine.connect() as conn:
        return conn.execute(select(etl_extract_window).where(
            etl_extract_window.c.run_id == run_id)).mappings().one()


def test_each_value_nobody_promised_ends_where_the_contract_says(warehouse, env):
    long_code = "H" * 300  # longer than any code column: kept under a bounded key
    items = [
        record("GOOD"),
        record("FEE", DanhSachLePhi=[{"Gia": 10**20}]),
        record("TYPE", LoaiDoiTuong=40000, HinhThuc=10**30, MucDoHaiLong="9" * 50),
        record("LEVEL", MucDo="Toan trinh", KenhThucHien=2),
        record("LEVEL2", MucDo="x" * 100),
        record(["A"]),
        record(12.5),
        "a string as an item",
        None,
        record("NUL", TenTTHC="Cấp\x00phép", TenLinhVuc=["Chứng thực"], MaTTHC={"x": 1}),
        record("C" * 200, MaDonVi=LONG_UNIT, MaTTHC="1." + "0" * 198),
        record(long_code, MaLinhVuc="L\x00" * 200),
        record("FUTURE", "99991231235959"),
        record("SURROGATE", TenTTHC="a\ud800b", DanhSachHoSoBoSung=[{}] * 40000),
    ]
    units = UNITS + [{"MaDonVi": LONG_UNIT, "TenDonVi": "Đơn vị mã dài", "MaDonViCha": "P",
                      "CapDonVi": "PHUONG-DAC-BIET" * 5}]
    location = write_window(env / "raw", items, units=units)
    result = pipeline.load({"portal_code": "p", "manifest": location}, run_id="run-1")
    assert result["status"] == "committed"

    facts, quarantine = _facts(warehouse), _quarantine(warehouse)
    keys = {parse_version(i).record_key for i in items}
    assert keys == set(facts) | set(quarantine), "every item ends in one of the two tables"
    assert not set(facts) & set(quarantine)

    assert quarantine["FEE"]["rule"] == "fee_valid"
    assert "fee_valid: DanhSachLePhi=" in quarantine["FEE"]["reason"]
    assert quarantine["FUTURE"]["rule"] == "updated_at_future"
    for item in (["A"], 12.5):
        row = quarantine[parse_version(record(item)).record_key]
        assert row["rule"] == "dossier_code_present" and row["record_key"].startswith("sha256:")
    for item in ("a string as an item", None):
        row = quarantine[parse_version(item).record_key]
        assert row["rule"] == "record_is_object" and row["version_key"] == ""
        assert row["reason"].startswith("record_is_object: (item)=")
        assert json.loads(row["payload"]) == item

    assert facts["TYPE"]["applicant_type"] is None  # beyond SmallInteger: null, counted
    assert facts["TYPE"]["result_delivery"] is None and facts["TYPE"]["satisfaction"] is None
    assert facts["LEVEL"]["service_level"] == "Toan trinh" and facts["LEVEL"]["channel"] == 2
    assert facts["LEVEL2"]["service_level"] == "x" * SHORT_MAX
    assert facts["NUL"]["procedure_name"] == "Cấp\ufffdphép"
    assert facts["NUL"]["field_name"] is None and facts["NUL"]["procedure_code"] is None
    assert facts["NUL"]["is_certification"] is False  # a list matches no condition
    assert facts["C" * 200]["unit_code"] == LONG_UNIT  # fits: kept exactly
    assert facts["C" * 200]["procedure_code"] == "1." + "0" * 198
    [bounded] = [k for k in facts if k.startswith("H" * 100)]
    assert len(bounded) == CODE_MAX and bounded != long_code
    assert facts["SURROGATE"]["procedure_name"] == "a\ufffdb"
    assert facts["SURROGATE"]["supplement_requests"] == 2**15 - 1

    window = _window(warehouse, "run-1")
    assert window["records_received"] == len(items)
    assert window["records_distinct"] == window["records_loaded"] + window["records_quarantined"]
    assert (window["records_loaded"], window["records_quarantined"]) == (len(facts),
                                                                        len(quarantine))
    # null: LoaiDoiTuong, HinhThuc, MucDoHaiLong (TYPE), TenLinhVuc, MaTTHC (NUL)
    assert window["values_nulled"] == 5
    # cut: MucDo (LEVEL2), TenTTHC (NUL), MaHoSo (long), MaLinhVuc (long), TenTTHC and
    # DanhSachHoSoBoSung (SURROGATE), CapDonVi (the long unit)
    assert window["values_cut"] == 7
    with warehouse.connect() as conn:
        assert conn.execute(select(etl_watermark.c.updated_through)).scalar() == \
            datetime(2025, 3, 2, 10, 0), "the version from year 9999 never moves it"


def test_a_version_stamped_after_its_request_never_moves_the_watermark(warehouse, env):
    """Pages received at 2025-03-03 01:00 UTC (08:00 local): NgayCapNhat up to a day later is
    a portal clock running a little fast; later than that is malformed, whatever today is."""
    from egov.quality.quarantine import replay
    from egov.settings import watermark_overlap
    from egov.sources.onestop.windows import plan_windows
    from egov.warehouse.load import read_watermark

    first = [
        record("A", "20250302100000"),
        record("B", "99991231235959"),                 # a portal clock years ahead
        record("C", "20250304080001"),                 # one day and a second after
        record("D", "20250304080000"),                 # exactly one day after: kept
    ]
    location = write_window(env / "raw", first, received_at="2025-03-03T01:00:00+00:00")
    pipeline.load({"portal_code": "p", "manifest": location}, run_id="run-1")
    quarantine = _quarantine(warehouse)
    assert {k: r["rule"] for k, r in quarantine.items()} == {"B": "updated_at_future",
                                                              "C": "updated_at_future"}
    assert quarantine["C"]["requested_at"] == datetime(2025, 3, 3, 8, 0)
    assert "more than one day after the request" in quarantine["C"]["reason"]
    with warehouse.connect() as conn:
        watermark = read_watermark(conn, "p")
    assert watermark == datetime(2025, 3, 3, 8, 0), "D is kept; the watermark stops at the request"

    # A replay judges by the same moment as the night (not by today, long after 2025-03-04).
    stats = replay(warehouse, run_id="replay-1")
    assert (stats.replayed, stats.still_open) == (0, 2)

    # The next run reads from the watermark: B's and C's real later changes are there.
    [window] = plan_windows(watermark, full_refresh=False, history_start=date(2021, 1, 1),
                            overlap=watermark_overlap(), months=12, now=datetime(2025, 3, 5))
    later = [record("B", "20250304090000", TrangThaiHoSo=5),
             record("C", "20250304100000", TrangThaiHoSo=5),
             record("A", "20250304110000", TrangThaiHoSo=5)]
    assert all(datetime.strptime(r["NgayCapNhat"], "%Y%m%d%H%M%S") >= window.start
               for r in later)
    location = write_window(env / "raw", later, run_id="run-2",
                            received_at="2025-03-05T01:00:00+00:00",
                            window_from=window.start.isoformat())
    pipeline.load({"portal_code": "p", "manifest": location}, run_id="run-2")
    facts = _facts(warehouse)
    assert {k: (r["status"], r["updated_at"]) for k, r in facts.items()} == {
        "A": (5, datetime(2025, 3, 4, 11, 0)), "B": (5, datetime(2025, 3, 4, 9, 0)),
        "C": (5, datetime(2025, 3, 4, 10, 0)), "D": (4, datetime(2025, 3, 4, 8, 0))}
    with warehouse.connect() as conn:
        assert read_watermark(conn, "p") == datetime(2025, 3, 4, 11, 0)


def test_a_stamp_within_a_day_ahead_is_kept_but_never_hides_a_later_change(warehouse, env):
    """Issue 20.2: a portal clock a few hours ahead stamps a version after the request; it is
    kept, but the watermark stops at the request moment, so a change the next night that is
    stamped (truly) one hour after that request is still read."""
    from egov.settings import watermark_overlap
    from egov.sources.onestop.windows import plan_windows
    from egov.warehouse.load import read_watermark

    # request at 2025-03-03 08:00 local; AHEAD stamped 20 h later, within the day allowed
    first = [record("A", "20250303070000"), record("AHEAD", "20250304040000")]
    location = write_window(env / "raw", first, received_at="2025-03-03T01:00:00+00:00")
    assert pipeline.load({"portal_code": "p", "manifest": location},
                         run_id="run-1")["status"] == "committed"
    assert set(_facts(warehouse)) == {"A", "AHEAD"} and not _quarantine(warehouse)
    with warehouse.connect() as conn:
        watermark = read_watermark(conn, "p")
    assert watermark <= datetime(2025, 3, 3, 8, 0)

    # the next night's window starts at or before a change stamped request + 1 h
    [window] = plan_windows(watermark, full_refresh=False, history_start=date(2021, 1, 1),
                            overlap=watermark_overlap(), months=12, now=datetime(2025, 3, 4, 8))
    change = record("A", "20250303090000", TrangThaiHoSo=5)
    assert window.start <= datetime(2025, 3, 3, 9, 0)
    location = write_window(env / "raw", [change, first[1]], run_id="run-2",
                            received_at="2025-03-04T01:00:00+00:00",
                            window_from=window.start.isoformat())
    pipeline.load({"portal_code": "p", "manifest": location}, run_id="run-2")
    facts = _facts(warehouse)
    assert (facts["A"]["status"], facts["A"]["updated_at"]) == (5, datetime(2025, 3, 3, 9, 0))
    with warehouse.connect() as conn:  # now past the request of run-1: AHEAD's stamp counts
        assert read_watermark(conn, "p") == datetime(2025, 3, 4, 4, 0)


def test_a_rebuild_from_the_raw_zone_judges_by_the_page_moment(tmp_path, monkeypatch):
    from egov.pipeline.rebuild import rebuild
    from egov.warehouse.db import make_engine

    url = f"sqlite:///{tmp_path / 'rebuilt.db'}"
    for name, value in pipeline_env(url, tmp_path).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("EGOV_PORTALS_FILE", str(_portals_file(tmp_path)))
    items = [record("A", "20250302100000"), record("C", "20250304080001")]
    write_window(tmp_path / "raw", items, received_at="2025-03-03T01:00:00+00:00")
    rebuild(str(tmp_path / "raw"))
    engine = make_engine(url)
    try:
        assert set(_facts(engine)) == {"A"}
        assert _quarantine(engine)["C"]["rule"] == "updated_at_future"
    finally:
        engine.dispose()


def _portals_file(tmp_path):
    path = tmp_path / "portals.yaml"
    path.write_text("portals:\n  - code: p\n    name: P\n    conn_id: portal_p\n")
    return path


class _HostilePortal:
    """A portal over real HTTP whose records include one stamped 99991231235959, and whose
    first answer announces one record too many (a pass the client must reconcile by cutting
    the window after the newest NgayCapNhat it saw)."""

    def __init__(self, items):
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        from urllib.parse import parse_qs, urlparse

        portal = self
        self.items, self.calls = items, 0
        self.body: bytes | None = None  # set: every /api/hoso answer is these bytes

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args):
                pass

            def _send(self, body):
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):  # noqa: N802 - http.server's name
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                self._send({"error_code": "0", "session": "s", "expires_in": 1800})

            def do_GET(self):  # noqa: N802
                if portal.body is not None:
                    return self._send(portal.body)
                query = {k: v[0] for k, v in parse_qs(urlparse(self.path).query).items()}
                lo, hi = query.get("capNhatTu", ""), query.get("capNhatDen")
                data = [i for i in portal.items
                        if i["NgayCapNhat"] >= lo and (hi is None or i["NgayCapNhat"] < hi)]
                portal.calls += 1
                extra = 1 if portal.calls == 1 else 0
                self._send({"error_code": "0", "tongSo": len(data) + extra, "trang": 1,
                            "soLuong": 1000, "data": data})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def test_a_version_from_year_9999_does_not_stop_the_client():
    """Cutting a live window after the newest stamp seen must stay in the calendar."""
    from egov.sources.onestop.client import PortalClient

    items = [record("A", "20250302100000"), record("B", "99991231235959")]
    portal = _HostilePortal(items)
    try:
        client = PortalClient(portal.url, "u", "p", portal_code="p", sleep=lambda _s: None)
        got = client.fetch_dossiers("20250301000000")
    finally:
        portal.stop()
    assert [r["MaHoSo"] for r in got] == ["A", "B"]
    assert client.stats["splits"] == 1 and portal.calls >= 3


def _huge_page(items: list[dict], huge: str) -> bytes:
    """A /api/hoso body whose `HUGE` placeholders are integer literals of `huge` digits: Python's
    json refuses to write (and by default to read) integers of more than 4,300 digits."""
    body = json.dumps({"error_code": "0", "tongSo": len(items), "data": items})
    return body.replace('"HUGE"', huge).encode()


def test_an_integer_of_thousands_of_digits_stops_neither_client_nor_window(warehouse, env):
    """A page holding a 5,000-digit integer is read; the versions holding it are quarantined
    (code, Gia) or keep the field null (LoaiDoiTuong), and the window commits."""
    from egov.sources.onestop.client import PortalClient
    from egov.sources.raw_zone import PageWriter

    huge = "9" * 5000
    items = [record("GOOD"), record("FEE", DanhSachLePhi=[{"Gia": "HUGE"}]),
             record("TYPE", LoaiDoiTuong="HUGE"), record("HUGE")]
    body = _huge_page(items, huge)
    portal = _HostilePortal([])
    portal.body = body
    try:
        writer = PageWriter("p", "run-1", root=str(env / "raw"))
        client = PortalClient(portal.url, "u", "p", portal_code="p", sleep=lambda _s: None,
                              on_page=writer.on_page)
        got = client.fetch_dossiers("20250301000000")
        assert len(got) == 4 and client.stats["retries"] == 0
    finally:
        portal.stop()
    for endpoint, data in (("/api/donvi", UNITS), ("/api/tthc", [])):
        writer.on_page(endpoint, {}, 1, 200, json.dumps(
            {"error_code": "0", "tongSo": len(data), "data": data}).encode())
    location = writer.finish(extracted_at=datetime.now().isoformat(timespec="seconds"),
                             as_of="2025-03-02", seq=0, windows=1, full_refresh=False,
                             window_from="2025-03-01T00:00:00", window_to=None,
                             client_stats={"retries": 0}, seconds=0.1)
    result = pipeline.load({"portal_code": "p", "manifest": location}, run_id="run-1")
    assert result["status"] == "committed"
    facts, quarantine = _facts(warehouse), _quarantine(warehouse)
    assert set(facts) == {"GOOD", "TYPE"} and facts["TYPE"]["applicant_type"] is None
    assert quarantine["FEE"]["rule"] == "fee_valid"
    [code] = [q for q in quarantine.values() if q["record_key"].startswith("sha256:")]
    assert code["rule"] == "dossier_code_present"
    assert len(code["reason"]) < 1000, "a reason names the rule and a cut value, not 5,000 digits"



@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_one_deeply_nested_value_quarantines_only_its_item(warehouse, env, depth):
    """Issue 20.3: a value nested ~1,000 levels (or far more) in one item: the page is read
    by the client and by the load, the good items load, only that item is quarantined with a
    reason, and the window commits."""
    from egov.sources.onestop.client import PortalClient
    from egov.sources.raw_zone import PageWriter

    items = [record("GOOD"), record("DEEP", DanhSachLePhi="__DEEP__"), record("GOOD2"),
             record("DEEP2", Extra=[{"x": "__DEEP__"}])]
    deep = "[" * depth + "]" * depth
    body = json.dumps({"error_code": "0", "tongSo": len(items), "data": items}
                      ).replace('"__DEEP__"', deep).encode()
    with pytest.raises(RecursionError):
        json.loads(body)
    portal = _HostilePortal([])
    portal.body = body
    try:
        writer = PageWriter("p", "run-1", root=str(env / "raw"))
        client = PortalClient(portal.url, "u", "p", portal_code="p", sleep=lambda _s: None,
                              on_page=writer.on_page)
        got = client.fetch_dossiers("20250301000000")
        assert sorted(r["MaHoSo"] for r in got) == ["DEEP", "DEEP2", "GOOD", "GOOD2"]
    finally:
        portal.stop()
    for endpoint, data in (("/api/donvi", UNITS), ("/api/tthc", [])):
        writer.on_page(endpoint, {}, 1, 200, json.dumps(
            {"error_code": "0", "tongSo": len(data), "data": data}).encode())
    location = writer.finish(extracted_at=datetime.now().isoformat(timespec="seconds"),
                             as_of="2025-03-02", seq=0, windows=1, full_refresh=False,
                             window_from="2025-03-01T00:00:00", window_to=None,
                             client_stats={"retries": 0}, seconds=0.1)
    result = pipeline.load({"portal_code": "p", "manifest": location}, run_id="run-1")
    assert result["status"] == "committed"
    facts, quarantine = _facts(warehouse), _quarantine(warehouse)
    assert set(facts) == {"GOOD", "GOOD2"} and set(quarantine) == {"DEEP", "DEEP2"}
    assert quarantine["DEEP"]["rule"] == "nesting_within_limit"
    assert "DanhSachLePhi" in quarantine["DEEP"]["reason"]
    assert "nested deeper than" in quarantine["DEEP"]["reason"]
    assert quarantine["DEEP2"]["rule"] == "nesting_within_limit"
    assert "Extra" in quarantine["DEEP2"]["reason"]
    assert len(quarantine["DEEP"]["payload"]) < 5000
