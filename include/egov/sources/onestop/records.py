"""The portal boundary: DongBoHoSoMC / catalogue / unit fields, typed, bounded and mapped once.

Everything past this module speaks English (docs/contracts/glossary.md); the Vietnamese field
names of the portal contract appear only here and in the validation suite.

A record version is parsed once (`parse_version`) into a `RecordVersion`: its key, the
columns the validation suite reads (`checks`, in `RECORD_COLUMNS` order) and its fct_dossier
row. Any JSON value in any field gives a version: a value that breaks a contract rule shows in
`checks` and the suite rejects the version; a kept value that a warehouse column cannot hold
is stored as null or cut and noted in `adjusted` (docs/decisions.md, "Column sizes").
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import re
import reprlib
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
PORTAL_TIME_FORMAT = "%Y%m%d%H%M%S"
_PORTAL_TIME_RE = re.compile(r"[0-9]{14}")

DATE_FIELDS = ("NgayTiepNhan", "NgayHenTra", "NgayKetThucXuLy", "NgayTra", "NgayCapNhat")
PERSONAL_FIELDS = ("ChuHoSo", "SoGiayToChuHoSo", "SoDienThoai", "Email", "DiaChi")
# Statuses 2, 4, 5, 6 are still being handled: their NgayKetThucXuLy is ignored.
OPEN_STATUSES = frozenset({2, 4, 5, 6})
CERTIFICATION_FIELD = "chung thuc"

# What the warehouse columns hold (migration 0004; docs/decisions.md "Column sizes").
CODE_MAX = 255  # codes: MaHoSo, MaDonVi, MaDonViCha, MaTTHC, MaLinhVuc, MaDonViThucHien
NAME_MAX = 2000  # names: TenTTHC, TenLinhVuc, TenDonVi
SHORT_MAX = 32  # MucDo, CapDonVi
VERSION_KEY_MAX = 64  # quarantine_record.version_key
SMALLINT_MIN, SMALLINT_MAX = -(2**15), 2**15 - 1
BIGINT_MAX = 2**63 - 1
PRICE_MAX = 10**12  # a Gia above this is malformed (portal-api.md)
FUTURE_TOLERANCE = timedelta(days=1)  # NgayCapNhat later than request + this: malformed
_HASH_CHARS = 16

# A digit string longer than this (leading zeros aside) is beyond every integer column; it
# reads as OUT_OF_RANGE, so no check ever takes it for a small number.
_MAX_DIGITS = 18
OUT_OF_RANGE = 10**19

# Characters neither database stores in text: NUL (PostgreSQL) and lone surrogates (no UTF-8).
_UNSTORABLE = re.compile("[\\x00\\ud800-\\udfff]")
REPLACEMENT = "\ufffd"

NULLED, CUT = "null", "cut"  # how a kept value was adjusted to fit its column


# ----------------------------------------------------------------------------- scalar values

def parse_portal_time(value: Any) -> datetime | None:
    """`yyyyMMddHHmmss` local time → naive datetime; None or "" → None; else ValueError."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not _PORTAL_TIME_RE.fullmatch(value):
        raise ValueError(f"not a yyyyMMddHHmmss date: {_short(value)}")
    try:
        return digits_moment(value)
    except ValueError as exc:
        raise ValueError(f"not a real date and time: {value!r}") from exc


def digits_moment(value: str) -> datetime:
    """14 ASCII digits `yyyyMMddHHmmss` → datetime; ValueError unless a real calendar day and
    time (no 30 February, no hour 24). ISO basic format read in C: ~4x faster than the
    constructor from six int() slices, ~40x faster than strptime."""
    if value[8:10] == "24":  # some Pythons read 24:00:00 as the next day's midnight
        raise ValueError("hour 24")
    return datetime.fromisoformat(f"{value[:8]}T{value[8:]}")


def format_portal_time(moment: datetime) -> str:
    return moment.strftime(PORTAL_TIME_FORMAT)


def local_moment(value: Any) -> datetime | None:
    """An ISO timestamp (aware, or naive = this machine's time) or datetime → naive local
    time of Asia/Ho_Chi_Minh, the portals' clock; None when absent or unreadable."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    return value.astimezone(LOCAL_TZ).replace(tzinfo=None)


def as_int(value: Any) -> int | None:
    """An int or a digit string as int; anything else (bool, float, text, None) → None.
    A digit string beyond 64 bits reads as OUT_OF_RANGE (never as a small number)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        digits = value.lstrip("0")
        return int(digits or "0") if len(digits) <= _MAX_DIGITS else OUT_OF_RANGE
    return None


def fold_text(text: str | None) -> str:
    """NFD, combining marks removed, đ/Đ → d, case folded, whitespace trimmed and collapsed."""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    stripped = stripped.replace("đ", "d").replace("Đ", "D").casefold()
    return " ".join(stripped.split())


def _is_certification(field_name: str) -> bool:
    """TenLinhVuc folded equals "chung thuc" (a portal has few distinct field names: cached,
    the short ones)."""
    if len(field_name) > 100:
        return fold_text(field_name) == CERTIFICATION_FIELD
    return _is_certification_cached(field_name)


@functools.lru_cache(maxsize=4096)
def _is_certification_cached(field_name: str) -> bool:
    return fold_text(field_name) == CERTIFICATION_FIELD


def code_text(value: Any) -> str | None:
    """A code as the contract has it: a string that is not blank (kept exactly), else None."""
    return value if isinstance(value, str) and value.strip() else None


_REPR = reprlib.Repr()
_REPR.maxstring, _REPR.maxother, _REPR.maxlong = 60, 60, 40
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = 4
_REPR.maxlevel = 2


def _short(value: Any) -> str:
    """A bounded repr, cheap even for a huge value (for `invalid:<value>` check texts)."""
    return _REPR.repr(value)


def _digest(text: str, chars: int = 40) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:chars]


def storable(text: str) -> tuple[str, bool]:
    """`text` with the characters no database stores (NUL, lone surrogates) replaced by
    U+FFFD; and whether any was."""
    if _UNSTORABLE.search(text) is None:
        return text, False
    return _UNSTORABLE.sub(REPLACEMENT, text), True


def bounded_code(code: str) -> tuple[str, bool]:
    """A code as stored: itself when it fits (≤ CODE_MAX characters, storable); else its
    storable head + "~" + a hash of the whole, CODE_MAX long (distinct codes stay distinct,
    and the same code gives the same key everywhere). Returns (code, adjusted?)."""
    if len(code) <= CODE_MAX and _UNSTORABLE.search(code) is None:
        return code, False
    head, _ = storable(code[:CODE_MAX - _HASH_CHARS - 1])
    return f"{head}~{_digest(code, _HASH_CHARS)}", True


def code_key(value: Any) -> str | None:
    """A code as the checks compare it and the warehouse stores it: `bounded_code` of a
    non-blank string (kept exactly when it fits), else None. Any text GX or a database sees
    is storable (GX hashes its frames as UTF-8)."""
    code = code_text(value)
    return None if code is None else bounded_code(code)[0]


def _code_field(value: Any, field: str, adjusted: list[tuple[str, str]]) -> str | None:
    """A kept code field: null when absent or blank; a non-string is stored null."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        adjusted.append((field, NULLED))
        return None
    if not value.strip():
        return None
    code, cut = bounded_code(value)
    if cut:
        adjusted.append((field, CUT))
    return code


def _text_field(value: Any, field: str, limit: int, adjusted: list[tuple[str, str]]) -> str | None:
    """A kept text field: a non-string is stored null; a string is cut to `limit` characters
    and stripped of unstorable characters."""
    if value is None:
        return None
    if not isinstance(value, str):
        adjusted.append((field, NULLED))
        return None
    text = value[:limit]
    text, changed = storable(text)
    if changed or len(value) > limit:
        adjusted.append((field, CUT))
    return text


def _small_int(value: Any, field: str, adjusted: list[tuple[str, str]]) -> int | None:
    """A kept integer field (SmallInteger): not an integer, or beyond the column → null."""
    if value is None:
        return None
    number = as_int(value)
    if number is None or not SMALLINT_MIN <= number <= SMALLINT_MAX:
        adjusted.append((field, NULLED))
        return None
    return number


def _flag(value: Any) -> bool:
    return as_int(value) == 1


def _check_int(value: Any, *, nullable: bool) -> str | None:
    """An integer field for the suite: its number as text, None when null is allowed,
    `invalid:<value>` otherwise (never in a value set)."""
    if value is None and nullable:
        return None
    number = as_int(value)
    return str(number) if number is not None else "invalid:" + _short(value)


def _check_date(value: Any) -> tuple[str | None, bool | None, datetime | None]:
    """(check text, is a real time?, moment) of a date field. Missing (None, "") → all None;
    14 ASCII digits → the text, whether it is a real local time, the moment; anything else
    → `invalid:<value>` (never matches the format)."""
    if value is None or value == "":
        return None, None, None
    if isinstance(value, str) and len(value) == 14 and value.isascii() and value.isdigit():
        try:
            moment = digits_moment(value)
        except ValueError:
            return value, False, None
        return value, True, moment
    return "invalid:" + _short(value), None, None


def _fees(items: Any) -> tuple[bool, int, bool]:
    """(every Gia valid, total, any Gia > 0) of DanhSachLePhi. A Gia must be a JSON integer in
    0..PRICE_MAX; an object item without one breaks the rule. A DanhSachLePhi that is not a
    list, or items that are not objects, carry no Gia: they break nothing and add nothing."""
    if not isinstance(items, list):
        return True, 0, False
    valid, total, positive = True, 0, False
    for item in items:
        if not isinstance(item, dict):
            continue
        price = item.get("Gia")
        if type(price) is not int or not 0 <= price <= PRICE_MAX:
            valid = False
            continue
        total += price
        positive = positive or price > 0
    return valid, total, positive


def _has_electronic_result(items: Any) -> bool:
    if not isinstance(items, list):
        return False
    for item in items:
        link = item.get("DuongDanTepTinKetQua") if isinstance(item, dict) else None
        if isinstance(link, str) and link.strip():
            return True
    return False


def applicant_hash(id_number: Any, key: bytes | None) -> str | None:
    """Keyed hash (HMAC-SHA256) of the applicant's ID number (a string or an integer); None
    without a key or a number."""
    if not key or id_number in (None, "") or isinstance(id_number, bool) \
            or not isinstance(id_number, str | int):
        return None
    normalized = "".join(str(id_number).split()).upper()
    return hmac.new(key, normalized.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


# ----------------------------------------------------------------------------- keys

def canonical_json(record: Any) -> str:
    try:
        return json.dumps(record, ensure_ascii=False, sort_keys=True, default=str)
    except RecursionError:  # nested too deeply to write: its deepest values cut
        from egov.masking import shallow
        from egov.sources.onestop.json_body import MAX_DEPTH

        return json.dumps(shallow(record, MAX_DEPTH), ensure_ascii=False, sort_keys=True, default=str)


def payload_json(record: Any) -> str:
    """The version as received, as JSON text any database stores (non-ASCII escaped only
    when it holds lone surrogates)."""
    text = canonical_json(record)
    if _UNSTORABLE.search(text) is None:
        return text
    return json.dumps(record, ensure_ascii=True, sort_keys=True, default=str)


def _hash_key(item: Any) -> str:
    return "sha256:" + _digest(canonical_json(item))


def record_key(record: Any) -> str:
    """MaHoSo (trimmed, bounded as stored) when it is a non-blank string, else a stable hash of
    the whole item."""
    code = record.get("MaHoSo") if isinstance(record, dict) else None
    if isinstance(code, str):
        code = code.strip()
        if code:
            return bounded_code(code)[0]
    return _hash_key(record)


def version_key(record: Any) -> str:
    """NgayCapNhat as received ('' when missing), bounded: a value that does not fit
    quarantine_record.version_key is replaced by a hash of it."""
    value = record.get("NgayCapNhat") if isinstance(record, dict) else None
    if value is None:
        return ""
    text = value if isinstance(value, str) else repr(value)
    if len(text) <= VERSION_KEY_MAX and _UNSTORABLE.search(text) is None:
        return text
    return "sha256:" + _digest(text)


def dedup_key(item: Any) -> tuple[str, str]:
    """What makes two received items the same version: (record key, version key); items
    without a usable MaHoSo cannot be matched to a record: ("", hash of the whole item)."""
    if isinstance(item, dict):
        code = item.get("MaHoSo")
        if isinstance(code, str) and code.strip():
            return record_key(item), version_key(item)
    return "", _hash_key(item)


# ----------------------------------------------------------------------------- record versions

# The columns the record suite reads (egov.quality.records), in the order of RecordVersion.checks.
RECORD_COLUMNS = ("is_object", "MaHoSo", "MaDonVi", "TrangThaiHoSo", "KenhThucHien",
                  "fees_valid", *DATE_FIELDS, *(f"{n}__real" for n in DATE_FIELDS),
                  "received_day", "due_day", "NgayCapNhat__not_future", "procedure_code",
                  "LoaiDoiTuong", "MucDoHaiLong", "nesting")

_NON_OBJECT_CHECKS = (False, None, None, "invalid:None", None, True, *(None,) * 10, None, None,
                      None, "", None, None, True)


@dataclass(slots=True, eq=False)
class RecordVersion:
    """One `/api/hoso` item, parsed once.

    - `payload`: the item as received (any JSON value);
    - `record_key`, `version_key`: what names it (`record_key` is the fct_dossier
      `dossier_code` of an accepted version);
    - `requested_at`: local time of the request that returned it (None: unknown);
    - `updated_at`: its NgayCapNhat when that is a real local time;
    - `checks`: the values the record suite reads, in RECORD_COLUMNS order;
    - `row`: its fct_dossier row without portal_code, applicant_id_hash, run_id, loaded_at
      (None for an item that is not an object);
    - `adjusted`: (field, "null" | "cut") for each kept value its column cannot hold.
    """

    payload: object
    record_key: str
    version_key: str
    requested_at: datetime | None
    updated_at: datetime | None
    checks: tuple[Any, ...]
    row: dict[str, Any] | None
    adjusted: tuple[Any, ...]

    @property
    def identity(self) -> tuple[str, str]:
        return self.record_key, self.version_key

    @property
    def is_future(self) -> bool:
        """NgayCapNhat is more than FUTURE_TOLERANCE after the request that returned it."""
        return self.checks[_FUTURE_COLUMN] is False

    def value(self, field: str) -> Any:
        """The field as received (None when absent or the item is not an object)."""
        return self.payload.get(field) if isinstance(self.payload, dict) else None


_FUTURE_COLUMN = RECORD_COLUMNS.index("NgayCapNhat__not_future")
assert len(_NON_OBJECT_CHECKS) == len(RECORD_COLUMNS)


MAX_NESTING = 64  # levels of arrays / objects in one field of a record version


def _over(value: Any, limit: int) -> bool:
    """Whether `value` holds arrays / objects more than `limit` levels deep (level by level,
    no recursion)."""
    level = [value]
    for _ in range(limit):
        deeper = []
        for node in level:
            for child in node.values() if type(node) is dict else node:
                if type(child) is list or type(child) is dict:
                    deeper.append(child)
        if not deeper:
            return False
        level = deeper
    return True


def _nesting(item: dict[str, Any]) -> bool | str:
    """True, or the fields (comma separated) whose value is nested deeper than MAX_NESTING."""
    for v in item.values():
        if (type(v) is list or type(v) is dict) and v and _over(v, MAX_NESTING):
            return ", ".join(sorted(str(k) for k, x in item.items()
                                    if (type(x) is list or type(x) is dict) and x
                                    and _over(x, MAX_NESTING)))
    return True


def parse_version(item: Any, requested_at: datetime | None = None) -> RecordVersion:
    """One received item → its RecordVersion (never raises, whatever the item holds)."""
    if not isinstance(item, dict):
        return RecordVersion(item, _hash_key(item), "", requested_at, None, _NON_OBJECT_CHECKS,
                             None, ())
    get = item.get
    adjusted: list[tuple[str, str]] = []

    code = get("MaHoSo")
    code = code if isinstance(code, str) and code.strip() else None
    unit = code_text(get("MaDonVi"))
    if code is not None:
        key, cut = bounded_code(code.strip())
        if cut:
            adjusted.append(("MaHoSo", CUT))
    else:
        key = _hash_key(item)
    stored_unit = None
    if unit is not None:
        stored_unit, cut = bounded_code(unit)
        if cut:
            adjusted.append(("MaDonVi", CUT))

    status = as_int(get("TrangThaiHoSo"))
    channel_value = get("KenhThucHien")
    channel = as_int(channel_value)
    fees_valid, fee_total, has_fee = _fees(get("DanhSachLePhi"))
    if fee_total > BIGINT_MAX:
        fee_total = BIGINT_MAX
        adjusted.append(("DanhSachLePhi", CUT))

    texts, reals, moments = [], [], []
    for name in DATE_FIELDS:
        text, real, moment = _check_date(get(name))
        texts.append(text)
        reals.append(real)
        moments.append(moment)
    received, due, ended, returned, updated = moments
    not_future = None
    if updated is not None and requested_at is not None:
        not_future = updated <= requested_at + FUTURE_TOLERANCE
    procedure = get("MaTTHC")

    checks = (
        True, key if code is not None else None, stored_unit,
        _check_int(get("TrangThaiHoSo"), nullable=False),
        _check_int(channel_value, nullable=True), fees_valid, *texts, *reals,
        texts[0][:8] if received else None,  # type: ignore[index]  # the calendar day: yyyyMMdd of a real time
        texts[1][:8] if due else None,  # type: ignore[index]  # (a moment has its text; no cast: hot path)
        not_future,
        code_key(procedure) or "",
        _check_int(get("LoaiDoiTuong"), nullable=True),
        _check_int(get("MucDoHaiLong"), nullable=True),
        _nesting(item),
    )

    field_name = get("TenLinhVuc")
    level = get("MucDo")
    id_number = get("SoGiayToChuHoSo")
    if id_number not in (None, "") and (isinstance(id_number, bool)
                                        or not isinstance(id_number, str | int)):
        adjusted.append(("SoGiayToChuHoSo", NULLED))
    supplements = get("DanhSachHoSoBoSung")
    supplement_count = len(supplements) if isinstance(supplements, list) else 0
    if supplement_count > SMALLINT_MAX:
        supplement_count = SMALLINT_MAX
        adjusted.append(("DanhSachHoSoBoSung", CUT))
    status_ok = status if status is not None and 1 <= status <= 10 else None
    row = {
        "dossier_code": key,
        "unit_code": stored_unit,
        "procedure_code": _code_field(procedure, "MaTTHC", adjusted),
        "procedure_name": _text_field(get("TenTTHC"), "TenTTHC", NAME_MAX, adjusted),
        "field_code": _code_field(get("MaLinhVuc"), "MaLinhVuc", adjusted),
        "field_name": _text_field(field_name, "TenLinhVuc", NAME_MAX, adjusted),
        "is_certification": isinstance(field_name, str) and _is_certification(field_name),
        "channel": channel if channel in (1, 2, 3) else 1,  # null counts as in person
        "service_level": _text_field(level, "MucDo", SHORT_MAX, adjusted),
        "applicant_type": _small_int(get("LoaiDoiTuong"), "LoaiDoiTuong", adjusted),
        "status": status_ok,
        "received_at": received,
        "due_at": due,
        "ended_at": ended,
        "returned_at": returned,
        "updated_at": updated,
        "received_date": received.date() if received else None,
        "due_date": due.date() if due else None,
        "ended_date": None if status_ok in OPEN_STATUSES or ended is None else ended.date(),
        "result_delivery": _small_int(get("HinhThuc"), "HinhThuc", adjusted),
        "online_payment": _small_int(get("DuocThanhToanTrucTuyen"), "DuocThanhToanTrucTuyen",
                                     adjusted),
        "has_digitized_papers": _flag(get("HoSoCoThanhPhanSoHoa")),
        "fee_total": fee_total,
        "has_fee": has_fee,
        "has_electronic_result": _has_electronic_result(get("DanhSachGiayToKetQua")),
        "supplement_requests": supplement_count,
        "satisfaction": _small_int(get("MucDoHaiLong"), "MucDoHaiLong", adjusted),
    }
    return RecordVersion(item, key, version_key(item), requested_at, updated, checks, row,
                         tuple(adjusted))


def newest_versions(versions: list[RecordVersion]) -> list[RecordVersion]:
    """The newest version of each record (by NgayCapNhat; a later arrival wins a tie)."""
    newest: dict[str, RecordVersion] = {}
    for version in versions:
        held = newest.get(version.record_key)
        if held is None or (version.updated_at is not None and (
                held.updated_at is None or version.updated_at >= held.updated_at)):
            newest[version.record_key] = version
    return list(newest.values())


def dossier_row(record: Any, *, portal_code: str, pii_key: bytes | None) -> dict[str, Any]:
    """A record version (raw item or RecordVersion) → its fct_dossier row (no personal data
    in clear; the ID number only as its keyed hash)."""
    version = record if isinstance(record, RecordVersion) else parse_version(record)
    return {"portal_code": portal_code, **cast(dict[str, Any], version.row),
            "applicant_id_hash": applicant_hash(version.value("SoGiayToChuHoSo"), pii_key)}


def adjustment_counts(versions: Iterable[RecordVersion]) -> Counter[tuple[str, str]]:
    """(field, "null" | "cut") → how many values of `versions` were adjusted to fit."""
    counts: Counter[tuple[str, str]] = Counter()
    for version in versions:
        if version.adjusted:
            counts.update(version.adjusted)
    return counts


# ----------------------------------------------------------------------------- units, catalogue

def _note(adjusted: Counter[tuple[str, str]] | None, notes: list[tuple[str, str]]) -> None:
    if adjusted is not None and notes:
        adjusted.update(notes)


def unit_rows(items: Any, *, portal_code: str, adjusted: Counter[tuple[str, str]] | None = None) -> dict[str, dict[str, Any]]:
    """`/api/donvi` items → dim_unit rows by stored code (the last item of a code wins).
    Items that are not objects or have no MaDonVi (a non-blank string) are skipped: the unit
    suite reports them."""
    rows: dict[str, dict[str, Any]] = {}
    for item in items:
        code = code_text(item.get("MaDonVi")) if isinstance(item, dict) else None
        if code is None:
            continue
        notes: list[tuple[str, str]] = []
        stored, cut = bounded_code(code)
        if cut:
            notes.append(("MaDonVi", CUT))
        rows[stored] = {
            "unit_code": stored,
            "portal_code": portal_code,
            "unit_name": _text_field(item.get("TenDonVi"), "TenDonVi", NAME_MAX, notes),
            "parent_code": _code_field(item.get("MaDonViCha"), "MaDonViCha", notes),
            "unit_level": _text_field(item.get("CapDonVi"), "CapDonVi", SHORT_MAX, notes),
        }
        _note(adjusted, notes)
    return rows


def procedure_rows(items: Any, *, portal_code: str, adjusted: Counter[tuple[str, str]] | None = None
                   ) -> tuple[dict[str, dict[str, Any]], dict[tuple[str, str], dict[str, Any]]]:
    """`/api/tthc` items → (dim_procedure rows by stored code, procedure_unit rows by
    (procedure, unit)); the last item of a code wins. Items that are not objects or have no
    MaTTHC (a non-blank string) are skipped: the catalogue suite reports them.
    `MaDonViThucHien` given as one string is read as a one-item list; items of it that are
    not strings are dropped (noted as nulled)."""
    rows: dict[str, dict[str, Any]] = {}
    links: dict[tuple[str, str], dict[str, Any]] = {}
    for item in items:
        code = code_text(item.get("MaTTHC")) if isinstance(item, dict) else None
        if code is None:
            continue
        notes: list[tuple[str, str]] = []
        stored, cut = bounded_code(code)
        if cut:
            notes.append(("MaTTHC", CUT))
        rows[stored] = {
            "portal_code": portal_code,
            "procedure_code": stored,
            "procedure_name": _text_field(item.get("TenTTHC"), "TenTTHC", NAME_MAX, notes),
            "field_code": _code_field(item.get("MaLinhVuc"), "MaLinhVuc", notes),
            "field_name": _text_field(item.get("TenLinhVuc"), "TenLinhVuc", NAME_MAX, notes),
            "service_level": _text_field(item.get("MucDo"), "MucDo", SHORT_MAX, notes),
            "full_online_eligible": _flag(item.get("DuDieuKienToanTrinh")),
            "has_fee": _flag(item.get("CoNghiaVuTaiChinh")),
            "online_payment_offered": _flag(item.get("CoThanhToanTrucTuyen")),
            "on_national_portal": _flag(item.get("DaTichHopDVCQG")),
        }
        units = item.get("MaDonViThucHien")
        if isinstance(units, str):
            units = [units]
        elif not isinstance(units, list):
            if units is not None:
                notes.append(("MaDonViThucHien", NULLED))
            units = []
        for unit in units:
            unit_code = _code_field(unit, "MaDonViThucHien", notes)
            if unit_code is not None:
                links[(stored, unit_code)] = {"portal_code": portal_code,
                                              "procedure_code": stored, "unit_code": unit_code}
        _note(adjusted, notes)
    return rows, links
