"""Vietnamese labels and colours of statuses and outlooks, shared by the reports and pages."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

STATUS_VI = {
    "met": "Đạt",
    "missed": "Không đạt",
    "on_track": "Đúng tiến độ",
    "at_risk": "Có nguy cơ không đạt",
    "no_data": "Chưa có số liệu",
    "not_measured": "Không đo từ dữ liệu cổng",
    "awaiting_report": "Chờ báo cáo",
    "not_due": "Chưa đến hạn báo cáo",
}
# (background, text) per status: green / red / light green / amber / grey / light grey
STATUS_COLOURS = {
    "met": ("#1a7f37", "#ffffff"),
    "missed": ("#cf222e", "#ffffff"),
    "on_track": ("#dafbe1", "#116329"),
    "at_risk": ("#fff1c2", "#7d4e00"),
    "no_data": ("#eaeef2", "#57606a"),
    "not_measured": ("#f6f8fa", "#6e7781"),
    "awaiting_report": ("#ffebe9", "#82071e"),
    "not_due": ("#f6f8fa", "#6e7781"),
}
BASIS_VI = {"measured": "Đo từ dữ liệu cổng", "self_reported": "Đơn vị tự báo cáo",
            "verified": "Đã thẩm định"}
OUTLOOK_VI = {"reachable": "Còn khả năng đạt", "out_of_reach": "Không còn khả năng đạt"}
COMPARATOR_VI = {">=": "≥", ">": ">"}
LEVEL_VI = {"TINH": "Tỉnh", "SO": "Sở, ngành", "HUYEN": "Huyện", "XA": "Xã"}


# Nghị định 42/2022/NĐ-CP replaced the levels 3 and 4 of online public services by "một
# phần" (part online) and "toàn trình" (fully online); plans and the dictionary still use
# the old words, so every label that says "mức độ 3, 4" shows the current terms beside it.
CURRENT_TERMS = {
    "mức độ 3, 4": "mức độ 3, 4 (nay: một phần, toàn trình — Nghị định 42/2022/NĐ-CP)",
    "mức độ 4": "mức độ 4 (nay: toàn trình — Nghị định 42/2022/NĐ-CP)",
}


def with_current_terms(text: str) -> str:
    """`text` with the current terms beside the old levels (once per label)."""
    for old, new in CURRENT_TERMS.items():
        if old in text and new not in text:
            return text.replace(old, new, 1)
    return text


def pct_vi(value: Any, digits: int = 2, measure: str | None = None) -> str:
    """12.5 -> '12,50%' (Vietnamese decimal comma), '12,50 điểm' for a `points` measure
    (the 766 index's scores); None -> '—'."""
    if value is None:
        return "—"
    text = f"{Decimal(str(value)):.{digits}f}".replace(".", ",")
    return f"{text} điểm" if measure == "points" else f"{text}%"


def threshold_vi(comparator: str, threshold: Any, measure: str | None = None) -> str:
    value = Decimal(str(threshold)).normalize()
    text = format(value, "f").replace(".", ",")
    unit = " điểm" if measure == "points" else "%"
    return f"{COMPARATOR_VI.get(comparator, comparator)} {text}{unit}"


# The 766 index's six groups (dvcqg-766.md), as the national portal names them.
GROUP_LABELS_VI = {"transparency": "Công khai, minh bạch", "satisfaction": "Mức độ hài lòng",
                   "digitized": "Số hóa hồ sơ", "progress": "Tiến độ giải quyết",
                   "online_service": "Dịch vụ công trực tuyến",
                   "online_payment": "Thanh toán trực tuyến"}
INDEX_RATIOS_VI = {"progress": "tỉ lệ hồ sơ giải quyết đúng hạn",
                   "online_dossiers": "tỉ lệ hồ sơ trực tuyến",
                   "online_payment": "tỉ lệ thanh toán trực tuyến"}


def index_indicator_name(code: str) -> str:
    """`dvcqg:...` (an indicator of the 766 index, docs/dvcqg.md) in words."""
    rest = code[len("dvcqg:"):]
    if rest == "score":
        return "Chỉ số 766: tổng điểm"
    if rest.startswith("score:"):
        group = rest[len("score:"):]
        return f"Chỉ số 766: điểm nhóm «{GROUP_LABELS_VI.get(group, group)}»"
    return f"Chỉ số 766: {INDEX_RATIOS_VI.get(rest, rest)}"
