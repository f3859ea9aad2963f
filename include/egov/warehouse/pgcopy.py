"""PostgreSQL bulk upserts: rows sent with COPY into a temporary staging table, then merged
into the target with one INSERT ... SELECT ... ON CONFLICT DO UPDATE (so the target's
triggers fire as for any insert or update). Same transaction as the caller's Connection.

COPY text format (https://www.postgresql.org/docs/current/sql-copy.html): columns separated
by a tab, rows by a newline, NULL as `\\N`; a backslash, tab, newline or carriage return in a
value is written as `\\\\`, `\\t`, `\\n`, `\\r`. NUL cannot be stored in PostgreSQL text and
is replaced by U+FFFD (as `egov.sources.onestop.records.storable` does); so are lone surrogates (no UTF-8).
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from datetime import date, datetime, time
from operator import itemgetter
from typing import cast

from egov.safe_errors import WarehouseWriteError, db_error_summary

_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r",
                          "\x00": "\ufffd"})
_SPECIAL = re.compile("[\\\\\t\n\r\\x00\\ud800-\\udfff]")
_SURROGATE = re.compile("[\\ud800-\\udfff]")
SEQ_COLUMN = "egov_seq"  # arrival order in the staging table: a later row wins a tie


def copy_text(value) -> str:
    """One value as a field of COPY's text format."""
    if value is None:
        return "\\N"
    if isinstance(value, str):
        if _SPECIAL.search(value) is None:
            return value
        return _SURROGATE.sub("\ufffd", value).translate(_ESCAPES)
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return copy_text(str(value))


_NONE = type(None)
_PROBE = 1000  # values looked at to guess whether a column repeats its values


def _column_text(values: Sequence) -> Sequence[str]:
    """One column's values as COPY text fields, each the `copy_text` of its value. A column
    of one exact type (checked over every value) is converted per distinct value when its
    first values repeat, else value by value; any other column by `copy_text`."""
    kinds = set(map(type, values))
    nulls = _NONE in kinds
    kinds.discard(_NONE)
    if len(kinds) != 1:
        return [copy_text(v) for v in values] if kinds else ["\\N"] * len(values)
    kind = kinds.pop()
    if kind not in (str, bool, int, date, datetime):
        return [copy_text(v) for v in values]
    if kind is bool or len(set(values[:_PROBE])) < 0.9 * min(_PROBE, len(values)):
        distinct = set(values)
        distinct.discard(None)
        if kind is str and _SPECIAL.search("".join(distinct)) is None:
            return ["\\N" if v is None else v for v in values] if nulls else values
        # Equal aware datetimes may differ in offset, so in text: never one text for both.
        if kind is not datetime or all(v.tzinfo is None for v in distinct):
            table = {v: copy_text(v) for v in distinct}
            table[None] = "\\N"
            return list(map(table.__getitem__, values))
    if kind is str:
        present = [v for v in values if v is not None] if nulls else values
        if _SPECIAL.search("".join(present)) is None:  # nothing to escape: one scan
            return ["\\N" if v is None else v for v in values] if nulls else values
        return [copy_text(v) for v in values]
    if kind is int:
        return ["\\N" if v is None else str(v) for v in values] if nulls \
            else list(map(str, values))
    return ["\\N" if v is None else v.isoformat() for v in values] if nulls \
        else list(map(cast("type[date]", kind).isoformat, values))


def copy_buffer(rows: Sequence, columns: Sequence[str], *, tuples: bool = False) -> io.StringIO:
    """`rows` (with their position as SEQ_COLUMN, last) as COPY text, built column by
    column. Rows are dicts (a missing key is null) or, with `tuples`, sequences of the
    values of `columns` in that order."""
    if not tuples and columns:
        try:
            rows = list(map(itemgetter(*columns), rows))
        except KeyError:
            rows = [tuple(row.get(c) for c in columns) for row in rows]
        else:
            if len(columns) == 1:
                rows = [(v,) for v in rows]
    fields = list(zip(*rows, strict=True)) if rows and columns else [()] * len(columns)
    if len(fields) != len(columns):
        raise ValueError(f"rows of {len(fields)} values for {len(columns)} columns")
    texts = [_column_text(values) for values in fields]
    texts.append(list(map(str, range(len(rows)))))
    out = io.StringIO()
    if rows:  # one write
        out.write("\n".join(map("\t".join, zip(*texts, strict=True))) + "\n")
    out.seek(0)
    return out


def _keys_of(rows: Sequence[dict], keys: Sequence[str]) -> str:
    from egov.warehouse.upsert import _keys_of as keys_of

    return keys_of(rows, keys)


def _unique(rows: Sequence, columns: Sequence[str] | None, keys: Sequence[str]) -> bool:
    """Whether no two rows share a key (rows are tuples in `columns` order, or dicts)."""
    if columns is None:
        seen = {tuple(row.get(k) for k in keys) for row in rows}
    else:
        seen = set(map(itemgetter(*[columns.index(k) for k in keys]), rows))
    return len(seen) == len(rows)


def copy_upsert(conn, table, rows: Sequence, keys: Sequence[str], *,
                newer_than: str | None = None, keep_when_null: Sequence[str] = (),
                columns: Sequence[str] | None = None) -> None:
    """`egov.warehouse.upsert.upsert` for PostgreSQL through COPY: rows staged, then merged
    with one statement. Of several rows with one key the one with the newest `newer_than`
    (the later one on a tie) is merged; a stored row is updated only where its `newer_than`
    is <= the incoming one; columns of `keep_when_null` keep their stored value when the
    incoming one is null. Rows are dicts or, given `columns`, tuples of their values. A
    failure raises WarehouseWriteError naming the table and the kind of error, never a value
    (nor does it chain the driver's error)."""
    if not rows:
        return
    quote = conn.dialect.identifier_preparer.quote
    tuples = columns is not None
    columns = list(cast(Sequence[str], columns)) if tuples else list(rows[0])
    stage = quote(f"egov_stage_{table.name}")
    target = quote(table.name)
    cols = ", ".join(quote(c) for c in columns)
    updates = ", ".join(
        f"{quote(c)} = COALESCE(EXCLUDED.{quote(c)}, {target}.{quote(c)})"
        if c in keep_when_null else f"{quote(c)} = EXCLUDED.{quote(c)}"
        for c in columns if c not in keys)
    key_list = ", ".join(quote(k) for k in keys)
    order = f"{key_list}, " + (f"{quote(newer_than)} DESC NULLS LAST, " if newer_than else "")
    where = (f" WHERE {target}.{quote(newer_than)} <= EXCLUDED.{quote(newer_than)}"
             if newer_than else "")
    if _unique(rows, columns if tuples else None, keys):  # nothing to choose among: no sort
        pick = f"SELECT {cols} FROM {stage}"
    else:
        pick = (f"SELECT DISTINCT ON ({key_list}) {cols} FROM {stage} "
                f"ORDER BY {order}{quote(SEQ_COLUMN)} DESC")
    merge = (f"INSERT INTO {target} ({cols}) {pick} "
             f"ON CONFLICT ({key_list}) DO UPDATE SET {updates}{where}")
    try:
        buffer = copy_buffer(rows, columns, tuples=tuples)
        # The Connection's own DBAPI connection: the caller's transaction.
        with conn.connection.dbapi_connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {stage}")
            # No constraints on the staging table: a value the target refuses fails in the
            # merge, naming the target's column or constraint.
            cursor.execute(f"CREATE TEMPORARY TABLE {stage} ON COMMIT DROP AS "
                           f"SELECT {cols} FROM {target} WITH NO DATA")
            cursor.execute(f"ALTER TABLE {stage} ADD COLUMN {quote(SEQ_COLUMN)} bigint")
            cursor.copy_expert(f"COPY {stage} ({cols}, {quote(SEQ_COLUMN)}) FROM STDIN", buffer)
            cursor.execute(merge)
            cursor.execute(f"DROP TABLE {stage}")
    except Exception as exc:  # noqa: BLE001 - every failure is re-raised, cleaned
        named = [dict(zip(columns, row, strict=False)) for row in rows] if tuples else rows
        error = WarehouseWriteError(
            f"writing {table.name} failed: {db_error_summary(exc)}{_keys_of(named, keys)}")
    else:
        return
    raise error from None
