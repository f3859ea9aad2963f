"""The indicator dictionary (table `dim_indicator`): what each indicator code means, in
Vietnamese and English, with its numerator, denominator and source (shared/spec/indicators.md).

Migration 0005 seeds the table from `ENTRIES`; a change here needs a new migration that
re-seeds it. Reports and pages take the names from here too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from egov.compute.indicators.codes import ALL_INDICATORS, CATALOG_INDICATORS

RECORDS = "Hồ sơ TTHC của cổng một cửa (/api/hoso), trạng thái mới nhất được chấp nhận"
CATALOGUE = "Danh mục TTHC của cổng (/api/tthc), lần tải gần nhất"
RESOLVED = "RESOLVED: hồ sơ trạng thái 9, 10 kết thúc xử lý trong kỳ"
RECEIVED = "RECEIVED: hồ sơ (trừ trạng thái 1, 3) tiếp nhận trong kỳ"


@dataclass(frozen=True)
class Indicator:
    code: str
    name_vi: str
    name_en: str
    numerator: str
    denominator: str
    plan_wording: str

    @property
    def kind(self) -> str:
        return "catalogue" if self.code in CATALOG_INDICATORS else "record"

    @property
    def source(self) -> str:
        return CATALOGUE if self.kind == "catalogue" else RECORDS


ENTRIES: tuple[Indicator, ...] = (
    Indicator("on_time_rate", "Tỷ lệ hồ sơ giải quyết đúng hạn", "On-time resolution rate",
              "RESOLVED on time (no NgayHenTra, or ended on or before its day)", RESOLVED,
              "hồ sơ giải quyết đúng hẹn"),
    Indicator("progress_rate", "Tỷ lệ tiến độ giải quyết hồ sơ", "Handling progress rate",
              "RESOLVED on time + OPEN_AT_END within deadline",
              "RESOLVED + OPEN_AT_END (received by the period's end, not ended by then)",
              "tiến độ giải quyết (766)"),
    Indicator("online_rate", "Tỷ lệ hồ sơ nộp trực tuyến (mức độ 3, 4)", "Online intake rate",
              "RECEIVED with KenhThucHien = 2 (online)", RECEIVED,
              "hồ sơ giải quyết trực tuyến (mức độ 3, 4)"),
    Indicator("full_online_rate", "Tỷ lệ hồ sơ trực tuyến toàn trình",
              "Fully online intake rate", "RECEIVED online with MucDo = 4", RECEIVED,
              "hồ sơ trực tuyến toàn trình"),
    Indicator("postal_intake_rate", "Tỷ lệ hồ sơ tiếp nhận qua bưu chính công ích",
              "Postal intake rate", "RECEIVED with KenhThucHien = 3 (public postal service)",
              RECEIVED, "hồ sơ tiếp nhận qua bưu chính công ích"),
    Indicator("postal_return_rate", "Tỷ lệ hồ sơ trả kết quả qua bưu chính công ích",
              "Postal result delivery rate", "RESOLVED with HinhThuc = 1", RESOLVED,
              "hồ sơ trả kết quả qua bưu chính công ích"),
    Indicator("online_payment_rate", "Tỷ lệ hồ sơ thanh toán trực tuyến",
              "Online payment rate",
              "RECEIVED fee-bearing with DuocThanhToanTrucTuyen in (1, 2)",
              "RECEIVED fee-bearing (a DanhSachLePhi item with Gia > 0)",
              "giao dịch thanh toán trực tuyến"),
    Indicator("digitized_dossier_rate", "Tỷ lệ số hóa hồ sơ TTHC", "Digitised dossier rate",
              "RECEIVED with HoSoCoThanhPhanSoHoa = 1", RECEIVED, "số hóa hồ sơ TTHC"),
    Indicator("digitized_result_rate", "Tỷ lệ số hóa kết quả giải quyết TTHC",
              "Digitised result rate",
              "RESOLVED with an electronic result (a non-blank DuongDanTepTinKetQua)", RESOLVED,
              "số hóa kết quả giải quyết TTHC"),
    Indicator("e_certification_rate", "Tỷ lệ chứng thực điện tử",
              "Electronic certification rate",
              "RESOLVED certification records with an electronic result",
              "RESOLVED certification records (TenLinhVuc folded = 'chung thuc')",
              "chứng thực điện tử"),
    Indicator("satisfaction_rate", "Tỷ lệ hài lòng về giải quyết TTHC", "Satisfaction rate",
              "RESOLVED with MucDoHaiLong in (1, 2)", "RESOLVED with MucDoHaiLong in (1, 2, 3)",
              "mức độ hài lòng"),
    Indicator("catalog_online_rate", "Tỷ lệ TTHC cung cấp DVC trực tuyến mức độ 3, 4",
              "Procedures offered online (levels 3, 4)", "procedures with MucDo in (3, 4)",
              "all procedures of the unit's subtree", "TTHC cung cấp DVC trực tuyến mức độ 3, 4"),
    Indicator("catalog_full_online_rate", "Tỷ lệ TTHC cung cấp DVC trực tuyến toàn trình",
              "Procedures offered fully online (level 4)", "procedures with MucDo = 4",
              "all procedures of the unit's subtree", "DVC trực tuyến mức độ 4 / toàn trình"),
    Indicator("catalog_full_online_eligible_rate",
              "Tỷ lệ TTHC đủ điều kiện được cung cấp DVC toàn trình",
              "Eligible procedures offered fully online",
              "procedures with MucDo = 4 and DuDieuKienToanTrinh = 1",
              "procedures with DuDieuKienToanTrinh = 1",
              "TTHC đủ điều kiện được cung cấp toàn trình"),
    Indicator("catalog_active_online_rate",
              "Tỷ lệ TTHC có phát sinh hồ sơ được cung cấp DVC mức độ 3, 4",
              "Procedures with records offered online",
              "active procedures with MucDo in (3, 4)",
              "procedures with at least one RECEIVED record in the unit's subtree and period",
              "TTHC có phát sinh hồ sơ được cung cấp DVC mức độ 3, 4"),
    Indicator("catalog_national_portal_rate", "Tỷ lệ TTHC tích hợp trên Cổng DVC quốc gia",
              "Procedures on the National Public Service Portal",
              "procedures with DaTichHopDVCQG = 1", "all procedures of the unit's subtree",
              "TTHC tích hợp trên Cổng DVC quốc gia"),
    Indicator("catalog_online_national_portal_rate",
              "Tỷ lệ DVC mức độ 3, 4 tích hợp lên Cổng DVC quốc gia",
              "Online services on the National Public Service Portal",
              "procedures with MucDo in (3, 4) and DaTichHopDVCQG = 1",
              "procedures with MucDo in (3, 4)",
              "DVC mức độ 3, 4 được tích hợp lên Cổng DVC quốc gia"),
    Indicator("catalog_online_payment_rate",
              "Tỷ lệ TTHC có nghĩa vụ tài chính được thanh toán trực tuyến",
              "Fee-bearing procedures payable online",
              "procedures with CoNghiaVuTaiChinh = 1 and CoThanhToanTrucTuyen = 1",
              "procedures with CoNghiaVuTaiChinh = 1",
              "TTHC có nghĩa vụ tài chính được thanh toán trực tuyến"),
)

BY_CODE: dict[str, Indicator] = {i.code: i for i in ENTRIES}
assert tuple(BY_CODE) == ALL_INDICATORS


def rows() -> list[dict[str, Any]]:
    """The rows of `dim_indicator`."""
    return [
        {"indicator_code": i.code, "kind": i.kind, "name_vi": i.name_vi, "name_en": i.name_en,
         "numerator": i.numerator, "denominator": i.denominator, "source": i.source,
         "plan_wording": i.plan_wording, "sort_order": n}
        for n, i in enumerate(ENTRIES, start=1)
    ]


def name_vi(code: str | None) -> str:
    entry = BY_CODE.get(code or "")
    return entry.name_vi if entry else (code or "")
