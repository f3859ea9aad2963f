"""PostgreSQL bulk upserts: rows sent with COPY into a temporary staging table, then merged
into the target with one INSERT ... SELECT ... ON CONFLICT DO UPDATE (so the target's
triggers fire as for any insert or update). Same transaction as the caller's Connection.

COPY text format (https://www.postgresql.org/docs/current/sql-copy.html): columns separated
by a tab, rows by a newline, NULL as `\\N`; a backslash, tab, newline or carriage return in a
value is written as `\\\\`, `\\t`, `\\n`, `\\r`. NUL cannot be stored in PostgreSQL text and
is replaced by U+FFFD (as `egov.records.storable` does); so are lone surrogates (no UTF-8).
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from datetime import date, datetime, time

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


def _column_text(values: list) -> list[str]:
    """One column's values as COPY text fields: by the type its values have (checked once
    over the column), the generic `copy_text` for a column of mixed or other types."""
    present = [v for v in values if v is not None]
    kinds = {type(v) for v in present}
    if kinds == {str}:
        if _SPECIAL.search("".join(present)) is None:  # nothing to escape: one scan
            return ["\\N" if v is None else v for v in values]
    elif kinds == {bool}:
        return ["\\N" if v is None else ("t" if v else "f") for v in values]
    elif kinds == {int}:
        return ["\\N" if v is None else str(v) for v in values]
    elif kinds in ({datetime}, {date}):
        return ["\\N" if v is None else v.isoformat() for v in values]
    elif not kinds:
        return ["\\N"] * len(values)
    return [copy_text(v) for v in values]


def copy_buffer(rows: Sequence[dict], columns: Sequence[str]) -> io.StringIO:
    """`rows` (with their position as SEQ_COLUMN, last) as COPY text, built column by
    column."""
    fields = [_column_text([row.get(c) for row in rows]) for c in columns]
    fields.append([str(seq) for seq in range(len(rows))])
    out = io.StringIO()
    out.writelines(f"{line}\n" for line in map("\t".join, zip(*fields, strict=True)))
    out.seek(0)
    return out


def _keys_of(rows: Sequence[dict], keys: Sequence[str]) -> str:
    from egov.warehouse.upsert import _keys_of as keys_of

    return keys_of(rows, keys)


def copy_upsert(conn, table, rows: Sequence[dict], keys: Sequence[str], *,
                newer_than: str | None = None, keep_when_null: Sequence[str] = ()) -> None:
    """`egov.warehouse.upsert.upsert` for PostgreSQL through COPY: rows staged, then merged
    with one statement. Of several rows with one key the one with the newest `newer_than`
    (the later one on a tie) is merged; a stored row is updated only where its `newer_than`
    is <= the incoming one; columns of `keep_when_null` keep their stored value when the
    incoming one is null. A failure raises WarehouseWriteError naming the table and the
    kind of error, never a value (nor does it chain the driver's error)."""
    if not rows:
        return
    quote = conn.dialect.identifier_preparer.quote
    columns = list(rows[0])
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
    merge = (f"INSERT INTO {target} ({cols}) SELECT DISTINCT ON ({key_list}) {cols} "
             f"FROM {stage} ORDER BY {order}{quote(SEQ_COLUMN)} DESC "
             f"ON CONFLICT ({key_list}) DO UPDATE SET {updates}{where}")
    try:
        buffer = copy_buffer(rows, columns)
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
        error = WarehouseWriteError(
            f"writing {table.name} failed: {db_error_summary(exc)}{_keys_of(rows, keys)}")
    else:
        return
    raise error from None
