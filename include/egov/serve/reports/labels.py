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


def pct_vi(value: Any, digits: int = 2) -> str:
    """12.5 -> '12,50%' (Vietnamese decimal comma); None -> '—'."""
    if value is None:
        return "—"
    text = f"{Decimal(str(value)):.{digits}f}".replace(".", ",")
    return f"{text}%"


def threshold_vi(comparator: str, threshold: Any) -> str:
    value = Decimal(str(threshold)).normalize()
    text = format(value, "f").replace(".", ",")
    return f"{COMPARATOR_VI.get(comparator, comparator)} {text}%"
