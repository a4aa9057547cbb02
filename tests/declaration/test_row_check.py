"""open_package's usual-row shortcut: a whole-row pattern must accept exactly the rows on
which ``value_problem`` finds nothing, for every column of every table."""

from __future__ import annotations

import pytest

from app.declaration.columns import TABLE_COLUMNS, Column
from app.declaration.package import _ROW_PATTERNS, _fine_row, value_problem

# values near every edge value_problem draws: empty, signs, decimals, dates, lengths,
# control characters (tab allowed), Unicode digits and whitespace-like characters
TRICKY = [
    "", "0", "7", "12", "-12", "-0", "+1", "1.", ".5", "1.5", "1.12", "1.123", "1.12345",
    "1.123456", "1.1234567", "-1.5", "1e5", "0x10", "١٢٣", "١.٢", "²", "12 3", "1,000",
    "20261005", "20261305", "20260230", "20240229", "2026100", "202610050", "١٢٣٤٥٦٧٨",
    "0001", "12345678", "123456789", "备注", "a\tb", "a\x7fb", "a\x85b", "a\x9fb", "a\x1fb",
    "a\x00b", "\x08", "HZCJ", "x" * 20, "x" * 21, "9" * 20, "9" * 21, "x" * 500, "x" * 501,
    "-" + "9" * 19, "-" + "9" * 20, "1" * 18 + ".5", "1" * 19 + ".5",
]  # fmt: skip


def _fine_value(column: Column) -> str:
    """A value of the column that value_problem accepts."""
    kind = column.kind
    value = {"amount": "1.50", "quantity": "2", "rate": "0.13", "date": "20261005",
             "int": "1", "seq": "1"}.get(kind, "x")  # fmt: skip
    assert value_problem(column, value) is None
    return value


def _cases() -> list[tuple[str, int]]:
    return [(t, i) for t, cols in TABLE_COLUMNS.items() for i in range(len(cols))]


@pytest.mark.parametrize(("table", "index"), _cases())
def test_row_pattern_agrees_with_value_problem(table: str, index: int) -> None:
    columns = TABLE_COLUMNS[table]
    fine = [_fine_value(c) for c in columns]
    column = columns[index]
    for value in TRICKY:
        row = (*fine[:index], value, *fine[index + 1 :])
        dates = tuple(i for i, c in enumerate(columns) if c.kind == "date")
        accepted = _fine_row(_ROW_PATTERNS[table].fullmatch, row, dates, set())
        assert accepted == (value_problem(column, value) is None), (column.code, value)


def test_real_dates_are_remembered_but_not_without_bound() -> None:
    columns = TABLE_COLUMNS["zb_cksh"]
    dates = tuple(i for i, c in enumerate(columns) if c.kind == "date")
    fine = [_fine_value(c) for c in columns]
    real: set[str] = set()
    assert _fine_row(_ROW_PATTERNS["zb_cksh"].fullmatch, tuple(fine), dates, real)
    assert real == {"20261005"}
    bad = list(fine)
    bad[dates[0]] = "20260231"
    assert not _fine_row(_ROW_PATTERNS["zb_cksh"].fullmatch, tuple(bad), dates, real)
    assert real == {"20261005"}
