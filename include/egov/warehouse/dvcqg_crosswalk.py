"""The crosswalk in the warehouse (dvcqg-766.md rule 4): `dvcqg_crosswalk` holds the
confirmed mappings (the operator's file, then what editors confirmed on the "Chỉ số 766"
page) and the proposals for every other department; `dvcqg_score.unit_code` follows it.

The file wins: a page confirmation whose department or unit the file maps otherwise is
kept in `dvcqg_crosswalk_confirmation` but not applied (`superseded`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.exc import IntegrityError

from egov.sources.dvcqg.crosswalk import Mapping, propose
from egov.warehouse.dvcqg import apply_unit_codes
from egov.warehouse.schema import (
    dim_unit,
    dvcqg_crosswalk,
    dvcqg_crosswalk_confirmation,
    dvcqg_department,
)

PAGE_BASIS = "page"


def page_confirmations(conn) -> list[dict[str, Any]]:
    """Every confirmation made on the page, oldest first."""
    c = dvcqg_crosswalk_confirmation
    return [dict(r) for r in conn.execute(
        select(c).order_by(c.c.confirmed_at, c.c.department_id)).mappings()]


def effective_mappings(file_mappings: Sequence[Mapping], confirmations: Sequence[dict]
                       ) -> tuple[list[Mapping], list[Mapping], list[dict]]:
    """(the file's mappings, the page's applied, the page's superseded by the file)."""
    departments = {m.department_id for m in file_mappings}
    units = {m.unit_code for m in file_mappings}
    applied: list[Mapping] = []
    superseded: list[dict] = []
    for c in confirmations:
        if c["department_id"] in departments or c["unit_code"] in units:
            superseded.append(c)
            continue
        departments.add(c["department_id"])
        units.add(c["unit_code"])
        applied.append(Mapping(c["department_id"], c["unit_code"],
                               f"confirmed on the page by {c['confirmed_by']} "
                               f"({c['confirmed_at']:%Y-%m-%d}, proposal by {c['basis']})"))
    return list(file_mappings), applied, superseded


def store_crosswalk(conn, mappings: Sequence[Mapping], *, now: datetime) -> dict[str, int]:
    """Replace `dvcqg_crosswalk` with the confirmed mappings (the operator's file
    `mappings`, then the page's confirmations) and the proposals for every other department
    seen, then set `dvcqg_score.unit_code`. Returns counts: confirmed (of which on the page),
    page confirmations superseded by the file, proposed, unmapped (departments seen without
    a confirmed mapping)."""
    file_rows, page_rows, superseded = effective_mappings(mappings, page_confirmations(conn))
    confirmed = file_rows + page_rows
    departments = conn.execute(select(
        dvcqg_department.c.department_id, dvcqg_department.c.department_code,
        dvcqg_department.c.department_name, dvcqg_department.c.root_department_id)
        .order_by(dvcqg_department.c.department_id)).all()
    units = conn.execute(select(dim_unit.c.unit_code, dim_unit.c.unit_name)
                         .order_by(dim_unit.c.unit_code)).all()
    unit_names = {u.unit_code: u.unit_name for u in units}
    seen = {d.department_id: d for d in departments}
    proposals = propose([(d.department_id, d.department_code, d.department_name)
                         for d in departments], [(u.unit_code, u.unit_name) for u in units],
                        confirmed)

    def row(department_id: str, unit_code: str, status: str, basis: str,
            note: str | None) -> dict[str, Any]:
        d = seen.get(department_id)
        return {"department_id": department_id, "unit_code": unit_code, "status": status,
                "basis": basis, "root_department_id": d.root_department_id if d else None,
                "department_name": d.department_name if d else None,
                "unit_name": unit_names.get(unit_code), "note": note, "updated_at": now}

    rows = [row(m.department_id, m.unit_code, "confirmed", "file", m.note) for m in file_rows]
    rows += [row(m.department_id, m.unit_code, "confirmed", PAGE_BASIS, m.note)
             for m in page_rows]
    rows += [row(p.department_id, p.unit_code, "proposed", p.basis, None) for p in proposals]
    conn.execute(delete(dvcqg_crosswalk))
    if rows:
        conn.execute(dvcqg_crosswalk.insert(), rows)
    apply_unit_codes(conn)
    mapped = {m.department_id for m in confirmed}
    return {"confirmed": len(confirmed), "confirmed_on_page": len(page_rows),
            "page_superseded": len(superseded), "proposed": len(proposals),
            "unmapped": sum(1 for d in seen if d not in mapped)}


def confirm_proposal(conn, department_id: str, unit_code: str, *, user: str,
                     mappings: Sequence[Mapping], now: datetime) -> str:
    """An editor confirms the current proposal (`department_id` → `unit_code`):
    `confirmed`; or `not_proposed` (no such proposal now: another editor or a run changed
    it) or `taken` (the department or the unit is already mapped), changing nothing."""
    cw = dvcqg_crosswalk.c
    proposal = conn.execute(select(cw.basis, cw.root_department_id).where(
        cw.department_id == department_id, cw.unit_code == unit_code,
        cw.status == "proposed")).first()
    if proposal is None:
        return "not_proposed"
    if conn.execute(select(cw.department_id).where(
            cw.status == "confirmed",
            or_(cw.department_id == department_id, cw.unit_code == unit_code))).first():
        return "taken"
    c = dvcqg_crosswalk_confirmation.c
    if conn.execute(select(c.department_id).where(
            or_(c.department_id == department_id, c.unit_code == unit_code))).first():
        return "taken"  # confirmed on the page, superseded by the file
    try:
        with conn.begin_nested():
            conn.execute(dvcqg_crosswalk_confirmation.insert().values(
                department_id=department_id, unit_code=unit_code,
                root_department_id=proposal.root_department_id, basis=proposal.basis,
                confirmed_by=user[:255], confirmed_at=now))
    except IntegrityError:  # another editor, at the same moment
        return "taken"
    store_crosswalk(conn, mappings, now=now)
    return "confirmed"


def withdraw_confirmation(conn, department_id: str, *, mappings: Sequence[Mapping],
                          now: datetime) -> bool:
    """Undo a page confirmation (never the file's); False when there is none."""
    c = dvcqg_crosswalk_confirmation
    if not conn.execute(delete(c).where(c.c.department_id == department_id)).rowcount:
        return False
    store_crosswalk(conn, mappings, now=now)
    return True
