"""Vietnamese labels of the Targets page, as the people who use it read them."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from egov.serve.reports.labels import COMPARATOR_VI, LEVEL_VI, OUTLOOK_VI, STATUS_VI

# (label, css class); the labels are the reports' (egov.serve.reports.labels)
STATUS = {code: (STATUS_VI[code], code.replace("_", "-")) for code in STATUS_VI}
STATUS_ORDER = ("missed", "at_risk", "awaiting_report", "on_track", "met", "no_data",
                "not_due", "not_measured")
OUTLOOK = {"reachable": (OUTLOOK_VI["reachable"], "on-track"),
           "out_of_reach": (OUTLOOK_VI["out_of_reach"], "missed")}
COMPARATOR = COMPARATOR_VI
LEVEL = LEVEL_VI  # CapDonVi
RUN_STATUS = {"loaded": "Thành công", "failed": "Lỗi"}


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
    from egov.compute.indicators.dictionary import ENTRIES  # the table dim_indicator's content

    for entry in ENTRIES:
        if entry.code == code:
            return entry.name_vi
    return code


def pct(value: Any) -> str:
    """12.5 → '12,50%' (Vietnamese decimal comma); None → '—'."""
    if value is None:
        return "—"
    return f"{Decimal(str(value)):.2f}".replace(".", ",") + "%"


def threshold(value: Any) -> str:
    if value is None:
        return "—"
    text = f"{Decimal(str(value)).normalize():f}"
    return text.replace(".", ",") + "%"


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


def moment(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        return value.strftime("%d/%m/%Y %H:%M")
    return day(value)


def level(code: str | None) -> str:
    return LEVEL.get(code or "", code or "")
