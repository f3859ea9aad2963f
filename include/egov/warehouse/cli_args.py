"""Argument types of the command-line tools: a bad value ends in a one-line error naming the
argument (argparse, exit status 2), never a traceback."""

from __future__ import annotations

import argparse
import math
from datetime import date

MAX_DAYS = 36_500  # `--days`: at most a hundred years
MAX_RECOMPUTE_DAYS = 3_660  # a recompute range: at most ten years of as-of days


def days(text: str) -> float:
    """A number of days: finite, > 0, at most MAX_DAYS."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of days") from None
    if not math.isfinite(value) or not 0 < value <= MAX_DAYS:
        raise argparse.ArgumentTypeError(
            f"{text!r}: a number of days above 0 and at most {MAX_DAYS} is needed")
    return value


def existing_warehouse(text: str) -> str:
    """A warehouse URL that must already exist: a SQLite URL names an existing file (a
    mistyped path is refused, never created as a new, empty warehouse)."""
    from pathlib import Path

    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from egov.warehouse.db import normalize_url

    try:
        url = make_url(normalize_url(text))
    except (ArgumentError, ValueError):
        raise argparse.ArgumentTypeError("not a SQLAlchemy URL (e.g. sqlite:////path/to/"
                                         "warehouse.db, postgresql://...)") from None
    if url.get_backend_name() == "sqlite":
        path = url.database
        if not path or path == ":memory:" or path.startswith("file:"):
            raise argparse.ArgumentTypeError("a SQLite warehouse is a file: sqlite:////path")
        if not Path(path).is_file():
            raise argparse.ArgumentTypeError(
                f"no SQLite warehouse at {path} (a mistyped path? this command never "
                "creates one)")
    return text


def day_range(start: date, end: date) -> None:
    """A recompute range: `end` not before `start`, at most MAX_RECOMPUTE_DAYS days."""
    if end < start:
        raise ValueError(f"--to {end} is before --from {start}")
    span = (end - start).days + 1
    if span > MAX_RECOMPUTE_DAYS:
        raise ValueError(f"{span} days from {start} to {end}: at most {MAX_RECOMPUTE_DAYS} "
                         "days per recompute (split the range)")
