"""Rules (one GX expectation each, with a severity) and the failures they report.

Severity:
- `error`   — the row breaks the portal contract: a record version goes to quarantine;
              a catalogue or unit item without its code cannot be loaded (skipped, reported).
- `warning` — the row (or the batch) is kept and the finding is reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from egov.sources.onestop.records import PERSONAL_FIELDS

ERROR = "error"
WARNING = "warning"
SEVERITIES = (ERROR, WARNING)

MAX_VALUE_CHARS = 120
WITHHELD = "<personal data withheld>"


@dataclass(frozen=True)
class Rule:
    """One rule as one GX expectation; `field` is the portal field it reads.

    `row_level`: the expectation's unexpected rows are rows breaking the rule (column map
    expectations); False for batch/table-level expectations (row count, sums, `mostly`).
    """

    name: str
    field: str
    message: str
    expectation: str
    kwargs: dict = field(default_factory=dict)  # type: ignore[operator]  # dataclasses.field: the `field: str` above binds no name
    severity: str = ERROR
    row_level: bool = True


def safe_value(field_name: str, value):
    """The value a failure may carry: never a personal field's value."""
    if field_name in PERSONAL_FIELDS:
        return None if value is None else WITHHELD
    return value


def short_repr(value, limit: int = MAX_VALUE_CHARS) -> str:
    try:
        text = repr(value)
    except RecursionError:  # nested too deeply to show: its deepest values cut
        from egov.masking import shallow

        text = repr(shallow(value, 8))
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass(frozen=True)
class Failure:
    """One rule broken by one row. `value` is the failing field's value only (never the
    record, never a personal field's value); `reason` is what an operator reads."""

    rule: str
    field: str
    value: object
    message: str
    severity: str = ERROR

    def __post_init__(self):
        from egov.masking import mask_value

        object.__setattr__(self, "value", mask_value(safe_value(self.field, self.value)))

    @property
    def reason(self) -> str:
        return f"{self.rule}: {self.field}={short_repr(self.value)}: {self.message}"
