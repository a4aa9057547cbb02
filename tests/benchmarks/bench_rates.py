"""P5: the client's rate-library search per keystroke vs a bare SQLite query.

The local store holds the stub's whole rate library (``server_stub.ratelib``, ≥ 10,000
rows). For 1-, 2- and 3-character Chinese and digit queries (prefixes of a real name and
code, as typed) both sides are timed alternately, per keystroke:

- baseline: one SQLite statement on the same table returning the same rows (a code range
  on the ``rates_by_code`` index for digits, ``instr`` over the names for Chinese);
- ours: ``LocalStore.search_rates(q)`` (its in-memory index built once, beforehand — the
  build is reported in the note).

Target: p95 ≤ 2× the baseline's p95 and under one frame (16 ms).
"""

from __future__ import annotations

import sqlite3
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

from app.models import RateRow
from app.store import LocalStore
from server_stub.ratelib import synthesize_rate_rows
from tests.benchmarks.common import Result

KEYS = ("P5",)
LIMIT = 200
ROUNDS = 60
FRAME = 0.016
RATIO_TARGET = 2.0

_BARE_CODE = (
    "SELECT * FROM rates WHERE commodity_code >= ?1 AND commodity_code < ?1 || '\uffff' "
    "AND valid_from <= ?2 AND valid_to >= ?2 ORDER BY commodity_code LIMIT ?3"
)
_BARE_NAME = (
    "SELECT * FROM rates WHERE valid_from <= ?2 AND valid_to >= ?2 AND instr(name, ?1) > 0 "
    "ORDER BY commodity_code LIMIT ?3"
)


def _client_rows() -> list[RateRow]:
    return [
        RateRow(
            r.commodity_code, r.name, r.category, r.unit, ",".join(str(v) for v in r.vat_rates),
            r.refund_rate, r.valid_from, r.valid_to, r.special_flag,
        )
        for r in synthesize_rate_rows()
    ]  # fmt: skip


def _queries(rows: list[RateRow]) -> list[str]:
    """What an accountant types: 1-3 characters of a common name and of a code."""
    name = next(r.name for r in rows[len(rows) // 3 :] if len(r.name) >= 3)
    code = rows[len(rows) // 2].commodity_code
    return [name[:1], name[:2], name[:3], code[:1], code[:2], code[:3]]


def _p95(xs: list[float]) -> float:
    return statistics.quantiles(xs, n=20, method="inclusive")[18]


def run() -> list[Result]:
    rows = _client_rows()
    today = date.today().isoformat()
    with tempfile.TemporaryDirectory(prefix="bench-p5-") as tmp:
        path = Path(tmp) / "store.sqlite"
        store = LocalStore(path)
        store.replace_rates(rows, etag="bench", version="bench")
        t0 = time.perf_counter()
        store.search_rates("")
        build = time.perf_counter() - t0
        bare = sqlite3.connect(path)
        queries = _queries(rows)
        per_query: dict[str, tuple[list[float], list[float], int]] = {}
        for q in queries:
            sql = _BARE_CODE if q.isdigit() else _BARE_NAME
            got = [r.commodity_code for r in store.search_rates(q, LIMIT)]
            want = [r[0] for r in bare.execute(sql, (q, today, LIMIT))]
            assert got == want, (q, got[:5], want[:5])
            b: list[float] = []
            o: list[float] = []
            for _ in range(ROUNDS):
                t0 = time.perf_counter()
                bare.execute(sql, (q, today, LIMIT)).fetchall()
                t1 = time.perf_counter()
                store.search_rates(q, LIMIT)
                t2 = time.perf_counter()
                b.append(t1 - t0)
                o.append(t2 - t1)
            per_query[q] = (b, o, len(got))
        bare.close()
        store.close()
    all_b = [x for b, _, _ in per_query.values() for x in b]
    all_o = [x for _, o, _ in per_query.values() for x in o]
    pb, po = _p95(all_b), _p95(all_o)
    detail = "; ".join(
        f"'{q}' {n} rows {_p95(b) * 1000:.2f}/{_p95(o) * 1000:.2f} ms"
        for q, (b, o, n) in per_query.items()
    )
    return [
        Result(
            "P5",
            f"rate search per keystroke, {len(rows):,} rows, 1–3 char Chinese + digit queries",
            f"p95 {pb * 1000:.2f} ms (median {statistics.median(all_b) * 1000:.2f})",
            f"p95 {po * 1000:.2f} ms (median {statistics.median(all_o) * 1000:.2f})",
            po / pb,
            "p95 ≤ 2× and < 16 ms",
            po <= RATIO_TARGET * pb and po < FRAME,
            f"{ROUNDS} alternating rounds per query; p95 bare/ours per query: {detail}; "
            f"the in-memory index is built once on first search ({build * 1000:.0f} ms)",
        )
    ]


if __name__ == "__main__":
    for r in run():
        print(r)
