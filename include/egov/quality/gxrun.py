"""Run a list of `Rule`s as one Great Expectations suite over a pandas frame.

GX is imported lazily (4-6 s), with its logger at WARNING, analytics and progress bars off.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field

from egov.masking import mask_value
from egov.quality.rules import Rule

log = logging.getLogger(__name__)

PARTIAL_LIMIT = 20
_BOUND_KWARGS = ("min_value", "max_value", "mostly", "value_set_size")


def gx_module():
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    import great_expectations as gx

    _quiet_gx_loggers()
    return gx


def _quiet_gx_loggers() -> None:
    """GX modules set their own loggers to INFO on import: bring them all to WARNING."""
    for name, item in list(logging.root.manager.loggerDict.items()):
        if name.startswith("great_expectations") and isinstance(item, logging.Logger):
            if item.level < logging.WARNING:
                item.setLevel(logging.WARNING)


def ephemeral_context():
    gx = gx_module()
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


def build_suite(suite_name: str, rules: list[Rule]):
    """The GX ExpectationSuite of `rules`, one expectation per rule in order (none merged);
    each expectation's meta names its rule. Built whole, not by `add_expectation`, which
    writes to the store of the current context each time once the suite is saved there."""
    gx = gx_module()
    expectations = []
    for i, rule in enumerate(rules):
        cls = getattr(gx.expectations, rule.expectation)
        meta = {"rule": rule.name, "field": rule.field, "message": rule.message,
                "severity": rule.severity, "rule_index": i}
        expectations.append(cls(**rule.kwargs, meta=meta))
    return gx.ExpectationSuite(name=suite_name, expectations=expectations)


@dataclass
class RuleResult:
    rule: Rule
    summary: dict  # JSON-serialisable; what results/store_results keep
    rows: list[int] = field(default_factory=list)  # unexpected row positions (row rules)


def _plain(value, limit: int = 200):
    """A value fit for JSON and a log line: scalars kept, the rest as short text."""
    if type(value).__module__ == "numpy" and hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value != value:  # NaN: a null of a categorical column
        return None
    if value is None or isinstance(value, bool | int | float):
        return value
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _details(rule: Rule) -> dict:
    details = {k: rule.kwargs[k] for k in _BOUND_KWARGS if k in rule.kwargs}
    if "value_set" in rule.kwargs:
        values = list(rule.kwargs["value_set"])
        details["value_set_size"] = len(values)
        if len(values) <= 12:
            details["value_set"] = [_plain(v) for v in values]
    if "row_condition" in rule.kwargs:
        details["row_condition"] = rule.kwargs["row_condition"]
    return details


# What only the COMPLETE result format holds (every unexpected row): read into
# RuleResult.rows, then dropped from the kept validation result (SUMMARY is what the Data Docs
# show).
# What shows values as samples (Data Docs, dq_validation_result): masked (egov.masking).
SAMPLE_KEYS = ("partial_unexpected_list", "partial_unexpected_counts", "observed_value",
               "details")
_COMPLETE_ONLY = ("unexpected_list", "unexpected_index_list", "unexpected_index_query",
                  "unexpected_rows")


def _validate(suite_name: str, rules: list[Rule], frame, context, asset: str):
    """GX's validation of `frame` (COMPLETE result format)."""
    source = context.data_sources.add_pandas(f"egov_{asset}")
    batch_def = source.add_dataframe_asset(asset).add_batch_definition_whole_dataframe("batch")
    suite = context.suites.add(build_suite(suite_name, rules))
    batch = batch_def.get_batch(batch_parameters={"dataframe": frame})
    return batch.validate(suite, result_format={"result_format": "COMPLETE"})


def run_rules(suite_name: str, rules: list[Rule], frame, *, context=None,
              asset: str | None = None) -> list[RuleResult]:
    """Validate `frame` against `rules` as the suite `suite_name`; one RuleResult per rule."""
    return run_suite(suite_name, rules, frame, context=context, asset=asset)[0]


def run_suite(suite_name: str, rules: list[Rule], frame, *, context=None,
              asset: str | None = None) -> tuple[list[RuleResult], object]:
    """`run_rules`, also returning GX's ExpectationSuiteValidationResult (trimmed to what
    the SUMMARY format holds): the Data Docs are rendered from it, with no second run."""
    if not rules:
        return [], None
    from egov.runtime.gc_pause import on_own_stack

    result = on_own_stack(_validate, suite_name, rules, frame, context or ephemeral_context(),
                          asset or suite_name)

    out = []
    n = len(frame)
    for res in result.results:
        meta = res.expectation_config.meta
        if res.exception_info and res.exception_info.get("raised_exception"):
            raise RuntimeError(
                f"GX expectation {meta['rule']} ({meta['field']}) of suite {suite_name} raised: "
                f"{res.exception_info.get('exception_message')}"
            )
        position = int(meta["rule_index"])
        rule = rules[position]
        body = res.result or {}
        rows: list[int] = []
        if rule.row_level:
            for idx in body.get("unexpected_index_list") or []:
                rows.append(idx if isinstance(idx, int) else int(idx.get("index", idx)))
        unexpected = len(rows) if rule.row_level else body.get("unexpected_count")
        partial = body.get("partial_unexpected_list")
        summary = {
            "suite": suite_name, "rule": rule.name, "field": rule.field,
            "severity": rule.severity, "message": rule.message,
            "expectation": res.expectation_config.type, "success": bool(res.success),
            "element_count": n, "unexpected_count": unexpected,
            "missing_count": body.get("missing_count"),
            "observed_value": mask_value(_plain(body.get("observed_value"))),
            "partial_unexpected_list": (
                None if partial is None
                else [mask_value(_plain(v)) for v in partial[:PARTIAL_LIMIT]]),
            "details": _details(rule),
        }
        out.append((position, RuleResult(rule, summary, rows)))
        if res.result:
            res.result = {k: (mask_value(v) if k in SAMPLE_KEYS else v)
                          for k, v in res.result.items() if k not in _COMPLETE_ONLY}
    return [r for _, r in sorted(out, key=lambda pair: pair[0])], result

