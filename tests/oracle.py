"""Independent reference implementation ("oracle") of the indicator specification.

Written straight from ``docs/contracts/indicators.md``, ``portal-api.md`` and
``interfaces.md`` (not from the pipeline's code), in plain Python, so that end-to-end tests
can compare the warehouse's marts against it.

Readings of the spec chosen here (where it leaves room):

* Integers: a field typed "int or digit string" (and, for the indicator conditions, every
  int-valued field: ``HinhThuc``, ``DuocThanhToanTrucTuyen``, ``HoSoCoThanhPhanSoHoa``,
  ``MucDoHaiLong`` and the catalogue 0/1 flags) counts when it is a JSON integer or a string
  of ASCII digits (``"05"`` is 5). ``bool`` is never an integer, nor is a float (``2.0``), nor
  a string with spaces or a sign (``" 2"``, ``"+2"``, ``"-1"``), nor ``""``.
* ``Gia`` must be a strict JSON integer in 0..10^12: a digit string ``"100"`` is NOT an integer
  (the API promises "VND, integer"; unlike ``TrangThaiHoSo``/``KenhThucHien`` it does not
  allow digit strings). A fee item whose ``Gia`` is null or absent breaks the rule too.
  A ``DanhSachLePhi`` that is null/absent means no fees; items that are not objects are
  ignored.
* Dates: ``None``/``""`` are missing; anything else must be a string of exactly 14 ASCII
  digits naming a real local time (so ``" "``, ``"2024-03-01"``, ``20240301000000`` as an
  int, ``"20240230000000"`` and hour 24 are malformed). Only the five top-level date fields
  (``NgayTiepNhan``, ``NgayHenTra``, ``NgayKetThucXuLy``, ``NgayTra``, ``NgayCapNhat``) are
  checked; dates inside ``DanhSachHoSoBoSung`` are not (no indicator uses them).
* ``MaHoSo``/``MaDonVi`` "missing, blank or not a string": absent, null, a string that is empty
  after stripping whitespace, or any other JSON type (a list, 12.5). An item of ``data`` that
  is not an object has no ``MaHoSo``. ``MaDonVi`` must equal a unit code exactly (no
  trimming).
* ``KenhThucHien`` ``""`` is malformed (only dates treat ``""`` as missing).
* ``MucDo`` (records and catalogue) is compared as a string: the integer ``4`` is not ``"4"``.
* Electronic result: a ``DanhSachGiayToKetQua`` item whose ``DuongDanTepTinKetQua`` is a
  string that is not blank (whitespace-only counts as empty, as the API says "non-blank").
* Catalogue: items are de-duplicated by ``MaTTHC`` (the last one given wins, as a re-read
  page would); ``MaDonViThucHien`` given as a bare string is read as a one-item list.
* ``newest_accepted``: equal ``NgayCapNhat`` for the same record -> the later one in the
  input order wins.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction

# --------------------------------------------------------------------------------------------
# Indicator codes (indicators.md)
# --------------------------------------------------------------------------------------------

RECORD_INDICATORS: tuple[str, ...] = (
    "on_time_rate",
    "progress_rate",
    "online_rate",
    "full_online_rate",
    "postal_intake_rate",
    "postal_return_rate",
    "online_payment_rate",
    "digitized_dossier_rate",
    "digitized_result_rate",
    "e_certification_rate",
    "satisfaction_rate",
)
CATALOGUE_INDICATORS: tuple[str, ...] = (
    "catalog_online_rate",
    "catalog_full_online_rate",
    "catalog_full_online_eligible_rate",
    "catalog_active_online_rate",
    "catalog_national_portal_rate",
    "catalog_online_national_portal_rate",
    "catalog_online_payment_rate",
)
INDICATOR_CODES: tuple[str, ...] = RECORD_INDICATORS + CATALOGUE_INDICATORS

PERIOD_TYPES: tuple[str, ...] = ("month", "quarter", "year")

# --------------------------------------------------------------------------------------------
# Malformed-record rules (portal-api.md "Which record versions are malformed"), in its order
# --------------------------------------------------------------------------------------------

RULE_MISSING_CODE = "missing_code"  # MaHoSo or MaDonVi missing or blank
RULE_UNKNOWN_UNIT = "unknown_unit"  # MaDonVi is not a unit of /api/donvi
RULE_BAD_STATUS = "bad_status"  # TrangThaiHoSo not an integer 1..10
RULE_BAD_CHANNEL = "bad_channel"  # KenhThucHien not null, 1, 2 or 3
RULE_MALFORMED_DATE = "malformed_date"  # a date in another format / that does not exist
RULE_MISSING_UPDATED = "missing_updated_at"  # NgayCapNhat missing
RULE_MISSING_REQUIRED_DATE = "missing_required_date"  # a date the status requires is missing
RULE_DUE_BEFORE_RECEIVED = "due_before_received"  # day(NgayHenTra) < day(NgayTiepNhan)
RULE_BAD_FEE = "bad_fee"  # a Gia is not an integer >= 0

RULES: tuple[str, ...] = (
    RULE_MISSING_CODE,
    RULE_UNKNOWN_UNIT,
    RULE_BAD_STATUS,
    RULE_BAD_CHANNEL,
    RULE_MALFORMED_DATE,
    RULE_MISSING_UPDATED,
    RULE_MISSING_REQUIRED_DATE,
    RULE_DUE_BEFORE_RECEIVED,
    RULE_BAD_FEE,
)

DATE_FIELDS: tuple[str, ...] = (
    "NgayTiepNhan",
    "NgayHenTra",
    "NgayKetThucXuLy",
    "NgayTra",
    "NgayCapNhat",
)

_TIMESTAMP = re.compile(r"[0-9]{14}")


class MalformedDate(ValueError):
    """A date value that is neither missing nor a valid ``yyyyMMddHHmmss`` local time."""


def parse_timestamp(value: object) -> datetime | None:
    """``yyyyMMddHHmmss`` -> naive local datetime; ``None``/``""`` -> None; else raise."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not _TIMESTAMP.fullmatch(value):
        raise MalformedDate(repr(value))
    try:
        return datetime(
            int(value[0:4]),
            int(value[4:6]),
            int(value[6:8]),
            int(value[8:10]),
            int(value[10:12]),
            int(value[12:14]),
        )
    except ValueError as exc:  # 30 February, hour 24, year 0, ...
        raise MalformedDate(repr(value)) from exc


def day_of(value: object) -> date | None:
    """``date(x)``: the calendar day of a timestamp (None when missing)."""
    ts = parse_timestamp(value)
    return None if ts is None else ts.date()


def as_int(value: object) -> int | None:
    """A JSON int (not bool) or an ASCII digit string as int; anything else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return None


def _is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def _is_strict_nonneg_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


MAX_PRICE = 10**12  # portal-api.md: a Gia is an integer in 0..10^12


def _is_valid_price(value: object) -> bool:
    return _is_strict_nonneg_int(value) and value <= MAX_PRICE


def is_malformed(record: Mapping, unit_codes: set[str]) -> str | None:
    """Name of the first malformed-record rule the version breaks (see ``RULES``), or None.
    (The rule on NgayCapNhat after the request moment needs that moment: not judged here.)"""
    if not isinstance(record, Mapping):  # no MaHoSo at all
        return RULE_MISSING_CODE
    for code in (record.get("MaHoSo"), record.get("MaDonVi")):
        if _is_blank(code) or not isinstance(code, str):  # missing, blank or not a string
            return RULE_MISSING_CODE
    unit = record.get("MaDonVi")
    if not isinstance(unit, str) or unit not in unit_codes:
        return RULE_UNKNOWN_UNIT

    status = as_int(record.get("TrangThaiHoSo"))
    if status is None or not 1 <= status <= 10:
        return RULE_BAD_STATUS

    channel = record.get("KenhThucHien")
    if channel is not None and as_int(channel) not in (1, 2, 3):
        return RULE_BAD_CHANNEL

    days: dict[str, date | None] = {}
    for field in DATE_FIELDS:
        try:
            days[field] = day_of(record.get(field))
        except MalformedDate:
            return RULE_MALFORMED_DATE

    if days["NgayCapNhat"] is None:
        return RULE_MISSING_UPDATED

    required = []
    if status not in (1, 3):
        required.append("NgayTiepNhan")
    if status in (7, 8, 9, 10):
        required.append("NgayKetThucXuLy")
    if status == 10:
        required.append("NgayTra")
    if any(days[field] is None for field in required):
        return RULE_MISSING_REQUIRED_DATE

    received, due = days["NgayTiepNhan"], days["NgayHenTra"]
    if received is not None and due is not None and due < received:
        return RULE_DUE_BEFORE_RECEIVED

    fees = record.get("DanhSachLePhi") or []
    if isinstance(fees, list):
        for item in fees:
            if isinstance(item, Mapping) and not _is_valid_price(item.get("Gia")):
                return RULE_BAD_FEE
    return None


def newest_accepted(versions: Iterable[Mapping], unit_codes: set[str]) -> dict[str, Mapping]:
    """Per ``MaHoSo``, the accepted version with the newest ``NgayCapNhat``.

    Rejected versions are skipped, so they never replace an accepted one.
    """
    best: dict[str, tuple[datetime, Mapping]] = {}
    for version in versions:
        if is_malformed(version, unit_codes) is not None:
            continue
        updated = parse_timestamp(version["NgayCapNhat"])
        assert updated is not None
        key = version["MaHoSo"]
        if key not in best or updated >= best[key][0]:
            best[key] = (updated, version)
    return {key: version for key, (_, version) in best.items()}


# --------------------------------------------------------------------------------------------
# Periods, rounding, folding
# --------------------------------------------------------------------------------------------


def period_bounds(period_type: str, day: date) -> tuple[date, date]:
    """First and last day of the month / quarter / calendar year containing ``day``."""
    if period_type == "month":
        first_month, last_month = day.month, day.month
    elif period_type == "quarter":
        first_month = 3 * ((day.month - 1) // 3) + 1
        last_month = first_month + 2
    elif period_type == "year":
        first_month, last_month = 1, 12
    else:
        raise ValueError(f"unknown period type {period_type!r}")
    last_day = calendar.monthrange(day.year, last_month)[1]
    return date(day.year, first_month, 1), date(day.year, last_month, last_day)


def value_pct(numerator: int, denominator: int) -> Decimal | None:
    """``round(100 * n / d, 2)`` half away from zero, exactly; None when ``d`` is 0."""
    if denominator == 0:
        return None
    if numerator < 0 or denominator < 0:
        raise ValueError("counts are never negative")
    # hundredths of a percent, rounded half up (= away from zero for non-negative values)
    hundredths = (2 * 10_000 * numerator + denominator) // (2 * denominator)
    return (Decimal(hundredths) / 100).quantize(Decimal("0.01"))


def fold(text: str) -> str:
    """NFD, drop combining marks, đ/Đ -> d, casefold, trim, collapse inner whitespace."""
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    stripped = stripped.replace("đ", "d").replace("Đ", "d")
    return " ".join(stripped.casefold().split())


CERTIFICATION_FIELD = fold("Chứng thực")  # "chung thuc"

# --------------------------------------------------------------------------------------------
# Snapshots
# --------------------------------------------------------------------------------------------

Snapshot = tuple[int, int, Decimal | None]


def _ancestors_or_self(units: Iterable[Mapping]) -> dict[str, set[str]]:
    """unit code -> the codes of the unit and of every unit above it."""
    parent = {u["MaDonVi"]: u.get("MaDonViCha") for u in units}
    result: dict[str, set[str]] = {}
    for code in parent:
        chain: set[str] = set()
        current: str | None = code
        while current is not None and current in parent and current not in chain:
            chain.add(current)
            current = parent[current]
        result[code] = chain
    return result


def _has_fee(record: Mapping) -> bool:
    fees = record.get("DanhSachLePhi") or []
    return any(
        isinstance(item, Mapping) and _is_strict_nonneg_int(item.get("Gia")) and item["Gia"] > 0
        for item in fees
    )


def _has_electronic_result(record: Mapping) -> bool:
    results = record.get("DanhSachGiayToKetQua") or []
    return any(
        isinstance(item, Mapping)
        and isinstance(item.get("DuongDanTepTinKetQua"), str)
        and item["DuongDanTepTinKetQua"].strip() != ""
        for item in results
    )


def _is_certification(record: Mapping) -> bool:
    name = record.get("TenLinhVuc")
    return isinstance(name, str) and fold(name) == CERTIFICATION_FIELD


def _record_counts(record: Mapping, p0: date, end: date) -> tuple[dict[str, list[int]], bool]:
    """(indicator -> [numerator, denominator] contributions of one record, is RECEIVED)."""
    status = as_int(record.get("TrangThaiHoSo"))
    if status is None or not 1 <= status <= 10:
        raise ValueError(f"record {record.get('MaHoSo')!r}: bad status")
    received_d = day_of(record.get("NgayTiepNhan"))
    due_d = day_of(record.get("NgayHenTra"))
    ended_d = None if status in (2, 4, 5, 6) else day_of(record.get("NgayKetThucXuLy"))
    channel = record.get("KenhThucHien")
    channel = 1 if channel is None else as_int(channel)

    received = status not in (1, 3) and received_d is not None and p0 <= received_d <= end
    resolved = status in (9, 10) and ended_d is not None and p0 <= ended_d <= end
    open_at_end = (
        status not in (1, 3)
        and received_d is not None
        and received_d <= end
        and (ended_d is None or ended_d > end)
    )
    on_time = due_d is None or (ended_d is not None and ended_d <= due_d)
    within_deadline = due_d is None or due_d >= end

    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])

    def add(code: str, in_denominator: bool, in_numerator: bool) -> None:
        if in_denominator:
            counts[code][1] += 1
            if in_numerator:
                counts[code][0] += 1

    if resolved:
        electronic = _has_electronic_result(record)
        rating = as_int(record.get("MucDoHaiLong"))
        add("on_time_rate", True, on_time)
        add("progress_rate", True, on_time)
        add("postal_return_rate", True, as_int(record.get("HinhThuc")) == 1)
        add("digitized_result_rate", True, electronic)
        add("e_certification_rate", _is_certification(record), electronic)
        add("satisfaction_rate", rating in (1, 2, 3), rating in (1, 2))
    if open_at_end:
        add("progress_rate", True, within_deadline)
    if received:
        add("online_rate", True, channel == 2)
        add("full_online_rate", True, channel == 2 and record.get("MucDo") == "4")
        add("postal_intake_rate", True, channel == 3)
        add(
            "online_payment_rate",
            _has_fee(record),
            as_int(record.get("DuocThanhToanTrucTuyen")) in (1, 2),
        )
        add("digitized_dossier_rate", True, as_int(record.get("HoSoCoThanhPhanSoHoa")) == 1)
    return counts, received


def _procedure_counts(procedure: Mapping, active: bool) -> dict[str, list[int]]:
    """indicator -> [numerator, denominator] contributions of one procedure of U."""
    level = procedure.get("MucDo")
    online = level in ("3", "4")
    full = level == "4"
    eligible = as_int(procedure.get("DuDieuKienToanTrinh")) == 1
    national = as_int(procedure.get("DaTichHopDVCQG")) == 1
    fee = as_int(procedure.get("CoNghiaVuTaiChinh")) == 1
    pays_online = as_int(procedure.get("CoThanhToanTrucTuyen")) == 1
    rows = {
        "catalog_online_rate": (True, online),
        "catalog_full_online_rate": (True, full),
        "catalog_full_online_eligible_rate": (eligible, full),
        "catalog_active_online_rate": (active, online),
        "catalog_national_portal_rate": (True, national),
        "catalog_online_national_portal_rate": (online, national),
        "catalog_online_payment_rate": (fee, pays_online),
    }
    return {code: [int(in_den and in_num), int(in_den)] for code, (in_den, in_num) in rows.items()}


def compute_snapshots(
    records: Iterable[Mapping],
    procedures: Iterable[Mapping],
    units: Iterable[Mapping],
    as_of: date,
    period_type: str,
    period_start: date,
) -> dict[tuple[str, str], Snapshot]:
    """(unit code, indicator code) -> (numerator, denominator, value_pct) for every unit and
    every indicator, for the period of ``period_type`` starting at ``period_start``, as of
    ``as_of``. ``records`` are in their newest accepted state.
    """
    units = list(units)
    p0, p1 = period_bounds(period_type, period_start)
    if p0 != period_start:
        raise ValueError(f"{period_start} does not start a {period_type}")
    end = min(p1, as_of)  # P' = [p0, min(p1, A)]
    above = _ancestors_or_self(units)

    totals: dict[str, dict[str, list[int]]] = {
        code: {ind: [0, 0] for ind in INDICATOR_CODES} for code in above
    }
    received_procedures: dict[str, set] = {code: set() for code in above}

    for record in records:
        unit = record.get("MaDonVi")
        if unit not in above:
            continue
        counts, received = _record_counts(record, p0, end)
        for u in above[unit]:
            for ind, (num, den) in counts.items():
                totals[u][ind][0] += num
                totals[u][ind][1] += den
            if received and record.get("MaTTHC") is not None:
                received_procedures[u].add(record.get("MaTTHC"))

    catalogue: dict[object, Mapping] = {}
    for procedure in procedures:
        catalogue[procedure.get("MaTTHC")] = procedure  # last one given wins
    for code, procedure in catalogue.items():
        handlers = procedure.get("MaDonViThucHien") or []
        if isinstance(handlers, str):
            handlers = [handlers]
        covering: set[str] = set()  # every U of which this is a procedure, once each
        for handler in handlers:
            covering |= above.get(handler, set())
        for u in covering:
            active = code is not None and code in received_procedures[u]
            for ind, (num, den) in _procedure_counts(procedure, active).items():
                totals[u][ind][0] += num
                totals[u][ind][1] += den

    return {
        (u, ind): (num, den, value_pct(num, den))
        for u, per_indicator in totals.items()
        for ind, (num, den) in per_indicator.items()
    }


def expected_snapshot_keys(as_of: date, target_years: Iterable[int]) -> set[tuple[str, date]]:
    """(period_type, period_start) pairs a run as of ``as_of`` writes for every unit."""
    keys = {(pt, period_bounds(pt, as_of)[0]) for pt in PERIOD_TYPES}
    keys |= {("year", date(y, 1, 1)) for y in target_years if y <= as_of.year}
    return keys


def compute_run(
    records: Iterable[Mapping],
    procedures: Iterable[Mapping],
    units: Iterable[Mapping],
    as_of: date,
    target_years: Iterable[int] = (),
) -> dict[tuple[str, str, str, date], Snapshot]:
    """Every snapshot a run as of ``as_of`` writes:
    (unit, indicator, period_type, period_start) -> (numerator, denominator, value_pct).
    """
    records, procedures, units = list(records), list(procedures), list(units)
    result = {}
    for period_type, period_start in sorted(expected_snapshot_keys(as_of, target_years)):
        snaps = compute_snapshots(records, procedures, units, as_of, period_type, period_start)
        for (unit, ind), snap in snaps.items():
            result[(unit, ind, period_type, period_start)] = snap
    return result


# --------------------------------------------------------------------------------------------
# Target evaluation
# --------------------------------------------------------------------------------------------


def evaluate_target(
    numerator: int | None,
    denominator: int | None,
    comparator: str,
    threshold_pct: Decimal,
    year: int,
    as_of: date,
    has_indicator: bool,
    report_due: date | None = None,
) -> str:
    """Status of a target for ``year`` as of ``as_of`` on the exact ratio (indicators.md).
    Without an indicator and with ``report_due`` (the day the year's reported figure is
    due; reported-figures.md) and no reported figure: awaiting_report after it, else
    not_due."""
    if comparator not in (">=", ">"):
        raise ValueError(f"unknown comparator {comparator!r}")
    if year > as_of.year:
        raise ValueError("a target is evaluated only for years up to year(A)")
    if not has_indicator:
        if report_due is not None:
            return "awaiting_report" if as_of > report_due else "not_due"
        return "not_measured"
    if not denominator:
        return "no_data"
    assert numerator is not None
    exact = Fraction(100 * numerator, denominator)
    threshold = Fraction(threshold_pct)
    passes = exact >= threshold if comparator == ">=" else exact > threshold
    if as_of >= date(year, 12, 31):
        return "met" if passes else "missed"
    return "on_track" if passes else "at_risk"


# --------------------------------------------------------------------------------------------
# What it takes (outlook of a running year)
# --------------------------------------------------------------------------------------------


def _passes(n: int, d: int, comparator: str, threshold: Fraction) -> bool:
    ratio = Fraction(100 * n, d)
    return ratio >= threshold if comparator == ">=" else ratio > threshold


def outlook(
    numerator: int | None,
    denominator: int | None,
    comparator: str,
    threshold_pct: Decimal,
    year: int,
    as_of: date,
    indicator: str | None,
) -> tuple[int | None, int | None, Decimal | None, str | None]:
    """(projected_denominator, needed_numerator, needed_share_pct, outlook) of indicators.md
    "What it takes"; all None when there is no outlook.

    Reading: ``d`` counts 1 January .. A (A included), ``r`` the days after A up to
    31 December; ``out_of_reach`` when the exact share is over 100 % (more records must pass
    than the rest of the year brings), which the rounded ``needed_share_pct`` shows as > 100
    except within 0.005 of it.
    """
    none = (None, None, None, None)
    if indicator is None or indicator in CATALOGUE_INDICATORS or not denominator:
        return none
    year_start, year_end = date(year, 1, 1), date(year, 12, 31)
    if as_of < year_start or as_of >= year_end:
        return none
    num = numerator or 0
    d = (as_of - year_start).days + 1
    r = (year_end - as_of).days
    extra = Fraction(denominator * r, d)
    extra_ceil = int(extra) if extra.denominator == 1 else int(extra) + 1  # positive
    projected = denominator + extra_ceil
    threshold = Fraction(threshold_pct)
    low, high = 0, max(1, projected)
    while not _passes(high, projected, comparator, threshold):  # thresholds above 100 %
        high *= 2
    while low < high:  # smallest n that passes
        mid = (low + high) // 2
        if _passes(mid, projected, comparator, threshold):
            high = mid
        else:
            low = mid + 1
    needed = low
    rest = projected - denominator
    if needed - num <= 0:
        share = Decimal("0.00")
    else:
        share = value_pct(needed - num, rest)
    verdict = "out_of_reach" if Fraction(needed - num, rest) > 1 else "reachable"
    return projected, needed, share, verdict


# --------------------------------------------------------------------------------------------
# Biểu số 06/VPCP/KSTT
# --------------------------------------------------------------------------------------------

FORM06_COUNTS: tuple[str, ...] = (
    "received_online",
    "received_in_person_or_postal",
    "carried_over",
    "resolved_early",
    "resolved_on_time",
    "resolved_late",
    "withdrawn_or_stopped",
    "open_within_deadline",
    "open_overdue",
)


def form06_record(record: Mapping, p0: date, end: date) -> dict[str, int]:
    """The nine Biểu 06 counts one record contributes to a period ``[p0, end]`` (cut)."""
    status = as_int(record.get("TrangThaiHoSo"))
    received_d = day_of(record.get("NgayTiepNhan"))
    due_d = day_of(record.get("NgayHenTra"))
    ended_d = None if status in (2, 4, 5, 6) else day_of(record.get("NgayKetThucXuLy"))
    channel = record.get("KenhThucHien")
    channel = 1 if channel is None else as_int(channel)
    taken = status not in (1, 3) and received_d is not None
    received = taken and p0 <= received_d <= end
    resolved = status in (9, 10) and ended_d is not None and p0 <= ended_d <= end
    open_at_end = taken and received_d <= end and (ended_d is None or ended_d > end)
    within = due_d is None or due_d >= end
    return {
        "received_online": int(received and channel == 2),
        "received_in_person_or_postal": int(received and channel != 2),
        "carried_over": int(taken and received_d < p0 and (ended_d is None or ended_d >= p0)),
        "resolved_early": int(resolved and due_d is not None and ended_d < due_d),
        "resolved_on_time": int(resolved and (due_d is None or ended_d == due_d)),
        "resolved_late": int(resolved and due_d is not None and ended_d > due_d),
        "withdrawn_or_stopped": int(status in (7, 8) and ended_d is not None
                                    and p0 <= ended_d <= end),
        "open_within_deadline": int(open_at_end and within),
        "open_overdue": int(open_at_end and not within),
    }


def compute_form06(
    records: Iterable[Mapping],
    units: Iterable[Mapping],
    as_of: date,
    period_type: str,
    period_start: date,
) -> dict[tuple[str, str | None], tuple[str | None, tuple[int, ...]]]:
    """(unit, field code or None for all fields) -> (field name, the nine counts).

    Every unit gets its all-fields row; a field row appears when one of its counts is not
    zero. The field is ``MaLinhVuc`` (missing: ``""``); its name the smallest ``TenLinhVuc``
    among the records the row counts (None when none has one).
    """
    units = list(units)
    p0, p1 = period_bounds(period_type, period_start)
    end = min(p1, as_of)
    above = _ancestors_or_self(units)
    sums: dict[tuple[str, str | None], list[int]] = {
        (u, None): [0] * len(FORM06_COUNTS) for u in above}
    names: dict[tuple[str, str], set[str]] = defaultdict(set)
    for record in records:
        unit = record.get("MaDonVi")
        if unit not in above:
            continue
        counts = form06_record(record, p0, end)
        field = record.get("MaLinhVuc")
        field = "" if field is None else field
        if not any(counts.values()):
            continue
        for u in above[unit]:
            if isinstance(record.get("TenLinhVuc"), str):
                names[(u, field)].add(record["TenLinhVuc"])
            for key in ((u, None), (u, field)):
                row = sums.setdefault(key, [0] * len(FORM06_COUNTS))
                for k, name in enumerate(FORM06_COUNTS):
                    row[k] += counts[name]
    return {
        key: (None if key[1] is None else min(names[key], default=None), tuple(row))
        for key, row in sums.items()
    }


def form06_reconciles(counts: Mapping[str, int] | tuple[int, ...]) -> bool:
    """received online + in person/postal + carried over = resolved early + on time + late +
    withdrawn/stopped + open within deadline + open overdue."""
    if not isinstance(counts, Mapping):
        counts = dict(zip(FORM06_COUNTS, counts, strict=True))
    incoming = (counts["received_online"] + counts["received_in_person_or_postal"]
                + counts["carried_over"])
    outgoing = (counts["resolved_early"] + counts["resolved_on_time"] + counts["resolved_late"]
                + counts["withdrawn_or_stopped"] + counts["open_within_deadline"]
                + counts["open_overdue"])
    return incoming == outgoing
