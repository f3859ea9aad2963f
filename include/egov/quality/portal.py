"""Every suite of one portal's batch: units, catalogue, record versions (+ batch level)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from egov.masking import mask_value
from egov.quality.suites import SuiteOutcome

if TYPE_CHECKING:
    from egov.quality.records import Outcome

log = logging.getLogger(__name__)


@dataclass
class PortalQuality:
    records: Outcome  # .accepted / .rejected / .warnings
    units: SuiteOutcome
    catalogue: SuiteOutcome
    # [(suite, rules, frame, GX validation result)]: what the Data Docs are rendered from
    suite_inputs: list = field(default_factory=list, repr=False)

    @property
    def results(self) -> list[dict]:
        """Every expectation summary of every suite: pass to `store_results`."""
        return self.units.expectations + self.catalogue.expectations + self.records.expectations

    @property
    def failed(self) -> list[dict]:
        return [r for r in self.results if not r["success"]]

    def log_findings(self, portal_code: str, logger: logging.Logger | None = None) -> None:
        """One line per failed expectation: severity, suite, rule, field, counts. Values are
        the non-personal fields the rules read, a few examples at most."""
        logger = logger or log
        for r in self.failed:
            examples = mask_value((r.get("partial_unexpected_list") or [])[:3])
            level = logging.WARNING
            logger.log(level, "%s: data quality %s %s.%s (%s): %s of %s rows%s%s — %s",
                       portal_code, r["severity"].upper(), r["suite"], r["rule"], r["field"],
                       r["unexpected_count"] if r["unexpected_count"] is not None else "-",
                       r["element_count"],
                       f"; observed {mask_value(r['observed_value'])}"
                       if r.get("observed_value") is not None
                       else "", f"; e.g. {examples}" if examples else "", r["message"])
        logger.info("%s: data quality: %d record versions accepted (%d with warnings), %d "
                    "rejected; %d expectations, %d failed", portal_code,
                    len(self.records.accepted), len(self.records.warnings),
                    len(self.records.rejected), len(self.results), len(self.failed))


def validate_portal(units: list[dict], procedures: list[dict], records: list[dict], *,
                    history=None) -> PortalQuality:
    """Validate one portal's batch as extracted (raw `/api/donvi` and `/api/tthc` items; the
    `/api/hoso` versions parsed and de-duplicated: `egov.sources.onestop.records.RecordVersion`s, or raw
    items).

    `history`: `egov.quality.history.recent_history(conn, portal_code, before_run_id=run_id)`
    or None (no batch-level checks). With no `procedures` (a window that did not read the
    catalogue) the `procedure_known` warning is skipped. `records.accepted` → fct_dossier,
    `records.rejected` → quarantine_record; units and catalogue are loaded as given (items
    without a code are skipped by the load)."""
    from egov.quality.gxrun import ephemeral_context
    from egov.quality.records import run_record_suites
    from egov.quality.suites import validate_catalogue, validate_units
    from egov.sources.onestop.records import code_key

    context = ephemeral_context()
    # Codes as stored (egov.sources.onestop.records.code_key): what the record checks compare them with.
    unit_codes = {c for c in (code_key(u.get("MaDonVi")) for u in units
                              if isinstance(u, dict)) if c}
    procedure_codes = {c for c in (code_key(p.get("MaTTHC")) for p in procedures
                                   if isinstance(p, dict)) if c}
    unit_outcome = validate_units(units, context=context)
    catalogue_outcome = validate_catalogue(procedures, unit_codes, context=context)
    # No catalogue in this batch (a later window of a first load): no procedure_known check.
    outcome, ran = run_record_suites(records, unit_codes, procedure_codes or None,
                                     history=history, context=context)
    inputs = [(s.suite, s.rules, s.frame, s.validation)
              for s in (unit_outcome, catalogue_outcome)
              if s.rules] + ran
    return PortalQuality(outcome, unit_outcome, catalogue_outcome, inputs)


def validate_batch(engine, portal_code: str, *, run_id: str, units: list[dict],
                   procedures: list, records: list, incremental: bool,
                   logger: logging.Logger | None = None) -> PortalQuality:
    """What the load step calls: recent history (for an incremental run only: one window, no
    full refresh), every suite, and the findings logged. Reads the warehouse, writes nothing."""
    from egov.quality.history import recent_history

    history = None
    if incremental:
        with engine.connect() as conn:
            history = recent_history(conn, portal_code, before_run_id=run_id)
    quality = validate_portal(units, procedures, records, history=history)
    quality.log_findings(portal_code, logger)
    return quality
