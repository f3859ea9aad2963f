"""The HTML report of all plans as of a day: every target with its clause, threshold, value,
numerator/denominator, status (colour coded), outlook and the trend chart of its indicator.

One self-contained page: inline styles, inline SVG charts (egov.serve.reports.charts), no
script, no external asset (a Content-Security-Policy forbids loading any); links only to the
Biểu 06 files written next to it. Every text from the warehouse or the plans is escaped.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime
from html import escape
from typing import TYPE_CHECKING, Any

from egov.compute.indicators.dictionary import name_vi
from egov.serve.reports.charts import trend_svg
from egov.serve.reports.labels import (
    BASIS_VI,
    OUTLOOK_VI,
    STATUS_COLOURS,
    STATUS_VI,
    index_indicator_name,
    pct_vi,
    threshold_vi,
    with_current_terms,
)
from egov.serve.reports.trends import trend_points

if TYPE_CHECKING:
    from sqlalchemy import Connection

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def _short(text: str, limit: int = 160) -> str:
    """A long list of source documents (children summed) cut for the table."""
    return text if len(text) <= limit else text[: limit - 1].rstrip("; ") + "…"
STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;margin:24px;
color:#24292f;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 4px}
.meta{color:#57606a;font-size:13px;margin:0 0 12px}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{border:1px solid #d0d7de;padding:6px 8px;vertical-align:top;text-align:left}
th{background:#f6f8fa}
td.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
.badge{display:inline-block;border-radius:10px;padding:2px 8px;font-size:12px;
white-space:nowrap}
.clause{max-width:420px}.small{font-size:12px;color:#57606a}
.summary .badge{margin-right:6px}
.out{color:#cf222e;font-weight:600}.ok{color:#116329}
"""


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _vn(d: date) -> str:
    return d.strftime("%d/%m/%Y")


def badge(status: str) -> str:
    bg, fg = STATUS_COLOURS.get(status, ("#eaeef2", "#24292f"))
    return (f'<span class="badge status-{escape(status)}" style="background:{bg};color:{fg}">'
            f"{escape(STATUS_VI.get(status, status))}</span>")


def report_rows(conn: Connection, as_of: date) -> list[dict[str, Any]]:
    """For each plan, its evaluations of the newest as-of day up to `as_of` (a plan whose
    portal failed that night keeps its last evaluations, shown with their day)."""
    from sqlalchemy import Date, func, literal, select

    from egov.warehouse.schema import mart_target_evaluation as t

    latest = (select(t.c.plan_code, func.max(t.c.as_of_date).label("as_of_date"))
              .where(t.c.as_of_date <= literal(as_of, Date))
              .group_by(t.c.plan_code).subquery("latest"))
    stmt = (select(t).join(latest, (latest.c.plan_code == t.c.plan_code)
                           & (latest.c.as_of_date == t.c.as_of_date))
            .order_by(t.c.plan_code, t.c.target_code, t.c.year))
    return [dict(r._mapping) for r in conn.execute(stmt)]


def _unit_names(conn: Connection) -> dict[str, str]:
    from sqlalchemy import select

    from egov.warehouse.schema import dim_unit

    return {r.unit_code: r.unit_name or r.unit_code
            for r in conn.execute(select(dim_unit.c.unit_code, dim_unit.c.unit_name))}


def _freshness(conn: Connection) -> list[dict[str, Any]]:
    """Per portal: the newest record change committed and the last successful load."""
    from sqlalchemy import func, select

    from egov.warehouse.schema import etl_portal_run, etl_watermark

    loaded = dict(conn.execute(
        select(etl_portal_run.c.portal_code, func.max(etl_portal_run.c.finished_at))
        .where(etl_portal_run.c.status == "loaded").group_by(etl_portal_run.c.portal_code)
    ).all())
    marks = dict(conn.execute(select(etl_watermark.c.portal_code,
                                     etl_watermark.c.updated_through)).all())
    return [{"portal": p, "loaded": loaded.get(p), "watermark": marks.get(p)}
            for p in sorted(set(loaded) | set(marks))]


def _outlook_cell(r: dict[str, Any]) -> str:
    if not r.get("outlook"):
        return '<td class="small">—</td>'
    cls = "out" if r["outlook"] == "out_of_reach" else "ok"
    return (f'<td class="outlook"><span class="{cls}">{escape(OUTLOOK_VI[r["outlook"]])}'
            f"</span><br><span class=\"small\">cần {escape(pct_vi(r['needed_share_pct']))} "
            f"số hồ sơ còn lại của năm đạt yêu cầu ({r['needed_numerator']} / dự kiến "
            f"{r['projected_denominator']} cả năm)</span></td>")


def render_report(conn: Connection, as_of: date, *, files: Sequence[str] = (),
                  generated_at: datetime | None = None) -> str:
    """The report as one HTML string."""
    rows = report_rows(conn, as_of)
    units = _unit_names(conn)
    generated_at = generated_at or datetime.now().replace(microsecond=0)
    counts: dict[str, int] = defaultdict(int)
    for r in rows:
        counts[r["status"]] += 1
    out = [
        "<!DOCTYPE html>",
        '<html lang="vi"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Báo cáo chỉ tiêu CCHC — số liệu đến {_vn(as_of)}</title>",
        f"<style>{STYLE}</style></head><body>",
        '<h1>Báo cáo thực hiện chỉ tiêu cải cách hành chính</h1>',
        f'<p class="meta" data-as-of="{as_of.isoformat()}">Số liệu đến hết ngày {_vn(as_of)}'
        f" · lập lúc {escape(generated_at.strftime('%H:%M %d/%m/%Y'))} · nguồn: kho dữ liệu "
        "egov (mart_target_evaluation, mart_indicator_snapshot)</p>",
    ]
    out.append('<p class="summary">' + "".join(
        f"{badge(s)}<span class=\"count\" data-status=\"{escape(s)}\">{counts[s]}</span> "
        for s in STATUS_VI if counts.get(s)) + f"— {len(rows)} lượt đánh giá</p>")
    if files:
        out.append("<h2>Biểu số 06/VPCP/KSTT</h2><ul class=\"files\">")
        out += [f'<li><a href="{escape(name, quote=True)}">{escape(name)}</a></li>'
                for name in files]
        out.append("</ul>")
    fresh = _freshness(conn)
    if fresh:
        out.append("<h2>Độ mới của dữ liệu</h2><table class=\"freshness\"><tr><th>Cổng</th>"
                   "<th>Lần tải thành công gần nhất</th><th>Thay đổi hồ sơ mới nhất đã nhận"
                   "</th></tr>")
        for f in fresh:
            out.append(f"<tr><td>{escape(f['portal'])}</td><td>{escape(str(f['loaded'] or '—'))}"
                       f"</td><td>{escape(str(f['watermark'] or '—'))}</td></tr>")
        out.append("</table>")
    if not rows:
        out.append("<p>Chưa có kết quả đánh giá chỉ tiêu nào.</p>")
    plan = None
    for r in rows:
        if r["plan_code"] != plan:
            if plan is not None:
                out.append("</table></section>")
            plan = r["plan_code"]
            day = _day(r["as_of_date"])
            stale = (f' <strong class="out">(đánh giá ngày {_vn(day)}: cổng không tải được '
                     f"sau ngày này)</strong>") if day != as_of else ""
            out.append(
                f'<section class="plan" id="plan-{escape(plan, quote=True)}">'
                f"<h2>{escape(r.get('plan_title') or plan)}</h2>"
                f'<p class="meta">Mã kế hoạch {escape(plan)} · cổng '
                f"{escape(r.get('portal_code') or '')}{stale}</p>"
                "<table><tr><th>Năm</th><th>Chỉ tiêu (trích kế hoạch)</th><th>Chỉ số · đơn vị"
                "</th><th>Ngưỡng</th><th>Giá trị</th><th>Tử số / mẫu số</th><th>Trạng thái</th>"
                "<th>Triển vọng cả năm</th><th>Xu hướng trong năm</th></tr>")
        out.append(_target_row(conn, r, units, as_of))
    if plan is not None:
        out.append("</table></section>")
    out.append('<p class="small">Trạng thái: Đạt / Không đạt khi năm đã kết thúc; Đúng tiến độ '
               "/ Có nguy cơ không đạt khi năm đang diễn ra (so sánh trên tỷ lệ chính xác, không"
               " làm tròn). Triển vọng: tỷ lệ hồ sơ còn lại của năm phải đạt yêu cầu, nếu số hồ "
               "sơ mỗi ngày giữ như từ đầu năm; trên 100% là không còn khả năng đạt.</p>")
    out.append("</body></html>")
    return "\n".join(out)


def _target_row(conn: Connection, r: dict[str, Any], units: dict[str, str], as_of: date) -> str:
    indicator = r.get("indicator_code")
    unit = r["unit_code"]
    measure = r.get("measure")  # "points": the 766 index's scores
    if indicator and indicator.startswith("dvcqg:"):  # the 766 index: by period, no trend
        measured = (f"{escape(index_indicator_name(indicator))}<br><span class=\"small\">"
                    f"{escape(indicator)} · {escape(units.get(unit, unit))}</span>")
        chart = '<span class="small">Số liệu Cổng quốc gia theo kỳ (trang Chỉ số 766)</span>'
    elif indicator:
        measured = (f"{escape(with_current_terms(name_vi(indicator)))}<br><span class=\"small\">{escape(indicator)}"
                    f" · {escape(units.get(unit, unit))}</span>")
        points = trend_points(conn, unit, indicator, int(r["year"]), up_to=as_of)
        chart = trend_svg(points, threshold=r["threshold_pct"], comparator=r["comparator"],
                          title="", width=300, height=120,
                          no_data_text=f"Không có ngày chốt trong năm {int(r['year'])}")
    else:
        measured = '<span class="small">Không đo được từ dữ liệu cổng</span>'
        if r.get("basis") in ("self_reported", "verified"):  # a reported figure (docs/reported-figures.md)
            sample = " · số liệu mẫu" if r.get("is_sample") else ""
            measured = (f'<span class="small">{escape(BASIS_VI[r["basis"]])}{sample}: '
                        f'{escape(_short(r.get("source_doc") or ""))}</span>')
        if r.get("expected_units") is not None:
            measured += (f'<br><span class="small">{r.get("reported_units") or 0}/'
                         f'{r["expected_units"]} đơn vị đã báo cáo</span>')
        chart = ""
    figures = (f"{r['numerator']} / {r['denominator']}" if r.get("denominator") is not None
               else "—")
    return (
        f'<tr class="target" data-plan="{escape(r["plan_code"], quote=True)}" '
        f'data-target="{escape(r["target_code"], quote=True)}" data-year="{r["year"]}" '
        f'data-status="{escape(r["status"], quote=True)}">'
        f"<td>{r['year']}</td>"
        f"<td class=\"clause\">{escape(r.get('clause') or '')}<br>"
        f"<span class=\"small\">{escape(r['target_code'])}</span></td>"
        f"<td>{measured}</td>"
        f"<td class=\"num\">{escape(threshold_vi(r['comparator'], r['threshold_pct'], measure=measure))}</td>"
        f"<td class=\"num value\">{escape(pct_vi(r.get('value_pct'), measure=measure))}</td>"
        f"<td class=\"num\">{escape(figures)}</td>"
        f"<td>{badge(r['status'])}</td>"
        f"{_outlook_cell(r)}"
        f"<td>{chart}</td></tr>"
    )
