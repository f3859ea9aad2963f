"""The known formulas of the index (dvcqg-766.md "Known formulas"): scores are checked,
never recomputed over. `check(rows)` sets `score_check` (the formula's value) on the score
and metric rows it can recompute and returns a warning for each that differs from the
portal's by more than TOLERANCE points; the portal's `score` stays the record.

Online services (12 points): formula not known; never recomputed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from egov.sources.dvcqg.records import GroupRows

TOLERANCE = 0.015
_EPS = 1e-9  # float noise: 0.015 reads as 0.01500000000000001


@dataclass(frozen=True)
class ScoreWarning:
    group_code: str
    department_id: str
    department_name: str | None
    metric_code: str | None  # None: the row's total
    portal: float
    computed: float

    def __str__(self) -> str:
        what = self.metric_code or "total"
        return (f"{self.group_code} {what} of {self.department_name or '?'} "
                f"({self.department_id}): portal {self.portal:g}, formula "
                f"{self.computed:.4f} (difference {abs(self.portal - self.computed):.4f} > "
                f"{TOLERANCE})")


def _div(a: float | None, b: float | None) -> float:
    return a / b if a is not None and b else 0.0


def metric_formula(group_code: str, m: dict[str, Any]) -> float | None:
    """The known formula of one metric row, or None (unknown, or nothing to compute from)."""
    code: str = m["metric_code"]
    ratio: float | None = m["ratio"]
    den: float | None = m["denominator"]
    top: float | None = m["max_score"]
    if group_code == "transparency":
        if ratio is None or top is None:
            return None
        return top * ratio / 100
    if group_code == "satisfaction":
        if code == "DOSSIER_RECEIVING_SATISFACTION":
            if den == 0:
                return 0.0
            return None if ratio is None else min(6.0, 6 * ratio / 90)
        if code in ("PETITION_PROCESSING_ON_TIME", "PETITION_HANDLING_SATISFACTION"):
            if den == 0:
                return 6.0
            return None if ratio is None else 6 * ratio / 100
        return None
    if group_code == "digitized":
        if ratio is None:
            return None
        if code == "REUSED_DIGITIZED_DATA":
            return min(2.0, 2 * ratio / 80)
        return None if top is None else min(top, top * ratio / 100)
    return None


def row_formula(group_code: str, counts: dict[str, float | None], metric_scores: list[Any]
                ) -> float | None:
    """The known formula of a department's group score, or None."""
    if group_code == "progress":
        received, on_time = counts.get("totalReceived"), counts.get("totalOnTime")
        if received is None or on_time is None:
            return None
        return 20 * on_time / received if received else 0.0
    if group_code == "online_payment":
        keys = ("totalDossierOnlinePaymentSuccess", "totalDossierFinancialObligation",
                "totalDossierOnlineFormalityPaymentSuccess", "totalFeeDossierFormality",
                "totalFeeFormality")
        if any(counts.get(k) is None for k in keys):
            return None
        a = _div(counts[keys[0]], counts[keys[1]])
        b = _div(counts[keys[2]], counts[keys[4]])
        c = _div(counts[keys[3]], counts[keys[4]])
        return 6 * a + min(2.0, 2.5 * b) + 2.5 * c
    if group_code in ("transparency", "satisfaction", "digitized"):
        scored = [s for s in metric_scores if s is not None]
        return float(sum(scored)) if scored else None
    return None


def check(rows: GroupRows) -> list[ScoreWarning]:
    """Recompute what the formulas know; warnings where the portal differs (module doc)."""
    warnings: list[ScoreWarning] = []
    names = {s["department_id"]: s["department_name"] for s in rows.scores}
    by_department: dict[str, list[dict[str, Any]]] = {}
    for m in rows.metrics:
        by_department.setdefault(m["department_id"], []).append(m)
        computed = metric_formula(rows.group_code, m)
        m["score_check"] = computed
        if computed is not None and m["score"] is not None \
                and abs(computed - m["score"]) > TOLERANCE + _EPS:
            warnings.append(ScoreWarning(rows.group_code, m["department_id"],
                                         names.get(m["department_id"]), m["metric_code"],
                                         m["score"], computed))
    for s in rows.scores:
        metrics = by_department.get(s["department_id"], [])
        counts = {m["metric_code"]: m["numerator"] for m in metrics}
        computed = row_formula(rows.group_code, counts,
                               [m["score"] for m in metrics if m["max_score"] is not None])
        s["score_check"] = computed
        if computed is not None and s["score"] is not None \
                and abs(computed - s["score"]) > TOLERANCE + _EPS:
            warnings.append(ScoreWarning(rows.group_code, s["department_id"],
                                         s["department_name"], None, s["score"], computed))
    return warnings
