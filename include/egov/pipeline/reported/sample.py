"""Demo figures (`make demo`): a filled file of a plan's year, named `sample_…` so every
figure taken from it is flagged `is_sample` and shown as a sample, never as a real one."""

from __future__ import annotations

import csv
import hashlib
import io
from pathlib import Path

from egov.sources.reported.columns import COLUMNS, header


def _figure(seed: str, threshold) -> tuple[int, int]:
    """Deterministic counts around the threshold: most pass, some fall short."""
    h = int(hashlib.sha256(seed.encode()).hexdigest(), 16)
    denominator = 20 + h % 180
    share = float(threshold) / 100 + ((h >> 8) % 21 - 12) / 100
    numerator = max(0, min(denominator, round(denominator * share)))
    return numerator, denominator


def sample_rows(conn, plan, year: int) -> list[dict]:
    from egov.pipeline.reported.template import template_rows

    rows = []
    for i, row in enumerate(template_rows(conn, plan, year)):
        target = next(t for t in plan.targets if t.code == row["target"])
        numerator, denominator = _figure(f"{plan.code}|{row['target']}|{row['unit']}",
                                         target.thresholds[year])
        row.update(numerator=numerator, denominator=denominator,
                   data_to=f"{year}-12-31", approved_at=f"{year}-12-31",
                   source_doc=f"SỐ LIỆU MẪU {i + 1}/BC-MAU ngày 31/12/{year}",
                   prepared_by="(mẫu) Văn phòng", approved_by="(mẫu) Lãnh đạo đơn vị",
                   basis="verified" if i % 3 == 0 else "self_reported",
                   note="Số liệu mẫu của bản trình diễn, không phải số liệu thật")
        rows.append(row)
    return rows


def drop_sample(plan_code: str, year: int, *, engine=None, base: Path | None = None) -> Path:
    """Write `inbox/sample_<plan>_<year>.csv`; returns its path."""
    from egov.compute.plans import PlanError, load_plans
    from egov.pipeline.reported.intake import folders
    from egov.sources.reported.client import write_private
    from egov.warehouse.db import make_engine
    from egov.warehouse.migrations import upgrade

    plans = {p.code: p for p in load_plans()}
    if plan_code not in plans:
        raise PlanError(f"unknown plan {plan_code!r}")
    own = engine is None
    engine = engine or make_engine()
    try:
        upgrade(engine)
        with engine.connect() as conn:
            rows = sample_rows(conn, plans[plan_code], year)
    finally:
        if own:
            engine.dispose()
    keys = [c[0] for c in COLUMNS]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([header(k) for k in keys])
    for row in rows:
        writer.writerow(["" if row.get(k) is None else row.get(k) for k in keys])
    path = folders(base)["inbox"] / f"sample_{plan_code}_{year}.csv"
    write_private(path, buffer.getvalue().encode("utf-8"))
    return path
