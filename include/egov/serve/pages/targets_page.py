"""The Targets page ("Chỉ tiêu CCHC"): a FastAPI app the Airflow API server mounts at
`/egov-targets/` (plugins/egov_targets.py), rendered server-side, no script at all.

- `/` — every plan at its latest as-of day, counts per status; data freshness per portal;
  links to the latest reports and to the Data Docs;
- `/plan/{plan}` — every target of the plan for one year (`?year=`, default the newest):
  clause, threshold, value, numerator/denominator, status, outlook, colour coded;
- `/plan/{plan}/target/{target}?year=&unit=` — the trend of the indicator's year snapshot over
  the as-of days with the threshold drawn, and the unit's child units, worst first (each a
  link one level down).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import Response  # resolvable: FastAPI reads the routes' return annotations

if TYPE_CHECKING:
    from fastapi import FastAPI
    from jinja2 import Environment
    from sqlalchemy import Engine

    from egov.serve.pages.targets_data import UnitRow

log = logging.getLogger(__name__)

URL_PREFIX = "/egov-targets"
TEMPLATES = Path(__file__).resolve().parent / "templates"
_engines: dict[str, Engine] = {}
_lock = threading.Lock()


def engine() -> Engine:
    """One engine per warehouse URL for the server's life (connection egov_warehouse)."""
    from egov.warehouse.db import make_engine, warehouse_url

    url = warehouse_url()
    with _lock:
        if url not in _engines:
            _engines[url] = make_engine(url)
        return _engines[url]


def _jinja() -> Environment:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    from egov.serve.pages import labels

    env = Environment(loader=FileSystemLoader(str(TEMPLATES)),
                      autoescape=select_autoescape(default=True, default_for_string=True),
                      trim_blocks=True, lstrip_blocks=True)
    for name in ("status_label", "status_class", "outlook_label", "outlook_class",
                 "indicator_name", "pct", "threshold", "number", "day", "moment", "level"):
        env.filters[name] = getattr(labels, name)
    env.filters["points"] = _points
    env.globals.update(COMPARATOR=labels.COMPARATOR, STATUS=labels.STATUS,
                       STATUS_ORDER=labels.STATUS_ORDER, RUN_STATUS=labels.RUN_STATUS,
                       prefix=URL_PREFIX)
    return env


def _points(value: Any) -> str:
    """A score or count as Vietnamese reads it: 61,89 · 597.918 · — for none."""
    if value is None:
        return "—"
    number = float(value)
    if number.is_integer() and abs(number) >= 1000:
        return f"{int(number):,}".replace(",", ".")
    return f"{number:.2f}".rstrip("0").rstrip(".").replace(".", ",")


def _portal_names() -> dict[str, str]:
    try:
        from egov.settings import load_portals

        return {p.code: p.name for p in load_portals()}
    except Exception:  # noqa: BLE001 - names are a nicety; codes suffice
        return {}


def _reports() -> list[dict[str, Any]]:
    from egov.serve.pages.report_files import latest_reports

    try:
        return latest_reports()
    except Exception:  # noqa: BLE001
        log.exception("could not list the reports")
        return []


def create_app(dependencies: Sequence[Callable[..., Any]] = ()) -> FastAPI:
    from fastapi import Depends, FastAPI, HTTPException, Query
    from fastapi.responses import FileResponse, HTMLResponse
    from sqlalchemy.exc import SQLAlchemyError

    from egov.serve.pages import targets_data as data
    from egov.serve.pages import web
    from egov.serve.reports.charts import trend_svg
    from egov.serve.reports.trends import trend_points

    app = FastAPI(title="egov targets", dependencies=[Depends(d) for d in dependencies],
                  docs_url=None, redoc_url=None, openapi_url=None)
    web.install_common(app, web.PAGE_CSP)
    env = _jinja()

    def render(name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        return HTMLResponse(env.get_template(name).render(**context), status_code=status_code)

    def empty(message: str) -> HTMLResponse:
        return render("empty.html", message=message)

    @app.get("/", include_in_schema=False)
    def index() -> Response:
        try:
            with engine().connect() as conn:
                if not data.has_tables(conn):
                    return empty("Kho dữ liệu chưa được khởi tạo: chưa có lượt chạy nào.")
                plans = data.plans(conn)
                fresh = data.freshness(conn)
        except SQLAlchemyError:
            log.exception("targets page: warehouse read failed")
            return render("empty.html", status_code=503,
                          message="Không đọc được kho dữ liệu (xem log của API server).")
        return render("index.html", plans=plans, freshness=fresh, portals=_portal_names(),
                      reports=_reports())

    @app.get("/plan/{plan_code}", include_in_schema=False)
    def plan(plan_code: str, year: int | None = Query(None, ge=1900, le=9999)) -> Response:
        with engine().connect() as conn:
            if not data.has_tables(conn):
                raise HTTPException(status_code=404)
            as_of = data.plan_as_of(conn, plan_code)
            if as_of is None:
                raise HTTPException(status_code=404)
            rows = data.plan_evaluations(conn, plan_code, as_of)
            units = {r["unit_code"]: data.unit(conn, r["unit_code"]) for r in rows}
        years = sorted({r["year"] for r in rows}, reverse=True)
        shown = year if year in years else years[0]
        selected = [r for r in rows if r["year"] == shown]
        counts: dict[str, int] = {}
        for r in selected:
            counts[r["status"]] = counts.get(r["status"], 0) + 1
        return render("plan.html", plan_code=plan_code, title=rows[0]["plan_title"],
                      portal=rows[0]["portal_code"], as_of=as_of, years=years, year=shown,
                      rows=selected, counts=counts, units=units,
                      running=shown == as_of.year and as_of < date(shown, 12, 31))

    @app.get("/plan/{plan_code}/target/{target_code}", include_in_schema=False)
    def target(plan_code: str, target_code: str, year: int = Query(..., ge=1900, le=9999),
               unit: str | None = Query(None, max_length=64)) -> Response:
        with engine().connect() as conn:
            row = data.evaluation(conn, plan_code, target_code, year) if data.has_tables(
                conn) else None
            if row is None:
                raise HTTPException(status_code=404)
            unit_code = unit or row["unit_code"]
            current = data.unit(conn, unit_code)
            if unit and current is None:
                raise HTTPException(status_code=404)
            trail = data.ancestors(conn, unit_code)
            trend, children = [], []
            if row["indicator_code"]:
                trend = trend_points(conn, unit_code, row["indicator_code"], year,
                                     up_to=row["as_of_date"])
                children = data.worst_first(data.child_units(
                    conn, unit_code, row["indicator_code"], year, row["as_of_date"]))
        point = next((p for p in trend if p.as_of == row["as_of_date"]), None)
        chart = trend_svg(trend, threshold=row["threshold_pct"], comparator=row["comparator"],
                          title=f"Diễn biến năm {year}") if trend else ""
        from egov.compute.targets import passes

        def verdict(child: UnitRow) -> bool | None:
            if not child.denominator:
                return None
            return passes(child.numerator or 0, child.denominator, row["comparator"],
                          row["threshold_pct"])

        return render("target.html", plan_code=plan_code, row=row, year=year,
                      unit=current or {"unit_code": unit_code}, trail=trail, point=point,
                      trend=trend, chart=chart, children=children, verdict=verdict,
                      is_target_unit=unit_code == row["unit_code"])

    def _index766_context(conn: Any, province: str | None, period: str | None
                          ) -> dict[str, Any] | None:
        from egov.serve.pages import index766_data as d766

        if not d766.has_tables(conn):
            return None
        provinces = d766.provinces(conn)
        chosen = next((p for p in provinces if p["root"] == province), None) if province \
            else (provinces[0] if provinces else None)
        if chosen is None:
            return None
        periods = d766.periods(conn, chosen["root"])
        for p in periods:
            p["key"] = f"{p['type']}:{p['start'].isoformat()}"
            p["label"] = d766.label(p["type"], p["start"])
        current = next((p for p in periods if p["key"] == period), None) if period \
            else (periods[0] if periods else None)
        if current is None:
            return None
        return {"d766": d766, "province": chosen, "provinces": provinces,
                "periods": periods, "current": current, "period_label": current["label"]}

    @app.get("/index766", include_in_schema=False)
    def index766(province: str | None = Query(None, max_length=64),
                 period: str | None = Query(None, max_length=32)) -> Response:
        with engine().connect() as conn:
            ctx = _index766_context(conn, province, period)
            if ctx is None:
                if province or period:
                    raise HTTPException(status_code=404)
                return empty("Chưa có số liệu Chỉ số 766: DAG egov_dvcqg chưa đọc kỳ nào.")
            d766, root, cur = ctx.pop("d766"), ctx["province"]["root"], ctx["current"]
            own = d766.province_scores(conn, root, cur["type"], cur["start"]) or {
                "groups": {}, "max": {}, "total": None, "max_total": None}
            groups = [{"code": g, "label": d766.GROUP_LABELS.get(g, g),
                       "short": d766.GROUP_LABELS.get(g, g).split(",")[0],
                       "score": own["groups"].get(g), "max": own["max"].get(g)}
                      for g in d766.GROUP_CODES]
            unmapped = d766.unmapped(conn, root)
            return render("index766.html", groups=groups, total=own["total"],
                          max_total=own["max_total"], trend=d766.trend(conn, root),
                          ranking=d766.ranking(conn, root, cur["type"], cur["start"]),
                          flags=d766.reconciliation_flags(conn, root, cur["type"],
                                                          cur["start"]),
                          unmapped=unmapped,
                          unmapped_count=len({u["department_id"] for u in unmapped}), **ctx)

    @app.get("/index766/unit/{department_id}", include_in_schema=False)
    def index766_unit(department_id: str, province: str = Query(..., max_length=64),
                      period: str = Query(..., max_length=32)) -> Response:
        with engine().connect() as conn:
            ctx = _index766_context(conn, province, period)
            if ctx is None:
                raise HTTPException(status_code=404)
            d766, cur = ctx.pop("d766"), ctx["current"]
            unit = d766.unit_detail(conn, ctx["province"]["root"], cur["type"], cur["start"],
                                    department_id[:64])
            if unit is None:
                raise HTTPException(status_code=404)
        return render("index766_unit.html", unit=unit, **ctx)

    @app.get("/reports/{name}", include_in_schema=False)
    def report_file(name: str) -> Response:
        from egov.serve.pages.report_files import report_path

        path = report_path(name) if len(name) <= 255 and "\x00" not in name else None
        if path is None:
            raise HTTPException(status_code=404)
        if path.suffix == ".html":
            return FileResponse(path, media_type="text/html; charset=utf-8")
        return FileResponse(path, filename=path.name)

    return app
