"""Unit trees (province → departments, districts → communes) of the four simulated portals.

Codes follow QĐ 20/2020/QĐ-TTg: departments ``000.00.NN.Hxx`` (NN 01..20), district-level
units ``000.00.NN.Hxx`` (NN 21..), communes ``000.CC.DD.Hxx`` where DD is their district's NN.
Names are real; the lists are a sample of each province, not all of it.
"""

from __future__ import annotations

from dataclasses import dataclass

TINH, SO, HUYEN, XA = "TINH", "SO", "HUYEN", "XA"


@dataclass(frozen=True, slots=True)
class Unit:
    code: str  # MaDonVi
    name: str  # TenDonVi
    parent: str | None  # MaDonViCha
    level: str  # CapDonVi: TINH / SO / HUYEN / XA

    def as_api(self) -> dict:
        return {
            "MaDonVi": self.code,
            "TenDonVi": self.name,
            "MaDonViCha": self.parent,
            "CapDonVi": self.level,
        }


@dataclass(frozen=True, slots=True)
class Portal:
    code: str  # e.g. "binh-dinh"
    province: str  # "Bình Định"
    suffix: str  # "H08"
    id_prefix: str  # first 3 digits of citizens' 12-digit ID numbers (province of birth)
    units: tuple[Unit, ...]

    @property
    def root(self) -> Unit:
        return self.units[0]

    def units_at(self, level: str) -> tuple[Unit, ...]:
        return tuple(u for u in self.units if u.level == level)


# Departments: (NN, name without the province). NN fixed across provinces.
_DEPARTMENTS: tuple[tuple[int, str], ...] = (
    (1, "Sở Nội vụ"),
    (2, "Sở Tư pháp"),
    (3, "Sở Tài chính"),
    (4, "Sở Công Thương"),
    (5, "Sở Kế hoạch và Đầu tư"),
    (6, "Sở Tài nguyên và Môi trường"),
    (7, "Sở Xây dựng"),
    (8, "Sở Giao thông vận tải"),
    (9, "Sở Nông nghiệp và Phát triển nông thôn"),
    (10, "Sở Lao động - Thương binh và Xã hội"),
    (11, "Sở Giáo dục và Đào tạo"),
    (12, "Sở Y tế"),
    (13, "Sở Văn hóa, Thể thao và Du lịch"),
    (14, "Sở Thông tin và Truyền thông"),
    (15, "Sở Khoa học và Công nghệ"),
)

# Province-specific extra agencies at department level.
_EXTRA_DEPARTMENTS: dict[str, tuple[tuple[int, str], ...]] = {
    "H08": ((16, "Sở Du lịch"), (17, "Ban Quản lý Khu kinh tế")),
    "H52": ((16, "Ban Quản lý Khu kinh tế"),),
    "H56": ((16, "Ban Quản lý Khu kinh tế Nghi Sơn và các khu công nghiệp"),),
    "H62": ((16, "Ban Quản lý các khu công nghiệp"),),
}

_KIND_WORD = {"TP": "thành phố", "TX": "thị xã", "H": "huyện"}


def _commune_name(raw: str) -> str:
    # "P:Lê Lợi" → "UBND phường Lê Lợi"; "X:" xã; "T:" thị trấn
    kind, name = raw.split(":", 1)
    word = {"P": "phường", "X": "xã", "T": "thị trấn"}[kind]
    return f"UBND {word} {name}"


# Districts: (NN, kind, name, communes "K:name").
_DISTRICTS: dict[str, tuple[tuple[int, str, str, tuple[str, ...]], ...]] = {
    "H08": (
        (21, "TP", "Quy Nhơn", ("P:Lê Lợi", "P:Trần Phú", "P:Nguyễn Văn Cừ", "P:Ghềnh Ráng",
                                "P:Quang Trung", "X:Nhơn Lý")),
        (22, "TX", "An Nhơn", ("P:Bình Định", "P:Đập Đá", "X:Nhơn Hậu", "X:Nhơn Phong")),
        (23, "TX", "Hoài Nhơn", ("P:Bồng Sơn", "P:Tam Quan", "X:Hoài Sơn", "X:Hoài Châu Bắc")),
        (24, "H", "Phù Cát", ("T:Ngô Mây", "X:Cát Hanh", "X:Cát Tân", "X:Cát Khánh")),
        (25, "H", "Phù Mỹ", ("T:Phù Mỹ", "T:Bình Dương", "X:Mỹ Đức", "X:Mỹ Chánh")),
        (26, "H", "Tây Sơn", ("T:Phú Phong", "X:Bình Tường", "X:Tây Giang", "X:Bình Nghi")),
        (27, "H", "Tuy Phước", ("T:Tuy Phước", "T:Diêu Trì", "X:Phước Hưng", "X:Phước Sơn",
                                "X:Phước Lộc")),
        (28, "H", "Hoài Ân", ("T:Tăng Bạt Hổ", "X:Ân Hảo Đông", "X:Ân Mỹ")),
    ),
    "H52": (
        (21, "TP", "Tây Ninh", ("P:1", "P:2", "P:3", "P:IV", "P:Ninh Sơn", "P:Ninh Thạnh",
                                "X:Tân Bình", "X:Thạnh Tân")),
        (22, "TX", "Hòa Thành", ("P:Long Hoa", "P:Hiệp Tân", "X:Trường Hòa", "X:Trường Tây")),
        (23, "TX", "Trảng Bàng", ("P:Trảng Bàng", "P:An Tịnh", "X:Phước Chỉ", "X:Hưng Thuận")),
        (24, "H", "Tân Biên", ("T:Tân Biên", "X:Thạnh Tây", "X:Tân Lập", "X:Hòa Hiệp")),
        (25, "H", "Tân Châu", ("T:Tân Châu", "X:Tân Hiệp", "X:Suối Ngô", "X:Tân Đông")),
        (26, "H", "Dương Minh Châu", ("T:Dương Minh Châu", "X:Phan", "X:Suối Đá", "X:Bàu Năng")),
        (27, "H", "Gò Dầu", ("T:Gò Dầu", "X:Thanh Phước", "X:Phước Đông")),
        (28, "H", "Châu Thành", ("T:Châu Thành", "X:Hảo Đước", "X:Thái Bình", "X:Biên Giới")),
    ),
    "H56": (
        (21, "TP", "Thanh Hóa", ("P:Điện Biên", "P:Lam Sơn", "P:Ba Đình", "P:Đông Thọ",
                                 "P:Quảng Thắng", "X:Thiệu Vân")),
        (22, "TP", "Sầm Sơn", ("P:Trường Sơn", "P:Bắc Sơn", "P:Quảng Tiến", "X:Quảng Hùng")),
        (23, "TX", "Bỉm Sơn", ("P:Ngọc Trạo", "P:Phú Sơn", "P:Đông Sơn", "X:Quang Trung")),
        (24, "TX", "Nghi Sơn", ("P:Hải Hòa", "P:Tĩnh Hải", "P:Trúc Lâm", "X:Định Hải")),
        (25, "H", "Hoằng Hóa", ("T:Bút Sơn", "X:Hoằng Đồng", "X:Hoằng Thịnh", "X:Hoằng Trung",
                                "X:Hoằng Lộc")),
        (26, "H", "Quảng Xương", ("T:Tân Phong", "X:Quảng Ngọc", "X:Quảng Trạch",
                                  "X:Quảng Nhân")),
        (27, "H", "Thọ Xuân", ("T:Thọ Xuân", "T:Lam Sơn", "T:Sao Vàng", "X:Xuân Hòa",
                               "X:Thọ Lập")),
        (28, "H", "Hậu Lộc", ("T:Hậu Lộc", "X:Hòa Lộc", "X:Đa Lộc", "X:Minh Lộc")),
        (29, "H", "Đông Sơn", ("T:Rừng Thông", "X:Đông Hòa", "X:Đông Tiến", "X:Đông Thịnh")),
    ),
    "H62": (
        (21, "TP", "Vĩnh Yên", ("P:Ngô Quyền", "P:Đống Đa", "P:Liên Bảo", "P:Tích Sơn",
                                "X:Thanh Trù")),
        (22, "TP", "Phúc Yên", ("P:Hùng Vương", "P:Trưng Trắc", "P:Xuân Hòa", "X:Ngọc Thanh")),
        (23, "H", "Bình Xuyên", ("T:Hương Canh", "T:Gia Khánh", "X:Thiện Kế", "X:Tam Hợp")),
        (24, "H", "Lập Thạch", ("T:Lập Thạch", "X:Xuân Lôi", "X:Tử Du", "X:Bàn Giản")),
        (25, "H", "Tam Dương", ("T:Hợp Hòa", "X:Kim Long", "X:Hướng Đạo")),
        (26, "H", "Tam Đảo", ("T:Tam Đảo", "T:Đại Đình", "X:Hồ Sơn", "X:Minh Quang")),
        (27, "H", "Vĩnh Tường", ("T:Vĩnh Tường", "T:Thổ Tang", "X:Tân Phú", "X:Vĩnh Sơn",
                                 "X:Lũng Hòa")),
        (28, "H", "Yên Lạc", ("T:Yên Lạc", "X:Đồng Văn", "X:Tề Lỗ", "X:Liên Châu")),
    ),
}

# (portal code, province name, suffix, ID-number prefix); the order is the fleet's port order.
_PROVINCES: tuple[tuple[str, str, str, str], ...] = (
    ("binh-dinh", "Bình Định", "H08", "052"),
    ("tay-ninh", "Tây Ninh", "H52", "072"),
    ("thanh-hoa", "Thanh Hóa", "H56", "038"),
    ("vinh-phuc", "Vĩnh Phúc", "H62", "026"),
)


def _build_portal(code: str, province: str, suffix: str, id_prefix: str) -> Portal:
    root = Unit(f"000.00.00.{suffix}", f"UBND tỉnh {province}", None, TINH)
    units = [root]
    for nn, name in _DEPARTMENTS + _EXTRA_DEPARTMENTS[suffix]:
        units.append(Unit(f"000.00.{nn:02d}.{suffix}", f"{name} tỉnh {province}", root.code, SO))
    for nn, kind, name, communes in _DISTRICTS[suffix]:
        district = Unit(f"000.00.{nn:02d}.{suffix}", f"UBND {_KIND_WORD[kind]} {name}",
                        root.code, HUYEN)
        units.append(district)
        for cc, raw in enumerate(communes, start=1):
            units.append(Unit(f"000.{cc:02d}.{nn:02d}.{suffix}", _commune_name(raw),
                              district.code, XA))
    return Portal(code, province, suffix, id_prefix, tuple(units))


PORTALS: dict[str, Portal] = {
    code: _build_portal(code, province, suffix, id_prefix)
    for code, province, suffix, id_prefix in _PROVINCES
}


def portal_codes() -> list[str]:
    """The simulated portals' codes, in the fleet's (port) order."""
    return list(PORTALS)


def units_of(portal: str) -> list[dict]:
    """The ``/api/donvi`` items of a portal."""
    return [u.as_api() for u in PORTALS[portal].units]


def department_code(portal: str, nn: int) -> str:
    return f"000.00.{nn:02d}.{PORTALS[portal].suffix}"
