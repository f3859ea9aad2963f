"""Alerts from the command line (docs/alerts.md):

    python -m egov.serve.alerts list [--all]
    python -m egov.serve.alerts silence PATTERN --days N [--by NAME]   # e.g. 'target:binh-dinh-2021:*'
    python -m egov.serve.alerts unsilence PATTERN
"""

from __future__ import annotations

import argparse
from datetime import datetime, timedelta


def main(argv: list[str] | None = None) -> int:
    from sqlalchemy import select

    from egov.serve.alerts.state import silence
    from egov.warehouse.cli_args import days, existing_warehouse
    from egov.warehouse.db import make_engine
    from egov.warehouse.migrations import upgrade
    from egov.warehouse.schema import alert_state

    parser = argparse.ArgumentParser(prog="python -m egov.serve.alerts", description=__doc__)
    parser.add_argument("--url", type=existing_warehouse,
                        help="SQLAlchemy URL (default: connection egov_warehouse)")
    sub = parser.add_subparsers(dest="command", required=True)
    listing = sub.add_parser("list", help="alert keys and their last state")
    listing.add_argument("--all", action="store_true", help="also the keys in state ok")
    on = sub.add_parser("silence", help="no message for matching keys for N days")
    on.add_argument("pattern")
    on.add_argument("--days", type=days, required=True, help="0 < N <= 36500")
    on.add_argument("--by", default=None)
    off = sub.add_parser("unsilence", help="lift a silence")
    off.add_argument("pattern")
    args = parser.parse_args(argv)
    engine = make_engine(args.url)
    upgrade(engine)
    with engine.begin() as conn:
        if args.command == "list":
            stmt = select(alert_state).order_by(alert_state.c.alert_key)
            if not args.all:
                stmt = stmt.where(alert_state.c.alerting.is_(True))
            for r in conn.execute(stmt).mappings():
                quiet = f"  silenced until {r['silenced_until']:%Y-%m-%d %H:%M}" \
                    if r["silenced_until"] else ""
                since = r["changed_at"].strftime("%Y-%m-%d %H:%M")
                print(f"{r['alert_key']:<60} {r['state']:<13} since {since}{quiet}")
            return 0
        if args.command == "silence":
            until = datetime.now().replace(microsecond=0) + timedelta(days=args.days)
            n = silence(conn, args.pattern, until, args.by)
            print(f"{n} alert key(s) silenced until {until:%Y-%m-%d %H:%M}")
            return 0 if n else 1
        n = silence(conn, args.pattern, None, None)
        print(f"{n} alert key(s) unsilenced")
        return 0 if n else 1


if __name__ == "__main__":
    raise SystemExit(main())
