"""What alive formal declarations claim of the e-info (BGD_REPEAT, BGD_HISTORY, 已申报数量):
only formal declarations' lines count, the audit's up-front fetch answers like the
one-by-one lookups, and a data dir made before the ``formal`` flag is upgraded."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.declaration.package import open_package
from server_stub import clock, db, einfo
from server_stub.__main__ import load_clock
from server_stub.audit_worker import package_entries
from server_stub.generate import from_data_dir
from server_stub.seed import seed_data_dir
from tests.conftest import DEMO
from tests.stub.helpers import months_back

TID = DEMO["manufacturer"][0]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("claims") / "data"
    seed_data_dir(path, clock.now())
    load_clock(path)
    return path


@pytest.fixture
def conn(data_dir: Path) -> Iterator[sqlite3.Connection]:
    c = db.connect(data_dir)
    try:
        c.execute("BEGIN")  # every change of a test is rolled back
        yield c
    finally:
        c.execute("ROLLBACK")
        c.close()


def _claimed_line(conn: sqlite3.Connection) -> tuple[str, int]:
    row = conn.execute(
        "SELECT l.entry_no, l.item_no FROM declaration_lines l JOIN declarations d"
        f" ON d.id = l.declaration_id WHERE {einfo.ALIVE_FORMAL_CLAIM} AND l.taxpayer_id = ?"
        " AND l.item_no IS NOT NULL LIMIT 1",
        (TID,),
    ).fetchone()
    assert row is not None, "the seed has alive formal declarations with lines"
    return str(row[0]), int(row[1])


def _unclaimed_line(conn: sqlite3.Connection) -> sqlite3.Row:
    row: sqlite3.Row | None = conn.execute(
        "SELECT entry_no, item_no, quantity, fob_usd FROM customs c WHERE taxpayer_id = ?"
        " AND NOT EXISTS (SELECT 1 FROM declaration_lines l WHERE l.taxpayer_id = c.taxpayer_id"
        " AND l.entry_no = c.entry_no) LIMIT 1",
        (TID,),
    ).fetchone()
    assert row is not None
    return row


def _declare(conn: sqlite3.Connection, stage: str, line: sqlite3.Row) -> None:
    """A declaration of ``stage`` whose one line claims the whole customs ``line``."""
    decl_id = f"test-{stage}"
    conn.execute(
        "INSERT INTO declarations (id, taxpayer_id, stage, business_code, business_name,"
        " period, batch, file_name, size, sha256, stored_name, uploaded_at, record_count,"
        " status) VALUES (?, ?, ?, 'A0305001', '免抵退', ?, '777', 'x.zip', 1, '', 'x', ?, 1,"
        " ?)",
        (decl_id, TID, stage, months_back(1), clock.iso(),
         "audited" if stage == "pre" else "pending_confirm"),
    )  # fmt: skip
    conn.execute(
        "INSERT INTO declaration_lines (declaration_id, taxpayer_id, period, batch, seq, tbl,"
        " entry_no, item_no, commodity_code, commodity_name, unit, quantity, fob_usd,"
        " refund_rate, declared_refund, blocking, formal) VALUES (?, ?, ?, '777', '0001',"
        " 'mdt_ckmx', ?, ?, '0000000000', 'x', '个', ?, ?, '0.13', '1.00', 0, ?)",
        (decl_id, TID, months_back(1), line["entry_no"], line["item_no"], line["quantity"],
         line["fob_usd"], int(stage == "formal")),
    )  # fmt: skip


def test_only_formal_declaration_lines_are_claims(conn: sqlite3.Connection) -> None:
    line = _unclaimed_line(conn)
    key = (str(line["entry_no"]), int(line["item_no"]))

    def claimed(preload: bool) -> tuple[bool, bool, str]:
        ref = einfo.reference_data(
            conn, TID, months_back(1), clock.today(), [key[0]] if preload else ()
        )
        so_far = einfo.quantity_text(ref.customs[key].declared_quantity_so_far)
        return key in ref.declared_lines, key[0] in ref.declared_entries, so_far

    _declare(conn, "pre", line)  # re-uploaded pre-declarations claim nothing
    assert claimed(preload=True) == claimed(preload=False) == (False, False, "0")
    _declare(conn, "formal", line)
    quantity = einfo.quantity_text(einfo.Decimal(line["quantity"]))
    assert claimed(preload=True) == claimed(preload=False) == (True, True, quantity)


def test_the_up_front_fetch_answers_like_the_lookups(conn: sqlite3.Connection) -> None:
    claimed = _claimed_line(conn)
    entries = [
        str(r[0])
        for r in conn.execute(
            "SELECT DISTINCT entry_no FROM customs WHERE taxpayer_id = ? LIMIT 40", (TID,)
        )
    ] + [claimed[0]]
    keys = [
        (str(r[0]), int(r[1]))
        for r in conn.execute(
            "SELECT entry_no, item_no FROM customs WHERE taxpayer_id = ?"
            f" AND entry_no IN ({','.join('?' * len(entries))})",
            (TID, *entries),
        )
    ] + [(entries[0], 99)]  # not in the e-info
    period, today = months_back(1), clock.today()
    ahead = einfo.reference_data(conn, TID, period, today, entries)
    lazy = einfo.reference_data(conn, TID, period, today)
    assert claimed in ahead.declared_lines and claimed[0] in ahead.declared_entries
    for key in keys:
        assert ahead.customs.get(key) == lazy.customs.get(key), key
        assert (key in ahead.declared_lines) == (key in lazy.declared_lines), key
        assert (key[0] in ahead.declared_entries) == (key[0] in lazy.declared_entries), key


def test_package_entries_are_the_main_tables_entries(data_dir: Path, tmp_path: Path) -> None:
    out = from_data_dir(
        data_dir, taxpayer_id=TID, period=months_back(1), out=tmp_path / "p.zip", rows=20,
        inject=(), batch="001", seed=0,
    )  # fmt: skip
    pkg = open_package(out)
    rows = list(pkg.rows(pkg.business.main_table))
    assert rows
    assert package_entries(pkg) == {r["ckbgdh"][:18] for r in rows}


# the indexes of the claim tables before the ``formal`` flag
OLD_INDEXES = {
    "declaration_lines_by_entry": "taxpayer_id, entry_no, item_no",
    "declaration_lines_by_period": "taxpayer_id, period DESC, seq",
    "declaration_lines_by_code": "taxpayer_id, commodity_code",
    "declaration_lines_by_code_name": "taxpayer_id, commodity_code, period, commodity_name",
    "declaration_invoices_by_voucher": "taxpayer_id, voucher_no",
    "declaration_invoices_by_declaration": "declaration_id",
}


def test_an_older_data_dir_gets_the_formal_flag(tmp_path: Path) -> None:
    path = tmp_path / "old"
    seed_data_dir(path, clock.now())
    conn = db.connect(path)
    try:
        _declare(conn, "pre", _unclaimed_line(conn))
        # the claim tables as a data dir made before the flag has them, with its indexes
        for table in ("declaration_lines", "declaration_invoices"):
            for index in conn.execute(f"PRAGMA index_list({table})").fetchall():
                if index[3] == "c":  # made by CREATE INDEX
                    conn.execute(f"DROP INDEX {index[1]}")
        for index, columns in OLD_INDEXES.items():
            table = index.rsplit("_by_", 1)[0]
            conn.execute(f"CREATE INDEX {index} ON {table} ({columns})")
        conn.execute("ALTER TABLE declaration_lines DROP COLUMN formal")
        conn.execute("ALTER TABLE declaration_invoices DROP COLUMN formal")
        db.apply_schema(conn)
        db.apply_schema(conn)  # and again: nothing left to do
        by_stage = dict(
            conn.execute(
                "SELECT d.stage, group_concat(DISTINCT l.formal) FROM declaration_lines l"
                " JOIN declarations d ON d.id = l.declaration_id GROUP BY d.stage"
            ).fetchall()
        )
        assert by_stage == {"formal": "1", "pre": "0"}
        indexes = {
            r[1]: r[4]  # name: partial
            for table in ("declaration_lines", "declaration_invoices")
            for r in conn.execute(f"PRAGMA index_list({table})")
            if r[3] == "c"
        }
        # the old ones are gone: only formal declarations' lines are indexed across declarations
        assert indexes == {
            "declaration_lines_formal_by_entry": 1,
            "declaration_lines_formal_by_period": 1,
            "declaration_lines_formal_by_code_name": 1,
            "declaration_invoices_by_declaration": 0,
            "declaration_invoices_formal_by_voucher": 1,
        }
    finally:
        conn.close()
