"""The "Chỉ số 766" pages of the Targets app: the index per province and period, a unit's
metrics, and the crosswalk's actions for editors.

- `GET /index766?province=&period=` — totals, groups, trend, ranking, reconciliation flags,
  unmapped departments with their proposals, confirmations made on the page;
- `GET /index766/unit/{department_id}?province=&period=` — a unit's metrics and flags;
- `POST /index766/crosswalk/confirm` (editors, same origin) — a proposal becomes a mapping;
- `POST /index766/crosswalk/withdraw` (editors, same origin) — a page confirmation undone;
- `GET /index766/crosswalk.yaml` — the file's mappings and the page's, as the crosswalk file
  to commit (docs/dvcqg.md, "Departments and units").
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

# Module level: FastAPI resolves the routes' annotations here.
from fastapi import Form, Request, Response

if TYPE_CHECKING:
    from collections.abc import Callable

    from fastapi import FastAPI
    from sqlalchemy import Engine

log = logging.getLogger(__name__)

DONE = {"confirmed": "Đã xác nhận ánh xạ. Điểm của đơn vị mang mã một cửa ngay; phần đối "
                     "chiếu với hồ sơ một cửa được tính lại ở lượt chạy egov_dvcqg kế tiếp.",
        "withdrawn": "Đã bỏ xác nhận. Đề xuất được lập lại ngay; phần đối chiếu được tính "
                     "lại ở lượt chạy egov_dvcqg kế tiếp."}
REFUSED = {"not_proposed": "Đề xuất này không còn (người khác vừa xác nhận, hoặc lượt chạy "
                           "mới đã đổi đề xuất). Hãy tải lại trang.",
           "taken": "Đơn vị hoặc mã một cửa này đã được ánh xạ (trong tệp hoặc trên trang).",
           "absent": "Không có xác nhận nào trên trang cho đơn vị này (tệp ánh xạ chỉ sửa "
                     "trong kho mã nguồn)."}
Field = Annotated[str, Form(min_length=1, max_length=255)]


def install(app: FastAPI, *, render: Callable[..., Response], empty: Callable[[str], Response],
            engine: Callable[[], Engine], may_edit: Any, prefix: str) -> None:
    """Add the pages to the Targets app; `may_edit`: the dependency giving an editor's name."""
    from urllib.parse import urlencode

    from fastapi import HTTPException, Query
    from fastapi.responses import RedirectResponse

    from egov.serve.pages import web

    def context(conn: Any, province: str | None, period: str | None) -> dict[str, Any] | None:
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
                 period: str | None = Query(None, max_length=32),
                 done: str | None = Query(None, max_length=16),
                 editor_name: str | None = may_edit) -> Response:
        with engine().connect() as conn:
            ctx = context(conn, province, period)
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
            trend = d766.trend(conn, root)
            return render("index766.html", groups=groups, total=own["total"],
                          max_total=own["max_total"], trend=trend, chart=_trend_chart(trend),
                          ranking=d766.ranking(conn, root, cur["type"], cur["start"]),
                          flags=d766.reconciliation_flags(conn, root, cur["type"],
                                                          cur["start"]),
                          unmapped=unmapped,
                          unmapped_count=len({u["department_id"] for u in unmapped}),
                          confirmations=d766.page_confirmations(conn, root),
                          can_edit=editor_name is not None, done=DONE.get(done or ""),
                          **ctx)

    @app.get("/index766/unit/{department_id}", include_in_schema=False)
    def index766_unit(department_id: str, province: str = Query(..., max_length=64),
                      period: str = Query(..., max_length=32)) -> Response:
        with engine().connect() as conn:
            ctx = context(conn, province, period)
            if ctx is None:
                raise HTTPException(status_code=404)
            d766, cur = ctx.pop("d766"), ctx["current"]
            unit = d766.unit_detail(conn, ctx["province"]["root"], cur["type"], cur["start"],
                                    department_id[:64])
            if unit is None:
                raise HTTPException(status_code=404)
        return render("index766_unit.html", unit=unit, **ctx)

    def checked_editor(request: Request, editor_name: str | None) -> str:
        if editor_name is None:
            raise HTTPException(status_code=403, detail="Chỉ người dùng được phép sửa mới "
                                                        "được xác nhận ánh xạ")
        if not web.same_origin(request):
            raise HTTPException(status_code=403, detail="Biểu mẫu gửi từ nơi khác")
        return editor_name

    def file_mappings() -> Any:
        from egov.sources.dvcqg.crosswalk import load_crosswalk

        return load_crosswalk()

    def back(province: str, period: str, done: str) -> Response:
        query = urlencode({"province": province[:64], "period": period[:32], "done": done})
        return RedirectResponse(f"{prefix}/index766?{query}#crosswalk", status_code=303)

    def act(action: Callable[..., Any], **kwargs: Any) -> Any:
        """The action in one transaction; a broken crosswalk file: a page saying so."""
        from egov.settings import ConfigError

        try:
            mappings = file_mappings()
        except ConfigError as exc:
            log.warning("crosswalk file unreadable: %s", exc)
            return render("empty.html", status_code=503, title="Tệp ánh xạ lỗi",
                          message=f"Không đọc được tệp ánh xạ (sửa tệp rồi thử lại): {exc}")
        now = datetime.now(UTC).replace(tzinfo=None)
        with engine().begin() as conn:
            return action(conn, mappings=mappings, now=now, **kwargs)

    @app.post("/index766/crosswalk/confirm", include_in_schema=False)
    def confirm(request: Request, department_id: Field, unit_code: Field, province: Field,
                period: Field, editor_name: str | None = may_edit) -> Response:
        from egov.warehouse.dvcqg_crosswalk import confirm_proposal

        user = checked_editor(request, editor_name)
        outcome = act(confirm_proposal, department_id=department_id, unit_code=unit_code,
                      user=user)
        if isinstance(outcome, Response):
            return outcome
        if outcome != "confirmed":
            return render("empty.html", status_code=409, title="Chưa xác nhận được",
                          message=REFUSED[outcome])
        log.info("crosswalk: %s confirmed a proposal on the page", user)
        return back(province, period, "confirmed")

    @app.post("/index766/crosswalk/withdraw", include_in_schema=False)
    def withdraw(request: Request, department_id: Field, province: Field, period: Field,
                 editor_name: str | None = may_edit) -> Response:
        from egov.warehouse.dvcqg_crosswalk import withdraw_confirmation

        user = checked_editor(request, editor_name)
        outcome = act(withdraw_confirmation, department_id=department_id)
        if isinstance(outcome, Response):
            return outcome
        if not outcome:
            return render("empty.html", status_code=409, title="Không bỏ xác nhận được",
                          message=REFUSED["absent"])
        log.info("crosswalk: %s withdrew a confirmation made on the page", user)
        return back(province, period, "withdrawn")

    @app.get("/index766/crosswalk.yaml", include_in_schema=False)
    def crosswalk_yaml() -> Response:
        from egov.settings import ConfigError
        from egov.sources.dvcqg.crosswalk import dump_crosswalk
        from egov.warehouse.dvcqg_crosswalk import effective_mappings, page_confirmations

        try:
            mappings = file_mappings()
        except ConfigError as exc:
            return render("empty.html", status_code=503, title="Tệp ánh xạ lỗi",
                          message=f"Không đọc được tệp ánh xạ: {exc}")
        with engine().connect() as conn:
            names = _names(conn)
            try:
                confirmations = page_confirmations(conn)
            except Exception:  # noqa: BLE001 - a warehouse before migration 0013
                confirmations = []
        from_file, from_page, _ = effective_mappings(mappings, confirmations)
        body = dump_crosswalk(from_file + from_page, names=names)
        return Response(body, media_type="application/yaml; charset=utf-8", headers={
            "Content-Disposition": 'attachment; filename="dvcqg_crosswalk.yaml"'})


def _trend_chart(trend: list[dict[str, Any]]) -> str:
    """The province's monthly totals as an SVG chart (points, 0–100), or "" without any."""
    from egov.serve.reports.charts import Point, trend_svg

    if not trend:
        return ""
    return trend_svg([Point(t["start"], t["total"]) for t in trend], threshold=None,
                     comparator=None, title="Tổng điểm theo tháng", measure="points",
                     width=640, height=200)


def _names(conn: Any) -> dict[str, str]:
    """Department names by id, for the YAML's comments."""
    from sqlalchemy import select

    from egov.warehouse.schema import dvcqg_department as d

    return {r.department_id: r.department_name for r in conn.execute(
        select(d.c.department_id, d.c.department_name)) if r.department_name}
