"""Server-side SVG charts: the trend of an indicator over past snapshots, with the target's
threshold drawn as a line.

`trend_svg` returns one self-contained `<svg>` element as a string: no scripts, no external
fonts, styles or links, every text escaped, so it can be inlined in any HTML page (the
Targets page of the Airflow UI and the HTML report use it) or saved as an `.svg` file.
Hovering a point shows its figures through the SVG `<title>` element (no JavaScript).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from html import escape
from typing import Any

PASS_COLOUR, FAIL_COLOUR, LINE_COLOUR = "#1a7f37", "#cf222e", "#0969da"
THRESHOLD_COLOUR, GRID_COLOUR, TEXT_COLOUR = "#bf8700", "#d0d7de", "#24292f"


@dataclass(frozen=True)
class Point:
    """One snapshot of the indicator: its as-of day and figures (value null: no data)."""

    as_of: date
    value_pct: Decimal | float | None
    numerator: int | None = None
    denominator: int | None = None


def _num(x: float) -> str:
    """A coordinate with one decimal, without a trailing '.0' (stable, compact output)."""
    text = f"{x:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _pct(value: Any, measure: str = "percent") -> str:
    text = f"{float(value):.2f}".replace(".", ",")
    return f"{text} điểm" if measure == "points" else f"{text}%"


def _passes(value: Any, comparator: str | None, threshold: Any) -> bool | None:
    if value is None or threshold is None:
        return None
    v, t = Decimal(str(value)), Decimal(str(threshold))
    return v > t if comparator == ">" else v >= t


def _y_range(values: Sequence[float], threshold: float | None) -> tuple[float, float]:
    """A readable y range in percent: 0..100 unless the figures sit high (then from a lower
    multiple of 10), wider when a value or the threshold is above 100."""
    seen = list(values) + ([threshold] if threshold is not None else [])
    if not seen:
        return 0.0, 100.0
    low = max(0.0, math.floor((min(seen) - 5) / 10) * 10)
    high = max(100.0, math.ceil(max(seen) / 10) * 10)
    if high - low < 10:
        low = max(0.0, high - 10)
    return float(low), float(high)


def trend_svg(
    points: Sequence[Point],
    *,
    threshold: Any = None,
    comparator: str | None = ">=",
    title: str = "",
    width: int = 560,
    height: int = 200,
    no_data_text: str = "Chưa có số liệu",
    threshold_label: str = "Chỉ tiêu",
    measure: str = "percent",
) -> str:
    """The trend of `points` (sorted by as-of day here) as an SVG string.

    The value line breaks where a point has no value; a point is green when it passes the
    threshold (`comparator`, on the shown two-decimal value), red when not; the threshold is
    a dashed line labelled `threshold_label comparator threshold%`. `measure` "points" (the
    766 index's scores, 100 in all) labels the figures in points instead of percent.
    """
    pts = sorted(points, key=lambda p: p.as_of)
    left, right, top, bottom = 46, 16, 24 if title else 10, 28
    plot_w, plot_h = width - left - right, height - top - bottom
    label = escape(title or "trend", quote=True)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{label}" '
        f'font-family="sans-serif" font-size="11" class="egov-trend">',
        f"<title>{escape(title or 'trend')}</title>",
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
    ]
    if title:
        out.append(f'<text x="{left}" y="15" fill="{TEXT_COLOUR}" font-weight="bold">'
                   f"{escape(title)}</text>")
    values = [float(p.value_pct) for p in pts if p.value_pct is not None]
    t_value = float(threshold) if threshold is not None else None
    if not values:
        out.append(f'<text x="{_num(width / 2)}" y="{_num(top + plot_h / 2)}" '
                   f'text-anchor="middle" fill="{TEXT_COLOUR}">{escape(no_data_text)}</text>')
        out.append("</svg>")
        return "".join(out)
    y_low, y_high = _y_range(values, t_value)

    def y_of(v: float) -> float:
        return top + plot_h * (1 - (v - y_low) / (y_high - y_low))

    first, last = pts[0].as_of.toordinal(), pts[-1].as_of.toordinal()

    def x_of(d: date) -> float:
        if last == first:
            return left + plot_w / 2
        return left + plot_w * (d.toordinal() - first) / (last - first)

    step = 10 if y_high - y_low <= 50 else 20 if y_high - y_low <= 100 else 50
    tick = y_low
    while tick <= y_high + 1e-9:  # grid and y labels
        y = _num(y_of(tick))
        out.append(f'<line x1="{left}" y1="{y}" x2="{left + plot_w}" y2="{y}" '
                   f'stroke="{GRID_COLOUR}" stroke-width="1"/>')
        out.append(f'<text x="{left - 4}" y="{y}" dy="4" text-anchor="end" '
                   f'fill="{TEXT_COLOUR}">{tick:g}{"" if measure == "points" else "%"}</text>')
        tick += step
    x_labels = {pts[0].as_of, pts[-1].as_of}
    for d in sorted(x_labels):
        anchor = "start" if d == pts[0].as_of and len(x_labels) > 1 else (
            "end" if len(x_labels) > 1 else "middle")
        out.append(f'<text x="{_num(x_of(d))}" y="{height - 8}" text-anchor="{anchor}" '
                   f'fill="{TEXT_COLOUR}">{d.strftime("%d/%m/%Y")}</text>')
    if t_value is not None:
        y = _num(y_of(t_value))
        dy = "12" if y_of(t_value) < top + 14 else "-4"  # below the line at the very top
        sign = escape(">" if comparator == ">" else "≥")
        out.append(f'<line x1="{left}" y1="{y}" x2="{left + plot_w}" y2="{y}" '
                   f'stroke="{THRESHOLD_COLOUR}" stroke-width="1.5" stroke-dasharray="6 4" '
                   f'class="threshold"/>')
        out.append(f'<text x="{left + plot_w}" y="{y}" dy="{dy}" text-anchor="end" '
                   f'fill="{THRESHOLD_COLOUR}">{escape(threshold_label)} {sign} '
                   f"{escape(_pct(t_value, measure))}</text>")
    segment: list[str] = []
    segments: list[list[str]] = []
    for p in pts:  # the value line, broken where there is no value
        if p.value_pct is None:
            if segment:
                segments.append(segment)
            segment = []
            continue
        segment.append(f"{_num(x_of(p.as_of))},{_num(y_of(float(p.value_pct)))}")
    if segment:
        segments.append(segment)
    for seg in segments:
        if len(seg) > 1:
            out.append(f'<polyline points="{" ".join(seg)}" fill="none" '
                       f'stroke="{LINE_COLOUR}" stroke-width="2" class="value"/>')
    for p in pts:
        if p.value_pct is None:
            continue
        ok = _passes(p.value_pct, comparator, threshold)
        colour = LINE_COLOUR if ok is None else PASS_COLOUR if ok else FAIL_COLOUR
        figures = f" ({p.numerator}/{p.denominator})" if p.denominator is not None else ""
        tip = f"{p.as_of.strftime('%d/%m/%Y')}: {_pct(p.value_pct, measure)}{figures}"
        out.append(f'<circle cx="{_num(x_of(p.as_of))}" cy="{_num(y_of(float(p.value_pct)))}" '
                   f'r="3.5" fill="{colour}" class="point"><title>{escape(tip)}</title>'
                   f"</circle>")
    out.append("</svg>")
    return "".join(out)
