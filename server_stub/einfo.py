"""出口退税电子信息 read from the database, with what alive formal declarations claim.

Used by the e-info routes, by the audit (as lazily loaded reference data) and by the
package generator's ``--data-dir`` mode.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Set
from datetime import date
from decimal import Decimal
from typing import Any

from app.declaration.reference import (
    CustomsLine,
    Enterprise,
    Invoice,
    RateLibrary,
    RateRow,
    ReferenceData,
)

ZERO = Decimal(0)
# declarations that count: formal, and not withdrawn, refused or rejected
ALIVE_FORMAL = "d.stage = 'formal' AND d.status NOT IN ('withdrawn', 'refused', 'rejected')"
# the same for claims (l: declaration_lines or declaration_invoices joined to d): the
# ``formal`` flag keeps the (many) pre-declaration claims out of the partial index
ALIVE_FORMAL_CLAIM = f"l.formal = 1 AND {ALIVE_FORMAL}"


def quantity_text(value: Decimal) -> str:
    """A quantity as the wire shows it: plain decimal, no exponent, no trailing zeros."""
    text = format(value.normalize(), "f")
    return text if text != "-0" else "0"


def money_text(value: Decimal) -> str:
    return f"{value:.2f}"


# ---------------------------------------------------------------- customs lines

CUSTOMS_COLUMNS = (
    "entry_no, item_no, export_date, commodity_code, commodity_name, unit, quantity, fob_usd,"
    " trade_mode, transport_mode, destination_country"
)


def declared_customs(
    conn: sqlite3.Connection, taxpayer_id: str, entry_nos: Iterable[str]
) -> dict[tuple[str, int], tuple[Decimal, Decimal]]:
    """(entry_no, item_no) → (quantity, fob_usd) claimed by alive formal declarations."""
    out: dict[tuple[str, int], tuple[Decimal, Decimal]] = {}
    entries = sorted(set(entry_nos))
    for i in range(0, len(entries), 500):
        chunk = entries[i : i + 500]
        marks = ",".join("?" * len(chunk))
        for entry_no, item_no, qty, fob in conn.execute(
            "SELECT l.entry_no, l.item_no, l.quantity, l.fob_usd FROM declaration_lines l"
            f" JOIN declarations d ON d.id = l.declaration_id WHERE {ALIVE_FORMAL_CLAIM}"
            f" AND l.taxpayer_id = ? AND l.entry_no IN ({marks})",
            (taxpayer_id, *chunk),
        ):
            q, f = out.get((entry_no, item_no), (ZERO, ZERO))
            out[(entry_no, item_no)] = (q + Decimal(qty), f + Decimal(fob))
    return out


def customs_line(
    row: sqlite3.Row | tuple[Any, ...], so_far: tuple[Decimal, Decimal]
) -> CustomsLine:
    return CustomsLine(
        row[0], int(row[1]), date.fromisoformat(row[2]), row[3], row[4], row[5],
        Decimal(row[6]), Decimal(row[7]), row[8], row[9], row[10], so_far[0], so_far[1],
    )  # fmt: skip


def customs_dict(line: CustomsLine) -> dict[str, Any]:
    return {
        "entry_no": line.entry_no,
        "item_no": line.item_no,
        "export_date": line.export_date.isoformat(),
        "commodity_code": line.commodity_code,
        "commodity_name": line.commodity_name,
        "unit": line.unit,
        "quantity": quantity_text(line.quantity),
        "fob_usd": money_text(line.fob_usd),
        "trade_mode": line.trade_mode,
        "transport_mode": line.transport_mode,
        "destination_country": line.destination_country,
        "declared_quantity_so_far": quantity_text(line.declared_quantity_so_far),
        "declared_fob_usd_so_far": money_text(line.declared_fob_usd_so_far),
    }


def customs_lines(
    conn: sqlite3.Connection,
    taxpayer_id: str,
    where: str = "",
    args: Iterable[Any] = (),
    limit: int | None = None,
    offset: int = 0,
) -> list[CustomsLine]:
    """Customs lines of the enterprise (``where`` extends the filter), ordered by entry."""
    sql = (
        f"SELECT {CUSTOMS_COLUMNS} FROM customs WHERE taxpayer_id = ?{where}"
        " ORDER BY entry_no, item_no"
    )
    params: list[Any] = [taxpayer_id, *args]
    if limit is not None:
        sql += " LIMIT ? OFFSET ?"
        params += [limit, offset]
    rows = conn.execute(sql, params).fetchall()
    so_far = declared_customs(conn, taxpayer_id, (r[0] for r in rows))
    return [customs_line(r, so_far.get((r[0], int(r[1])), (ZERO, ZERO))) for r in rows]


# ---------------------------------------------------------------- invoices

INVOICE_COLUMNS = (
    "invoice_code, invoice_no, issue_date, seller_taxpayer_id, commodity_code, commodity_name,"
    " unit, quantity, amount, tax_rate, tax"
)


def declared_invoices(
    conn: sqlite3.Connection, taxpayer_id: str, vouchers: Iterable[str]
) -> dict[str, Decimal]:
    """进货凭证号 → 计税金额 claimed by alive formal declarations."""
    out: dict[str, Decimal] = {}
    keys = sorted(set(vouchers))
    for i in range(0, len(keys), 500):
        chunk = keys[i : i + 500]
        marks = ",".join("?" * len(chunk))
        for voucher, amount in conn.execute(
            "SELECT l.voucher_no, l.amount FROM declaration_invoices l"
            f" JOIN declarations d ON d.id = l.declaration_id WHERE {ALIVE_FORMAL_CLAIM}"
            f" AND l.taxpayer_id = ? AND l.voucher_no IN ({marks})",
            (taxpayer_id, *chunk),
        ):
            out[voucher] = out.get(voucher, ZERO) + Decimal(amount)
    return out


def invoice(row: sqlite3.Row | tuple[Any, ...], so_far: Decimal) -> Invoice:
    return Invoice(
        row[0], row[1], date.fromisoformat(row[2]), row[3], row[4], row[5], row[6],
        Decimal(row[7]), Decimal(row[8]), Decimal(row[9]), Decimal(row[10]), so_far,
    )  # fmt: skip


def invoice_dict(inv: Invoice) -> dict[str, Any]:
    return {
        "invoice_code": inv.invoice_code,
        "invoice_no": inv.invoice_no,
        "issue_date": inv.issue_date.isoformat(),
        "seller_taxpayer_id": inv.seller_taxpayer_id,
        "commodity_code": inv.commodity_code,
        "commodity_name": inv.commodity_name,
        "unit": inv.unit,
        "quantity": quantity_text(inv.quantity),
        "amount": money_text(inv.amount),
        "tax_rate": str(inv.tax_rate),
        "tax": money_text(inv.tax),
        "declared_amount_so_far": money_text(inv.declared_amount_so_far),
    }


def invoices(
    conn: sqlite3.Connection,
    taxpayer_id: str,
    where: str = "",
    args: Iterable[Any] = (),
    limit: int | None = None,
    offset: int = 0,
) -> list[Invoice]:
    sql = (
        f"SELECT {INVOICE_COLUMNS} FROM invoices WHERE taxpayer_id = ?{where}"
        " ORDER BY invoice_code, invoice_no"
    )
    params: list[Any] = [taxpayer_id, *args]
    if limit is not None:
        sql += " LIMIT ? OFFSET ?"
        params += [limit, offset]
    rows = conn.execute(sql, params).fetchall()
    so_far = declared_invoices(conn, taxpayer_id, (r[0] + r[1] for r in rows))
    return [invoice(r, so_far.get(r[0] + r[1], ZERO)) for r in rows]


# ---------------------------------------------------------------- the rest


def vat_returns(conn: sqlite3.Connection, taxpayer_id: str) -> dict[str, Decimal]:
    return {
        r[0]: Decimal(r[1])
        for r in conn.execute(
            "SELECT period, closing_credit FROM vat_returns WHERE taxpayer_id = ?", (taxpayer_id,)
        )
    }


def exchange_rates(conn: sqlite3.Connection) -> dict[str, Decimal]:
    return {r[0]: Decimal(r[1]) for r in conn.execute("SELECT period, usd_cny FROM exchange_rates")}


def enterprise(conn: sqlite3.Connection, taxpayer_id: str) -> Enterprise:
    r = conn.execute(
        "SELECT taxpayer_id, customs_code, name, kind, management_class, state, waived_periods"
        " FROM enterprises WHERE taxpayer_id = ?",
        (taxpayer_id,),
    ).fetchone()
    waived = tuple(
        (date.fromisoformat(a), date.fromisoformat(b) if b else None) for a, b in json.loads(r[6])
    )
    return Enterprise(r[0], r[1], r[2], r[3], r[4], r[5], waived)


_library_cache: dict[tuple[str, int], RateLibrary] = {}


def rate_library(conn: sqlite3.Connection) -> RateLibrary:
    """The current rate library (kept per process until a new version is published)."""
    version = conn.execute("SELECT version FROM rate_meta").fetchone()
    count = conn.execute("SELECT count(*) FROM rate_rows").fetchone()[0]
    key = (version[0] if version else "", int(count))
    library = _library_cache.get(key)
    if library is None:
        rows = [
            RateRow(
                r[0],
                r[1],
                r[2],
                r[3],
                tuple(Decimal(v) for v in r[4].split(",")),
                Decimal(r[5]),
                date.fromisoformat(r[6]),
                date.fromisoformat(r[7]),
                r[8],
            )
            for r in conn.execute(
                "SELECT commodity_code, name, category, unit, vat_rate, refund_rate, valid_from,"
                " valid_to, special_flag FROM rate_rows"
            )
        ]
        library = RateLibrary(rows, key[0])
        _library_cache.clear()
        _library_cache[key] = library
    return library


class _Claims:
    """What alive formal declarations claim of the customs lines of some entries, fetched
    for many entries at once: (entry_no, item_no) → (quantity, fob_usd) so far."""

    def __init__(self, conn: sqlite3.Connection, taxpayer_id: str) -> None:
        self.conn, self.tid = conn, taxpayer_id
        self.entries: set[str] = set()  # the entries fetched: others are asked one by one
        self.lines: dict[tuple[str, int], tuple[Decimal, Decimal]] = {}
        self.declared_entries: set[str] = set()

    def fetch(self, entries: Iterable[str]) -> None:
        new = set(entries) - self.entries
        if not new:
            return
        claimed = declared_customs(self.conn, self.tid, new)
        self.entries |= new
        self.lines.update(claimed)
        self.declared_entries.update(entry for entry, _ in claimed)

    def so_far(self, key: tuple[str, int]) -> tuple[Decimal, Decimal]:
        self.fetch([key[0]])
        return self.lines.get(key, (ZERO, ZERO))


class _CustomsByKey(Mapping[tuple[str, int], CustomsLine]):
    """The enterprise's customs lines by key: those of the package's entries fetched up
    front in one query (``preload``), any other as the audit asks (memoised)."""

    def __init__(self, conn: sqlite3.Connection, taxpayer_id: str, claims: _Claims) -> None:
        self.conn, self.tid, self.claims = conn, taxpayer_id, claims
        self._memo: dict[tuple[str, int], CustomsLine | None] = {}
        self._entries: set[str] = set()  # entries whose lines are all in the memo

    def preload(self, entries: Iterable[str]) -> None:
        """Fetch every line of ``entries``, with what alive formal declarations claim."""
        new = sorted(set(entries) - self._entries)
        self.claims.fetch(new)
        for i in range(0, len(new), 500):
            chunk = new[i : i + 500]
            for row in self.conn.execute(
                f"SELECT {CUSTOMS_COLUMNS} FROM customs WHERE taxpayer_id = ?"
                f" AND entry_no IN ({','.join('?' * len(chunk))})",
                (self.tid, *chunk),
            ):
                key = (row[0], int(row[1]))
                self._memo[key] = customs_line(row, self.claims.so_far(key))
        self._entries.update(new)

    def __getitem__(self, key: tuple[str, int]) -> CustomsLine:
        try:
            line = self._memo[key]
        except KeyError:
            line = None if key[0] in self._entries else self._fetch(key)
            self._memo[key] = line
        if line is None:
            raise KeyError(key)
        return line

    def _fetch(self, key: tuple[str, int]) -> CustomsLine | None:
        row = self.conn.execute(
            f"SELECT {CUSTOMS_COLUMNS} FROM customs"
            " WHERE taxpayer_id = ? AND entry_no = ? AND item_no = ?",
            (self.tid, key[0], key[1]),
        ).fetchone()
        return None if row is None else customs_line(row, self.claims.so_far(key))

    def __iter__(self) -> Iterator[tuple[str, int]]:
        for r in self.conn.execute(
            "SELECT entry_no, item_no FROM customs WHERE taxpayer_id = ?", (self.tid,)
        ):
            yield (r[0], int(r[1]))

    def __len__(self) -> int:
        return int(
            self.conn.execute(
                "SELECT count(*) FROM customs WHERE taxpayer_id = ?", (self.tid,)
            ).fetchone()[0]
        )


class _InvoicesByVoucher(Mapping[str, Invoice]):
    def __init__(self, conn: sqlite3.Connection, taxpayer_id: str) -> None:
        self.conn, self.tid = conn, taxpayer_id
        self._memo: dict[str, Invoice | None] = {}

    def __getitem__(self, voucher: str) -> Invoice:
        if voucher not in self._memo:
            code, number = (voucher[:10], voucher[10:]) if len(voucher) == 18 else ("", voucher)
            row = self.conn.execute(
                f"SELECT {INVOICE_COLUMNS} FROM invoices"
                " WHERE taxpayer_id = ? AND invoice_code = ? AND invoice_no = ?",
                (self.tid, code, number),
            ).fetchone()
            so_far = declared_invoices(self.conn, self.tid, [voucher]).get(voucher, ZERO)
            self._memo[voucher] = None if row is None else invoice(row, so_far)
        inv = self._memo[voucher]
        if inv is None:
            raise KeyError(voucher)
        return inv

    def __iter__(self) -> Iterator[str]:
        for r in self.conn.execute(
            "SELECT invoice_code || invoice_no FROM invoices WHERE taxpayer_id = ?", (self.tid,)
        ):
            yield str(r[0])

    def __len__(self) -> int:
        return int(
            self.conn.execute(
                "SELECT count(*) FROM invoices WHERE taxpayer_id = ?", (self.tid,)
            ).fetchone()[0]
        )


class _DeclaredLines(Set[Any]):
    """(entry_no, item_no) pairs — or with ``entries``, 18-digit entry numbers — in alive
    formal declarations of the enterprise, answered from the claims of the entries."""

    def __init__(self, claims: _Claims, entries: bool) -> None:
        self.claims, self.entries = claims, entries

    def __contains__(self, key: object) -> bool:
        if self.entries:
            if not isinstance(key, str):
                return False
            self.claims.fetch([key])
            return key in self.claims.declared_entries
        if not (isinstance(key, tuple) and len(key) == 2 and isinstance(key[0], str)):
            return False
        self.claims.fetch([key[0]])
        return key in self.claims.lines

    def __iter__(self) -> Iterator[Any]:
        columns = "DISTINCT l.entry_no" if self.entries else "DISTINCT l.entry_no, l.item_no"
        for r in self.claims.conn.execute(
            f"SELECT {columns} FROM declaration_lines l JOIN declarations d"
            f" ON d.id = l.declaration_id WHERE {ALIVE_FORMAL_CLAIM} AND l.taxpayer_id = ?",
            (self.claims.tid,),
        ):
            yield r[0] if self.entries else (r[0], r[1])

    def __len__(self) -> int:
        return sum(1 for _ in self)


def credit_used(conn: sqlite3.Connection, taxpayer_id: str, period: str) -> Decimal:
    """应退税额 already claimed by alive formal 免抵退 declarations of ``period``."""
    total = ZERO
    for (refund,) in conn.execute(
        "SELECT d.declared_refund FROM declarations d WHERE d.taxpayer_id = ?"
        f" AND d.period = ? AND d.business_code = 'A0305001' AND {ALIVE_FORMAL}"
        " AND d.declared_refund IS NOT NULL",
        (taxpayer_id, period),
    ):
        total += Decimal(refund)
    return total


def reference_data(
    conn: sqlite3.Connection,
    taxpayer_id: str,
    period: str,
    today: date,
    entries: Iterable[str] = (),
) -> ReferenceData:
    """What auditing a package of ``period`` for this enterprise needs, from the database.

    The customs lines of ``entries`` (the package's 报关单号), and what alive formal
    declarations claim of them, are fetched up front in a few set-based queries; any
    other line the audit asks for is fetched on its own.
    """
    from server_stub.downloads import current_software_version

    claims = _Claims(conn, taxpayer_id)
    customs = _CustomsByKey(conn, taxpayer_id, claims)
    customs.preload(entries)
    return ReferenceData(
        enterprise=enterprise(conn, taxpayer_id),
        today=today,
        rates=rate_library(conn),
        customs=customs,
        invoices=_InvoicesByVoucher(conn, taxpayer_id),
        vat_returns=vat_returns(conn, taxpayer_id),
        exchange_rates=exchange_rates(conn),
        declared_lines=_DeclaredLines(claims, entries=False),
        declared_entries=_DeclaredLines(claims, entries=True),
        credit_used=credit_used(conn, taxpayer_id, period),
        current_software_version=current_software_version(conn),
    )
