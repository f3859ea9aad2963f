"""Server-side SVG for the Targets page (no script, no external asset)."""

from __future__ import annotations

from html import escape


def trend_chart(points: list[dict], *, threshold, comparator: str, year: int,
                width: int = 640, height: int = 240) -> str:
    """The year snapshot's value over the as-of days (`points`: as_of_date, value_pct), with
    the threshold as a dashed line."""
    left, right, top, bottom = 48, 16, 16, 36
    values = [float(p["value_pct"]) for p in points if p["value_pct"] is not None]
    bound = float(threshold)
    hi = min(100.0, max(values + [bound]) + 5)
    lo = max(0.0, min(values + [bound]) - 5)
    if hi - lo < 10:
        lo, hi = max(0.0, lo - 5), min(100.0, hi + 5)
    days = [p["as_of_date"] for p in points]
    first, last = min(days), max(days)
    span = max((last - first).days, 1)

    def x(day):
        return left + (width - left - right) * ((day - first).days / span if last > first
                                                else 0.5)

    def y(value):
        return top + (height - top - bottom) * (1 - (value - lo) / (hi - lo))

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="trend" role="img" '
             f'viewBox="0 0 {width} {height}" width="{width}" height="{height}">',
             f'<title>Diễn biến năm {year}</title>']
    for tick in range(0, 101, 10):
        if lo <= tick <= hi:
            parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y(tick):.1f}" '
                         f'y2="{y(tick):.1f}" stroke="#e5e7eb"/>'
                         f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" text-anchor="end" '
                         f'font-size="11" fill="#6b7280">{tick}%</text>')
    parts.append(f'<line class="threshold" x1="{left}" x2="{width - right}" y1="{y(bound):.1f}"'
                 f' y2="{y(bound):.1f}" stroke="#dc2626" stroke-dasharray="6 4"/>'
                 f'<text x="{width - right}" y="{y(bound) - 4:.1f}" text-anchor="end" '
                 f'font-size="11" fill="#dc2626">mục tiêu {escape(comparator)} '
                 f'{bound:g}%</text>')
    coords = [(x(p["as_of_date"]), y(float(p["value_pct"])), p) for p in points
              if p["value_pct"] is not None]
    if len(coords) > 1:
        path = " ".join(f"{'M' if i == 0 else 'L'}{cx:.1f},{cy:.1f}"
                        for i, (cx, cy, _) in enumerate(coords))
        parts.append(f'<path d="{path}" fill="none" stroke="#2563eb" stroke-width="2"/>')
    for cx, cy, p in coords:
        parts.append(f'<circle class="point" cx="{cx:.1f}" cy="{cy:.1f}" r="3.5" '
                     f'fill="#2563eb"><title>{p["as_of_date"]:%d/%m/%Y}: '
                     f'{float(p["value_pct"]):.2f}%</title></circle>')
    parts.append(f'<text x="{left}" y="{height - 10}" font-size="11" fill="#6b7280">'
                 f'{first:%d/%m/%Y}</text>')
    if last > first:
        parts.append(f'<text x="{width - right}" y="{height - 10}" text-anchor="end" '
                     f'font-size="11" fill="#6b7280">{last:%d/%m/%Y}</text>')
    parts.append("</svg>")
    return "".join(parts)
