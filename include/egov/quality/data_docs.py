"""GX Data Docs: the validations of a portal's batch rendered as static HTML.

A file-based GX project lives under `EGOV_DATA_DOCS_DIR` (default `$AIRFLOW_HOME/egov_data_docs`);
its site is `<dir>/gx/uncommitted/data_docs/local_site/index.html`, served in the Airflow UI by
the plugin `plugins/egov_data_docs.py` (menu "Browse → Data quality (GX Data Docs)", URL
`/egov-data-docs/`). Setup is get-or-add, so reruns against the same folder work.

Building re-validates each suite's frame through a checkpoint (SUMMARY results, then
`UpdateDataDocsAction`); it costs a few seconds (docs/data-quality.md) and is optional.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

SITE = Path("gx") / "uncommitted" / "data_docs" / "local_site"
URL_PREFIX = "/egov-data-docs"


def data_docs_dir() -> Path:
    from egov.warehouse.db import airflow_home

    return Path(os.environ.get("EGOV_DATA_DOCS_DIR") or airflow_home() / "egov_data_docs")


def site_dir(root: Path | None = None) -> Path:
    return Path(root or data_docs_dir()) / SITE


def docs_enabled() -> bool:
    """EGOV_DATA_DOCS (default true): build Data Docs in the load step."""
    return os.environ.get("EGOV_DATA_DOCS", "true").strip().lower() not in ("0", "false", "no",
                                                                            "off")


def file_context(root: Path | None = None):
    from egov.quality.gxrun import gx_module

    gx = gx_module()
    from great_expectations.data_context.types.base import ProgressBarsConfig

    root = Path(root or data_docs_dir())
    root.mkdir(parents=True, exist_ok=True)
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
                    root: Path | None = None) -> Path:
    """Validate each (suite, rules, frame) of `suite_inputs` (`PortalQuality.suite_inputs`)
    through a checkpoint of the file-based project and update the Data Docs site: values
    HTML-escaped, pages rewritten to render offline, a static index (docs_site.py).
    Returns the site's index.html."""
    from egov.quality import docs_site
    from egov.quality.gxrun import build_suite, gx_module

    gx = gx_module()
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
    )

    root = Path(root or data_docs_dir())
    context = file_context(root)
    source = _datasource(context, f"portal_{_safe(portal_code)}")
    built = []
    for suite_name, rules, frame in suite_inputs:
        if not rules:
            continue
        name = f"{_safe(portal_code)}.{suite_name}"
        batch_def = _batch_definition(source, suite_name)
        suite = context.suites.add_or_update(build_suite(name, rules))
        definition = context.validation_definitions.add_or_update(
            gx.ValidationDefinition(name=name, data=batch_def, suite=suite))
        checkpoint = context.checkpoints.add_or_update(gx.Checkpoint(
            name=name, validation_definitions=[definition], actions=[],
            result_format={"result_format": "SUMMARY", "partial_unexpected_count": 20}))
        result = checkpoint.run(
            batch_parameters={"dataframe": frame},
            run_id=RunIdentifier(run_name=_run_name(run_id, portal_code, window_seq)))
        # What the pages show, escaped: the stored results and the suite's arguments.
        for identifier, suite_result in result.run_results.items():
            docs_site.escape_validation_result(suite_result)
            context.validation_results_store.set(identifier, suite_result)
            built.append(identifier)
        context.suites.add_or_update(build_suite(name, docs_site.escape_rules(rules)))
        built.append(ExpectationSuiteIdentifier(name=name))
    site = site_dir(root)
    before = {p: p.stat().st_mtime_ns for p in site.rglob("*.html")} if site.exists() else {}
    context.build_data_docs(resource_identifiers=built or None)
    fresh = [p for p in site.rglob("*.html") if before.get(p) != p.stat().st_mtime_ns]
    docs_site.make_offline(site, fresh)
    return docs_site.write_index(site, root)


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
        index = build_data_docs(quality.suite_inputs, portal_code, run_id,
                                window_seq=window_seq, root=root)
    except Exception as exc:  # noqa: BLE001 - the load must not fail for its report
        from egov.safe_errors import frames, safe_message

        logger.warning("%s: GX Data Docs could not be built (the load is not affected): %s\n%s",
                       portal_code, safe_message(exc), frames(exc))
        return None
    logger.info("%s: GX Data Docs updated in %.1fs: %s (Airflow UI: Browse → Data quality "
                "(GX Data Docs), %s)", portal_code, time.monotonic() - started, index,
                data_docs_url())
    return index
