"""Contract tests of the portal simulator over real HTTP (docs/contracts/portal-api.md)."""

from __future__ import annotations

import re
import time
from collections import Counter
from datetime import date, datetime, timedelta

import holidays
import pytest
import requests

from egov.simulator import CORRUPTION_RULES, SimulatorFleet, build_world, portal_codes

CLOCK = datetime(2025, 12, 31, 23, 0)
CREDS = {code: (code, f"pw-{code}-secret") for code in portal_codes()}
TS_RE = re.compile(r"^\d{14}$")


@pytest.fixture(scope="module")
def world():
    w = build_world(seed=7, scale=1500, clock=CLOCK)
    return w


@pytest.fixture(scope="module")
def fleet(world):
    with SimulatorFleet(world, credentials=CREDS) as f:
        yield f


def login(fleet, code="binh-dinh") -> requests.Session:
    s = requests.Session()
    r = s.post(fleet.base_url(code) + "/api/auth/token",
               json={"username": CREDS[code][0], "password": CREDS[code][1]}, timeout=5)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["error_code"] == "0" and body["session"] and body["expires_in"] == int(fleet.session_ttl)
    s.headers["Authorization"] = f"Bearer {body['session']}"
    return s


def get(s, fleet, path, code="binh-dinh", **params):
    return s.get(fleet.base_url(code) + path, params=params, timeout=10)


def fetch_all(s, fleet, path, code="binh-dinh", size=1000, **params) -> tuple[list, int]:
    out, trang, tong = [], 1, None
    while True:
        r = get(s, fleet, path, code, trang=trang, soLuong=size, **params)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["error_code"] == "0" and body["trang"] == trang and body["soLuong"] == size
        tong = body["tongSo"] if tong is None else tong
        out.extend(body["data"])
        if not body["data"] or trang * size >= body["tongSo"]:
            return out, tong
        trang += 1


# ---------------------------------------------------------------- auth
def test_auth_good_and_bad(fleet):
    url = fleet.base_url("tay-ninh") + "/api/auth/token"
    assert requests.post(url, json={"username": "tay-ninh", "password": "nope"},
                         timeout=5).status_code == 401
    r = requests.post(url, json={"username": "x", "password": CREDS["tay-ninh"][1]}, timeout=5)
    assert r.status_code == 401 and r.json()["error_code"] != "0"
    # another portal's credentials do not open this one
    r = requests.post(url, json={"username": "binh-dinh", "password": CREDS["binh-dinh"][1]},
                      timeout=5)
    assert r.status_code == 401
    assert requests.post(url, data=b"not json", timeout=5).status_code == 400
    s = login(fleet, "tay-ninh")
    assert get(s, fleet, "/api/donvi", "tay-ninh").status_code == 200
    # the session is per portal
    assert get(s, fleet, "/api/donvi", "binh-dinh").status_code == 401


def test_missing_unknown_and_expired_sessions(fleet):
    base = fleet.base_url("binh-dinh")
    assert requests.get(base + "/api/hoso", timeout=5).status_code == 401
    r = requests.get(base + "/api/tthc", headers={"Authorization": "Bearer bogus"}, timeout=5)
    assert r.status_code == 401 and r.json()["error_code"] == "401"
    s = login(fleet)
    assert get(s, fleet, "/api/donvi").status_code == 200
    fleet.expire_sessions()
    assert get(s, fleet, "/api/donvi").status_code == 401
    old = fleet.session_ttl
    fleet.session_ttl = 0.2
    try:
        s = login(fleet)
        assert get(s, fleet, "/api/donvi").status_code == 200
        time.sleep(0.3)
        assert get(s, fleet, "/api/donvi").status_code == 401
    finally:
        fleet.session_ttl = old


# ---------------------------------------------------------------- paging
def test_tthc_paging_and_order(fleet, world):
    s = login(fleet, "thanh-hoa")
    items, tong = fetch_all(s, fleet, "/api/tthc", "thanh-hoa", size=37)
    assert items == world.procedures("thanh-hoa")
    assert tong == len(items) >= 200
    codes = [p["MaTTHC"] for p in items]
    assert codes == sorted(codes) and len(set(codes)) == len(codes)
    r = get(s, fleet, "/api/tthc", "thanh-hoa").json()
    assert r["soLuong"] == 100 and r["trang"] == 1 and len(r["data"]) == 100
    r = get(s, fleet, "/api/tthc", "thanh-hoa", trang=999).json()
    assert r["data"] == [] and r["tongSo"] == tong
    r = get(s, fleet, "/api/tthc", "thanh-hoa", soLuong=1000).json()
    assert len(r["data"]) == tong


@pytest.mark.parametrize("params", [
    {"soLuong": 0}, {"soLuong": 1001}, {"soLuong": -5}, {"soLuong": "abc"}, {"trang": 0},
    {"trang": "x"}, {"capNhatTu": "2024-01-01"}, {"capNhatDen": "20240230101010"},
])
def test_bad_query_parameters_get_400(fleet, params):
    s = login(fleet)
    path = "/api/hoso" if any(k.startswith("capNhat") for k in params) else "/api/tthc"
    r = get(s, fleet, path, **params)
    assert r.status_code == 400
    body = r.json()
    assert body["error_code"] == "400" and body["message"]


def test_catalogue_content(world):
    for code in portal_codes():
        procs = world.procedures(code)
        units = {u["MaDonVi"] for u in world.units(code)}
        suffix = world.units(code)[0]["MaDonVi"][-3:]
        assert 200 <= len(procs) <= 600
        assert {p["MucDo"] for p in procs} == {"2", "3", "4"}
        assert "Chứng thực" in {p["TenLinhVuc"] for p in procs}
        for p in procs:
            assert re.fullmatch(rf"1\.\d{{6}}\.000\.00\.00\.{suffix}", p["MaTTHC"])
            assert p["MaDonViThucHien"] and set(p["MaDonViThucHien"]) <= units
            for flag in ("DuDieuKienToanTrinh", "CoNghiaVuTaiChinh", "CoThanhToanTrucTuyen",
                         "DaTichHopDVCQG"):
                assert p[flag] in (0, 1)
        assert any(p["CoThanhToanTrucTuyen"] for p in procs)


# ---------------------------------------------------------------- records
def test_full_extraction_equals_world_and_order(fleet, world):
    s = login(fleet, "vinh-phuc")
    items, tong = fetch_all(s, fleet, "/api/hoso", "vinh-phuc")
    assert tong == len(items) > 5000
    assert items == world.dossiers_as_of("vinh-phuc")
    keys = [(d["NgayCapNhat"], d["MaHoSo"]) for d in items]
    assert keys == sorted(keys)
    assert len({d["MaHoSo"] for d in items}) == len(items)
    assert max(d["NgayCapNhat"] for d in items) <= CLOCK.strftime("%Y%m%d%H%M%S")


def test_window_semantics(fleet, world):
    s = login(fleet, "tay-ninh")
    every, _ = fetch_all(s, fleet, "/api/hoso", "tay-ninh")
    cut = every[len(every) // 2]["NgayCapNhat"]
    before, _ = fetch_all(s, fleet, "/api/hoso", "tay-ninh", capNhatDen=cut)
    after, _ = fetch_all(s, fleet, "/api/hoso", "tay-ninh", capNhatTu=cut)
    assert before + after == every
    assert all(d["NgayCapNhat"] < cut for d in before)
    assert all(d["NgayCapNhat"] >= cut for d in after) and after[0]["NgayCapNhat"] == cut
    lo, hi = "20240301000000", "20240401000000"
    mid, tong = fetch_all(s, fleet, "/api/hoso", "tay-ninh", capNhatTu=lo, capNhatDen=hi)
    assert mid == [d for d in every if lo <= d["NgayCapNhat"] < hi] and tong == len(mid) > 0
    for a, b in ((cut, cut), (hi, lo)):
        r = get(s, fleet, "/api/hoso", "tay-ninh", capNhatTu=a, capNhatDen=b).json()
        assert r["tongSo"] == 0 and r["data"] == []
    # windows reaching past the clock see nothing after it
    r = get(s, fleet, "/api/hoso", "tay-ninh", capNhatTu="20260101000000").json()
    assert r["tongSo"] == 0


def test_unit_filter_is_exact(fleet, world):
    s = login(fleet, "tay-ninh")
    city = "000.00.21.H52"
    items, tong = fetch_all(s, fleet, "/api/hoso", "tay-ninh", maDonVi=city)
    assert tong == len(items) > 0 and {d["MaDonVi"] for d in items} == {city}
    assert items == world.dossiers_as_of("tay-ninh", unit_code=city)
    r = get(s, fleet, "/api/hoso", "tay-ninh", maDonVi="000.00.99.H52").json()
    assert r["tongSo"] == 0


def test_units_tree(fleet):
    named = {("tay-ninh", "000.00.21.H52"): ("UBND thành phố Tây Ninh", "HUYEN"),
             ("vinh-phuc", "000.00.05.H62"): ("Sở Kế hoạch và Đầu tư tỉnh Vĩnh Phúc", "SO"),
             ("binh-dinh", "000.00.00.H08"): ("UBND tỉnh Bình Định", "TINH")}
    roots = {"binh-dinh": "H08", "tay-ninh": "H52", "thanh-hoa": "H56", "vinh-phuc": "H62"}
    for code, suffix in roots.items():
        s = login(fleet, code)
        body = get(s, fleet, "/api/donvi", code).json()
        assert body["error_code"] == "0"
        units = {u["MaDonVi"]: u for u in body["data"]}
        assert len(units) == len(body["data"])
        root = f"000.00.00.{suffix}"
        assert units[root]["MaDonViCha"] is None and units[root]["CapDonVi"] == "TINH"
        assert [u for u in units.values() if u["MaDonViCha"] is None] == [units[root]]
        levels = Counter(u["CapDonVi"] for u in units.values())
        assert 10 <= levels["SO"] <= 15 + 3 and 6 <= levels["HUYEN"] <= 10
        for u in units.values():
            if u["MaDonViCha"] is None:
                continue
            parent = units[u["MaDonViCha"]]
            nn = int(u["MaDonVi"].split(".")[2])
            if u["CapDonVi"] == "SO":
                assert parent["MaDonVi"] == root and 1 <= nn <= 20
                assert re.fullmatch(rf"000\.00\.\d\d\.{suffix}", u["MaDonVi"])
            elif u["CapDonVi"] == "HUYEN":
                assert parent["MaDonVi"] == root and nn >= 21
                kids = [c for c in units.values() if c["MaDonViCha"] == u["MaDonVi"]]
                assert 3 <= len(kids) <= 8
            else:
                assert u["CapDonVi"] == "XA" and parent["CapDonVi"] == "HUYEN"
                assert u["MaDonVi"].split(".")[2] == parent["MaDonVi"].split(".")[2]
                assert u["MaDonVi"].split(".")[1] != "00"
        for (p, ucode), (name, level) in named.items():
            if p == code:
                assert units[ucode]["TenDonVi"] == name and units[ucode]["CapDonVi"] == level


def test_determinism():
    a = build_world(seed=11, scale=300, clock=datetime(2024, 6, 30, 12, 0))
    b = build_world(seed=11, scale=300, clock=datetime(2024, 6, 30, 12, 0))
    c = build_world(seed=12, scale=300, clock=datetime(2024, 6, 30, 12, 0))
    da = a.dossiers_as_of("thanh-hoa")
    assert da == b.dossiers_as_of("thanh-hoa") and len(da) > 500
    assert a.procedures("thanh-hoa") == b.procedures("thanh-hoa")
    assert da != c.dossiers_as_of("thanh-hoa")
    # the past does not depend on where the clock was when the world was built
    late = build_world(seed=11, scale=300, clock=datetime(2025, 3, 1))
    assert late.dossiers_as_of("thanh-hoa", clock=datetime(2024, 6, 30, 12, 0)) == da


def test_clock_advance_changes_and_adds_records():
    w = build_world(seed=3, scale=3000, clock=datetime(2025, 6, 10, 20, 0))
    before = w.dossiers_as_of("binh-dinh")
    with SimulatorFleet(w, credentials=CREDS, portals=["binh-dinh"]) as f:
        s = login(f)
        r = requests.post(f.base_url("binh-dinh") + "/_sim/clock",
                          json={"now": "20250612200000"}, timeout=5)
        assert r.status_code == 200 and r.json()["now"] == "20250612200000"
        assert requests.get(f.base_url("binh-dinh") + "/_sim/clock",
                            timeout=5).json()["now"] == "20250612200000"
        assert w.clock == datetime(2025, 6, 12, 20, 0)
        delta, _ = fetch_all(s, f, "/api/hoso", capNhatTu="20250610200001")
    after = w.dossiers_as_of("binh-dinh")
    old = {d["MaHoSo"]: d for d in before}
    new = {d["MaHoSo"]: d for d in after}
    added = new.keys() - old.keys()
    changed = {k for k in old if new[k]["NgayCapNhat"] != old[k]["NgayCapNhat"]}
    assert len(added) >= 15 and len(changed) >= 15, (len(added), len(changed))
    assert old.keys() <= new.keys()
    assert {d["MaHoSo"] for d in delta} == added | changed
    assert all(new[k]["NgayCapNhat"] > old[k]["NgayCapNhat"] for k in changed)
    # going back shows the old state again
    w.set_clock(datetime(2025, 6, 10, 20, 0))
    assert w.dossiers_as_of("binh-dinh") == before


def test_due_dates_count_vietnamese_working_days(world):
    vn = holidays.Vietnam(years=range(2020, 2028))
    exact = total = 0
    crossing_tet = 0
    for d in world.dossiers_as_of("binh-dinh"):
        if not d["NgayTiepNhan"]:
            continue
        days = world.procedure("binh-dinh", d["MaTTHC"]).processing_days
        if days == 0:
            assert not d["NgayHenTra"]
            continue
        received = datetime.strptime(d["NgayTiepNhan"], "%Y%m%d%H%M%S").date()
        due = datetime.strptime(d["NgayHenTra"], "%Y%m%d%H%M%S").date()
        assert vn.is_working_day(due), d
        n = sum(1 for i in range(1, (due - received).days + 1)
                if vn.is_working_day(received + timedelta(days=i)))
        assert n >= days
        total += 1
        exact += n == days
        if received < date(2025, 1, 27) <= due:
            crossing_tet += 1
    assert total > 1000 and exact / total > 0.75
    assert crossing_tet > 0


def test_record_shapes(world):
    recs = [d for code in ("binh-dinh", "thanh-hoa") for d in world.dossiers_as_of(code)]
    statuses = Counter(int(d["TrangThaiHoSo"]) for d in recs)
    assert set(statuses) == set(range(1, 11)), statuses
    for d in recs:
        st = int(d["TrangThaiHoSo"])
        assert TS_RE.match(d["NgayCapNhat"])
        assert bool(d["NgayTiepNhan"]) == (st not in (1, 3))
        assert bool(d["NgayKetThucXuLy"]) == (st >= 7)
        assert bool(d["NgayTra"]) == (st == 10)
        if d["KenhThucHien"] in (2, "2"):
            assert d["MucDo"] in ("3", "4")
        assert re.fullmatch(r"\d{12}|\d{10}", d["SoGiayToChuHoSo"])
    chans = Counter(d["KenhThucHien"] for d in recs)
    assert chans[None] > 0 and chans["2"] > 0 and chans[3] > 0
    resolved = [d for d in recs if int(d["TrangThaiHoSo"]) in (9, 10)]
    on_time = sum(1 for d in resolved if not d["NgayHenTra"]
                  or d["NgayKetThucXuLy"][:8] <= d["NgayHenTra"][:8])
    assert 0.96 <= on_time / len(resolved) <= 0.995

    def online_share(year):
        got = [d for d in recs if d["NgayTiepNhan"] and d["NgayTiepNhan"][:4] == year]
        return sum(1 for d in got if d["KenhThucHien"] in (2, "2")) / len(got)

    assert 0.05 < online_share("2021") < 0.2 and 0.4 < online_share("2025") < 0.6
    variants = {d["TenLinhVuc"] for d in recs if d["MaLinhVuc"] == "TP-CT"}
    assert "Chứng thực" in variants and "CHỨNG THỰC" in variants and "Chung thuc" in variants
    assert any(d["HinhThuc"] == 1 for d in resolved)
    assert {d["DuocThanhToanTrucTuyen"] for d in recs} >= {1, 2, None}
    assert any(x["Gia"] > 0 for d in recs for x in d["DanhSachLePhi"])
    links = [x["DuongDanTepTinKetQua"] for d in resolved for x in d["DanhSachGiayToKetQua"]]
    assert any(links) and "" in links
    assert {d["MucDoHaiLong"] for d in recs} == {1, 2, 3, None}
    hours = Counter(d["NgayTiepNhan"][8:10] for d in recs if d["NgayTiepNhan"])
    assert hours["23"] > 0 and hours["00"] > 0
    assert any(d["DanhSachHoSoBoSung"] for d in recs)


def _breaks(d: dict, units: set[str]) -> set[str]:
    """Which portal-api.md rules a version breaks (an independent little validator)."""
    out = set()
    if not isinstance(d.get("MaHoSo"), str) or not d["MaHoSo"].strip():
        out.add("blank_ma_ho_so")
    if d.get("MaDonVi") not in units:
        out.add("unknown_ma_don_vi")
    st = d.get("TrangThaiHoSo")
    ok_status = (isinstance(st, int) and 1 <= st <= 10) or (
        isinstance(st, str) and st.isdigit() and 1 <= int(st) <= 10)
    if not ok_status:
        out.add("bad_trang_thai")
    if d.get("KenhThucHien") not in (None, 1, 2, 3, "1", "2", "3"):
        out.add("bad_kenh_thuc_hien")
    dates = {}
    for f in ("NgayTiepNhan", "NgayHenTra", "NgayKetThucXuLy", "NgayTra", "NgayCapNhat"):
        v = d.get(f)
        if v in (None, ""):
            continue
        if not TS_RE.match(v):
            out.add("date_wrong_format")
            continue
        try:
            dates[f] = datetime.strptime(v, "%Y%m%d%H%M%S")
        except ValueError:
            out.add("date_impossible")
    if ok_status:
        st = int(st)
        need = {"NgayTiepNhan"} if st not in (1, 3) else set()
        if st >= 7:
            need.add("NgayKetThucXuLy")
        if st == 10:
            need.add("NgayTra")
        if any(not d.get(f) for f in need):
            out.add("missing_required_date")
    if "NgayHenTra" in dates and "NgayTiepNhan" in dates and \
            dates["NgayHenTra"].date() < dates["NgayTiepNhan"].date():
        out.add("due_before_received")
    if any(not isinstance(x["Gia"], int) or x["Gia"] < 0 for x in d["DanhSachLePhi"]):
        out.add("negative_fee")
    return out


def test_malformed_versions_are_marked_and_served():
    clock = datetime(2023, 12, 31, 23, 0)
    bad = build_world(seed=5, scale=400, clock=clock, history_start=date(2022, 1, 1),
                      malformed_rate=0.05)
    clean = build_world(seed=5, scale=400, clock=clock, history_start=date(2022, 1, 1))
    rules = Counter()
    n_versions = 0
    for code in ("binh-dinh", "vinh-phuc"):
        units = bad.unit_codes(code)
        clean_versions = {(v.record_code, v.version): v.data for v in clean.versions(code)}
        for v in bad.versions(code):
            n_versions += 1
            broken = _breaks(v.data, units)
            if v.corrupt_rule is None:
                assert broken == set(), (v, broken)
                assert v.data == clean_versions[(v.record_code, v.version)]
            else:
                rules[v.corrupt_rule] += 1
                assert v.corrupt_rule in broken, (v.corrupt_rule, broken, v.data)
        assert len(bad.corrupt_versions(code)) == sum(
            1 for v in bad.versions(code) if v.corrupt_rule)
    assert set(rules) == set(CORRUPTION_RULES)
    assert 0.03 < sum(rules.values()) / n_versions < 0.07
    # served over HTTP as they are
    with SimulatorFleet(bad, credentials=CREDS, portals=["binh-dinh"]) as f:
        s = login(f)
        items, _ = fetch_all(s, f, "/api/hoso")
    assert items == bad.dossiers_as_of("binh-dinh")
    current_bad = [v for v in bad.corrupt_versions("binh-dinh") if v.current]
    assert current_bad and all(v.data in items for v in current_bad)


def test_pages_are_the_bytes_json_dumps_writes_clean_or_corrupted():
    """Pages of clean versions are encoded by msgspec, pages holding a corrupted version by
    json.dumps: either way the body is what json.dumps(ensure_ascii=False) writes."""
    import json

    bad = build_world(seed=5, scale=200, clock=datetime(2023, 12, 31, 23, 0),
                      history_start=date(2022, 1, 1), malformed_rate=0.05)
    plain = corrupted = 0
    corrupt_codes = {v.record_code for v in bad.corrupt_versions("binh-dinh")}
    with SimulatorFleet(bad, credentials=CREDS, portals=["binh-dinh"]) as f:
        s = login(f)
        trang = 1
        while True:
            r = get(s, f, "/api/hoso", trang=trang, soLuong=5)
            assert r.status_code == 200
            body = json.loads(r.content)
            assert r.content == json.dumps(body, ensure_ascii=False,
                                           separators=(",", ":")).encode("utf-8")
            if any(d.get("MaHoSo") in corrupt_codes or not d.get("MaHoSo")
                   for d in body["data"]):
                corrupted += 1
            else:
                plain += 1
            if trang * 5 >= body["tongSo"]:
                break
            trang += 1
    assert plain > 10 and corrupted > 10


def test_stopped_portal_refuses_then_comes_back():
    w = build_world(seed=1, scale=50, clock=datetime(2022, 1, 10))
    with SimulatorFleet(w, credentials=CREDS, portals=["binh-dinh", "tay-ninh"]) as f:
        url = f.base_url("tay-ninh")
        s = login(f, "tay-ninh")
        assert get(s, f, "/api/donvi", "tay-ninh").status_code == 200
        f.stop_portal("tay-ninh")
        assert not f.is_running("tay-ninh")
        with pytest.raises(requests.ConnectionError):
            requests.get(url + "/api/donvi", timeout=2)
        assert login(f, "binh-dinh")  # the others keep running
        f.start_portal("tay-ninh")
        assert f.base_url("tay-ninh") == url
        assert get(login(f, "tay-ninh"), f, "/api/donvi", "tay-ninh").status_code == 200
