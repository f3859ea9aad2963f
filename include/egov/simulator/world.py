"""The simulated world: four portals' units, catalogues and records, and the state at a clock.

Each record has a timeline of versions (received → processing → … → returned), each with its
``NgayCapNhat``. The portal state at clock ``now`` holds, for every record whose first version
is at or before ``now``, its newest version with ``NgayCapNhat`` ≤ ``now``. Records are
generated lazily per portal, day by day, up to the clock's day (moving the clock forward
generates the new days; moving it back only hides versions).

With ``malformed_rate`` > 0 that share of record versions is corrupted, each in one way from
portal-api.md's list (``CORRUPTION_RULES``); the choice comes from its own random stream, so
the clean versions are the same as with ``malformed_rate=0``.
"""

from __future__ import annotations

import random
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from egov.simulator.catalogue import Procedure
from egov.simulator.generator import (
    DAY,
    EPOCH_ORD,
    NEW,
    REJECTED,
    RETURNED,
    DossierRecord,
    ProvinceModel,
    format_ts,
    from_local_seconds,
    parse_ts,
    to_local_seconds,
)
from egov.simulator.units import PORTALS, portal_codes, units_of
from egov.simulator.workdays import WorkCalendar

__all__ = [
    "CORRUPTION_RULES",
    "DossierVersion",
    "World",
    "build_world",
    "format_ts",
    "parse_ts",
]

# rule id → which rule of portal-api.md ("Which record versions are malformed") it breaks
CORRUPTION_RULES: dict[str, str] = {
    "blank_ma_ho_so": "MaHoSo is missing or blank",
    "unknown_ma_don_vi": "MaDonVi is not a unit of /api/donvi",
    "bad_trang_thai": "TrangThaiHoSo is not an integer 1..10 (int or digit string)",
    "bad_kenh_thuc_hien": "KenhThucHien is not null, 1, 2 or 3",
    "date_wrong_format": "a date is not yyyyMMddHHmmss",
    "date_impossible": "a date does not exist (e.g. 30 February)",
    "missing_required_date": "a date the status requires is missing (e.g. status 10 without "
                             "NgayTra)",
    "due_before_received": "the calendar day of NgayHenTra is before that of NgayTiepNhan",
    "negative_fee": "a Gia is not an integer >= 0",
}
_RULES = tuple(CORRUPTION_RULES)
_NEEDS_RECEIVED = {"date_wrong_format", "date_impossible", "missing_required_date",
                   "due_before_received"}

_FAR = 1 << 62

# An index entry: (NgayCapNhat ts, MaHoSo as served, uid, next version's ts or _FAR,
#                  MaDonVi as served, corruption (rule, param) or None, record, version no)
Entry = tuple[int, str, int, int, str, "tuple[str, int] | None", DossierRecord, int]


@dataclass(frozen=True, slots=True)
class DossierVersion:
    """One version of a record, for ground truth."""

    portal: str
    record_code: str  # the record's real MaHoSo (even when this version's is blanked)
    version: int  # 0-based position in the record's timeline
    updated_at: str  # NgayCapNhat
    status: int  # the real status (before any corruption)
    data: dict  # exactly as the API serves it
    corrupt_rule: str | None  # a CORRUPTION_RULES key, or None for a clean version
    current: bool  # the newest version at the clock asked about


class _PortalIndex:
    """One portal's generated records and their versions sorted as the API orders them."""

    def __init__(self, model: ProvinceModel, entries: list[Entry], last_day: int,
                 n_records: int):
        self.model = model
        self.entries = entries
        self.keys = [e[0] for e in entries]
        self.last_day = last_day
        self.n_records = n_records
        self.cache: OrderedDict[tuple, list[Entry]] = OrderedDict()
        self.cache_lock = threading.Lock()


class World:
    """Deterministic data of the four portals plus a shared, settable clock."""

    def __init__(self, seed: int = 7, scale: int = 1000,
                 clock: datetime = datetime(2025, 12, 31, 23, 0),
                 history_start: date = date(2021, 1, 1), malformed_rate: float = 0.0):
        if scale < 0:
            raise ValueError("scale must be >= 0")
        if not 0.0 <= malformed_rate <= 1.0:
            raise ValueError("malformed_rate must be within 0..1")
        self.seed = seed
        self.scale = scale
        self.history_start = history_start
        self.malformed_rate = malformed_rate
        self._lock = threading.RLock()
        self._clock_ts = to_local_seconds(clock)
        last_year = max(from_local_seconds(self._clock_ts).year + 5, 2035)
        self.calendar = WorkCalendar(history_start - timedelta(days=40), date(last_year, 12, 31))
        self._models: dict[str, ProvinceModel] = {}
        self._indexes: dict[str, _PortalIndex] = {}
        self._procedures_api: dict[str, list[dict]] = {}

    # ---- clock ----
    @property
    def clock(self) -> datetime:
        """The current simulated local time (naive, Asia/Ho_Chi_Minh)."""
        return from_local_seconds(self._clock_ts)

    @property
    def clock_ts(self) -> int:
        return self._clock_ts

    def set_clock(self, dt: datetime) -> None:
        ts = to_local_seconds(dt)
        if ts // DAY + EPOCH_ORD > self.calendar.last.toordinal() - 400:
            raise ValueError("clock beyond the simulated calendar")
        with self._lock:
            self._clock_ts = ts

    def advance(self, delta: timedelta) -> datetime:
        self.set_clock(self.clock + delta)
        return self.clock

    # ---- units and catalogue ----
    @staticmethod
    def portal_codes() -> list[str]:
        return portal_codes()

    def units(self, portal: str) -> list[dict]:
        return units_of(portal)

    def unit_codes(self, portal: str) -> set[str]:
        return {u.code for u in PORTALS[portal].units}

    def model(self, portal: str) -> ProvinceModel:
        with self._lock:
            m = self._models.get(portal)
            if m is None:
                if portal not in PORTALS:
                    raise KeyError(portal)
                m = ProvinceModel(self.seed, portal, self.scale, self.calendar)
                self._models[portal] = m
            return m

    def procedures(self, portal: str) -> list[dict]:
        """``/api/tthc`` items, ordered by MaTTHC."""
        with self._lock:
            api = self._procedures_api.get(portal)
            if api is None:
                api = [p.as_api() for p in self.model(portal).procedures]
                self._procedures_api[portal] = api
            return api

    def procedure(self, portal: str, code: str) -> Procedure:
        """The internal procedure (with ``processing_days``, the working days to NgayHenTra)."""
        return self.model(portal).procedure_by_code[code]

    # ---- records ----
    def _index(self, portal: str, clock_ts: int | None = None) -> _PortalIndex:
        need_day = (self._clock_ts if clock_ts is None else clock_ts) // DAY
        with self._lock:
            idx = self._indexes.get(portal)
            if idx is None or idx.last_day < need_day:
                idx = self._extend(portal, idx, need_day)
                self._indexes[portal] = idx
            return idx

    def prepare(self, portals: list[str] | None = None) -> None:
        """Generate every portal's records up to the clock now (else done on first use)."""
        for p in portals or portal_codes():
            self._index(p)

    def _extend(self, portal: str, idx: _PortalIndex | None, need_day: int) -> _PortalIndex:
        model = self.model(portal)
        first = self.history_start.toordinal() - EPOCH_ORD
        if idx is not None:
            first = idx.last_day + 1
            entries = list(idx.entries)
            n_records = idx.n_records
        else:
            entries = []
            n_records = 0
        rate = self.malformed_rate
        suffix = model.province.suffix
        append = entries.append
        for day_no in range(first, need_day + 1):
            recs = model.generate_day(day_no)
            n_records += len(recs)
            crng = random.Random(model.day_seed(day_no) ^ 0x5EED5EED) if rate > 0 else None
            base_uid = day_no * 1_000_000_000
            for i, rec in enumerate(recs):
                events = rec.events
                last = len(events) - 1
                for k, (ts, status) in enumerate(events):
                    corrupt = None
                    code = rec.code
                    unit = rec.unit
                    if crng is not None and crng.random() < rate:
                        corrupt = _pick_corruption(crng, rec, k, status)
                        if corrupt[0] == "blank_ma_ho_so":
                            code = ""
                        elif corrupt[0] == "unknown_ma_don_vi":
                            unit = f"000.99.{10 + corrupt[1] % 90:02d}.{suffix}"
                    nxt = events[k + 1][0] if k < last else _FAR
                    append((ts, code, base_uid + i * 16 + k, nxt, unit, corrupt, rec, k))
        entries.sort()
        return _PortalIndex(model, entries, need_day, n_records)

    def record_count(self, portal: str) -> int:
        """Records generated so far (received up to the clock's day)."""
        return self._index(portal).n_records

    def query(self, portal: str, updated_from: int | None = None, updated_to: int | None = None,
              unit_code: str | None = None, clock_ts: int | None = None) -> list[Entry]:
        """Index entries visible at the clock with NgayCapNhat in [from, to) (local seconds),
        ordered by NgayCapNhat then MaHoSo. Cached (the server pages through it)."""
        now = self._clock_ts if clock_ts is None else clock_ts
        idx = self._index(portal, now)
        key = (now, updated_from, updated_to, unit_code)
        with idx.cache_lock:
            hit = idx.cache.get(key)
            if hit is not None:
                idx.cache.move_to_end(key)
                return hit
        lo_ts = updated_from if updated_from is not None else -_FAR
        hi_ts = now + 1 if updated_to is None else min(updated_to, now + 1)
        out: list[Entry] = []
        if lo_ts < hi_ts:
            from bisect import bisect_left
            entries = idx.entries
            i0 = bisect_left(idx.keys, lo_ts)
            i1 = bisect_left(idx.keys, hi_ts)
            if unit_code is None:
                out = [e for e in entries[i0:i1] if e[3] > now]
            else:
                out = [e for e in entries[i0:i1] if e[3] > now and e[4] == unit_code]
        with idx.cache_lock:
            idx.cache[key] = out
            while len(idx.cache) > 32:
                idx.cache.popitem(last=False)
        return out

    def materialize(self, portal: str, entry: Entry) -> dict:
        """The API dict of an index entry (with its corruption applied, if any)."""
        model = self.model(portal)
        d = model.materialize(entry[6], entry[7])
        if entry[5] is not None:
            status = entry[6].events[entry[7]][1]
            _apply_corruption(d, entry[5], status, model.province.suffix)
        return d

    def dossiers_as_of(self, portal: str, clock: datetime | None = None,
                       unit_code: str | None = None) -> list[dict]:
        """What ``/api/hoso`` (no window) serves at that clock: the newest version of each
        record visible then, ordered by NgayCapNhat then MaHoSo."""
        ts = None if clock is None else to_local_seconds(clock)
        return [self.materialize(portal, e) for e in self.query(portal, None, None, unit_code, ts)]

    def versions(self, portal: str, clock: datetime | None = None, *,
                 current_only: bool = False) -> Iterator[DossierVersion]:
        """Every record version with NgayCapNhat ≤ clock, in API order, for ground truth."""
        now = self._clock_ts if clock is None else to_local_seconds(clock)
        idx = self._index(portal, now)
        from bisect import bisect_right
        for e in idx.entries[: bisect_right(idx.keys, now)]:
            current = e[3] > now
            if current_only and not current:
                continue
            yield self._version(portal, e, current)

    def _version(self, portal: str, e: Entry, current: bool) -> DossierVersion:
        rec, k = e[6], e[7]
        return DossierVersion(
            portal=portal, record_code=rec.code, version=k, updated_at=format_ts(e[0]) or "",
            status=rec.events[k][1], data=self.materialize(portal, e),
            corrupt_rule=e[5][0] if e[5] else None, current=current)

    def corrupt_versions(self, portal: str, clock: datetime | None = None
                         ) -> list[DossierVersion]:
        """The corrupted versions with NgayCapNhat ≤ clock (served or superseded)."""
        now = self._clock_ts if clock is None else to_local_seconds(clock)
        idx = self._index(portal, now)
        return [self._version(portal, e, e[3] > now) for e in idx.entries
                if e[5] is not None and e[0] <= now]

    def record_versions(self, portal: str, record_code: str) -> list[DossierVersion]:
        """The whole timeline of one record generated so far (future versions included)."""
        idx = self._index(portal)
        es = [e for e in idx.entries if e[6].code == record_code]
        return [self._version(portal, e, e[0] <= self._clock_ts < e[3]) for e in es]

    def warehouse_truth(self, portal: str, extraction_clocks: list[datetime]) -> dict[str, dict]:
        """Expected warehouse state after extracting at each of the given clocks: for each
        record seen, the newest clean version among the versions that were current at one of
        those clocks (a record whose seen versions were all corrupt is absent). Keyed by the
        record's real MaHoSo."""
        best: dict[int, Entry] = {}
        for clock in sorted(extraction_clocks):
            now = to_local_seconds(clock)
            for e in self.query(portal, None, None, None, now):
                if e[5] is None:
                    prev = best.get(id(e[6]))
                    if prev is None or prev[7] < e[7]:
                        best[id(e[6])] = e
        return {e[6].code: self.materialize(portal, e) for e in best.values()}


def _pick_corruption(crng: random.Random, rec: DossierRecord, k: int,
                     status: int) -> tuple[str, int]:
    start = int(crng.random() * len(_RULES))
    param = int(crng.random() * 1_000_000)
    for j in range(len(_RULES)):
        rule = _RULES[(start + j) % len(_RULES)]
        if rule in _NEEDS_RECEIVED and status in (NEW, REJECTED):
            continue
        return rule, param
    raise AssertionError("unreachable")


def _apply_corruption(d: dict, corrupt: tuple[str, int], status: int, suffix: str) -> None:
    rule, param = corrupt
    if rule == "blank_ma_ho_so":
        v = param % 3
        if v == 0:
            d["MaHoSo"] = ""
        elif v == 1:
            d["MaHoSo"] = "   "
        else:
            d["MaHoSo"] = None
    elif rule == "unknown_ma_don_vi":
        d["MaDonVi"] = f"000.99.{10 + param % 90:02d}.{suffix}"
    elif rule == "bad_trang_thai":
        d["TrangThaiHoSo"] = (0, 11, "abc", "4a", -1, 99)[param % 6]
    elif rule == "bad_kenh_thuc_hien":
        d["KenhThucHien"] = (4, 0, "x", "truc tuyen", 9)[param % 5]
    elif rule == "date_wrong_format":
        field = _present_date(d, param)
        s = d[field]
        forms = (
            f"{s[0:4]}-{s[4:6]}-{s[6:8]} {s[8:10]}:{s[10:12]}:{s[12:14]}",
            f"{s[6:8]}/{s[4:6]}/{s[0:4]} {s[8:10]}:{s[10:12]}",
            f"{s[0:4]}-{s[4:6]}-{s[6:8]}T{s[8:10]}:{s[10:12]}:{s[12:14]}+07:00",
            s[:8],
        )
        d[field] = forms[param // 7 % len(forms)]
    elif rule == "date_impossible":
        field = _present_date(d, param)
        s = d[field]
        forms = (s[:4] + "0230" + s[8:], s[:4] + "1301" + s[8:], s[:8] + "250000",
                 s[:4] + "0431" + s[8:])
        d[field] = forms[param // 7 % len(forms)]
    elif rule == "missing_required_date":
        if status == RETURNED:
            d["NgayTra"] = None if param % 2 else ""
        elif status >= 7:
            d["NgayKetThucXuLy"] = None if param % 2 else ""
        else:
            d["NgayTiepNhan"] = None if param % 2 else ""
    elif rule == "due_before_received":
        received = parse_ts(d["NgayTiepNhan"])
        d["NgayHenTra"] = format_ts(received - DAY * (1 + param % 5))
    elif rule == "negative_fee":
        amount = -(1000 * (1 + param % 500))
        if d["DanhSachLePhi"]:
            d["DanhSachLePhi"] = [dict(d["DanhSachLePhi"][0], Gia=amount)] + \
                d["DanhSachLePhi"][1:]
        else:
            d["DanhSachLePhi"] = [{"MaPhiLePhi": "LP999999", "TenPhiLePhi": "Lệ phí",
                                   "Gia": amount, "HinhThucThu": "Tiền mặt"}]


def _present_date(d: dict, param: int) -> str:
    fields = [f for f in ("NgayTiepNhan", "NgayHenTra", "NgayKetThucXuLy", "NgayTra")
              if d.get(f)]
    return fields[param % len(fields)]


def build_world(seed: int = 7, scale: int = 1000, clock: datetime = datetime(2025, 12, 31, 23, 0),
                history_start: date = date(2021, 1, 1), malformed_rate: float = 0.0) -> World:
    """A world with the given seed; records are generated per portal on first use
    (``world.prepare()`` generates them all now)."""
    return World(seed=seed, scale=scale, clock=clock, history_start=history_start,
                 malformed_rate=malformed_rate)
