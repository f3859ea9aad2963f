"""The national portal's 766 index, simulated over the same world as the one-stop portals
(dvcqg-766.md "Transport" and "Shapes"), for the demo and tests.

One HTTP server answers `POST /api/v1/reporting/evaluation/<group>` for every simulated
province: `rootDepartmentId` is `root_department_id(portal)`, each unit of the portal is a
department (`department_id(unit)`, code `Hxx` for the province, `Hxx.NN` for the others,
name `<unit name> - Tỉnh <province>`). A department's figures count the records of its unit
and the units below it (as the warehouse's snapshots do), for the period asked, at the
world's clock, **minus the records that never synced**: a stable share per unit
(`unsynced` × a factor 0, 0.5, 1, 1.5 or 2 picked by the unit's code), so the
reconciliation has something to find. Scores follow the contract's known formulas;
transparency and online services are fixed figures per unit (the one-stop records cannot
say). Answers are 201 with the envelope `{"code": "OK", "data": ...}`.
"""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from datetime import date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from egov.simulator.generator import to_local_seconds
from egov.simulator.world import World

PREFIX = "/api/v1/reporting/"
_NAMESPACE = uuid.UUID("6f1c1e2a-7660-4d5e-9a39-0c1d2e3f4a5b")
OVERVIEW_GROUPS = {"evaluation/transparency": "transparency",
                   "evaluation/handling-satisfaction": "satisfaction",
                   "evaluation/dossier-digitized": "digitized"}
TREE_GROUPS = {"evaluation/dvc-progress-tree": "progress",
               "evaluation/provide-online-tree": "online_service",
               "evaluation/formality-online-payment-tree": "online_payment"}


def root_department_id(portal: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"province:{portal}"))


def department_id(unit_code: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"unit:{unit_code}"))


def _fraction(text: str) -> float:
    """A stable number in [0, 1) from a text."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") / 2**64


def unsynced_share(unit_code: str, base: float) -> float:
    return min(1.0, base * (0.0, 0.5, 1.0, 1.5, 2.0)[int(_fraction(unit_code) * 5)])


def _ts(value: Any) -> int | None:
    """`yyyyMMddHHmmss` → local seconds (None if not such a string)."""
    if not isinstance(value, str) or len(value) != 14 or not value.isdigit():
        return None
    try:
        return to_local_seconds(datetime.strptime(value, "%Y%m%d%H%M%S"))
    except ValueError:
        return None


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


class IndexModel:
    """The figures of the simulated index, from a world (cached per world clock)."""

    def __init__(self, world: World, *, unsynced: float = 0.03):
        self.world = world
        self.unsynced = unsynced
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, int], list[tuple[Any, ...]]] = {}
        self._roots = {root_department_id(p): p for p in world.portal_codes()}

    def portal_of(self, root: str) -> str | None:
        return self._roots.get(root)

    def _records(self, portal: str) -> list[tuple[Any, ...]]:
        """(unit, received, due, ended, online, fee, paid, e_result, rating, synced,
        status) of every record as served now."""
        key = (portal, self.world.clock_ts)
        with self._lock:
            if key in self._cache:
                return self._cache[key]
            out = []
            for v in self.world.versions(portal, current_only=True):
                d = v.data
                unit = d.get("MaDonVi")
                code = str(d.get("MaHoSo"))
                fees = d.get("DanhSachLePhi")
                fee = isinstance(fees, list) and any(
                    isinstance(f, dict) and isinstance(f.get("Gia"), int | float)
                    and f["Gia"] > 0 for f in fees)
                results = d.get("DanhSachGiayToKetQua")
                e_result = isinstance(results, list) and any(
                    isinstance(r, dict) and r.get("DuongDanTepTinKetQua") for r in results)
                synced = _fraction(f"sync:{code}") >= unsynced_share(str(unit), self.unsynced)
                out.append((unit, _ts(d.get("NgayTiepNhan")), _ts(d.get("NgayHenTra")),
                            _ts(d.get("NgayKetThucXuLy")), _int(d.get("KenhThucHien")) == 2,
                            fee, _int(d.get("DuocThanhToanTrucTuyen")) in (1, 2), e_result,
                            _int(d.get("MucDoHaiLong")), synced,
                            _int(d.get("TrangThaiHoSo"))))
            self._cache = {key: out}
            return out

    def _departments(self, portal: str) -> list[dict[str, Any]]:
        model = self.world.model(portal)
        suffix, province = model.province.suffix, model.province.province
        out = []
        for i, u in enumerate(self.world.units(portal)):
            code = u["MaDonVi"]
            root = u["MaDonViCha"] is None
            middle = code.split(".")
            dep_code = suffix if root else (f"{suffix}.{middle[2]}" if middle[1] == "00"
                                            else f"{suffix}.{middle[1]}{middle[2]}")
            out.append({"unit": code, "root": root, "position": i,
                        "departmentId": root_department_id(portal) if root
                        else department_id(code),
                        "departmentCode": dep_code,
                        "departmentName": u["TenDonVi"] if root
                        else f"{u['TenDonVi']} - Tỉnh {province}",
                        "departmentType": "PROVINCE" if root else (
                            "PROVINCIAL_DEPARTMENT" if u["CapDonVi"] == "SO"
                            else "COMMUNE_PEOPLE_COMMITTEE"),
                        "departmentLevel": "PROVINCE" if u["CapDonVi"] in ("TINH", "SO")
                        else "COMMUNE"})
        return out

    def _below(self, portal: str) -> dict[str, set[str]]:
        """unit → itself and every unit below it."""
        parents = {u["MaDonVi"]: u["MaDonViCha"] for u in self.world.units(portal)}
        out: dict[str, set[str]] = {u: set() for u in parents}
        for unit in parents:
            at: str | None = unit
            while at is not None and at in out:
                out[at].add(unit)
                at = parents.get(at)
        return out

    def counts(self, portal: str, start: date, end: date) -> dict[str, dict[str, int]]:
        """unit → the index's counts for the period [start, end] (synced records only)."""
        lo = to_local_seconds(datetime.combine(start, datetime.min.time()))
        hi = to_local_seconds(datetime.combine(end + timedelta(days=1), datetime.min.time()))
        now = self.world.clock_ts
        cut = min(hi, now)
        own: dict[str, dict[str, int]] = {}
        for unit, rec, due, ended, online, fee, paid, e_res, rating, synced, status in \
                self._records(portal):
            if not synced or not isinstance(unit, str) or status in (None, 1, 3):
                continue
            c = own.setdefault(unit, dict.fromkeys(
                ("received", "on_time", "overdue", "completed", "online", "fee", "paid",
                 "resolved", "e_result", "rated", "satisfied"), 0))
            if rec is not None and lo <= rec < hi and rec <= now:
                c["received"] += 1
                c["online"] += online
                c["fee"] += fee
                c["paid"] += fee and paid
                done = ended is not None and ended < cut
                if done:
                    c["completed"] += 1
                if (done and due is not None and ended <= due) or (
                        not done and (due is None or due >= cut)):
                    c["on_time"] += 1
                else:
                    c["overdue"] += 1
            if ended is not None and lo <= ended < cut and status in (9, 10):
                c["resolved"] += 1
                c["e_result"] += e_res
                if rating in (1, 2, 3):
                    c["rated"] += 1
                    c["satisfied"] += rating in (1, 2)
        out: dict[str, dict[str, int]] = {}
        for unit, below in self._below(portal).items():
            total = dict.fromkeys(("received", "on_time", "overdue", "completed", "online",
                                   "fee", "paid", "resolved", "e_result", "rated",
                                   "satisfied"), 0)
            for u in below:
                for k, v in own.get(u, {}).items():
                    total[k] += v
            out[unit] = total
        return out

    def answer(self, group_path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        portal = self.portal_of(str(body.get("rootDepartmentId")))
        if portal is None:
            return 201, {"code": "NOT_FOUND", "message": "rootDepartmentId không tồn tại",
                         "data": None}
        try:
            start, end = _period(body)
        except (KeyError, TypeError, ValueError):
            return 201, {"code": "INVALID_PARAM", "message": "Tham số không hợp lệ",
                         "data": None}
        counts = self.counts(portal, start, end)
        rows = [_row(group_path, d, counts[d["unit"]]) for d in self._departments(portal)]
        own = next(r for r, d in zip(rows, self._departments(portal), strict=True)
                   if d["root"])
        others = [r for r, d in zip(rows, self._departments(portal), strict=True)
                  if not d["root"]]
        if group_path in OVERVIEW_GROUPS:
            data = {"overview": own, "evaluation": others, "source": "simulator"}
        else:
            parent = {k: v for k, v in own.items() if k not in ("score", "maxScore")}
            parent.update(totalScore=own["score"], totalMaxScore=own["maxScore"])
            data = {"parent": parent, "children": others}
        return 201, {"code": "OK", "data": data, "message": "Thành công"}


def _period(body: dict[str, Any]) -> tuple[date, date]:
    if "fromDate" in body:
        return date.fromisoformat(body["fromDate"]), date.fromisoformat(body["toDate"])
    year = int(body["year"])
    kind = body.get("timeType")
    if kind == "month":
        m = int(body["month"])
        first = date(year, m, 1)
        return first, (date(year + (m == 12), m % 12 + 1, 1) - timedelta(days=1))
    if kind == "quarter":
        q = int(body["quarter"])
        first = date(year, 3 * q - 2, 1)
        last_month = 3 * q
        return first, (date(year + (last_month == 12), last_month % 12 + 1, 1)
                       - timedelta(days=1))
    if kind == "year":
        return date(year, 1, 1), date(year, 12, 31)
    raise ValueError(kind)


def _metric(code: str, name: str, num: float | None, den: float | None, top: float,
            score: float | None, ratio: float | None = None) -> dict[str, Any]:
    if ratio is None and num is not None and den:
        ratio = round(100 * num / den, 2)
    return {"code": code, "name": name, "numerator": num, "denominator": den,
            "ratio": ratio if ratio is not None else (0 if den == 0 else None),
            "score": None if score is None else round(score, 2), "maxScore": top}


def _row(group_path: str, dep: dict[str, Any], c: dict[str, int]) -> dict[str, Any]:
    base = {k: dep[k] for k in ("departmentId", "departmentName", "departmentCode",
                                "departmentType", "departmentLevel")}
    unit = dep["unit"]

    def pct(num: int, den: int) -> float:
        return 100 * num / den if den else 0.0

    if group_path == "evaluation/transparency":
        n = 20 + int(_fraction(f"tthc:{unit}") * 60)
        on_time = int(n * (0.7 + 0.3 * _fraction(f"pub:{unit}")))
        metrics = [
            _metric("PUBLISH_ON_TIME", "Tỷ lệ TTHC công bố đúng hạn", on_time, n, 6,
                    6 * pct(on_time, n) / 100),
            _metric("PUBLIC_UPDATE_ON_TIME", "Tỷ lệ TTHC cập nhật, công khai đúng hạn", n, n,
                    4, 4.0),
            _metric("PUBLIC_CONTENT_FULL", "Tỷ lệ TTHC công khai đầy đủ nội dung", n, n, 2,
                    2.0),
            _metric("DOSSIER_SYNC", "Tỷ lệ hồ sơ đồng bộ lên Cổng DVCQG", c["received"],
                    c["received"], 6, 6.0 if c["received"] else 0.0),
        ]
    elif group_path == "evaluation/handling-satisfaction":
        sat = min(6.0, 6 * pct(c["satisfied"], c["rated"]) / 90) if c["rated"] else 0.0
        metrics = [
            _metric("DOSSIER_RECEIVING_SATISFACTION", "Mức độ hài lòng tiếp nhận, giải quyết",
                    c["satisfied"], c["rated"], 6, sat),
            _metric("PETITION_PROCESSING_ON_TIME", "Xử lý phản ánh kiến nghị đúng hạn", 0, 0,
                    6, 6.0),
            _metric("PETITION_HANDLING_SATISFACTION", "Hài lòng xử lý phản ánh kiến nghị", 0,
                    0, 6, 6.0),
        ]
    elif group_path == "evaluation/dossier-digitized":
        r = pct(c["e_result"], c["resolved"])
        metrics = [
            _metric("ORIGINAL_RESULT_AVAILABLE", "Tỷ lệ hồ sơ có kết quả điện tử",
                    c["e_result"], c["resolved"], 6, min(6, 6 * r / 100)),
            _metric("SO_HOA_GIAY_TO_GIAI_QUYET", "Tỷ lệ hồ sơ số hóa", 0, c["received"], 4,
                    0.0),
            _metric("REUSED_DIGITIZED_DATA", "Tỷ lệ hồ sơ tái sử dụng dữ liệu số hóa", 0,
                    c["received"], 2, 0.0),
            _metric("ELECTRONIC_CERTIFIED_COPY", "Chứng thực bản sao điện tử", None, None, 2,
                    2.0, ratio=100),
        ]
    else:
        metrics = []
    if metrics:
        score = round(sum(m["score"] or 0 for m in metrics), 2)
        top = sum(m["maxScore"] for m in metrics)
        out = {**base, "totalScore": score, "totalMaxScore": top,
               "ratio": round(100 * score / top, 2), "metrics": metrics}
        if group_path == "evaluation/handling-satisfaction":
            out.update(totalPetitions=0, classifiedPetitions=0, totalDossiers=c["rated"])
        return out
    if group_path == "evaluation/dvc-progress-tree":
        score = 20 * c["on_time"] / c["received"] if c["received"] else 0.0
        return {**base, "score": round(score, 2), "maxScore": 20,
                "ratio": round(pct(c["on_time"], c["received"]), 2),
                "totalReceived": c["received"], "totalOnTime": c["on_time"],
                "totalOverdue": c["overdue"], "totalCompleted": c["completed"]}
    if group_path == "evaluation/provide-online-tree":
        score = 6 + 6 * _fraction(f"online:{unit}")
        return {**base, "score": round(score, 2), "maxScore": 12,
                "ratio": round(100 * score / 12, 2), "channelOnlineSum": c["online"],
                "channelTotalSum": c["received"]}
    a = c["paid"] / c["fee"] if c["fee"] else 0.0
    return {**base, "score": round(6 * a + 2 + 2.5, 2), "maxScore": 10,
            "ratio": round(pct(c["paid"], c["fee"]), 2),
            "totalDossierOnlinePaymentSuccess": c["paid"],
            "totalDossierFinancialObligation": c["fee"],
            "totalDossierOnlineFormalityPaymentSuccess": 1, "totalFeeDossierFormality": 1,
            "totalFeeFormality": 1, "totalFeeDossierFormalityDistinct": 1}


class IndexServer:
    """The simulated index on its own port (`base_url`)."""

    def __init__(self, world: World, *, host: str = "127.0.0.1", port: int = 0,
                 unsynced: float = 0.03):
        self.model = IndexModel(world, unsynced=unsynced)
        model = self.model

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - stdlib naming
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except ValueError:
                    body = None
                path = self.path.split("?", 1)[0]
                group = path[len(PREFIX):] if path.startswith(PREFIX) else None
                if group not in OVERVIEW_GROUPS and group not in TREE_GROUPS:
                    status, doc = 404, {"code": "NOT_FOUND", "message": "Not Found"}
                elif not isinstance(body, dict):
                    status, doc = 400, {"code": "INVALID_PARAM", "message": "Bad JSON"}
                else:
                    status, doc = model.answer(str(group), body)
                data = json.dumps(doc, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self.host = host
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name="dvcqg-sim", daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self._server.server_address[1]}"

    def start(self) -> IndexServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> IndexServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def provinces_yaml(world: World, conn_id: str) -> str:
    """The provinces file (EGOV_DVCQG_FILE) of the simulated index."""
    lines = ["provinces:"]
    for portal in world.portal_codes():
        model = world.model(portal)
        lines += [f"  - code: {portal}", f"    name: UBND tỉnh {model.province.province}",
                  f"    conn_id: {conn_id}",
                  f"    root_department_id: {root_department_id(portal)}"]
    return "\n".join(lines) + "\n"


def crosswalk_yaml(world: World, *, levels: tuple[str, ...] = ("TINH", "SO")) -> str:
    """A crosswalk (EGOV_DVCQG_CROSSWALK_FILE) confirming the provinces and departments
    (the communes and districts are left to the operator: proposals)."""
    lines = ["mappings:"]
    for portal in world.portal_codes():
        for u in world.units(portal):
            if u["CapDonVi"] not in levels:
                continue
            dep = root_department_id(portal) if u["MaDonViCha"] is None \
                else department_id(u["MaDonVi"])
            lines += [f"  - department_id: {dep}", f"    unit_code: {u['MaDonVi']}"]
    return "\n".join(lines) + "\n"
