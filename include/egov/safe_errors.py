"""What may be recorded or logged about an error: never SQL statement parameters, a record's
values or a database server's DETAIL line (which can show a whole failing row).

`safe_message(exc)` names what an operator needs (the portal, window, table, column,
constraint, record keys, the kind of error) and nothing a record holds. Errors raised by the
project itself with messages written for operators pass as they are; any other text is
masked (quoted strings, long digit runs, e-mail addresses). Engines are created with
`hide_parameters=True` (egov.warehouse.db) and warehouse writes raise `WarehouseWriteError`
built from this module (egov.warehouse.upsert), so no parameter reaches an exception at all.
"""

from __future__ import annotations

import re
import traceback

_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
_DIGITS = re.compile(r"\d{5,}")
_EMAIL = re.compile(r"[^\s@'\"]+@[^\s@'\"]+")
_TABLE = re.compile(r"^\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+\"?(\w+)", re.IGNORECASE)
MAX_CHARS = 2000


class SafeMessageError(Exception):
    """An error whose message was written for operators: no record values in it."""


class WarehouseWriteError(SafeMessageError):
    """A write to the warehouse failed; the message names the table and the rows' keys."""


def mask(text: str, limit: int = 300) -> str:
    """`text` with quoted strings, digit runs of 5+ and e-mail addresses replaced."""
    text = _QUOTED.sub(lambda m: m.group(0)[0] + "…" + m.group(0)[0], text)
    text = _EMAIL.sub("…@…", _DIGITS.sub("#", text))
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def is_trusted(exc: BaseException) -> bool:
    """Raised by the project with a message written for operators (no record values): every
    such error class derives from SafeMessageError."""
    return isinstance(exc, SafeMessageError)


def _table_of(exc) -> str | None:
    statement = getattr(exc, "statement", None)
    match = _TABLE.match(statement) if isinstance(statement, str) else None
    return match.group(1) if match else None


def db_error_summary(exc: BaseException) -> str:
    """A database error as its kind, table, column and constraint: for PostgreSQL the
    SQLSTATE and the diagnostic fields only (never the message text, which can quote a value,
    nor DETAIL, which can show the failing row); for SQLite its message (names only)."""
    orig = getattr(exc, "orig", None) or exc
    parts: list[str] = []
    table = column = constraint = None
    code = getattr(orig, "pgcode", None)
    if code:
        try:
            from psycopg2 import errorcodes

            name = (errorcodes.lookup(code) or "error").lower()
        except (ImportError, KeyError):
            name = "error"
        parts.append(f"PostgreSQL {name} (SQLSTATE {code})")
        diag = getattr(orig, "diag", None)
        table = getattr(diag, "table_name", None)
        column = getattr(diag, "column_name", None)
        constraint = getattr(diag, "constraint_name", None)
        datatype = getattr(diag, "datatype_name", None)
        if datatype:
            parts.append(f"type {datatype}")
    elif type(orig).__module__.startswith("sqlite3"):
        parts.append(f"SQLite {type(orig).__name__}: {mask(str(orig))}")
    else:
        parts.append(f"{type(orig).__name__}: {mask(str(orig))}")
    table = table or _table_of(exc)
    if table:
        parts.append(f"table {table}")
    if column:
        parts.append(f"column {column}")
    if constraint:
        parts.append(f"constraint {constraint}")
    if orig is not exc:
        parts.append(f"({type(exc).__name__})")
    return ", ".join(parts)


def _is_db_error(exc: BaseException) -> bool:
    try:
        from sqlalchemy.exc import SQLAlchemyError
    except ImportError:  # pragma: no cover - the stack has it
        return False
    return isinstance(exc, SQLAlchemyError) or type(exc).__module__.startswith(
        ("psycopg2", "sqlite3"))


def safe_message(exc: BaseException, *, portal_code: str | None = None,
                 where: str | None = None) -> str:
    """What may be stored in etl_portal_run.error or logged about `exc`."""
    if is_trusted(exc):
        text = str(exc)
    elif _is_db_error(exc):
        text = f"database error: {db_error_summary(exc)}"
    elif isinstance(exc, OSError) and exc.strerror:
        text = f"{type(exc).__name__}: {exc.strerror}" + (
            f": {exc.filename}" if exc.filename else "")
    else:
        text = f"{type(exc).__name__}: {mask(str(exc))}"
    prefix = " ".join(p for p in (portal_code, where) if p)
    if prefix and not text.startswith(prefix):
        text = f"{prefix}: {text}"
    return text if len(text) <= MAX_CHARS else text[:MAX_CHARS - 3] + "..."


def frames(exc: BaseException, limit: int = 12) -> str:
    """Where `exc` was raised (file, line, function, source line), without its message or
    any exception it chains: safe to log."""
    return "".join(traceback.format_tb(exc.__traceback__, limit=-limit)).rstrip()
