"""Server-side SVG trend charts: well-formed, self-contained, escaped, and drawn where the
figures say."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date
from decimal import Decimal

import sqlalchemy as sa

from egov.compute.indicators.snapshots import value_pct
from egov.serve.reports.charts import FAIL_COLOUR, PASS_COLOUR, Point, trend_svg
from egov.serve.reports.trends import trend_points
from egov.warehouse.schema import mart_indicator_snapshot

NS = {"svg": "http://www.w3.org/2000/svg"}

POINTS = [
    Point(date(2025, 3, 31), Decimal("80.00"), 80, 100),
    Point(date(2025, 1, 31), Decimal("95.50"), 191, 200),
    Point(date(2025, 2, 28), None, 0, 0),
    Point(date(2025, 4, 30), Decimal("92.00"), 230, 250),
    Point(date(2025, 5, 31), Decimal("90.00"), 270, 300),
]


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    return root


def test_self_contained():
    svg = trend_svg(POINTS, threshold=Decimal("90"), title="Tỷ lệ đúng hạn")
    parse(svg)
    lowered = svg.lower()
    for banned in ("<script", "href", "url(", "@import", "<foreignobject", "onload", "onclick",
                   "<style", "<image"):
        assert banned not in lowered, banned
    assert lowered.count("http") == 1  # the xmlns only


def test_geometry_threshold_points_and_gaps():
    svg = trend_svg(POINTS, threshold=Decimal("90"), comparator=">=", width=560, height=200)
    root = parse(svg)
    # y range: min(80, 90) - 5 -> 70 .. 100; plot from y=10 (top) to 200-28 = 172 (162 high)
    threshold = root.find("svg:line[@class='threshold']", NS)
    y90 = 10 + 162 * (1 - (90 - 70) / 30)
    assert float(threshold.get("y1")) == round(y90, 1)
    circles = root.findall("svg:circle", NS)
    assert len(circles) == 4  # the point without a value is not drawn
    tips = [c.find("svg:title", NS).text for c in circles]
    assert tips[0] == "31/01/2025: 95,50% (191/200)"  # sorted by day
    colours = [c.get("fill") for c in circles]
    # 95.5 and 92 and 90 pass >= 90; 80 fails
    assert colours == [PASS_COLOUR, FAIL_COLOUR, PASS_COLOUR, PASS_COLOUR]
    # the gap on 28 February splits the line: 31/01 stands alone, then 31/03 .. 31/05
    lines = root.findall("svg:polyline", NS)
    assert len(lines) == 1 and len(lines[0].get("points").split()) == 3
    # x: first day at the left edge (46), last at the right (560 - 16)
    xs = [float(c.get("cx")) for c in circles]
    assert xs[0] == 46 and xs[-1] == 544 and xs == sorted(xs)
    labels = [t.text for t in root.findall("svg:text", NS)]
    assert "Chỉ tiêu ≥ 90,00%" in labels
    assert "31/01/2025" in labels and "31/05/2025" in labels


def test_strict_comparator_colours_an_equal_value_as_failing():
    root = parse(trend_svg([Point(date(2025, 1, 1), Decimal("90.00"))], threshold=90,
                           comparator=">"))
    (circle,) = root.findall("svg:circle", NS)
    assert circle.get("fill") == FAIL_COLOUR
    assert float(circle.get("cx")) == 46 + (560 - 46 - 16) / 2  # one point: centred
    assert "Chỉ tiêu > 90,00%" in [t.text for t in root.findall("svg:text", NS)]


def test_text_is_escaped():
    evil = '<script>alert("x")</script> & "q"'
    svg = trend_svg(POINTS, threshold=90, title=evil, threshold_label=evil)
    root = parse(svg)
    assert "<script" not in svg
    assert root.find("svg:title", NS).text == evil
    assert root.get("aria-label") == evil
    assert any(t.text and t.text.startswith(evil) for t in root.findall("svg:text", NS))


def test_no_data_and_values_above_100():
    root = parse(trend_svg([], threshold=50, title="x"))
    assert "Chưa có số liệu" in [t.text for t in root.findall("svg:text", NS)]
    root = parse(trend_svg([Point(date(2025, 1, 1), None)], threshold=50))
    assert not root.findall("svg:circle", NS)
    root = parse(trend_svg([Point(date(2025, 1, 1), Decimal("100"))], threshold=Decimal("110")))
    labels = [t.text for t in root.findall("svg:text", NS)]
    assert "110%" in labels  # the axis reaches the threshold
    assert "Chỉ tiêu ≥ 110,00%" in labels


def test_deterministic():
    assert trend_svg(POINTS, threshold=90) == trend_svg(list(reversed(POINTS)), threshold=90)


def test_trend_points_from_the_marts(warehouse):
    def snap(as_of, num, den, *, unit="U1", indicator="on_time_rate", start=date(2025, 1, 1),
             period_type="year"):
        return {"as_of_date": as_of, "portal_code": "p", "unit_code": unit,
                "indicator_code": indicator, "period_type": period_type,
                "period_start": start, "period_end": date(2025, 12, 31), "numerator": num,
                "denominator": den, "value_pct": value_pct(num, den)}

    rows = [
        snap(date(2025, 2, 1), 9, 10), snap(date(2025, 1, 1), 0, 0),
        snap(date(2025, 3, 1), 19, 20),
        snap(date(2025, 3, 1), 1, 1, unit="U2"),  # others: unit, indicator, period
        snap(date(2025, 3, 1), 1, 1, indicator="online_rate"),
        snap(date(2025, 3, 1), 1, 1, period_type="quarter"),
        snap(date(2025, 3, 1), 1, 1, start=date(2024, 1, 1)),
    ]
    with warehouse.begin() as conn:
        conn.execute(sa.insert(mart_indicator_snapshot), rows)
    with warehouse.connect() as conn:
        got = trend_points(conn, "U1", "on_time_rate", 2025)
        capped = trend_points(conn, "U1", "on_time_rate", 2025, up_to=date(2025, 2, 1))
    assert [(p.as_of, p.numerator, p.denominator) for p in got] == [
        (date(2025, 1, 1), 0, 0), (date(2025, 2, 1), 9, 10), (date(2025, 3, 1), 19, 20)]
    assert got[0].value_pct is None
    assert Decimal(str(got[2].value_pct)) == Decimal("95.00")
    assert [p.as_of for p in capped] == [date(2025, 1, 1), date(2025, 2, 1)]


def test_a_past_years_trend_spans_that_year_only(warehouse):
    """Later nights recompute the 2023 snapshot (plans name the year): those as-of days of
    2024 and 2025 are not part of 2023's trend (issue 19: '2023' drawn over 2025)."""
    def snap(as_of, num, den):
        return {"as_of_date": as_of, "portal_code": "p", "unit_code": "U1",
                "indicator_code": "on_time_rate", "period_type": "year",
                "period_start": date(2023, 1, 1), "period_end": date(2023, 12, 31),
                "numerator": num, "denominator": den, "value_pct": value_pct(num, den)}

    with warehouse.begin() as conn:
        conn.execute(sa.insert(mart_indicator_snapshot), [
            snap(date(2023, 6, 30), 5, 10), snap(date(2023, 12, 31), 8, 10),
            snap(date(2024, 1, 1), 8, 10), snap(date(2025, 6, 30), 8, 10),
            snap(date(2025, 12, 31), 8, 10)])
    with warehouse.connect() as conn:
        got = trend_points(conn, "U1", "on_time_rate", 2023, up_to=date(2025, 12, 31))
        none = trend_points(conn, "U1", "on_time_rate", 2022, up_to=date(2025, 12, 31))
    assert [p.as_of for p in got] == [date(2023, 6, 30), date(2023, 12, 31)]
    assert none == []


def test_a_chart_in_points_labels_points_not_percent():
    svg = trend_svg([Point(date(2026, 7, 1), 58.5), Point(date(2026, 8, 1), 61.89)],
                    threshold=60, comparator=">=", measure="points")
    root = parse(svg)
    texts = [t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "Chỉ tiêu ≥ 60,00 điểm" in texts and not any(t.endswith("%") for t in texts)
    tips = [t.text for t in root.iter("{http://www.w3.org/2000/svg}title")][1:]
    assert tips == ["01/07/2026: 58,50 điểm", "01/08/2026: 61,89 điểm"]
