"""Rebuild the warehouse from the raw zone alone, without calling any portal.

    python -m egov.pipeline.rebuild --url SQLALCHEMY_URL [--raw-dir DIR] [--skip-unreadable] [--force]

Every kept run is replayed in the order it was extracted: each window's pages go through the
same validation and load as the nightly job, then the run's snapshots and targets are
computed for its as-of day. On an empty warehouse this gives the same tables as the runs did.

Extractions that never ended (manifest `state` "extracting") were never loaded: they are
left out. An unreadable manifest or page stops the rebuild naming the file (exit status 2),
before the warehouse is touched for a manifest; `--skip-unreadable` leaves such manifests out
instead, with a warning naming each (the rebuilt warehouse then lacks their windows).

The target is named (`--url`; never the live warehouse by default) and must hold no loaded
data unless `--force`. Each run is replayed dated as it was extracted (its manifest's
`extracted_at`): a replay never makes a portal look freshly loaded.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections import OrderedDict

log = logging.getLogger(__name__)


def runs_in_raw_zone(raw_dir: str | None = None, *, skip_unreadable: bool = False
                     ) -> OrderedDict[str, list[dict]]:
    """run_id -> its manifests (with their location), in extraction order."""
    from egov.sources.raw_zone import manifests, read_manifest

    def skip(error) -> None:
        log.warning("%s: left out of the rebuild", error)

    runs: OrderedDict[str, list[dict]] = OrderedDict()
    for location in manifests(root=raw_dir, on_unreadable=skip if skip_unreadable else None):
        manifest = read_manifest(location)
        runs.setdefault(manifest["run_id"], []).append({**manifest, "location": location})
    return runs


class TargetNotEmpty(RuntimeError):
    """The rebuild's target already holds loaded data."""


LOADED_TABLES = ("etl_portal_run", "etl_watermark", "fct_dossier", "quarantine_record")


def loaded_rows(engine) -> dict[str, int]:
    """Rows of the tables a load writes, for those that exist and hold any."""
    from sqlalchemy import func, inspect, select

    from egov.warehouse.schema import metadata

    present = set(inspect(engine).get_table_names())
    found = {}
    with engine.connect() as conn:
        for name in LOADED_TABLES:
            if name in present:
                n = conn.execute(select(func.count()).select_from(metadata.tables[name])
                                 ).scalar()
                if n:
                    found[name] = n
    return found


def rebuild(raw_dir: str | None = None, *, skip_unreadable: bool = False,
            force: bool = False) -> list[dict]:
    from egov import pipeline
    from egov.sources.onestop.records import local_moment
    from egov.warehouse.migrations import upgrade

    runs = runs_in_raw_zone(raw_dir, skip_unreadable=skip_unreadable)  # every manifest read
    engine = pipeline._engine()
    held = loaded_rows(engine)
    if held and not force:
        engine.dispose()
        raise TargetNotEmpty(", ".join(f"{t} {n} rows" for t, n in held.items()))
    upgrade(engine)
    engine.dispose()
    results = []
    for run_id, manifests in runs.items():
        moment = local_moment(manifests[0].get("extracted_at"))
        with pipeline.replay_clock(moment):
            for m in manifests:
                pipeline.load({"portal_code": m["portal_code"], "manifest": m["location"]},
                              run_id=run_id)
            as_of = manifests[0]["as_of"]
            try:
                results.append(pipeline.compute(as_of=as_of, run_id=run_id))
            except RuntimeError as exc:  # no portal complete in that run: as the run did
                log.warning("run %s: %s", run_id, exc)
        log.info("replayed run %s (%d windows) as of %s", run_id, len(manifests), as_of)
    return results


def main(argv=None) -> int:
    from egov.sources.raw_zone import RawZoneError

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True,
                        help="the warehouse to rebuild (SQLAlchemy URL); required: the live "
                             "warehouse is never a default target")
    parser.add_argument("--force", action="store_true",
                        help="replay onto a target that already holds loaded data")
    parser.add_argument("--raw-dir", help="raw zone root (default: EGOV_RAW_DIR)")
    parser.add_argument("--skip-unreadable", action="store_true",
                        help="leave out runs whose manifest cannot be read (warned) instead "
                             "of stopping")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    os.environ["AIRFLOW_CONN_EGOV_WAREHOUSE"] = args.url
    try:
        results = rebuild(args.raw_dir, skip_unreadable=args.skip_unreadable, force=args.force)
    except TargetNotEmpty as exc:
        print(f"rebuild refused: the target already holds loaded data ({exc}). Name an "
              f"empty warehouse with --url, or pass --force to replay onto this one.",
              file=sys.stderr)
        return 2
    except RawZoneError as exc:
        print(f"rebuild stopped: {exc}. Restore the file, or pass --skip-unreadable to "
              f"rebuild without it.", file=sys.stderr)
        return 2
    print(f"rebuilt {len(results)} runs from the raw zone")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
