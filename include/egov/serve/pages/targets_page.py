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
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

# Module level: FastAPI resolves the routes' annotations here (already imported by
# egov.serve.pages.web, which the plugin loads anyway).
from fastapi import File, Request, Response, UploadFile

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterator, Sequence

    from fastapi import FastAPI
    from jinja2 import Environment
    from sqlalchemy import Connection, Engine
    from starlette.types import ExceptionHandler

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
    env.globals.update(query=labels.query, STATUS_HELP=labels.STATUS_HELP,
                       COMPARATOR=labels.COMPARATOR, STATUS=labels.STATUS,
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


def _portal_status(fresh: list[dict[str, Any]]) -> None:
    """Add to each portal's freshness: hours since its last successful load against the
    stale threshold (the alerts' EGOV_ALERT_STALE_HOURS; both times as the warehouse keeps
    them, local), and links into the Airflow UI for its last run and failed task."""
    from datetime import datetime

    from egov.serve.alerts.settings import stale_hours
    from egov.serve.pages import run_links

    now = datetime.now()
    try:
        limit = stale_hours()
    except Exception:  # noqa: BLE001 - a bad setting must not take the page down
        limit = None
    failed = run_links.failed_tasks([f["last_run_id"] for f in fresh
                                     if f["last_status"] == "failed" and f["last_run_id"]])
    for f in fresh:
        loaded = f["last_loaded_at"]
        if isinstance(loaded, str):
            loaded = datetime.fromisoformat(loaded)
        f["age_hours"] = (now - loaded).total_seconds() / 3600 if loaded else None
        f["stale_hours"] = limit
        f["stale"] = loaded is None or (limit is not None and f["age_hours"] > limit)
        f["run_url"] = run_links.run_url(f["last_run_id"]) if f["last_run_id"] else None
        f["failed_task"] = failed.get((f["last_run_id"], f["portal_code"]))


def create_app(dependencies: Sequence[Callable[..., Any]] = (),
               editor: Callable[..., Awaitable[str | None]] | None = None,
               take_upload: Callable[..., Any] | None = None) -> FastAPI:
    """`editor`: a dependency giving the signed-in user's name when their role may edit
    (the upload form, the crosswalk's confirmations), else None; without it nobody edits.
    `take_upload(name, data, *, user, engine)`: what takes an uploaded file and returns its
    outcome (egov.pipeline.reported.intake.take_upload, given by the plugin: the pipeline
    is a stage above this page); without it nobody uploads."""
    from fastapi import Depends, FastAPI, HTTPException, Query
    from fastapi.responses import FileResponse, HTMLResponse
    from sqlalchemy.exc import SQLAlchemyError

    from egov.serve.pages import labels, run_links, web
    from egov.serve.pages import targets_data as data
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

    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException as StarletteHTTPException

    common = app.exception_handlers[HTTPException]

    @app.exception_handler(StarletteHTTPException)
    async def _not_found(request: Request, exc: StarletteHTTPException) -> Response:
        """404 (an unknown plan, target, unit, file or path): a page, not JSON."""
        if exc.status_code != 404:
            return await cast("Awaitable[Response]", common(request, exc))
        return render("empty.html", status_code=404, title="Không tìm thấy",
                      message="Không tìm thấy trang này: kế hoạch, chỉ tiêu, đơn vị hoặc tệp "
                              "không có trong kho dữ liệu (có thể đã đổi mã).")

    app.add_exception_handler(HTTPException, cast("ExceptionHandler", _not_found))

    @app.exception_handler(RequestValidationError)
    async def _bad_query(request: Request, exc: RequestValidationError) -> Response:
        return render("empty.html", status_code=400, title="Địa chỉ không hợp lệ",
                      message="Tham số trên địa chỉ không hợp lệ (năm, ngày hoặc mã đơn vị).")

    async def _nobody() -> None:
        return None

    may_edit = Depends(editor or _nobody)

    @app.get("/", include_in_schema=False)
    def index(as_of: date | None = None,
              editor_name: str | None = may_edit) -> Response:
        try:
            with engine().connect() as conn:
                if not data.has_tables(conn):
                    return empty("Kho dữ liệu chưa được khởi tạo: chưa có lượt chạy nào.")
                days = data.evaluated_days(conn)
                plans = data.plans(conn, as_of)
                fresh = data.freshness(conn)
                checks = data.latest_validation(conn)
        except SQLAlchemyError:
            log.exception("targets page: warehouse read failed")
            return render("empty.html", status_code=503,
                          message="Không đọc được kho dữ liệu (xem log của API server).")
        _portal_status(fresh)
        from egov.serve.pages import reported_data

        return render("index.html", plans=plans, freshness=fresh, portals=_portal_names(),
                      reports=_reports(), days=days, as_of=as_of, checks=checks,
                      docs_pages=run_links.portal_docs_pages(), demo_log=run_links.demo_log(),
                      chosen=as_of if as_of in days else None,
                      receipts=reported_data.recent_receipts(),
                      can_upload=editor_name is not None and take_upload is not None)

    @app.post("/upload", include_in_schema=False)
    async def upload(request: Request, file: Annotated[UploadFile, File()],
                     editor_name: str | None = may_edit) -> Response:
        """A filled template, taken at once (same checks as the inbox); its receipt."""
        from starlette.concurrency import run_in_threadpool

        from egov.sources.reported.files import max_bytes

        if editor_name is None or take_upload is None:
            raise HTTPException(status_code=403, detail="Chỉ người dùng được phép sửa mới "
                                                        "được tải số liệu lên")
        if not web.same_origin(request):
            raise HTTPException(status_code=403, detail="Biểu mẫu gửi từ nơi khác")
        data = await file.read(max_bytes() + 1)
        outcome = await run_in_threadpool(take_upload, file.filename or "tep", data,
                                           user=editor_name, engine=engine())
        from egov.serve.pages import reported_data

        lines = reported_data.read_receipt(outcome.receipt.name) or []
        return render("receipt.html", receipt_name=outcome.receipt.name, file=outcome.name,
                      lines=lines, outcome=outcome, STATUS_VI=reported_data.RECEIPT_STATUS_VI)

    @app.get("/receipts/{name}", include_in_schema=False)
    def receipt(name: str) -> Response:
        from egov.serve.pages import reported_data

        lines = reported_data.read_receipt(name)
        if lines is None:
            raise HTTPException(status_code=404)
        return render("receipt.html", receipt_name=name, file=name[: -len(".receipt.csv")],
                      lines=lines, outcome=None, STATUS_VI=reported_data.RECEIPT_STATUS_VI)

    @app.get("/plan/{plan_code}", include_in_schema=False)
    def plan(plan_code: str, year: int | None = Query(None, ge=1900, le=9999),
             as_of: date | None = None,
             status: str | None = Query(None, max_length=32),
             sort: str | None = Query(None, max_length=32),
             order: str | None = Query(None, pattern="^(asc|desc)$")) -> Response:
        with engine().connect() as conn:
            if not data.has_tables(conn):
                raise HTTPException(status_code=404)
            day = data.plan_as_of(conn, plan_code, as_of)
            if day is None:
                if as_of is not None and data.plan_as_of(conn, plan_code) is not None:
                    return render("empty.html", status_code=404, title="Chưa có số liệu",
                                  message=f"Kế hoạch {plan_code} chưa được đánh giá vào hoặc "
                                          f"trước ngày {as_of:%d/%m/%Y}.")
                raise HTTPException(status_code=404)
            days = data.evaluated_days(conn, plan_code)
            rows = data.plan_evaluations(conn, plan_code, day)
            units = {r["unit_code"]: data.unit(conn, r["unit_code"]) for r in rows}
            from egov.serve.pages.reported_data import measured_beside

            beside = measured_beside(conn, plan_code, day)
        years = sorted({r["year"] for r in rows}, reverse=True)
        shown = year if year in years else years[0]
        selected = [r for r in rows if r["year"] == shown]
        counts: dict[str, int] = {}
        for r in selected:
            counts[r["status"]] = counts.get(r["status"], 0) + 1
        if status in labels.STATUS:
            selected = [r for r in selected if r["status"] == status]
        else:
            status = None
        sort = sort if sort in labels.SORT_KEYS else None
        if sort:
            selected = labels.sort_rows(selected, sort, descending=order == "desc")
        from egov.serve.pages.reported_data import BASIS_VI

        return render("plan.html", plan_code=plan_code, title=rows[0]["plan_title"],
                      BASIS_VI=BASIS_VI, beside=beside,
                      portal=rows[0]["portal_code"], as_of=day, years=years, year=shown,
                      rows=selected, counts=counts, units=units, days=days,
                      requested=as_of, status=status, sort=sort, order=order or "asc",
                      running=shown == day.year and day < date(shown, 12, 31))

    @app.get("/plan/{plan_code}/target/{target_code}", include_in_schema=False)
    def target(plan_code: str, target_code: str, year: int = Query(..., ge=1900, le=9999),
               unit: str | None = Query(None, max_length=64),
               as_of: date | None = None) -> Response:
        with engine().connect() as conn:
            row = None
            if data.has_tables(conn):
                day = data.plan_as_of(conn, plan_code, as_of)
                row = data.evaluation(conn, plan_code, target_code, year, day) if day else None
            if row is None:
                raise HTTPException(status_code=404)
            day = data._day(row["as_of_date"])
            unit_code = unit or row["unit_code"]
            current = data.unit(conn, unit_code)
            if unit and current is None:
                raise HTTPException(status_code=404)
            trail = data.ancestors(conn, unit_code)
            from egov.serve.pages import reported_data

            revisions, awaited = [], []
            if reported_data.has_reported(conn):
                revisions = reported_data.revisions(conn, plan_code, target_code, year)
                plan_obj, target_obj = reported_data.find_target(plan_code, target_code)
                if (plan_obj is not None and target_obj is not None
                        and target_obj.indicator is None):
                    awaited = reported_data.still_to_report(conn, plan_obj, target_obj, year,
                                                            row["as_of_date"])
            trend, children, point, own, index = [], [], None, None, None
            if str(row["indicator_code"] or "").startswith("dvcqg:"):
                from egov.serve.pages import index766_data

                index = index766_data.target_department(conn, unit_code, year)
            elif row["indicator_code"]:
                trend = trend_points(conn, unit_code, row["indicator_code"], year, up_to=day)
                point = data.figure(conn, unit_code, row["indicator_code"], year, day)
                children = data.worst_first(data.child_units(
                    conn, unit_code, row["indicator_code"], year, day))
        chart = trend_svg(trend, threshold=row["threshold_pct"], comparator=row["comparator"],
                          title=f"Diễn biến năm {year}") if trend else ""
        from egov.compute.indicators.snapshots import RECORD_RATIOS, value_pct
        from egov.compute.targets import passes
        from egov.serve.pages.records import own_figures

        # Record counts add up over the tree; catalogue counts do not (a procedure offered
        # by several units counts once in their parent's subtree): no own row for those.
        if point is not None and children and row["indicator_code"] in RECORD_RATIOS:
            figures = cast("tuple[int, int]", own_figures((point.numerator or 0, point.denominator or 0), children))
            own = data.UnitRow(unit_code, (current or {}).get("unit_name"), None, False,
                               figures[0], figures[1], value_pct(*figures))

        def verdict(child: UnitRow) -> bool | None:
            if not child.denominator:
                return None
            return passes(child.numerator or 0, child.denominator, row["comparator"],
                          row["threshold_pct"])

        return render("target.html", plan_code=plan_code, row=row, year=year,
                      running=year == day.year and day < date(year, 12, 31),
                      as_of_param=as_of.isoformat() if as_of else "",
                      unit=current or {"unit_code": unit_code}, trail=trail, point=point,
                      trend=trend, chart=chart, children=children, verdict=verdict, own=own,
                      has_records=row["indicator_code"] in RECORD_RATIOS,
                      is_target_unit=unit_code == row["unit_code"], revisions=revisions,
                      index=index, is_index=str(row["indicator_code"] or "").startswith("dvcqg:"),
                      awaited=awaited, BASIS_VI=reported_data.BASIS_VI)

    def _figure_of(conn: Connection, plan_code: str, target_code: str, year: int, as_of: date | None, unit: str | None) -> tuple[dict[str, Any], date, str, dict[str, Any] | None]:
        """(evaluation row, its as-of day, unit code, unit) or 404."""
        row = None
        if data.has_tables(conn):
            day = data.plan_as_of(conn, plan_code, as_of)
            row = data.evaluation(conn, plan_code, target_code, year, day) if day else None
        if row is None or not row["indicator_code"]:
            raise HTTPException(status_code=404)
        unit_code = unit or row["unit_code"]
        current = data.unit(conn, unit_code)
        if unit and current is None:
            raise HTTPException(status_code=404)
        return row, data._day(row["as_of_date"]), unit_code, current

    @app.get("/plan/{plan_code}/target/{target_code}/records", include_in_schema=False)
    def records(plan_code: str, target_code: str, year: int = Query(..., ge=1900, le=9999),
                unit: str | None = Query(None, max_length=64), as_of: date | None = None,
                own: bool = False, only: str | None = Query(None, pattern="^(pass|fail)$"),
                page: int = Query(1, ge=1, le=1_000_000)) -> Response:
        from egov.serve.pages import records as rec

        with engine().connect() as conn:
            row, day, unit_code, current = _figure_of(conn, plan_code, target_code, year,
                                                      as_of, unit)
            found = rec.record_page(conn, unit_code, row["indicator_code"], year, day,
                                    own=own, only=only, page=page)
            trail = data.ancestors(conn, unit_code)
        params = {"year": year, "unit": unit, "as_of": as_of, "own": 1 if own else None,
                  "only": only}
        start, end = rec.period(year, day)
        return render("records.html", plan_code=plan_code, row=row, year=year, day=day,
                      unit=current or {"unit_code": unit_code}, trail=trail, found=found,
                      params=params, own=own, only=only, start=start, end=end,
                      channel=rec.CHANNEL_VI, record_status=rec.STATUS_VI)

    @app.get("/plan/{plan_code}/target/{target_code}/records.csv", include_in_schema=False)
    def records_csv(plan_code: str, target_code: str,
                    year: int = Query(..., ge=1900, le=9999),
                    unit: str | None = Query(None, max_length=64), as_of: date | None = None,
                    own: bool = False, only: str | None = Query(None, pattern="^(pass|fail)$")) -> Response:
        import csv
        import io
        import re

        from fastapi.responses import StreamingResponse

        from egov.serve.pages import records as rec

        with engine().connect() as conn:
            row, day, unit_code, _ = _figure_of(conn, plan_code, target_code, year, as_of,
                                                unit)
        indicator = row["indicator_code"]

        def lines() -> Iterator[str]:
            buffer = io.StringIO()
            writer = csv.writer(buffer)

            def drain() -> str:
                text = buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
                return text

            writer.writerow(rec.CSV_HEADER)
            yield "\ufeff" + drain()  # a BOM: Excel reads the file as UTF-8
            with engine().connect() as conn:
                for n, record in enumerate(rec.all_records(conn, unit_code, indicator, year,
                                                           day, own=own, only=only)):
                    writer.writerow(rec.csv_row(record))
                    if n % 500 == 499:
                        yield drain()
            yield drain()

        safe = re.sub(r"[^A-Za-z0-9._-]+", "_", f"ho-so_{plan_code}_{target_code}_{year}_"
                                                f"{unit_code}{'_rieng' if own else ''}")[:150]
        return StreamingResponse(lines(), media_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="{safe}.csv"'})

    from egov.serve.pages import index766_page

    index766_page.install(app, render=render, empty=empty, engine=engine, may_edit=may_edit,
                          prefix=URL_PREFIX)

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
