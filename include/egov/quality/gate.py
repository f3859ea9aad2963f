"""The quality gate: a portal's run fails when too many of its record versions are rejected.

`EGOV_MAX_REJECTED_SHARE` (default 0.2): the largest share of rejected record versions
(rejected / validated, per portal and run) that still lets the facts be committed.
`EGOV_GATE_MIN_REJECTED` (default 10): below this many rejected versions the gate never
fails (a quiet night with 3 versions, 1 of them bad, is not a broken portal).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from egov.safe_errors import SafeMessageError
from egov.settings import number


class QualityGateError(SafeMessageError, RuntimeError):
    """Too many record versions of a portal were rejected in this run."""

    def __init__(self, decision: GateDecision):
        super().__init__(decision.message)
        self.decision = decision


@dataclass(frozen=True)
class GateDecision:
    portal_code: str
    passed: bool
    validated: int
    rejected: int
    share: float
    threshold: float
    min_rejected: int
    top_rules: list[tuple[str, int]]  # ("rule (field)", rejected versions), most first

    @property
    def message(self) -> str:
        rules = ", ".join(f"{r}: {n}" for r, n in self.top_rules) or "none"
        verdict = "FAILED" if not self.passed else "passed"
        return (f"quality gate {verdict} for portal {self.portal_code}: {self.rejected} of "
                f"{self.validated} record versions rejected ({self.share:.1%}; maximum "
                f"EGOV_MAX_REJECTED_SHARE={self.threshold:.1%}, applied from "
                f"{self.min_rejected} rejected versions); top rules: {rules}. The rejected "
                f"versions are in quarantine_record (status open); fix the portal or the "
                f"units and replay them (docs/data-quality.md).")


def max_rejected_share() -> float:
    return number("EGOV_MAX_REJECTED_SHARE")


def min_rejected() -> int:
    return number("EGOV_GATE_MIN_REJECTED")


def gate_decision(outcome, portal_code: str, *, max_share: float | None = None,
                  min_count: int | None = None, top: int = 3) -> GateDecision:
    """Decide, without raising, whether `outcome` (an `egov.quality.records.Outcome`) passes."""
    threshold = max_rejected_share() if max_share is None else max_share
    floor = min_rejected() if min_count is None else min_count
    rejected = len(outcome.rejected)
    validated = rejected + len(outcome.accepted)
    share = rejected / validated if validated else 0.0
    counts: Counter = Counter()
    for _record, failures in outcome.rejected:
        for name in dict.fromkeys(f"{f.rule} ({f.field})" for f in failures):
            counts[name] += 1
    passed = not (share > threshold and rejected >= max(floor, 1))
    return GateDecision(portal_code, passed, validated, rejected, share, threshold, floor,
                        counts.most_common(top))


def check_gate(outcome, portal_code: str, *, max_share: float | None = None,
               min_count: int | None = None) -> GateDecision:
    """Raise `QualityGateError` (naming portal, share, threshold, top rules) when the share
    of rejected versions is above the maximum; else return the decision."""
    decision = gate_decision(outcome, portal_code, max_share=max_share, min_count=min_count)
    if not decision.passed:
        raise QualityGateError(decision)
    return decision
