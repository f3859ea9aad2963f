"""The portal boundary: DongBoHoSoMC / catalogue / unit fields, parsed and mapped once.

Everything past this module speaks English (docs/contracts/glossary.md); the Vietnamese field
names of the portal contract appear only here and in the validation suite.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from datetime import date, datetime
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
PORTAL_TIME_FORMAT = "%Y%m%d%H%M%S"
_PORTAL_TIME_RE = re.compile(r"[0-9]{14}")

DATE_FIELDS = ("NgayTiepNhan", "NgayHenTra", "NgayKetThucXuLy", "NgayTra", "NgayCapNhat")
PERSONAL_FIELDS = ("ChuHoSo", "SoGiayToChuHoSo", "SoDienThoai", "Email", "DiaChi")
# Statuses 2, 4, 5, 6 are still being handled: their NgayKetThucXuLy is ignored.
OPEN_STATUSES = frozenset({2, 4, 5, 6})
CERTIFICATION_FIELD = "chung thuc"


def parse_portal_time(value) -> datetime | None:
    """`yyyyMMddHHmmss` local time → naive datetime; None or "" → None; else ValueError."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not _PORTAL_TIME_RE.fullmatch(value):
        raise ValueError(f"not a yyyyMMddHHmmss date: {value!r}")
    try:  # the constructor checks the calendar (no 30 February), ~10x faster than strptime
        return datetime(int(value[:4]), int(value[4:6]), int(value[6:8]), int(value[8:10]),
                        int(value[10:12]), int(value[12:14]))
    except ValueError as exc:
        raise ValueError(f"not a real date and time: {value!r}") from exc


def format_portal_time(moment: datetime) -> str:
    return moment.strftime(PORTAL_TIME_FORMAT)


def as_int(value) -> int | None:
    """An int or a digit string as int; anything else (bool, float, text, None) → None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return None


def fold_text(text: str | None) -> str:
    """NFD, combining marks removed, đ/Đ → d, case folded, whitespace trimmed and collapsed."""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    stripped = stripped.replace("đ", "d").replace("Đ", "D").casefold()
    return " ".join(stripped.split())


def _day(moment: datetime | None) -> date | None:
    return moment.date() if moment else None


def _flag(value) -> bool:
    return as_int(value) == 1


def fee_items_valid(items) -> bool:
    """Every `Gia` of DanhSachLePhi is a JSON integer ≥ 0 (null list = no fees)."""
    if items is None:
        return True
    if not isinstance(items, list):
        return False
    for item in items:
        if not isinstance(item, dict):
            return False
        price = item.get("Gia")
        if isinstance(price, bool) or not isinstance(price, int) or price < 0:
            return False
    return True


def _fee_total(items) -> int:
    return sum(i["Gia"] for i in items or ())


def _has_electronic_result(items) -> bool:
    for item in items or ():
        link = item.get("DuongDanTepTinKetQua") if isinstance(item, dict) else None
        if isinstance(link, str) and link.strip():
            return True
    return False


def applicant_hash(id_number, key: bytes | None) -> str | None:
    """Keyed hash (HMAC-SHA256) of the applicant's ID number; None without a key or number."""
    if not key or id_number in (None, ""):
        return None
    normalized = "".join(str(id_number).split()).upper()
    return hmac.new(key, normalized.encode(), hashlib.sha256).hexdigest()


def dossier_row(record: dict, *, portal_code: str, pii_key: bytes | None) -> dict:
    """A validated record version → its fct_dossier row (no personal data in clear)."""
    status = as_int(record.get("TrangThaiHoSo"))
    received = parse_portal_time(record.get("NgayTiepNhan"))
    due = parse_portal_time(record.get("NgayHenTra"))
    ended = parse_portal_time(record.get("NgayKetThucXuLy"))
    fees = record.get("DanhSachLePhi")
    supplements = record.get("DanhSachHoSoBoSung")
    level = record.get("MucDo")
    return {
        "portal_code": portal_code,
        "dossier_code": str(record["MaHoSo"]).strip(),
        "unit_code": str(record["MaDonVi"]),
        "procedure_code": record.get("MaTTHC"),
        "procedure_name": record.get("TenTTHC"),
        "field_code": record.get("MaLinhVuc"),
        "field_name": record.get("TenLinhVuc"),
        "is_certification": fold_text(record.get("TenLinhVuc")) == CERTIFICATION_FIELD,
        "channel": as_int(record.get("KenhThucHien")) or 1,
        "service_level": None if level is None else str(level),
        "applicant_type": as_int(record.get("LoaiDoiTuong")),
        "applicant_id_hash": applicant_hash(record.get("SoGiayToChuHoSo"), pii_key),
        "status": status,
        "received_at": received,
        "due_at": due,
        "ended_at": ended,
        "returned_at": parse_portal_time(record.get("NgayTra")),
        "updated_at": parse_portal_time(record.get("NgayCapNhat")),
        "received_date": _day(received),
        "due_date": _day(due),
        "ended_date": None if status in OPEN_STATUSES else _day(ended),
        "result_delivery": as_int(record.get("HinhThuc")),
        "online_payment": as_int(record.get("DuocThanhToanTrucTuyen")),
        "has_digitized_papers": _flag(record.get("HoSoCoThanhPhanSoHoa")),
        "fee_total": _fee_total(fees),
        "has_fee": any(i["Gia"] > 0 for i in fees or ()),
        "has_electronic_result": _has_electronic_result(record.get("DanhSachGiayToKetQua")),
        "supplement_requests": len(supplements) if isinstance(supplements, list) else 0,
        "satisfaction": as_int(record.get("MucDoHaiLong")),
    }


def unit_row(item: dict, *, portal_code: str) -> dict:
    return {
        "unit_code": item["MaDonVi"],
        "portal_code": portal_code,
        "unit_name": item.get("TenDonVi"),
        "parent_code": item.get("MaDonViCha") or None,
        "unit_level": item.get("CapDonVi"),
    }


def procedure_row(item: dict, *, portal_code: str) -> dict:
    level = item.get("MucDo")
    return {
        "portal_code": portal_code,
        "procedure_code": item["MaTTHC"],
        "procedure_name": item.get("TenTTHC"),
        "field_code": item.get("MaLinhVuc"),
        "field_name": item.get("TenLinhVuc"),
        "service_level": None if level is None else str(level),
        "full_online_eligible": _flag(item.get("DuDieuKienToanTrinh")),
        "has_fee": _flag(item.get("CoNghiaVuTaiChinh")),
        "online_payment_offered": _flag(item.get("CoThanhToanTrucTuyen")),
        "on_national_portal": _flag(item.get("DaTichHopDVCQG")),
    }


def procedure_unit_rows(item: dict, *, portal_code: str) -> list[dict]:
    units = item.get("MaDonViThucHien") or []
    if isinstance(units, str):
        units = [units]
    return [
        {"portal_code": portal_code, "procedure_code": item["MaTTHC"], "unit_code": u}
        for u in dict.fromkeys(units)
        if u
    ]


def record_key(record: dict) -> str:
    """MaHoSo when there is one, else a stable hash of the payload."""
    code = record.get("MaHoSo")
    if isinstance(code, str | int) and not isinstance(code, bool) and str(code).strip():
        return str(code).strip()
    return "sha256:" + hashlib.sha256(canonical_json(record).encode()).hexdigest()[:40]


def version_key(record: dict) -> str:
    value = record.get("NgayCapNhat")
    return value if isinstance(value, str) else ("" if value is None else repr(value))


def canonical_json(record: dict) -> str:
    import json

    return json.dumps(record, ensure_ascii=False, sort_keys=True, default=str)
