"""Validation results in the warehouse (`dq_validation_result`), one row per expectation."""

from __future__ import annotations

import json
from datetime import datetime


def _json(value):
    """JSON text any database stores (a portal value may hold NUL or lone surrogates)."""
    if value is None:
        return None
    from egov.sources.onestop.records import storable

    return storable(json.dumps(value, ensure_ascii=False, default=str))[0]


def store_results(conn, portal_code: str, run_id: str, results: list[dict], *,
                  window_seq: int = 0, validated_at: datetime | None = None) -> int:
    """Keep `results` (expectation summaries: `PortalQuality.results` or
    `Outcome.expectations`) for `portal_code`, `run_id` and extraction window `window_seq`.
    Idempotent: the rows of each (run_id, portal_code, window_seq, suite) present in
    `results` are replaced. Returns rows written."""
    from sqlalchemy import delete, insert

    from egov.warehouse.schema import dq_validation_result as t

    when = validated_at or datetime.now().replace(microsecond=0)
    suites = list(dict.fromkeys(r["suite"] for r in results))
    if not suites:
        return 0
    conn.execute(delete(t).where(t.c.run_id == run_id, t.c.portal_code == portal_code,
                                 t.c.window_seq == window_seq, t.c.suite.in_(suites)))
    seq: dict[str, int] = {}
    rows = []
    for r in results:
        n = seq[r["suite"]] = seq.get(r["suite"], -1) + 1
        rows.append({
            "run_id": run_id, "portal_code": portal_code, "window_seq": window_seq,
            "suite": r["suite"], "seq": n,
            "expectation_type": r["expectation"], "rule": r["rule"], "field": r.get("field"),
            "severity": r["severity"], "success": bool(r["success"]),
            "element_count": r.get("element_count"),
            "unexpected_count": r.get("unexpected_count"),
            "missing_count": r.get("missing_count"),
            "observed_value": _json(r.get("observed_value")),
            "partial_unexpected_list": _json(r.get("partial_unexpected_list")),
            "details": _json(r.get("details") or None),
            "message": r.get("message"), "validated_at": when,
        })
    conn.execute(insert(t), rows)
    return len(rows)
