"""Sample declaration packages for the 下载专区, made by the package generator from the
enterprise's own e-info (so they pass the audit of that enterprise)."""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path

from app.declaration.generator import generate_package
from server_stub import clock, einfo

SAMPLE_ROWS = 20


def sample_package(conn: sqlite3.Connection, taxpayer_id: str, period: str) -> tuple[str, bytes]:
    """(file name, bytes) of a 预申报 package of ``period`` with up to 20 lines.

    Raises ValueError when the e-info cannot make one (e.g. no library row fits).
    """
    enterprise = einfo.enterprise(conn, taxpayer_id)
    customs = einfo.customs_lines(conn, taxpayer_id)
    invoices = einfo.invoices(conn, taxpayer_id) if enterprise.kind == "trader" else []
    with tempfile.TemporaryDirectory() as tmp:

        def make(rows: int | None) -> Path:
            return generate_package(
                Path(tmp),
                enterprise=enterprise,
                customs=customs,
                invoices=invoices,
                rates=einfo.rate_library(conn),
                exchange_rates=einfo.exchange_rates(conn),
                vat_returns=einfo.vat_returns(conn, taxpayer_id),
                period=period,
                rows=rows,
                today=clock.today(),
            )

        try:
            path = make(SAMPLE_ROWS)
        except ValueError:
            path = make(None)  # fewer usable lines than that: all of the period's
        return path.name, path.read_bytes()
