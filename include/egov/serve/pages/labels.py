"""Vietnamese labels of the Targets page, as the people who use it read them."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from egov.serve.reports.labels import (
    COMPARATOR_VI,
    LEVEL_VI,
    OUTLOOK_VI,
    STATUS_VI,
    with_current_terms,
)

# (label, css class); the labels are the reports' (egov.serve.reports.labels)
STATUS = {code: (STATUS_VI[code], code.replace("_", "-")) for code in STATUS_VI}
# `not_measured` no longer appears for a loaded plan (reported figures, issue 18): not listed.
STATUS_ORDER = ("missed", "at_risk", "awaiting_report", "on_track", "met", "no_data",
                "not_due")
OUTLOOK = {"reachable": (OUTLOOK_VI["reachable"], "on-track"),
           "out_of_reach": (OUTLOOK_VI["out_of_reach"], "missed")}
COMPARATOR = COMPARATOR_VI
LEVEL = LEVEL_VI  # CapDonVi
RUN_STATUS = {"loaded": "Thành công", "failed": "Lỗi"}


# What each status means, for the legend of the pages.
STATUS_HELP = {
    "met": "năm đã kết thúc, giá trị đạt mục tiêu",
    "missed": "năm đã kết thúc, giá trị không đạt mục tiêu",
    "on_track": "năm đang diễn ra, giá trị đến nay đạt mức mục tiêu",
    "at_risk": "năm đang diễn ra, giá trị đến nay dưới mục tiêu",
    "no_data": "chưa có hồ sơ nào được tính (mẫu số bằng 0)",
    "awaiting_report": "đã đến hạn báo cáo (report_due) mà chưa có số liệu đơn vị báo cáo",
    "not_due": "chưa đến hạn báo cáo, chưa có số liệu đơn vị báo cáo",
    "not_measured": "chỉ tiêu không đo được từ dữ liệu cổng (cần báo cáo khác)",
}
SORT_KEYS = ("target", "value", "threshold", "margin", "denominator", "status")


def sort_rows(rows: list[dict[str, Any]], key: str, *, descending: bool = False) -> list[dict[str, Any]]:
    """Rows of the plan page sorted by one column; rows without a value always last."""
    from fractions import Fraction

    def value(r: dict[str, Any]) -> Any:
        if key == "target":
            return r["target_code"]
        if key == "status":
            return STATUS_ORDER.index(r["status"]) if r["status"] in STATUS_ORDER else 99
        if key == "threshold":
            return Decimal(str(r["threshold_pct"]))
        if key == "denominator":
            return r["denominator"]
        if not r.get("denominator"):
            return None
        ratio = Fraction(r["numerator"] or 0, r["denominator"]) * 100
        return ratio if key == "value" else ratio - Fraction(Decimal(str(r["threshold_pct"])))

    present = [r for r in rows if value(r) is not None]
    missing = [r for r in rows if value(r) is None]
    present.sort(key=lambda r: (value(r), r["target_code"]), reverse=descending)
    return present + missing


def query(params: dict[str, Any], **changes: Any) -> str:
    """'?a=1&b=2' from `params` updated by `changes`, empty values left out."""
    from urllib.parse import urlencode

    merged = {**params, **changes}
    pairs = [(k, v.isoformat() if hasattr(v, "isoformat") else v)
             for k, v in merged.items() if v not in (None, "")]
    return "?" + urlencode(pairs) if pairs else "?"


def status_label(code: str | None) -> str:
    return STATUS.get(code or "", (code or "—", ""))[0]


def status_class(code: str | None) -> str:
    return STATUS.get(code or "", ("", "unknown"))[1]


def outlook_label(code: str | None) -> str:
    return OUTLOOK.get(code or "", ("—", ""))[0]


def outlook_class(code: str | None) -> str:
    return OUTLOOK.get(code or "", ("", "none"))[1]


def indicator_name(code: str | None) -> str:
    """The indicator's Vietnamese name (indicator dictionary), else its code."""
    if not code:
        return "Không đo từ dữ liệu cổng"
    if code.startswith("dvcqg:"):
        from egov.serve.reports.labels import index_indicator_name

        return index_indicator_name(code)
    from egov.compute.indicators.dictionary import ENTRIES  # the table dim_indicator's content

    for entry in ENTRIES:
        if entry.code == code:
            return with_current_terms(entry.name_vi)
    return code


def pct(value: Any, measure: str | None = None) -> str:
    """12.5 → '12,50%' (Vietnamese decimal comma); a `points` measure (the 766 index's
    scores) → '12,50 điểm'; None → '—'."""
    if value is None:
        return "—"
    text = f"{Decimal(str(value)):.2f}".replace(".", ",")
    return f"{text} điểm" if measure == "points" else f"{text}%"


def threshold(value: Any, measure: str | None = None) -> str:
    """80 → '80%' (or '80 điểm' for a `points` measure); None → '—'."""
    if value is None:
        return "—"
    text = f"{Decimal(str(value)).normalize():f}".replace(".", ",")
    return f"{text} điểm" if measure == "points" else f"{text}%"


def number(value: Any) -> str:
    """1234567 → '1.234.567' (Vietnamese thousands separator); None → '—'."""
    if value is None:
        return "—"
    return f"{int(value):,}".replace(",", ".")


def day(value: date | str | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    return value.strftime("%d/%m/%Y")


def local_time(value: datetime) -> datetime:
    """`value` in Asia/Ho_Chi_Minh. The run accounting's times are written naive on the
    machine's own clock (`datetime.now()`): a naive value is read in this machine's zone."""
    from zoneinfo import ZoneInfo

    return value.astimezone(ZoneInfo("Asia/Ho_Chi_Minh"))


def moment(value: datetime | date | str | None) -> str:
    """A run's time, in Asia/Ho_Chi_Minh (the page says so), 'dd/mm/yyyy HH:MM'."""
    if value is None:
        return "—"
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        return local_time(value).strftime("%d/%m/%Y %H:%M")
    return day(value)


def level(code: str | None) -> str:
    return LEVEL.get(code or "", code or "")
