"""GX Data Docs: the validations of a portal's batch rendered as static HTML.

A file-based GX project lives under `EGOV_DATA_DOCS_DIR` (default `$AIRFLOW_HOME/egov_data_docs`);
its site is `<dir>/gx/uncommitted/data_docs/local_site/index.html`, served in the Airflow UI by
the plugin `plugins/egov_data_docs.py` (menu "Browse → Data quality (GX Data Docs)", URL
`/egov-data-docs/`). Setup is get-or-add, so reruns against the same folder work.

Building stores the validation results the load step got (no second validation) and
renders them; it costs a few seconds (docs/data-quality.md) and is optional.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

SITE = Path("gx") / "uncommitted" / "data_docs" / "local_site"
URL_PREFIX = "/egov-data-docs"


def data_docs_dir() -> Path:
    from egov.settings import airflow_home

    return Path(os.environ.get("EGOV_DATA_DOCS_DIR") or airflow_home() / "egov_data_docs")


def site_dir(root: Path | None = None) -> Path:
    return Path(root or data_docs_dir()) / SITE


def docs_enabled() -> bool:
    """EGOV_DATA_DOCS (default true): build Data Docs in the load step; a value that is not
    true or false is a ConfigError naming the variable."""
    from egov.settings import flag

    return flag("EGOV_DATA_DOCS", True)


def file_context(root: Path | None = None):
    from egov.quality.gxrun import gx_module

    gx = gx_module()
    from great_expectations.data_context.types.base import ProgressBarsConfig

    root = Path(root or data_docs_dir())
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    context = gx.get_context(mode="file", project_root_dir=str(root))
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


def _datasource(context, name: str):
    try:
        return context.data_sources.get(name)
    except (KeyError, ValueError, LookupError):
        return context.data_sources.add_pandas(name)


def _batch_definition(source, asset_name: str):
    try:
        asset = source.get_asset(asset_name)
    except (KeyError, ValueError, LookupError):
        asset = source.add_dataframe_asset(asset_name)
    try:
        return asset.get_batch_definition("whole_batch")
    except (KeyError, ValueError, LookupError):
        return asset.add_batch_definition_whole_dataframe("whole_batch")


def _run_name(run_id: str, portal_code: str, window_seq: int) -> str:
    return f"{run_id} {portal_code}" + (f" window {window_seq}" if window_seq else "")


def _safe(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in text)


def build_data_docs(suite_inputs, portal_code: str, run_id: str, *, window_seq: int = 0,
                    root: Path | None = None, gate=None) -> Path:
    """Update the Data Docs site of the file-based project with each suite of
    `suite_inputs` (`PortalQuality.suite_inputs`: (suite, rules, frame, validation result)):
    the validation the load step ran is stored and rendered as it is, not run again (an
    input without its result, (suite, rules, frame), is validated through a checkpoint).
    Values HTML-escaped, pages rewritten to render offline, a static index (docs_site.py).
    `gate` (an `egov.quality.gate.GateDecision`): stored with the record suites' results,
    so the index tells "rows rejected and quarantined, gate passed" from a failed load.
    Returns the site's index.html."""
    from egov.quality import docs_site
    from egov.quality.gxrun import build_suite

    root = Path(root or data_docs_dir())
    context = file_context(root)  # imports GX (quiet)
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
    )

    run_name = _run_name(run_id, portal_code, window_seq)
    built = []
    for suite_name, rules, frame, *validation in suite_inputs:
        if not rules:
            continue
        name = f"{_safe(portal_code)}.{suite_name}"
        validation = validation[0] if validation else None
        if validation is None:
            results = _checkpoint_results(context, portal_code, suite_name, name, rules, frame,
                                          run_name)
        else:
            results = [_stored_result(validation, portal_code, suite_name, name, run_name,
                                      gate=gate if suite_name.startswith("dossier") else None)]
        # What the pages show, escaped: the stored results and the suite's arguments.
        for identifier, suite_result in results:
            docs_site.escape_validation_result(suite_result)
            context.validation_results_store.set(identifier, suite_result)
            built.append(identifier)
        context.suites.add_or_update(build_suite(name, docs_site.escape_rules(rules)))
        built.append(ExpectationSuiteIdentifier(name=name))
    site = site_dir(root)
    before = {p: p.stat().st_mtime_ns for p in site.rglob("*.html")} if site.exists() else {}
    # GX's own index (which reads every stored result) is skipped: write_index replaces it.
    context.build_data_docs(resource_identifiers=built or None, build_index=False)
    fresh = [p for p in site.rglob("*.html") if before.get(p) != p.stat().st_mtime_ns]
    docs_site.make_offline(site, fresh)
    index = docs_site.write_index(site, root)
    restrict(root)
    return index


def restrict(root: Path) -> None:
    """Folders 0700 and files 0600 under `root`, itself included (the docs show samples of
    portal values: operators only)."""
    root = Path(root)
    if not root.exists():
        return
    root.chmod(0o700)
    for folder, dirs, files in os.walk(root):
        for name in dirs:
            path = Path(folder, name)
            if not path.is_symlink() and path.stat().st_mode & 0o077:
                path.chmod(0o700)
        for name in files:
            path = Path(folder, name)
            if not path.is_symlink() and path.stat().st_mode & 0o077:
                path.chmod(0o600)


def _stored_result(validation, portal_code: str, suite_name: str, name: str, run_name: str,
                   gate=None):
    """(identifier, result) of the load step's own validation, named as a checkpoint of the
    file-based project would name it. A copy: the caller's result is left as it was."""
    import copy
    from datetime import UTC, datetime

    from great_expectations.core.expectation_validation_result import (
        ExpectationSuiteValidationResult,
    )
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    moment = datetime.now(UTC)
    run = RunIdentifier(run_name=run_name, run_time=moment)
    source = f"portal_{_safe(portal_code)}"
    meta = {k: v for k, v in (validation.meta or {}).items() if k != "checkpoint_id"}
    meta["active_batch_definition"] = {**dict(meta.get("active_batch_definition") or {}),
                                       "datasource_name": source,
                                       "data_asset_name": suite_name}
    meta.update(run_id=run, validation_time=moment.isoformat())
    if gate is not None:
        meta["egov_gate"] = {"passed": bool(gate.passed), "rejected": int(gate.rejected),
                             "validated": int(gate.validated)}
    results = []
    for item in validation.results:  # escaping assigns to these copies, not the originals
        item = copy.copy(item)
        item.expectation_config = copy.copy(item.expectation_config)
        results.append(item)
    result = ExpectationSuiteValidationResult(
        success=validation.success, results=results, suite_name=name,
        suite_parameters=validation.suite_parameters, statistics=validation.statistics,
        meta=meta)
    identifier = ValidationResultIdentifier(
        expectation_suite_identifier=ExpectationSuiteIdentifier(name=name), run_id=run,
        batch_identifier=f"{source}-{suite_name}")
    return identifier, result


def _checkpoint_results(context, portal_code: str, suite_name: str, name: str, rules, frame,
                        run_name: str):
    """Validate `frame` through a checkpoint of the file-based project (SUMMARY results)."""
    from egov.quality.gxrun import build_suite, gx_module

    gx = gx_module()
    from great_expectations.core.run_identifier import RunIdentifier

    source = _datasource(context, f"portal_{_safe(portal_code)}")
    batch_def = _batch_definition(source, suite_name)
    suite = context.suites.add_or_update(build_suite(name, rules))
    definition = context.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=name, data=batch_def, suite=suite))
    checkpoint = context.checkpoints.add_or_update(gx.Checkpoint(
        name=name, validation_definitions=[definition], actions=[],
        result_format={"result_format": "SUMMARY", "partial_unexpected_count": 20}))
    result = checkpoint.run(batch_parameters={"dataframe": frame},
                            run_id=RunIdentifier(run_name=run_name))
    return list(result.run_results.items())


def data_docs_url() -> str:
    """Where an operator opens the Data Docs: the Airflow API server's base URL (config
    `[api] base_url`, env AIRFLOW__API__BASE_URL) + the plugin's prefix."""
    base = os.environ.get("AIRFLOW__API__BASE_URL", "").rstrip("/")
    return f"{base}{URL_PREFIX}/index.html"


def publish_data_docs(quality, portal_code: str, run_id: str, *, window_seq: int = 0,
                      enabled: bool | None = None, root: Path | None = None,
                      logger: logging.Logger | None = None):
    """Build the Data Docs of `quality` (a `PortalQuality`) when enabled (`EGOV_DATA_DOCS`,
    default true) and log where they are. Never raises: the docs are a view, not the data.
    Returns the index path, or None when disabled or failed."""
    import time

    logger = logger or log
    if not (docs_enabled() if enabled is None else enabled):
        return None
    started = time.monotonic()
    try:
        from egov.quality.gate import gate_decision
        from egov.runtime.gc_pause import on_own_stack

        gate = gate_decision(quality.records, portal_code)
        index = on_own_stack(build_data_docs, quality.suite_inputs, portal_code, run_id,
                             window_seq=window_seq, root=root, gate=gate)
    except Exception as exc:  # noqa: BLE001 - the load must not fail for its report
        from egov.safe_errors import frames, safe_message

        logger.warning("%s: GX Data Docs could not be built (the load is not affected): %s\n%s",
                       portal_code, safe_message(exc), frames(exc))
        return None
    logger.info("%s: GX Data Docs updated in %.1fs: %s (Airflow UI: Browse → Data quality "
                "(GX Data Docs), %s)", portal_code, time.monotonic() - started, index,
                data_docs_url())
    return index
