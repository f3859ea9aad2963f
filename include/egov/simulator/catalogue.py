"""The procedure catalogue (``/api/tthc``) of a simulated province.

Procedure names and fields are real ones (national public-service catalogue); codes look like
national codes (``1.001234.000.00.00.H08``), shared across provinces but for the suffix. Which
online level, flags and variants a province has is drawn from the world seed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from egov.simulator.units import HUYEN, PORTALS, SO, XA, department_code

# (MaLinhVuc, TenLinhVuc, level, department NN (SO only), processing days (0 = settled at once),
#  fee in VND (0 = none), volume weight of each procedure, procedure names)
_FIELDS: tuple[tuple[str, str, str, int, int, int, float, tuple[str, ...]], ...] = (
    ("TP-CT", "Chứng thực", XA, 0, 0, 2000, 9.0, (
        "Chứng thực bản sao từ bản chính giấy tờ, văn bản",
        "Chứng thực chữ ký trong các giấy tờ, văn bản",
        "Chứng thực hợp đồng, giao dịch liên quan đến tài sản là động sản",
        "Chứng thực việc sửa đổi, bổ sung, hủy bỏ hợp đồng, giao dịch",
        "Chứng thực di chúc",
        "Chứng thực văn bản thỏa thuận phân chia di sản",
    )),
    ("TP-CT", "Chứng thực", HUYEN, 0, 0, 10000, 3.0, (
        "Chứng thực bản sao từ bản chính giấy tờ, văn bản do cơ quan nước ngoài cấp",
        "Chứng thực chữ ký người dịch mà người dịch là cộng tác viên dịch thuật",
        "Cấp bản sao có chứng thực từ bản chính hợp đồng, giao dịch đã được chứng thực",
    )),
    ("TP-HT", "Hộ tịch", XA, 0, 3, 0, 4.0, (
        "Đăng ký khai sinh",
        "Đăng ký kết hôn",
        "Đăng ký khai tử",
        "Đăng ký nhận cha, mẹ, con",
        "Đăng ký thay đổi, cải chính, bổ sung thông tin hộ tịch",
        "Cấp Giấy xác nhận tình trạng hôn nhân",
        "Cấp bản sao trích lục hộ tịch",
        "Đăng ký giám hộ",
    )),
    ("TP-HT", "Hộ tịch", HUYEN, 0, 10, 50000, 0.6, (
        "Đăng ký khai sinh có yếu tố nước ngoài",
        "Đăng ký kết hôn có yếu tố nước ngoài",
        "Ghi vào Sổ hộ tịch việc kết hôn của công dân Việt Nam đã được giải quyết tại cơ quan "
        "có thẩm quyền của nước ngoài",
    )),
    ("TNMT-DD", "Đất đai", HUYEN, 0, 15, 100000, 3.0, (
        "Đăng ký, cấp Giấy chứng nhận quyền sử dụng đất lần đầu",
        "Đăng ký biến động quyền sử dụng đất, quyền sở hữu tài sản gắn liền với đất",
        "Chuyển mục đích sử dụng đất phải được phép của cơ quan nhà nước có thẩm quyền",
        "Tách thửa hoặc hợp thửa đất",
        "Cấp đổi Giấy chứng nhận quyền sử dụng đất",
        "Đính chính Giấy chứng nhận đã cấp",
    )),
    ("TNMT-DD", "Đất đai", SO, 6, 20, 500000, 0.5, (
        "Giao đất, cho thuê đất cho tổ chức",
        "Gia hạn sử dụng đất ngoài khu công nghệ cao, khu kinh tế",
    )),
    ("TNMT-MT", "Môi trường", SO, 6, 30, 0, 0.2, (
        "Cấp giấy phép môi trường",
        "Thẩm định báo cáo đánh giá tác động môi trường",
    )),
    ("TNMT-MT", "Môi trường", XA, 0, 5, 0, 0.3, (
        "Đăng ký môi trường",
    )),
    ("TNMT-TNN", "Tài nguyên nước", SO, 6, 30, 1000000, 0.1, (
        "Cấp giấy phép khai thác, sử dụng nước dưới đất",
        "Cấp giấy phép xả nước thải vào nguồn nước",
    )),
    ("KHDT-DN", "Thành lập và hoạt động doanh nghiệp", SO, 5, 3, 50000, 1.5, (
        "Đăng ký thành lập doanh nghiệp tư nhân",
        "Đăng ký thành lập công ty trách nhiệm hữu hạn một thành viên",
        "Đăng ký thành lập công ty cổ phần",
        "Đăng ký thay đổi người đại diện theo pháp luật của công ty",
        "Đăng ký thay đổi vốn điều lệ",
        "Thông báo tạm ngừng kinh doanh",
        "Giải thể doanh nghiệp",
    )),
    ("KHDT-HKD", "Thành lập và hoạt động của hộ kinh doanh", HUYEN, 0, 3, 100000, 1.2, (
        "Đăng ký thành lập hộ kinh doanh",
        "Đăng ký thay đổi nội dung đăng ký hộ kinh doanh",
        "Tạm ngừng kinh doanh, tiếp tục kinh doanh trước thời hạn đã thông báo của hộ kinh doanh",
        "Chấm dứt hoạt động hộ kinh doanh",
    )),
    ("KHDT-DT", "Đầu tư tại Việt Nam", SO, 5, 15, 0, 0.2, (
        "Chấp thuận chủ trương đầu tư của Ủy ban nhân dân cấp tỉnh",
        "Cấp Giấy chứng nhận đăng ký đầu tư",
        "Điều chỉnh Giấy chứng nhận đăng ký đầu tư",
    )),
    ("XD-HDXD", "Hoạt động xây dựng", HUYEN, 0, 15, 75000, 1.0, (
        "Cấp giấy phép xây dựng mới đối với nhà ở riêng lẻ",
        "Cấp giấy phép sửa chữa, cải tạo đối với nhà ở riêng lẻ",
        "Điều chỉnh giấy phép xây dựng",
    )),
    ("XD-HDXD", "Hoạt động xây dựng", SO, 7, 20, 300000, 0.3, (
        "Cấp chứng chỉ hành nghề hoạt động xây dựng",
        "Thẩm định báo cáo nghiên cứu khả thi đầu tư xây dựng",
        "Cấp giấy phép xây dựng đối với công trình cấp I, cấp II",
    )),
    ("LDTBXH-BTXH", "Bảo trợ xã hội", XA, 0, 7, 0, 1.2, (
        "Thực hiện, điều chỉnh, thôi hưởng trợ cấp xã hội hàng tháng",
        "Hỗ trợ chi phí mai táng cho đối tượng bảo trợ xã hội",
        "Xác định, xác định lại mức độ khuyết tật và cấp Giấy xác nhận khuyết tật",
    )),
    ("LDTBXH-NCC", "Người có công", XA, 0, 5, 0, 0.4, (
        "Giải quyết chế độ trợ cấp thờ cúng liệt sĩ",
        "Cấp giấy giới thiệu đi thăm viếng mộ liệt sĩ",
    )),
    ("LDTBXH-VL", "Việc làm", SO, 10, 7, 400000, 0.5, (
        "Cấp giấy phép lao động cho người lao động nước ngoài làm việc tại Việt Nam",
        "Gia hạn giấy phép lao động cho người lao động nước ngoài",
        "Giải quyết hưởng trợ cấp thất nghiệp",
    )),
    ("GDDT-VB", "Văn bằng, chứng chỉ", SO, 11, 5, 0, 0.4, (
        "Cấp bản sao văn bằng, chứng chỉ từ sổ gốc cấp bản chính",
        "Chỉnh sửa nội dung văn bằng, chứng chỉ",
    )),
    ("GDDT-GD", "Giáo dục trung học", HUYEN, 0, 3, 0, 0.4, (
        "Chuyển trường đối với học sinh trung học cơ sở",
        "Cho phép trường trung học cơ sở hoạt động giáo dục",
    )),
    ("YT-KCB", "Khám bệnh, chữa bệnh", SO, 12, 30, 360000, 0.2, (
        "Cấp chứng chỉ hành nghề khám bệnh, chữa bệnh",
        "Cấp giấy phép hoạt động đối với phòng khám đa khoa",
    )),
    ("YT-DUOC", "Dược phẩm", SO, 12, 20, 500000, 0.2, (
        "Cấp chứng chỉ hành nghề dược",
        "Cấp Giấy chứng nhận đủ điều kiện kinh doanh dược",
    )),
    ("GTVT-DB", "Đường bộ", SO, 8, 5, 135000, 1.5, (
        "Đổi giấy phép lái xe do ngành Giao thông vận tải cấp",
        "Cấp lại giấy phép lái xe",
        "Cấp phù hiệu xe ô tô kinh doanh vận tải",
        "Cấp giấy phép kinh doanh vận tải bằng xe ô tô",
    )),
    ("CT-LTHH", "Lưu thông hàng hóa trong nước", HUYEN, 0, 10, 200000, 0.3, (
        "Cấp giấy phép bán lẻ sản phẩm rượu",
        "Cấp giấy phép bán lẻ sản phẩm thuốc lá",
    )),
    ("CT-KM", "Kinh doanh khí", SO, 4, 15, 800000, 0.1, (
        "Cấp Giấy chứng nhận đủ điều kiện cửa hàng bán lẻ LPG chai",
    )),
    ("VHTTDL-VHCS", "Văn hóa cơ sở", HUYEN, 0, 5, 0, 0.2, (
        "Cấp giấy phép đủ điều kiện kinh doanh dịch vụ karaoke",
        "Công nhận danh hiệu Tổ dân phố văn hóa",
    )),
    ("VHTTDL-LH", "Lễ hội", SO, 13, 15, 0, 0.05, (
        "Cấp giấy phép tổ chức lễ hội",
    )),
    ("NN-TT", "Trồng trọt", SO, 9, 15, 0, 0.1, (
        "Cấp Giấy chứng nhận cơ sở đủ điều kiện an toàn thực phẩm nông lâm thủy sản",
        "Cấp Quyết định công nhận cây đầu dòng",
    )),
    ("NV-TDKT", "Thi đua, khen thưởng", HUYEN, 0, 20, 0, 0.3, (
        "Tặng Giấy khen của Chủ tịch Ủy ban nhân dân cấp huyện",
        "Tặng danh hiệu Lao động tiên tiến",
    )),
    ("NV-TDKT", "Thi đua, khen thưởng", SO, 1, 20, 0, 0.1, (
        "Tặng Bằng khen của Chủ tịch Ủy ban nhân dân cấp tỉnh",
        "Tặng Cờ thi đua của Ủy ban nhân dân cấp tỉnh",
    )),
    ("NV-TG", "Tín ngưỡng, tôn giáo", XA, 0, 10, 0, 0.1, (
        "Đăng ký hoạt động tín ngưỡng",
        "Thông báo tổ chức quyên góp trong địa bàn một xã",
    )),
    ("NV-CCVC", "Công chức, viên chức", SO, 1, 30, 0, 0.05, (
        "Thi tuyển công chức",
        "Xét tuyển viên chức",
    )),
    ("TC-QLCS", "Quản lý công sản", SO, 3, 20, 0, 0.05, (
        "Quyết định mua sắm tài sản công",
        "Thanh lý tài sản công",
    )),
    ("TTTT-XB", "Xuất bản, In và Phát hành", SO, 14, 7, 0, 0.05, (
        "Cấp giấy phép hoạt động in",
        "Cấp giấy phép xuất bản tài liệu không kinh doanh",
    )),
    ("KHCN-HD", "Hoạt động khoa học và công nghệ", SO, 15, 10, 0, 0.05, (
        "Đăng ký kết quả thực hiện nhiệm vụ khoa học và công nghệ",
    )),
    ("TP-CC", "Công chứng", SO, 2, 10, 1000000, 0.05, (
        "Cấp Thẻ công chứng viên",
        "Đăng ký hoạt động Văn phòng công chứng",
    )),
    ("TP-LLTP", "Lý lịch tư pháp", SO, 2, 10, 200000, 1.0, (
        "Cấp Phiếu lý lịch tư pháp cho công dân Việt Nam, người nước ngoài đang cư trú tại "
        "Việt Nam",
        "Cấp Phiếu lý lịch tư pháp cho cơ quan tiến hành tố tụng",
    )),
)

# Variants that turn ~110 base procedures into a few hundred catalogue items.
_VARIANTS: tuple[str, ...] = (
    "",
    " (trường hợp cấp lại)",
    " (trường hợp điều chỉnh, bổ sung)",
    " (trường hợp gia hạn)",
)

_FEE_NAMES = {True: "Lệ phí", False: "Phí"}


@dataclass(frozen=True, slots=True)
class Procedure:
    code: str  # MaTTHC
    name: str  # TenTTHC
    field_code: str  # MaLinhVuc
    field_name: str  # TenLinhVuc
    level: str  # CapDonVi of the units that handle it: SO / HUYEN / XA
    online_level: str  # MucDo "2" / "3" / "4"
    full_online_eligible: int
    has_fee: int
    online_payment: int
    national_portal: int
    unit_codes: tuple[str, ...]  # MaDonViThucHien
    processing_days: int  # working days to the due date; 0 = settled at once (no NgayHenTra)
    fees: tuple[tuple[str, str, int, str], ...]  # (MaPhiLePhi, TenPhiLePhi, Gia, HinhThucThu)
    weight: float  # relative volume of records per handling unit

    def as_api(self) -> dict:
        return {
            "MaTTHC": self.code,
            "TenTTHC": self.name,
            "MaLinhVuc": self.field_code,
            "TenLinhVuc": self.field_name,
            "MucDo": self.online_level,
            "DuDieuKienToanTrinh": self.full_online_eligible,
            "CoNghiaVuTaiChinh": self.has_fee,
            "CoThanhToanTrucTuyen": self.online_payment,
            "DaTichHopDVCQG": self.national_portal,
            "MaDonViThucHien": list(self.unit_codes),
        }

    @property
    def online_capable(self) -> bool:
        return self.online_level in ("3", "4")


def build_catalogue(seed: int, portal: str) -> list[Procedure]:
    """The province's procedures, ordered by ``MaTTHC``."""
    p = PORTALS[portal]
    rng = random.Random(seed * 7919 + list(PORTALS).index(portal) * 104729 + 17)
    units_by_level = {lvl: tuple(u.code for u in p.units_at(lvl)) for lvl in (HUYEN, XA)}
    dept_codes = {u.code for u in p.units_at(SO)}
    out: list[Procedure] = []
    base_no = 0
    for field_code, field_name, level, dept_nn, days, fee, weight, names in _FIELDS:
        for name in names:
            base_no += 1
            n_variants = 1 + min(3, int(rng.random() * 4.2))
            for v in range(n_variants):
                number = 1000 + base_no * 37 + v * 5
                code = f"1.{number:06d}.000.00.00.{p.suffix}"
                if level == SO:
                    unit_codes: tuple[str, ...] = (department_code(portal, dept_nn),)
                    assert unit_codes[0] in dept_codes
                else:
                    unit_codes = units_by_level[level]
                u = rng.random()
                if days == 0:  # desk services: mostly partly online
                    online_level = "4" if u < 0.35 else "3" if u < 0.85 else "2"
                else:
                    online_level = "4" if u < 0.40 else "3" if u < 0.70 else "2"
                eligible = 1 if (online_level == "4" and rng.random() < 0.95) or (
                    online_level != "4" and rng.random() < 0.35) else 0
                has_fee = 1 if fee > 0 and rng.random() < 0.9 else 0
                online_payment = 1 if has_fee and online_level != "2" and rng.random() < 0.75 else 0
                national = 1 if rng.random() < (0.9 if online_level != "2" else 0.3) else 0
                fees: tuple[tuple[str, str, int, str], ...] = ()
                if has_fee:
                    amount = fee * (1 + int(rng.random() * 3)) if fee >= 10000 else fee
                    fees = ((f"LP{number:06d}", f"{_FEE_NAMES[fee < 300000]} {name[:60].lower()}",
                             amount, "Tiền mặt hoặc chuyển khoản"),)
                proc_days = days if days == 0 else max(1, days + int(rng.random() * 5) - 2)
                out.append(Procedure(
                    code=code, name=name + _VARIANTS[v], field_code=field_code,
                    field_name=field_name, level=level, online_level=online_level,
                    full_online_eligible=eligible, has_fee=has_fee,
                    online_payment=online_payment, national_portal=national,
                    unit_codes=unit_codes, processing_days=proc_days, fees=fees,
                    weight=weight * (1.0 if v == 0 else 0.15) * (0.5 + rng.random()),
                ))
    out.sort(key=lambda pr: pr.code)
    return out
