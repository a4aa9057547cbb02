"""The seeded demo data (protocol §10): deterministic, and rich enough that every doubt
rule of package-format §4 can be met with real data."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from app.declaration.audit import audit_package
from app.declaration.generator import APPLICABLE
from app.declaration.package import open_package
from server_stub import clock, db, einfo
from server_stub.generate import from_data_dir
from server_stub.seed import seed_data_dir
from tests.conftest import DEMO
from tests.stub.helpers import months_back

MFR, TRADER = DEMO["manufacturer"][0], DEMO["trader"][0]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("seeded")
    seed_data_dir(path, clock.now())
    return path


def _dump(path: Path) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path / "platform.sqlite3")
    try:
        return [
            *conn.execute("SELECT * FROM customs ORDER BY 1, 2, 3"),
            *conn.execute("SELECT * FROM invoices ORDER BY 1, 2, 3"),
            *conn.execute("SELECT * FROM vat_returns ORDER BY 1, 2"),
        ]
    finally:
        conn.close()


def test_seed_is_deterministic(data_dir: Path, tmp_path: Path) -> None:
    seed_data_dir(tmp_path, clock.now())
    assert _dump(tmp_path) == _dump(data_dir)


@pytest.mark.parametrize(
    ("taxpayer_id", "business"),
    [(MFR, "A0305001"), (TRADER, "A0301001"), (MFR, "A0201001")],
)
def test_every_injectable_doubt_is_raised(data_dir: Path, taxpayer_id: str, business: str) -> None:
    conn = db.connect(data_dir)
    try:
        for code in sorted(APPLICABLE[business]):
            out = data_dir / f"{business}-{code}.zip"
            from_data_dir(data_dir, taxpayer_id=taxpayer_id, period=months_back(1), out=out,
                          rows=8, inject=(code,), business_code=business)  # fmt: skip
            ref = einfo.reference_data(conn, taxpayer_id, months_back(1), clock.today())
            result = audit_package(open_package(out), ref)
            assert code in {d.code for d in result.doubts}, (code, result.doubts)
    finally:
        conn.close()


def test_declaration_level_and_history_rules_have_data(data_dir: Path) -> None:
    conn = db.connect(data_dir)
    try:
        # an entry partly declared by a seeded formal declaration (BGD_HISTORY)
        partly = conn.execute(
            "SELECT c.entry_no FROM customs c LEFT JOIN declaration_lines l"
            " ON l.entry_no = c.entry_no AND l.item_no = c.item_no AND l.taxpayer_id = c.taxpayer_id"
            " WHERE c.taxpayer_id = ? GROUP BY c.entry_no"
            " HAVING count(l.seq) > 0 AND count(l.seq) < count(*)",
            (MFR,),
        ).fetchall()
        assert partly
        states = {r[0] for r in conn.execute("SELECT status FROM declarations")}
        assert {"approved", "accepted", "confirmed", "refused", "withdrawn"} <= states
        vat = einfo.vat_returns(conn, MFR)
        assert months_back(0) not in vat and all(months_back(k) in vat for k in range(1, 7))
        rates = {r[0] for r in conn.execute("SELECT tax_rate FROM invoices WHERE taxpayer_id = ?",
                                            (TRADER,))}  # fmt: skip
        assert "0.03" in rates  # FP_RATE_LOW
        library = einfo.rate_library(conn)
        codes = {r[0] for r in conn.execute("SELECT DISTINCT commodity_code FROM customs")}
        assert any(c not in library for c in codes)  # SPDM_NOT_IN_LIB
        assert any(len(library.rows(c)) > 1 for c in codes)  # a row that changes
    finally:
        conn.close()
