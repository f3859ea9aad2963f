"""fct_dossier is written on PostgreSQL through COPY and one merge (egov.warehouse.pgcopy):
hostile text survives exactly, NULLs, booleans, dates and times arrive as they were, the merge
keeps every rule of the upsert (older never overwrites newer, a stored applicant hash is
never replaced by null), and a failure names the table and the kind, never a value."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select, text

from egov.safe_errors import WarehouseWriteError
from egov.sources.onestop.records import parse_version
from egov.warehouse import load as wl
from egov.warehouse.pgcopy import copy_buffer, copy_text
from egov.warehouse.schema import fct_dossier

NOW = datetime(2025, 1, 2, 3, 4, 5)
KEY = b"test-key"
HOSTILE = ["tab\there", "new\nline", "cr\rlf\r\n", "back\\slash", "\\N", "\\.", "\\", "\\t",
           "end\\", "a\x00b", "x\ud800y", "Cấp phép — “quoted” 'single' ; DROP TABLE x; --",
           "\x01\x1f\x7f", "  ", "NULL", "\\\\N", "🙂 emoji", "e\u0301 combining"]


def version(code, updated, **extra):
    return parse_version({"MaHoSo": code, "MaDonVi": "C", "TrangThaiHoSo": 4,
                          "NgayTiepNhan": "20250101080000", "NgayCapNhat": updated, **extra})


def rows(engine):
    with engine.connect() as conn:
        return {r["dossier_code"]: dict(r) for r in conn.execute(select(fct_dossier)).mappings()}


def test_copy_text_escapes_what_the_format_reserves():
    assert copy_text(None) == "\\N"
    assert copy_text("\\N") == "\\\\N"
    assert copy_text("a\tb\nc\rd\\e") == "a\\tb\\nc\\rd\\\\e"
    assert copy_text("a\x00b") == "a\ufffdb" and copy_text("x\ud800") == "x\ufffd"
    assert (copy_text(True), copy_text(False), copy_text(0), copy_text(-7)) == ("t", "f", "0", "-7")
    assert copy_text(datetime(1, 2, 3, 4, 5, 6)) == "0001-02-03T04:05:06"
    assert copy_text(date(2025, 12, 31)) == "2025-12-31"


def test_hostile_values_arrive_exactly_and_as_on_sqlite(warehouse):
    """Each hostile string as a name, a code and a field name; what PostgreSQL stores is what
    the parsed row holds (the same as SQLite stores)."""
    versions = [version(f"H{i}{s}", "20250102000000", TenTTHC=s, MaLinhVuc=s + "x",
                        TenLinhVuc=s, MucDo=s[:30], SoGiayToChuHoSo=s + "1",
                        NgayKetThucXuLy="20250102000000", DuocThanhToanTrucTuyen=None)
                for i, s in enumerate(HOSTILE)]
    with warehouse.begin() as conn:
        assert wl.upsert_dossiers(conn, "p", versions, pii_key=KEY, run_id="r\t1\\",
                                  now=NOW) == len(HOSTILE)
    stored = rows(warehouse)
    assert len(stored) == len(HOSTILE)
    for v in versions:
        row = stored[v.record_key]
        for column, value in v.row.items():
            assert row[column] == value, (column, value, row[column])
        assert row["run_id"] == "r\t1\\" and row["loaded_at"] == NOW
        assert row["applicant_id_hash"] and len(row["applicant_id_hash"]) == 64
        assert row["online_payment"] is None and row["is_certification"] is False


def test_merge_keeps_the_upsert_rules(warehouse):
    new = version("A", "20250103000000", SoGiayToChuHoSo="012345678901", TenTTHC="new")
    old = version("A", "20250102000000", SoGiayToChuHoSo="012345678901", TenTTHC="old")
    newer_without_id = version("A", "20250104000000", TenTTHC="newest")
    with warehouse.begin() as conn:
        wl.upsert_dossiers(conn, "p", [new], pii_key=KEY, run_id="r1", now=NOW)
    stored = rows(warehouse)["A"]
    first_hash = stored["applicant_id_hash"]
    assert first_hash and stored["procedure_name"] == "new"
    with warehouse.begin() as conn:  # a late older version: no effect
        wl.upsert_dossiers(conn, "p", [old], pii_key=KEY, run_id="r2", now=NOW)
    assert rows(warehouse)["A"]["procedure_name"] == "new"
    assert rows(warehouse)["A"]["run_id"] == "r1"
    with warehouse.begin() as conn:  # newer, without the ID number: the hash stays
        wl.upsert_dossiers(conn, "p", [old, newer_without_id, new], pii_key=KEY, run_id="r3",
                           now=NOW)
    stored = rows(warehouse)["A"]
    assert stored["procedure_name"] == "newest" and stored["run_id"] == "r3"
    assert stored["updated_at"] == datetime(2025, 1, 4)
    assert stored["applicant_id_hash"] == first_hash
    with warehouse.begin() as conn:  # the same version again, twice in one transaction
        wl.upsert_dossiers(conn, "p", [newer_without_id], pii_key=None, run_id="r4", now=NOW)
        wl.upsert_dossiers(conn, "p", [newer_without_id], pii_key=None, run_id="r5", now=NOW)
    stored = rows(warehouse)["A"]
    assert stored["run_id"] == "r5" and stored["applicant_id_hash"] == first_hash


def test_a_failed_copy_merge_names_the_table_not_the_values(pg_url):
    from egov.warehouse.db import make_engine
    from egov.warehouse.migrations import upgrade

    engine = make_engine(pg_url)
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE fct_dossier ADD CONSTRAINT forced_failure "
                          "CHECK (procedure_name <> 'Secret Name 0987654321')"))
    bad = version("H-7", "20250102000000", TenTTHC="Secret Name 0987654321")
    with pytest.raises(WarehouseWriteError) as caught, engine.begin() as conn:
        wl.upsert_dossiers(conn, "p", [version("H-6", "20250102000000"), bad], pii_key=None,
                           run_id="r", now=NOW)
    engine.dispose()
    message = str(caught.value)
    assert "fct_dossier" in message and "check_violation" in message
    assert "forced_failure" in message
    assert "Secret" not in message and "0987654321" not in message
    assert caught.value.__cause__ is None and caught.value.__context__ is None


def test_copy_buffer_sends_each_value_as_copy_text():
    """Whichever way a column is converted (per distinct value when its values repeat, value
    by value, generic), each field is `copy_text` of its value: equal values of other types
    (1 and True) or other offsets (aware datetimes) keep their own text."""
    utc, plus7 = UTC, timezone(timedelta(hours=7))
    moment = datetime(2025, 3, 1, 12, 0, 5, 250, tzinfo=utc)
    n = 1200
    columns = {
        "s_repeat": [HOSTILE[i % len(HOSTILE)] if i % 5 else None for i in range(n)],
        "s_plain": [f"u{i % 3}" for i in range(n)],
        "s_unique": [f"u{i}" + ("\t" if i == n - 1 else "") for i in range(n)],
        "b": [(True, False, None)[i % 3] for i in range(n)],
        "i_repeat": [(0, -7, None, 2**70)[i % 4] for i in range(n)],
        "i_unique": [i if i % 9 else None for i in range(n)],
        "int_and_bool": [(1, True, 0, False)[i % 4] for i in range(n)],
        "float": [(0.0, -0.0, 1.5)[i % 3] for i in range(n)],
        "d_repeat": [date(2025, 1, 1 + i % 3) for i in range(n)],
        "dt_repeat": [datetime(2025, 1, 1, i % 2, 0, 0, 7 * (i % 3)) for i in range(n)],
        "dt_unique": [datetime(2025, 1, 1) + timedelta(seconds=i) if i % 7 else None
                      for i in range(n)],
        "dt_aware": [(moment, moment.astimezone(plus7), None)[i % 3] for i in range(n)],
        "nulls": [None] * n,
    }
    names = list(columns)
    rows = list(zip(*columns.values(), strict=True))
    expected = "".join("\t".join([*map(copy_text, row), str(seq)]) + "\n"
                       for seq, row in enumerate(rows))
    dicts = [dict(zip(names, row, strict=True)) for row in rows]
    assert copy_buffer(rows, names, tuples=True).getvalue() == expected
    assert copy_buffer(dicts, names).getvalue() == expected
    assert "2025-03-01T19:00:05.000250+07:00" in expected and "\t1\t" in expected
    del dicts[5]["b"]  # a missing key is null
    assert copy_buffer(dicts, names).getvalue().split("\n")[5].split("\t")[3] == "\\N"
    assert copy_buffer(dicts[:2], ["b"]).getvalue() == "t\t0\nf\t1\n"
    assert copy_buffer([], names).getvalue() == ""
    with pytest.raises(ValueError):
        copy_buffer([(1, 2)], ["a"], tuples=True)


def test_aware_times_of_one_instant_keep_their_own_wall_clock(pg_url):
    """Tuples given with their columns; loaded_at equal instants at other offsets, repeated:
    each row stores its own wall-clock time (as a timestamp without time zone does)."""
    from egov.warehouse.db import make_engine
    from egov.warehouse.migrations import upgrade
    from egov.warehouse.pgcopy import copy_upsert

    engine = make_engine(pg_url)
    upgrade(engine)
    utc = datetime(2025, 1, 2, 3, 0, tzinfo=UTC)
    stamps = [utc, utc.astimezone(timezone(timedelta(hours=7)))]
    base = version("X", "20250102000000").row
    names = ["portal_code", *base, "run_id", "loaded_at"]
    tuples = [("p", *{**base, "dossier_code": f"X{i}"}.values(), "r", stamps[i % 2])
              for i in range(300)]
    with engine.begin() as conn:
        copy_upsert(conn, fct_dossier, tuples, ["portal_code", "dossier_code"],
                    newer_than="updated_at", columns=names)
    stored = {code: r["loaded_at"] for code, r in rows(engine).items()}
    engine.dispose()
    assert len(stored) == 300
    assert {stored[f"X{i}"] for i in range(0, 300, 2)} == {datetime(2025, 1, 2, 3, 0)}
    assert {stored[f"X{i}"] for i in range(1, 300, 2)} == {datetime(2025, 1, 2, 10, 0)}


@pytest.mark.parametrize("as_tuples", [False, True])
def test_a_batch_with_a_key_twice_merges_its_newest_row_and_a_unique_one_each(pg_url, as_tuples):
    """Keys unique in the batch: merged as they are; a key twice: the newest `updated_at`
    (the later row on a tie) is merged, whatever the order."""
    from egov.warehouse.db import make_engine
    from egov.warehouse.migrations import upgrade
    from egov.warehouse.pgcopy import copy_upsert

    engine = make_engine(pg_url)
    upgrade(engine)
    columns = ["portal_code", "dossier_code", "unit_code", "is_certification", "channel",
               "status", "updated_at", "has_digitized_papers", "fee_total", "has_fee",
               "has_electronic_result", "supplement_requests", "run_id"]

    def row(code, day, run):
        values = ("p", code, "C", False, 1, 4, datetime(2025, 1, day), False, 0, False, False,
                  0, run)
        return values if as_tuples else dict(zip(columns, values, strict=True))

    def write(batch):
        with engine.begin() as conn:
            copy_upsert(conn, fct_dossier, batch, ["portal_code", "dossier_code"],
                        newer_than="updated_at", columns=columns if as_tuples else None)
        return {code: r["run_id"] for code, r in rows(engine).items()}

    assert write([row("A", 2, "a2"), row("B", 2, "b2")]) == {"A": "a2", "B": "b2"}
    assert write([row("A", 5, "a5"), row("A", 3, "a3"), row("B", 4, "b4"), row("B", 4, "b4'"),
                  row("C", 1, "c1")]) == {"A": "a5", "B": "b4'", "C": "c1"}
    assert write([row("A", 4, "a4"), row("C", 1, "c1'")]) == {"A": "a5", "B": "b4'", "C": "c1'"}
    engine.dispose()
