"""Data quality of the portal batches: Great Expectations suites with severities, the
quality gate, stored results, Data Docs, and the retention of the restricted stores.

Modules (none imports GX, pandas or SQLAlchemy at import time):

- `rules`     — `Rule` (one expectation, with a severity) and `Failure` (one row's broken rule);
- `gxrun`     — runs a list of rules as one GX suite over a pandas frame;
- `suites`    — the catalogue (`/api/tthc`), unit (`/api/donvi`) and batch-level rules;
- `portal`    — `validate_portal(...)`: every suite of one portal's batch at once;
- `history`   — `recent_history(conn, portal_code, ...)`: recent runs' volumes and null shares;
- `gate`      — `check_gate(outcome, portal_code)` / `QualityGateError`;
- `results`   — `store_results(conn, portal_code, run_id, results)` into `dq_validation_result`;
- `data_docs` — `build_data_docs(...)`: GX Data Docs in a file-based context;
- `retention` — `purge_raw_zone(...)`, `redact_quarantine(...)`.

The record-version suite itself (the contract's rules) is `egov.quality.records`.
"""

_EXPORTS = {
    "validate_portal": "egov.quality.portal",
    "PortalQuality": "egov.quality.portal",
    "recent_history": "egov.quality.history",
    "BatchHistory": "egov.quality.history",
    "check_gate": "egov.quality.gate",
    "gate_decision": "egov.quality.gate",
    "QualityGateError": "egov.quality.gate",
    "store_results": "egov.quality.results",
    "build_data_docs": "egov.quality.data_docs",
    "data_docs_dir": "egov.quality.data_docs",
    "publish_data_docs": "egov.quality.data_docs",
    "purge_raw_zone": "egov.quality.retention",
    "redact_quarantine": "egov.quality.retention",
}


def __getattr__(name):
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(name)


__all__ = sorted(_EXPORTS)
