"""Deterministic generation of application records (hồ sơ) and their version timelines.

Records are generated day by day: the records received on a day come from a random stream
seeded by (seed, portal, day) only, so a day's records do not depend on the clock, on the
history start or on any other day, and generation streams in O(records).

A record is kept compact (``DossierRecord``: codes, small ints, timestamps as local seconds,
and an event timeline); ``ProvinceModel.materialize`` turns one version of it into the API
dict. Time values are "local seconds": seconds since 1970-01-01 00:00 *local* time
(Asia/Ho_Chi_Minh, no DST), so ``ts // 86400`` is the local calendar day.
"""

from __future__ import annotations

import functools
import random
import time
import unicodedata
from bisect import bisect_right
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from itertools import accumulate
from typing import cast

from egov.simulator.catalogue import Procedure, build_catalogue
from egov.simulator.units import HUYEN, PORTALS, SO, XA
from egov.simulator.workdays import WorkCalendar

DAY = 86_400
HOUR = 3_600
EPOCH = datetime(1970, 1, 1)
EPOCH_ORD = date(1970, 1, 1).toordinal()
TS_FORMAT = "%Y%m%d%H%M%S"

# Status codes (TrangThaiHoSo)
NEW, RECEIVED, REJECTED, PROCESSING, SUPPLEMENT, FINANCIAL = 1, 2, 3, 4, 5, 6
WITHDRAWN, STOPPED, RESOLVED, RETURNED = 7, 8, 9, 10

IN_PERSON, ONLINE, POSTAL = 1, 2, 3

# Share of volume by unit level, and trends (value at 2021-01-01, value at 2025-12-31).
_LEVEL_SHARE = {XA: 0.50, HUYEN: 0.35, SO: 0.15}
_TREND_START = date(2021, 1, 1).toordinal() - EPOCH_ORD
_TREND_END = date(2025, 12, 31).toordinal() - EPOCH_ORD
_ONLINE = (0.10, 0.50)
_DIGITIZED = (0.20, 0.85)
_E_RESULT = (0.25, 0.80)
_PAID_ONLINE = (0.15, 0.70)
POSTAL_INTAKE_SHARE = 0.03
POSTAL_RETURN_SHARE = 0.04

_SURNAMES = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng",
             "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý")
_MIDDLE_M = ("Văn", "Hữu", "Đức", "Minh", "Quang", "Thanh", "Công", "Xuân")
_MIDDLE_F = ("Thị", "Ngọc", "Thu", "Minh", "Thanh", "Kim", "Hồng", "Bích")
_GIVEN_M = ("An", "Bình", "Cường", "Dũng", "Hải", "Hùng", "Khánh", "Long", "Nam", "Phong",
            "Phúc", "Quân", "Sơn", "Thắng", "Tuấn", "Việt")
_GIVEN_F = ("Anh", "Châu", "Hà", "Hạnh", "Hương", "Lan", "Linh", "Mai", "Ngân", "Nhung",
            "Phương", "Thảo", "Trang", "Vy", "Yến", "Tâm")
_BUSINESS = ("Công ty TNHH", "Công ty cổ phần", "Doanh nghiệp tư nhân", "Hợp tác xã")
_BUSINESS_WORDS = ("Phát Đạt", "Thành Công", "Hưng Thịnh", "An Phú", "Minh Long", "Sao Việt",
                   "Hoàng Gia", "Tân Tiến", "Đại Phát", "Nam Việt", "Bình Minh", "Phú Quý")
_HAMLETS = ("Thôn", "Xóm", "Tổ dân phố", "Khu phố", "Ấp")
_PHONE_PREFIXES = ("090", "091", "093", "094", "096", "097", "098", "086", "088", "032",
                   "035", "038", "070", "077", "081", "083")
_LCG_A, _LCG_C, _MASK64 = 6364136223846793005, 1442695040888963407, (1 << 64) - 1
_EMAIL_DOMAINS = ("gmail.com", "gmail.com", "gmail.com", "yahoo.com", "outlook.com")


def _trend(day_no: int, lo_hi: tuple[float, float], cap: float = 0.95) -> float:
    lo, hi = lo_hi
    f = (day_no - _TREND_START) / (_TREND_END - _TREND_START)
    return min(cap, max(0.02, lo + (hi - lo) * f))


def to_local_seconds(dt: datetime) -> int:
    """Local seconds of a naive local datetime (or an aware one, converted to UTC+7)."""
    if dt.tzinfo is not None:
        dt = (dt - cast(timedelta, dt.utcoffset()) + timedelta(hours=7)).replace(tzinfo=None)
    return int((dt - EPOCH).total_seconds())


def from_local_seconds(ts: int) -> datetime:
    return EPOCH + timedelta(seconds=ts)


_gmtime = time.gmtime
_strftime = time.strftime


def format_ts(ts: int | None) -> str | None:
    """``yyyyMMddHHmmss`` of local seconds (None stays None)."""
    if ts is None:
        return None
    return _strftime(TS_FORMAT, _gmtime(ts))


def parse_ts(s: str) -> int:
    """Local seconds of a ``yyyyMMddHHmmss`` string; ValueError if malformed."""
    if len(s) != 14 or not s.isdigit():
        raise ValueError(f"not a yyyyMMddHHmmss date: {s!r}")
    return to_local_seconds(datetime.strptime(s, TS_FORMAT))


def fold_field_variant(name: str, variant: int) -> str:
    """Ways real records spell a field name differently (same after folding)."""
    if variant == 1:
        return name.upper()
    if variant == 2:  # unaccented
        s = unicodedata.normalize("NFD", name)
        s = "".join(c for c in s if unicodedata.category(c) != "Mn")
        return s.replace("đ", "d").replace("Đ", "D")
    if variant == 3:
        return " " + name.lower().replace(" ", "  ") + " "
    if variant == 4:
        return name.title()
    if variant == 5:
        return unicodedata.normalize("NFD", name)
    return name


class DossierRecord:
    """One application record with its whole timeline (compact; see module doc)."""

    __slots__ = (
        "code", "unit", "proc", "channel", "channel_raw", "online_level", "subject",
        "received", "due", "postal_return", "paid_online", "digitized", "fee_zero",
        "result_mode", "rating", "person_seed", "field_variant", "str_status", "empty_dates",
        "extra", "events", "supplements", "due_change",
    )

    code: str
    unit: str
    proc: Procedure
    channel: int
    channel_raw: int | str | None  # as sent in KenhThucHien
    online_level: str | None
    subject: int
    received: int | None  # NgayTiepNhan (None for records never received)
    due: int | None
    postal_return: int
    paid_online: int | None
    digitized: int
    fee_zero: bool  # fee-free record shown with a Gia 0 item rather than []
    result_mode: int  # 0 no result paper, 1 paper with blank link, 2 electronic result
    rating: int | None
    person_seed: int
    field_variant: int
    str_status: bool
    empty_dates: bool
    extra: bool
    events: list[tuple[int, int]]  # (local seconds, status), strictly increasing in time
    supplements: list[tuple[int, int | None]]  # (requested, supplement received)
    due_change: tuple[int, int] | None  # (from this time on, the new NgayHenTra)

    def due_at(self, ts: int) -> int | None:
        """NgayHenTra as shown by the version of time ts."""
        if self.due_change is not None and ts >= self.due_change[0]:
            return self.due_change[1]
        return self.due

    def ended_at(self, k: int) -> int | None:
        """NgayKetThucXuLy of version k."""
        status = self.events[k][1]
        if status < WITHDRAWN:
            return None
        for ts, st in self.events[: k + 1]:
            if st >= WITHDRAWN:
                return ts
        return None


class ProvinceModel:
    """Everything needed to generate and materialise one portal's records."""

    def __init__(self, seed: int, portal: str, scale: int, calendar: WorkCalendar):
        self.seed = seed
        self.portal = portal
        self.portal_index = list(PORTALS).index(portal)
        self.province = PORTALS[portal]
        self.scale = scale
        self.calendar = calendar
        self.procedures = build_catalogue(seed, portal)
        self.procedure_by_code = {p.code: p for p in self.procedures}
        self._work_days = [o - EPOCH_ORD for o in calendar._work_ords]
        self._work_set = set(self._work_days)
        names = {u.code: u for u in self.province.units}
        self.unit_names = {c: u.name for c, u in names.items()}
        self.unit_parent = {c: u.parent for c, u in names.items()}
        # Weighted (unit, procedure) pairs; one table for all, one for online-capable ones.
        rng = random.Random(seed * 31 + self.portal_index * 1_000_003 + 5)
        unit_factor = {u.code: 0.4 + 1.2 * rng.random() for u in self.province.units}
        level_total: dict[str, float] = {}
        raw: list[tuple[str, Procedure, float]] = []
        for pr in self.procedures:
            for uc in pr.unit_codes:
                w = pr.weight * unit_factor[uc]
                raw.append((uc, pr, w))
                level_total[pr.level] = level_total.get(pr.level, 0.0) + w
        pairs = [(uc, pr, w * _LEVEL_SHARE[pr.level] / level_total[pr.level])
                 for uc, pr, w in raw]
        self._pairs = [(uc, pr) for uc, pr, _ in pairs]
        self._cum = list(accumulate(w for _, _, w in pairs))
        online = [(uc, pr, w) for uc, pr, w in pairs if pr.online_capable]
        self._pairs_online = [(uc, pr) for uc, pr, _ in online]
        self._cum_online = list(accumulate(w for _, _, w in online))
        self.late_share = {u.code: 0.005 + 0.035 * rng.random() ** 2
                           for u in self.province.units}
        # Records per working day; non-working days get a tenth (online mostly).
        self.per_work_day = scale / 260.0
        self.per_off_day = self.per_work_day * 0.1
        self._communes = self.province.units_at(XA)

    # ---- calendar helpers (day numbers = days since 1970-01-01) ----
    def add_working_days(self, day_no: int, n: int) -> int:
        wd = self._work_days
        i = bisect_right(wd, day_no) + n - 1
        if i >= len(wd):
            raise ValueError("working-day calendar too short")
        return wd[i]

    def is_working(self, day_no: int) -> bool:
        return day_no in self._work_set

    def day_seed(self, day_no: int) -> int:
        return (self.seed * 1_000_003 + self.portal_index) * 10_000_019 + day_no

    # ---- generation ----
    def generate_day(self, day_no: int) -> list[DossierRecord]:
        rng = random.Random(self.day_seed(day_no))
        r = rng.random
        working = day_no in self._work_set
        lam = self.per_work_day if working else self.per_off_day
        n = int(lam * (0.8 + 0.4 * r()) + r())
        if n <= 0:
            return []
        p_online = _trend(day_no, _ONLINE, 0.55)
        p_digitized = _trend(day_no, _DIGITIZED)
        p_eresult = _trend(day_no, _E_RESULT)
        p_paid = _trend(day_no, _PAID_ONLINE)
        day0 = day_no * DAY
        yymmdd = cast(str, format_ts(day0))[2:8]
        counters: dict[str, int] = {}
        pairs, cum, tot = self._pairs, self._cum, self._cum[-1]
        pairs_on, cum_on = self._pairs_online, self._cum_online
        tot_on = cum_on[-1] if cum_on else 0.0
        add_wd = self.add_working_days
        late_share = self.late_share
        out: list[DossierRecord] = []
        for _ in range(n):
            u = r()
            if not working:
                channel = ONLINE if u < 0.9 else IN_PERSON
            elif u < p_online:
                channel = ONLINE
            elif u < p_online + POSTAL_INTAKE_SHARE:
                channel = POSTAL
            else:
                channel = IN_PERSON
            if channel == ONLINE and tot_on:
                i = bisect_right(cum_on, r() * tot_on)
                unit, proc = pairs_on[min(i, len(pairs_on) - 1)]
            else:
                if channel == ONLINE:
                    channel = IN_PERSON
                i = bisect_right(cum, r() * tot)
                unit, proc = pairs[min(i, len(pairs) - 1)]
            rec = DossierRecord()
            cnt = counters.get(unit, 0) + 1
            counters[unit] = cnt
            rec.code = f"{unit}-{yymmdd}-{cnt:04d}"
            rec.unit = unit
            rec.proc = proc
            rec.channel = channel
            style = r()
            rec.str_status = style < 0.03
            if rec.str_status:
                rec.channel_raw = str(channel)
            elif channel == IN_PERSON and style < 0.07:
                rec.channel_raw = None
            else:
                rec.channel_raw = channel
            rec.empty_dates = r() < 0.1
            rec.online_level = proc.online_level if channel == ONLINE else None
            fc = proc.field_code
            if fc in ("KHDT-DN", "KHDT-DT"):
                rec.subject = 2
            else:
                s = r()
                rec.subject = 1 if s < 0.93 else 2 if s < 0.96 else 3 if s < 0.98 else 4
            rec.person_seed = int(r() * 2**62)
            v = r()
            rec.field_variant = 0 if v >= 0.05 else 1 + int(v * 100) % 5
            rec.extra = r() < 0.03
            rec.digitized = 1 if r() < p_digitized else 0
            rec.fee_zero = (not proc.has_fee) and r() < 0.15
            if proc.has_fee and proc.online_payment and r() < (
                    p_paid if channel == ONLINE else 0.03):
                rec.paid_online = 1 if r() < 0.6 else 2
            else:
                rec.paid_online = None if r() < 0.7 else 0
            rec.postal_return = 1 if r() < POSTAL_RETURN_SHARE else 0
            q = r()
            rec.result_mode = 0 if q < 0.05 else 2 if q < 0.05 + 0.95 * p_eresult else 1
            q = r()
            rec.rating = None if q < 0.45 else 1 if q < 0.78 else 2 if q < 0.975 else 3
            rec.supplements = []
            rec.due_change = None
            # --- intake ---
            events: list[tuple[int, int]] = []
            if channel == ONLINE:
                q = r()
                if q < 0.04:
                    sec = 23 * HOUR + int(r() * HOUR)
                elif q < 0.08:
                    sec = int(r() * HOUR)
                else:
                    sec = 6 * HOUR + int(r() * 17 * HOUR)
                t_sub = day0 + sec
                events.append((t_sub, NEW))
                if proc.online_level == "4" and r() < 0.3:  # received automatically
                    t_acc = t_sub + 60 + int(r() * 600)
                elif working and sec < 7 * HOUR:
                    t_acc = day0 + int(7.5 * HOUR + r() * 2.5 * HOUR)
                elif working and sec < 15 * HOUR:
                    t_acc = t_sub + 1800 + int(r() * 2 * HOUR)
                else:
                    nxt = add_wd(day_no, 1)
                    t_acc = nxt * DAY + int(7.5 * HOUR + r() * 2.5 * HOUR)
                if r() < 0.02:
                    events.append((t_acc, REJECTED))
                    rec.received = None
                    rec.due = None
                    rec.events = events
                    out.append(rec)
                    continue
                received = t_acc
            else:
                received = day0 + _work_second(r())
            events.append((received, RECEIVED))
            rec.received = received
            r_day = received // DAY
            days = proc.processing_days
            q = r()
            if days == 0:
                rec.due = None
                end = received + 300 + int(r() * 5400)
                if q < 0.003:
                    events.append((end, WITHDRAWN))
                else:
                    events.append((end, RESOLVED))
                    if r() < 0.96:
                        events.append((end + 60 + int(r() * 1800), RETURNED))
                rec.events = events
                out.append(rec)
                continue
            due_day = add_wd(r_day, days)
            rec.due = due_day * DAY + 17 * HOUR
            q2 = r()
            if q2 < 0.4:
                t4 = received + 1800 + int(r() * 6 * HOUR)
            else:  # taken up the next working day or the one after
                t4 = add_wd(r_day, 1 if q2 < 0.85 else 2) * DAY + _work_second(r() * 0.5)
            if q < 0.006 or q > 0.994:  # withdrawn / stopped partway
                t_end = t4 + 600 + int(r() * max(0, due_day * DAY - t4) * 0.8)
                events.append((t4, PROCESSING))
                events.append((t_end, WITHDRAWN if q < 0.006 else STOPPED))
                rec.events = events
                out.append(rec)
                continue
            if q > 0.99:  # stuck: never resolved (backlog)
                events.append((t4, PROCESSING))
                rec.events = events
                out.append(rec)
                continue
            if r() < late_share[unit]:
                end_day = add_wd(due_day, 1 + int(r() ** 2 * 10))
            else:
                k = int(days * r() ** 0.7)
                end_day = add_wd(r_day, k) if k else r_day
            t4_day = t4 // DAY
            if end_day < t4_day:
                end_day = t4_day
            pause = None  # (status, paused at, waited working days)
            q = r()
            if q < 0.08:
                pause = SUPPLEMENT
            elif proc.has_fee and q < (0.6 if fc == "TNMT-DD" else 0.3 if days >= 5 else 0):
                pause = FINANCIAL
            if pause is not None:
                # the applicant takes some working days; the due date moves by as much
                wait = 1 + int(r() ** 1.5 * (12 if pause == SUPPLEMENT else 8))
                t_pause = t4 + 600 + int(r() * max(0, end_day * DAY + 16 * HOUR - t4) * 0.6)
                back_day = add_wd(t_pause // DAY, wait)
                t_back = back_day * DAY + _work_second(r())
                end_day = add_wd(end_day, wait)
                if end_day < back_day:
                    end_day = back_day
                rec.due_change = (t_back, add_wd(due_day, wait) * DAY + 17 * HOUR)
            if end_day == due_day and r() < 0.05:
                end = end_day * DAY + 23 * HOUR + int(r() * 3500)
            else:
                end = end_day * DAY + _work_second(r())
            events.append((t4, PROCESSING))
            if pause is not None:
                events.append((t_pause, pause))
                events.append((t_back, PROCESSING))
                if pause == SUPPLEMENT:
                    rec.supplements.append((t_pause, t_back))
            events.append((end, RESOLVED))
            if r() < 0.93:
                if rec.postal_return:
                    t_ret = add_wd(end // DAY, 1 + int(r() * 3)) * DAY + _work_second(r())
                else:
                    t_ret = end + 600 + int(r() ** 3 * 3 * DAY)
                events.append((t_ret, RETURNED))
            # strictly increasing times
            for j in range(1, len(events)):
                if events[j][0] <= events[j - 1][0]:
                    events[j] = (events[j - 1][0] + 60, events[j][1])
            if rec.due_change is not None:
                j = next(j for j, ev in enumerate(events) if ev[1] in (SUPPLEMENT, FINANCIAL))
                t_back = events[j + 1][0]
                rec.due_change = (t_back, rec.due_change[1])
                if rec.supplements:
                    rec.supplements = [(events[j][0], t_back)]
            rec.events = events
            out.append(rec)
        return out

    def iter_records(self, first_day: date, last_day: date) -> Iterator[DossierRecord]:
        """Stream the records received (first event) on days first_day..last_day."""
        d0 = first_day.toordinal() - EPOCH_ORD
        d1 = last_day.toordinal() - EPOCH_ORD
        for day_no in range(d0, d1 + 1):
            yield from self.generate_day(day_no)

    # ---- materialisation ----
    def person(self, rec: DossierRecord) -> tuple[str, str, str | None, str | None, str]:
        """Applicant data derived from the record's person seed (cheap, no Random)."""
        a = rec.person_seed
        b = (a * _LCG_A + _LCG_C) & _MASK64
        c = (b * _LCG_A + _LCG_C) & _MASK64
        a, i_hamlet = divmod(a, len(_HAMLETS))
        a, hamlet_no = divmod(a, 12)
        a, i_commune = divmod(a, len(self._communes))
        a, i_prefix = divmod(a, len(_PHONE_PREFIXES))
        a, p_phone = divmod(a, 100)
        a, p_email = divmod(a, 100)
        a, female = divmod(a, 2)
        a, i_sur = divmod(a, len(_SURNAMES))
        a, i_mid = divmod(a, 8)
        a, i_given = divmod(a, 16)
        a, i_dom = divmod(a, len(_EMAIL_DOMAINS))
        year = 1945 + a % 62
        commune = self._communes[i_commune]
        district = self.unit_names[commune.parent] if commune.parent else ""
        address = (f"{_HAMLETS[i_hamlet]} {hamlet_no + 1}, {commune.name[5:]}, "
                   f"{district[5:]}, tỉnh {self.province.province}")
        phone = f"{_PHONE_PREFIXES[i_prefix]}{b % 10**7:07d}" if p_phone < 92 else None
        if rec.subject == 2:
            name = f"{_BUSINESS[i_mid % 4]} {_BUSINESS_WORDS[i_given % len(_BUSINESS_WORDS)]}"
            id_no = f"{10**9 + c % (9 * 10**9)}"
            email = (f"lienhe{c % 1000}@{_ascii(name.split()[-1]).lower()}.vn"
                     if p_email < 80 else None)
            return name, id_no, phone, email, address
        given = (_GIVEN_F if female else _GIVEN_M)[i_given]
        surname = _SURNAMES[i_sur]
        name = f"{surname} {(_MIDDLE_F if female else _MIDDLE_M)[i_mid]} {given}"
        century = (0 if year < 2000 else 2) + female
        id_no = f"{self.province.id_prefix}{century}{year % 100:02d}{c % 10**6:06d}"
        email = (f"{_ascii(given).lower()}{_ascii(surname).lower()}{year % 100:02d}"
                 f"@{_EMAIL_DOMAINS[i_dom]}" if p_email < 45 else None)
        return name, id_no, phone, email, address

    def materialize(self, rec: DossierRecord, k: int) -> dict:
        """The API dict of version k of a record (clean: corruption is applied elsewhere)."""
        ts, status = rec.events[k]
        proc = rec.proc
        absent = "" if rec.empty_dates else None
        ended = rec.ended_at(k)
        due = rec.due_at(ts)
        returned = ts if status == RETURNED else None
        name, id_no, phone, email, address = self.person(rec)
        if proc.has_fee:
            fees = [{"MaPhiLePhi": c, "TenPhiLePhi": n, "Gia": g, "HinhThucThu": h}
                    for c, n, g, h in proc.fees]
        elif rec.fee_zero:
            fees = [{"MaPhiLePhi": "LP000000", "TenPhiLePhi": "Không thu phí", "Gia": 0,
                     "HinhThucThu": ""}]
        else:
            fees = []
        results: list[dict] = []
        if status in (RESOLVED, RETURNED) and rec.result_mode:
            link = (f"https://dichvucong.{self.portal}.gov.vn/ketqua/{rec.code}.pdf"
                    if rec.result_mode == 2 else "")
            results = [{"MaGiayToKetQua": f"KQ-{proc.code}", "TenGiayTo":
                        f"Kết quả: {proc.name[:80]}", "DuongDanTepTinKetQua": link}]
        supplements = [
            {"NgayYeuCauBoSung": format_ts(req),
             "NgayTiepNhanBoSung": format_ts(back) if back is not None and back <= ts else None}
            for req, back in rec.supplements if req <= ts
        ]
        d = {
            "MaHoSo": rec.code,
            "MaTTHC": proc.code,
            "TenTTHC": proc.name,
            "MaLinhVuc": proc.field_code,
            "TenLinhVuc": fold_field_variant(proc.field_name, rec.field_variant),
            "MaDonVi": rec.unit,
            "KenhThucHien": rec.channel_raw,
            "MucDo": rec.online_level,
            "LoaiDoiTuong": rec.subject,
            "ChuHoSo": name,
            "SoGiayToChuHoSo": id_no,
            "SoDienThoai": phone,
            "Email": email,
            "DiaChi": address,
            "TrangThaiHoSo": str(status) if rec.str_status else status,
            "NgayTiepNhan": format_ts(rec.received) if rec.received is not None else absent,
            "NgayHenTra": format_ts(due) if due is not None else absent,
            "NgayKetThucXuLy": format_ts(ended) if ended is not None else absent,
            "NgayTra": format_ts(returned) if returned is not None else absent,
            "NgayCapNhat": format_ts(ts),
            "HinhThuc": rec.postal_return,
            "DuocThanhToanTrucTuyen": rec.paid_online,
            "HoSoCoThanhPhanSoHoa": rec.digitized,
            "DanhSachLePhi": fees,
            "DanhSachGiayToKetQua": results,
            "DanhSachHoSoBoSung": supplements,
            "MucDoHaiLong": rec.rating if status == RETURNED else None,
        }
        if status in (NEW, REJECTED):
            d["NgayTiepNhan"] = absent
            d["NgayHenTra"] = absent
        if rec.extra:
            d["GhiChu"] = "Hồ sơ liên thông" if rec.person_seed % 2 else ""
        return d


def _work_second(u: float) -> int:
    """A second of office hours (07:30–11:30, 13:30–17:00) from a uniform draw."""
    s = int(u * 27_000)  # 7.5 hours
    return 27_000 + s if s < 14_400 else 48_600 + (s - 14_400)


@functools.lru_cache(maxsize=4096)
def _ascii(s: str) -> str:
    s = unicodedata.normalize("NFD", s)
    s = "".join(c for c in s if unicodedata.category(c) != "Mn")
    return s.replace("đ", "d").replace("Đ", "D")
