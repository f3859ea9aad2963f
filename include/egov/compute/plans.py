"""Reform plans: load the plan YAML files and validate them.

One file per plan (format: docs/contracts/interfaces.md, "Plan file"). A malformed file raises
`PlanError` naming the file and the field, so a run can stop before it touches the warehouse.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, cast, overload

import yaml

import egov
from egov.compute.indicators import dvcqg as index_indicators
from egov.compute.indicators.codes import ALL_INDICATORS
from egov.safe_errors import SafeMessageError

COMPARATORS = (">=", ">")
MIN_YEAR, MAX_YEAR = 2000, 2100
REPORT_BY = ("unit", "children")  # docs/contracts/reported-figures.md
DEFAULT_REPORT_DUE = "01-20"  # of the year after the target's year
_REPORT_DUE = re.compile(r"^(\d\d)-(\d\d)$")


class PlanError(SafeMessageError, ValueError):
    """A plan file is missing, unreadable or malformed."""


@dataclass(frozen=True)
class Target:
    """One target of a plan; `unit` is the plan's unit unless the target names another."""

    code: str
    indicator: str | None
    unit: str
    comparator: str
    thresholds: dict[int, Decimal]
    clause: str
    measure: str = "percent"  # what the thresholds are: percent, or points (index scores)
    report_by: str = "unit"  # who reports its figures: the unit, or each direct child unit
    report_due: str = DEFAULT_REPORT_DUE  # "MM-DD" of the next year: the year's figure is due

    def due_date(self, year: int) -> date:
        """The day by which `year`'s reported figure is due."""
        return report_due_date(self.report_due, year)


def report_due_date(report_due: str | None, year: int) -> date:
    """`report_due` ("MM-DD", default 01-20) of the year after `year`."""
    month, day = (int(x) for x in (report_due or DEFAULT_REPORT_DUE).split("-"))
    return date(year + 1, month, day)


@dataclass(frozen=True)
class Plan:
    """A reform plan and all its targets, as read from `path`."""

    code: str
    title: str
    document: str | None
    source: str | None
    portal: str
    unit: str
    targets: tuple[Target, ...]
    path: Path


def default_plans_dir() -> Path:
    """`EGOV_PLANS_DIR`, else the `plans` folder next to the `egov` package."""
    env = os.environ.get("EGOV_PLANS_DIR")
    if env:
        return Path(env)
    return Path(egov.__file__).resolve().parent.parent / "plans"


def load_plans(plans_dir: str | os.PathLike[str] | None = None) -> list[Plan]:
    """Load every `*.yaml` / `*.yml` file of the folder, sorted by file name."""
    folder = Path(plans_dir) if plans_dir is not None else default_plans_dir()
    if not folder.is_dir():
        raise PlanError(f"{folder}: plans folder not found")
    files = sorted(
        (p for p in folder.iterdir() if p.is_file() and p.suffix in (".yaml", ".yml")),
        key=lambda p: p.name,
    )
    plans: list[Plan] = []
    seen: dict[str, Path] = {}
    for path in files:
        plan = load_plan_file(path)
        if plan.code in seen:
            raise PlanError(
                f"{path}: code: plan code {plan.code!r} is already used by {seen[plan.code]}"
            )
        seen[plan.code] = path
        plans.append(plan)
    return plans


def load_plan_file(path: str | os.PathLike[str]) -> Plan:
    """Read and validate one plan file."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise PlanError(f"{path}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset "
                        f"{exc.start}): save the file as UTF-8") from exc
    except OSError as exc:
        raise PlanError(f"{path}: cannot read file: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise PlanError(f"{path}: invalid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise PlanError(f"{path}: must be a mapping of plan fields, got {_kind(data)}")

    def fail(field: str, message: str) -> PlanError:
        return PlanError(f"{path}: {field}: {message}")

    code = _text(data, "code", "code", fail)
    title = _text(data, "title", "title", fail)
    portal = _text(data, "portal", "portal", fail)
    unit = _text(data, "unit", "unit", fail)
    raw_targets = data.get("targets")
    if not isinstance(raw_targets, list) or not raw_targets:
        raise fail("targets", f"must be a non-empty list, got {_kind(raw_targets)}")
    targets: list[Target] = []
    codes: set[str] = set()
    for i, raw in enumerate(raw_targets):
        target = _target(raw, f"targets[{i}]", unit, fail)
        if target.code in codes:
            raise fail(f"targets[{i}].code", f"duplicate target code {target.code!r}")
        codes.add(target.code)
        targets.append(target)
    return Plan(
        code=code,
        title=title,
        document=_text(data, "document", "document", fail, required=False),
        source=_text(data, "source", "source", fail, required=False),
        portal=portal,
        unit=unit,
        targets=tuple(targets),
        path=path,
    )


def _target(raw: Any, where: str, plan_unit: str, fail: Fail) -> Target:
    if not isinstance(raw, dict):
        raise fail(where, f"must be a mapping, got {_kind(raw)}")
    code = _text(raw, "code", f"{where}.code", fail)
    if "indicator" not in raw:
        raise fail(f"{where}.indicator", "is required (use null when not measured)")
    indicator = raw["indicator"]
    measure = "percent"
    if isinstance(indicator, str) and indicator.startswith(index_indicators.PREFIX):
        try:
            measure = index_indicators.parse_indicator(indicator).unit
        except index_indicators.IndicatorError as exc:
            raise fail(f"{where}.indicator", str(exc)) from None
    elif indicator is not None and indicator not in ALL_INDICATORS:
        raise fail(f"{where}.indicator", f"unknown indicator code {indicator!r}")
    given = raw.get("measure")
    if given is not None and given != measure:
        raise fail(f"{where}.measure", f"{indicator!r} is measured in {measure}, not "
                                       f"{given!r}")
    comparator = raw.get("comparator")
    if comparator not in COMPARATORS:
        got = "nothing" if comparator is None else f'"{comparator}"'
        raise fail(f"{where}.comparator", f'must be ">=" or ">", got {got}')
    unit = _text(raw, "unit", f"{where}.unit", fail, required=False)
    return Target(
        code=code,
        indicator=indicator,
        unit=unit or plan_unit,
        comparator=comparator,
        thresholds=_thresholds(raw.get("thresholds"), f"{where}.thresholds", fail),
        clause=_text(raw, "clause", f"{where}.clause", fail),
        report_by=_report_by(raw.get("report_by"), f"{where}.report_by", fail),
        report_due=_report_due(raw.get("report_due"), f"{where}.report_due", fail),
        measure=measure,
    )


def _report_by(raw: Any, where: str, fail: Fail) -> str:
    if raw is None:
        return "unit"
    if raw not in REPORT_BY:
        raise fail(where, f'must be "unit" or "children", got {raw!r}')
    return cast(str, raw)


def _report_due(raw: Any, where: str, fail: Fail) -> str:
    """"MM-DD", a day of every year (29 February is refused: most years lack it)."""
    if raw is None:
        return DEFAULT_REPORT_DUE
    match = _REPORT_DUE.match(raw) if isinstance(raw, str) else None
    if match:
        try:
            date(2001, int(match[1]), int(match[2]))
        except ValueError:
            match = None
    if not match:
        raise fail(where, f'must be a day "MM-DD" (e.g. "01-20"; quoted in YAML), got {raw!r}')
    return cast(str, raw)


def _thresholds(raw: Any, where: str, fail: Fail) -> dict[int, Decimal]:
    if not isinstance(raw, dict) or not raw:
        raise fail(where, f"must be a non-empty mapping of year to percent (or points), got "
                          f"{_kind(raw)}")
    result: dict[int, Decimal] = {}
    for year, value in raw.items():
        if isinstance(year, bool) or not isinstance(year, int) or not MIN_YEAR <= year <= MAX_YEAR:
            raise fail(where, f"year must be an integer {MIN_YEAR}..{MAX_YEAR}, got {year!r}")
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or not 0 <= value <= 100
        ):
            raise fail(f"{where}[{year}]", f"must be a number 0..100, got {value!r}")
        result[year] = Decimal(str(value))  # via str: 33.3 stays 33.3, not a binary float
    return dict(sorted(result.items()))


Fail = Callable[[str, str], PlanError]  # (field, message) -> the error to raise


@overload
def _text(data: dict[str, Any], key: str, field: str, fail: Fail,
          required: Literal[True] = True) -> str: ...
@overload
def _text(data: dict[str, Any], key: str, field: str, fail: Fail, required: bool) -> str | None: ...
def _text(data: dict[str, Any], key: str, field: str, fail: Fail, required: bool = True) -> str | None:
    """A string field; optional ones may be absent or null, but never blank."""
    value = data.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        what = "is required" if value is None else f"must be a non-blank string, got {value!r}"
        raise fail(field, what)
    return value.strip()


def _kind(value: Any) -> str:
    return "nothing" if value is None else type(value).__name__
