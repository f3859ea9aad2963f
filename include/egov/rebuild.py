"""Rebuild the warehouse from the raw zone alone, without calling any portal.

    python -m egov.rebuild [--url SQLALCHEMY_URL] [--raw-dir DIR]

Every kept run is replayed in the order it was extracted: each window's pages go through the
same validation and load as the nightly job, then the run's snapshots and targets are
computed for its as-of day. On an empty warehouse this gives the same tables as the runs did.
"""

from __future__ import annotations

import argparse
import logging
import os
from collections import OrderedDict

log = logging.getLogger(__name__)


def runs_in_raw_zone(raw_dir: str | None = None) -> OrderedDict[str, list[dict]]:
    """run_id -> its manifests (with their location), in extraction order."""
    from egov.raw_zone import manifests, read_manifest

    runs: OrderedDict[str, list[dict]] = OrderedDict()
    for location in manifests(root=raw_dir):
        manifest = read_manifest(location)
        runs.setdefault(manifest["run_id"], []).append({**manifest, "location": location})
    return runs


def rebuild(raw_dir: str | None = None) -> list[dict]:
    from egov import pipeline
    from egov.warehouse.migrations import upgrade

    engine = pipeline._engine()
    upgrade(engine)
    engine.dispose()
    results = []
    for run_id, manifests in runs_in_raw_zone(raw_dir).items():
        for m in manifests:
            pipeline.load({"portal_code": m["portal_code"], "manifest": m["location"]},
                          run_id=run_id)
        as_of = manifests[0]["as_of"]
        try:
            results.append(pipeline.compute(as_of=as_of, run_id=run_id))
        except RuntimeError as exc:  # no portal complete in that run: as the run itself did
            log.warning("run %s: %s", run_id, exc)
        log.info("replayed run %s (%d windows) as of %s", run_id, len(manifests), as_of)
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="warehouse SQLAlchemy URL (default: egov_warehouse)")
    parser.add_argument("--raw-dir", help="raw zone root (default: EGOV_RAW_DIR)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    if args.url:
        os.environ["AIRFLOW_CONN_EGOV_WAREHOUSE"] = args.url
    results = rebuild(args.raw_dir)
    print(f"rebuilt {len(results)} runs from the raw zone")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
