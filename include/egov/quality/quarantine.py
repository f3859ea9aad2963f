"""Replay of quarantined record versions, after the cause was fixed (a unit added to the
portal's /api/donvi, a rule corrected).

    python -m egov.quality.quarantine replay [--portal CODE] [--rule RULE] [--url SQLALCHEMY_URL]
                                     [--run-id ID]

Every `open` row of `quarantine_record` (optionally one portal / one rule) is validated again
from its payload with the current rules and the units now in `dim_unit` (and the catalogue
in `dim_procedure`). Versions that now pass are loaded into `fct_dossier` through
`egov.warehouse.load.upsert_dossiers` (an older version never overwrites a newer one) and
marked `replayed` (`replayed_at`, `replay_run_id`); the others stay `open` with the reason
brought up to date. See docs/data-quality.md.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import asdict, dataclass, field
from datetime import datetime

log = logging.getLogger(__name__)


@dataclass
class ReplayStats:
    run_id: str
    selected: int = 0
    replayed: int = 0
    still_open: int = 0
    dossiers_upserted: int = 0
    by_portal: dict = field(default_factory=dict)  # portal -> {selected, replayed, still_open}
    still_failing_rules: dict = field(default_factory=dict)  # rule -> versions

    def as_dict(self) -> dict:
        return asdict(self)


def _now() -> datetime:
    return datetime.now().replace(microsecond=0)


def replay(engine, *, portal_code: str | None = None, rule: str | None = None, run_id: str,
           pii_key: bytes | None = None, now: datetime | None = None) -> ReplayStats:
    """Re-validate open quarantined versions and load those that now pass (one transaction)."""
    from sqlalchemy import bindparam, select, update

    from egov.quality.records import validate_dossiers
    from egov.sources.onestop.records import parse_version
    from egov.warehouse.load import lock_portal, upsert_dossiers
    from egov.warehouse.schema import dim_procedure, dim_unit
    from egov.warehouse.schema import quarantine_record as q

    now = now or _now()
    stats = ReplayStats(run_id=run_id)
    with engine.begin() as conn:
        stmt = select(q.c.portal_code, q.c.record_key, q.c.version_key, q.c.payload,
                      q.c.requested_at, q.c.quarantined_at).where(q.c.status == "open")
        if portal_code:
            stmt = stmt.where(q.c.portal_code == portal_code)
        if rule:
            stmt = stmt.where(q.c.rule == rule)
        rows = conn.execute(stmt.order_by(q.c.portal_code, q.c.record_key,
                                          q.c.version_key)).all()
        by_portal: dict[str, list] = {}
        for row in rows:
            by_portal.setdefault(row.portal_code, []).append(row)
        replayed_stmt = (update(q).where(q.c.portal_code == bindparam("p"),
                                         q.c.record_key == bindparam("k"),
                                         q.c.version_key == bindparam("v"))
                         .values(status="replayed", replayed_at=now, replay_run_id=run_id))
        open_stmt = (update(q).where(q.c.portal_code == bindparam("p"),
                                     q.c.record_key == bindparam("k"),
                                     q.c.version_key == bindparam("v"))
                     .values(rule=bindparam("new_rule"), field=bindparam("new_field"),
                             value=bindparam("new_value"), reason=bindparam("new_reason")))
        for portal, items in by_portal.items():
            lock_portal(conn, portal)
            units = set(conn.execute(select(dim_unit.c.unit_code).where(
                dim_unit.c.portal_code == portal)).scalars())
            procedures = set(conn.execute(select(dim_procedure.c.procedure_code).where(
                dim_procedure.c.portal_code == portal)).scalars())
            # Judged as on the night: NgayCapNhat against the moment of the request that
            # returned the version (rows quarantined before it was kept: their quarantine).
            records = [parse_version(json.loads(r.payload), r.requested_at or r.quarantined_at)
                       for r in items]
            outcome = validate_dossiers(records, units, procedures or None)
            passed = {id(r) for r in outcome.accepted}
            ok = [{"p": portal, "k": r.record_key, "v": r.version_key}
                  for r, rec in zip(items, records, strict=True) if id(rec) in passed]
            failures_of = {id(rec): failures for rec, failures in outcome.rejected}
            still = []
            for r, rec in zip(items, records, strict=True):
                failures = failures_of.get(id(rec))
                if failures is None:
                    continue
                first = failures[0]
                still.append({"p": portal, "k": r.record_key, "v": r.version_key,
                              "new_rule": first.rule, "new_field": first.field,
                              "new_value": None if first.value is None
                              else str(first.value)[:1000],
                              "new_reason": "; ".join(f.reason for f in failures)})
                stats.still_failing_rules[first.rule] = (
                    stats.still_failing_rules.get(first.rule, 0) + 1)
            if outcome.accepted:
                stats.dossiers_upserted += upsert_dossiers(
                    conn, portal, outcome.accepted, pii_key=pii_key, run_id=run_id, now=now)
            if ok:
                conn.execute(replayed_stmt, ok)
            if still:
                conn.execute(open_stmt, still)
            stats.by_portal[portal] = {"selected": len(items), "replayed": len(ok),
                                       "still_open": len(still)}
            stats.selected += len(items)
            stats.replayed += len(ok)
            stats.still_open += len(still)
            log.info("replay %s: %d open versions re-validated, %d loaded and marked replayed, "
                     "%d still open", portal, len(items), len(ok), len(still))
    return stats


def main(argv: list[str] | None = None) -> int:
    from egov.warehouse.cli_args import existing_warehouse

    parser = argparse.ArgumentParser(prog="python -m egov.quality.quarantine",
                                     description="Quarantined record versions.")
    sub = parser.add_subparsers(dest="command", required=True)
    rp = sub.add_parser("replay", help="re-validate open quarantined versions; load those "
                                       "that now pass")
    rp.add_argument("--portal", help="only this portal code")
    rp.add_argument("--rule", help="only rows quarantined for this rule (e.g. unit_known)")
    rp.add_argument("--url", type=existing_warehouse,
                    help="warehouse SQLAlchemy URL (default: connection "
                                  "egov_warehouse / AIRFLOW_CONN_EGOV_WAREHOUSE)")
    rp.add_argument("--run-id", help="replay run id (default replay__<local time>)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    logging.getLogger("great_expectations").setLevel(logging.WARNING)

    from egov.settings import ConfigError, pii_key
    from egov.warehouse.db import make_engine, safe_url, warehouse_url
    from egov.warehouse.migrations import upgrade

    try:
        key = pii_key()  # missing, short or unreadable: say so before touching anything
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if key is None:
        log.warning("no key for applicants' ID numbers (EGOV_PII_KEY_OPTIONAL): replayed "
                    "dossiers get no applicant_id_hash (a stored one is kept)")
    url = args.url or warehouse_url()
    engine = make_engine(url)
    upgrade(engine)
    run_id = args.run_id or f"replay__{_now().isoformat()}"
    log.info("replaying quarantine in %s as %s", safe_url(url), run_id)
    stats = replay(engine, portal_code=args.portal, rule=args.rule, run_id=run_id, pii_key=key)
    engine.dispose()
    print(json.dumps(stats.as_dict(), ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
