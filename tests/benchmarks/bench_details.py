"""P6: 申报明细数据 with 1,000,000 rows — open, scroll a page, jump to the end, sort.

The client's local store is filled directly in SQL (1,000,000 declared details with the
store's own schema and indexes). Each side runs in a fresh offscreen Qt process, started
alternately, doing the same four steps on a 1200×800 ``QTableView`` (each step ends when
the event loop has painted it):

- baseline: a trivial ``QAbstractTableModel`` with as many rows (cells are their row and
  column); its sort is a bare ``SELECT … ORDER BY commodity_code, rid LIMIT 256`` on the
  same store and index, shown as the first rows;
- ours: the UI's lazy ``ui.models.DeclaredDetailModel`` over ``LocalStore.detail_view``
  (count, keyset pages, cache), sorted by 商品代码 through the header, as the window does.

Time is the sum of the four steps (each step's median in the note); memory is the child
process's peak RSS (``VmHWM``), Qt and Python included.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.benchmarks.common import Result, median, spread

KEYS = ("P6",)
ROWS = 1_000_000
REPEATS = 5
TIME_TARGET = 2.0
MEMORY_TARGET = 1.5
STEPS = ("open", "scroll", "end", "sort")
ROOT = Path(__file__).resolve().parents[2]
SORT_COLUMN = "commodity_code"


def fill(path: Path, rows: int = ROWS) -> None:
    """``rows`` declared details in a new local store, in one SQL statement."""
    from app.store import LocalStore

    LocalStore(path).close()  # the schema and its indexes
    db = sqlite3.connect(path)
    with db:
        db.execute(
            """
            WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
            INSERT INTO declared_details (declaration_id, period, batch, seq, entry_no,
                item_no, commodity_code, commodity_name, quantity, fob_usd, refund_rate, status)
            SELECT printf('D%08d', i / 10000), printf('2025%02d', i / 10000 % 12 + 1),
                printf('%03d', i / 10000 % 100 + 1), printf('%06d', i % 10000 + 1),
                printf('1108%d0%09d', 2025, i / 3), i % 3 + 1,
                printf('%010d', 8400000000 + (i * 7919) % 120000 * 1000),
                printf('商品%d号', (i * 7919) % 120000), (i % 500 + 1) * 100000,
                (i * 37) % 10000000, 130000, 'approved'
            FROM n
            """,
            (rows - 1,),
        )
    db.close()


def _rss_peak_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def child(mode: str, store_path: str) -> dict[str, Any]:
    """One side of the benchmark in this (fresh) process; returns step seconds + peak RSS."""
    from PySide6.QtCore import QAbstractTableModel, Qt
    from PySide6.QtWidgets import QApplication, QTableView

    app = QApplication([sys.argv[0]])
    view = QTableView()
    view.resize(1200, 800)
    view.verticalHeader().setDefaultSectionSize(28)

    if mode == "ours":
        from app.store import LocalStore
        from ui.models import DETAIL_HEADERS, DeclaredDetailModel

        store: Any = LocalStore(Path(store_path))
        model: Any = DeclaredDetailModel()
        sort_column = [h[0] for h in DETAIL_HEADERS].index(SORT_COLUMN)
        # as the 申报明细数据 page is built: the view and its empty model exist already
        view.setModel(model)
        view.setSortingEnabled(True)
        view.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)

        def open_model() -> None:
            model.set_store(store)

        def sort() -> None:
            view.sortByColumn(sort_column, Qt.SortOrder.AscendingOrder)

    else:

        class Trivial(QAbstractTableModel):
            def __init__(self) -> None:
                super().__init__()
                self.db = sqlite3.connect(store_path)
                self.first: list[tuple[Any, ...]] = []

            def rowCount(self, parent: Any = None) -> int:
                return 0 if parent is not None and parent.isValid() else ROWS

            def columnCount(self, parent: Any = None) -> int:
                return 0 if parent is not None and parent.isValid() else 12

            def data(self, index: Any, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
                if role != Qt.ItemDataRole.DisplayRole:
                    return None
                r, c = index.row(), index.column()
                if r < len(self.first):
                    return str(self.first[r][c])
                return f"{r},{c}"

            def sort(self, column: int, order: Any = Qt.SortOrder.AscendingOrder) -> None:
                self.beginResetModel()
                self.first = self.db.execute(
                    "SELECT declaration_id, period, batch, seq, entry_no, item_no, "
                    "commodity_code, commodity_name, quantity, fob_usd, refund_rate, status "
                    f"FROM declared_details ORDER BY {SORT_COLUMN}, rid LIMIT 256"
                ).fetchall()
                self.endResetModel()

        model = Trivial()

        def open_model() -> None:
            view.setModel(model)

        def sort() -> None:
            model.sort(6)

    def scroll() -> None:
        bar = view.verticalScrollBar()
        bar.setValue(bar.value() + bar.pageStep())

    times: dict[str, float] = {}
    steps = (("open", open_model), ("scroll", scroll), ("end", view.scrollToBottom), ("sort", sort))
    for name, fn in steps:
        t0 = time.perf_counter()
        fn()
        if name == "open":
            view.show()
        app.processEvents()
        view.viewport().repaint()  # the step is done when its rows are on screen
        times[name] = time.perf_counter() - t0
    return {"times": times, "peak_kib": _rss_peak_kib()}


def _spawn(mode: str, store_path: Path) -> dict[str, Any]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    out = subprocess.run(
        [sys.executable, "-m", "tests.benchmarks.bench_details", "--child", mode, str(store_path)],
        env=env, cwd=ROOT, check=True, capture_output=True, text=True,
    )  # fmt: skip
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def run() -> list[Result]:
    with tempfile.TemporaryDirectory(prefix="bench-p6-") as tmp:
        store_path = Path(tmp) / "store.sqlite"
        t0 = time.perf_counter()
        fill(store_path)
        filled = time.perf_counter() - t0
        _spawn("bare", store_path)  # warm the page cache for both
        _spawn("ours", store_path)
        runs: dict[str, list[dict[str, Any]]] = {"bare": [], "ours": []}
        for _ in range(REPEATS):
            for mode in ("bare", "ours"):
                runs[mode].append(_spawn(mode, store_path))
    total = {m: [sum(r["times"].values()) for r in rs] for m, rs in runs.items()}
    peak = {m: median([r["peak_kib"] / 1024 for r in rs]) for m, rs in runs.items()}
    steps = {
        m: {s: median([r["times"][s] for r in rs]) * 1000 for s in STEPS} for m, rs in runs.items()
    }
    b, o = median(total["bare"]), median(total["ours"])
    step_text = ", ".join(f"{s} {steps['bare'][s]:.0f}/{steps['ours'][s]:.0f}" for s in STEPS)
    return [
        Result(
            "P6",
            f"申报明细数据, {ROWS:,} rows: open + scroll a page + jump to end + sort",
            f"{b * 1000:.0f} ms (spread {spread(total['bare'])})",
            f"{o * 1000:.0f} ms (spread {spread(total['ours'])})",
            o / b,
            f"≤ {TIME_TARGET:g}× time",
            o / b <= TIME_TARGET,
            f"{REPEATS} alternating fresh processes, medians; per step bare/ours ms: "
            f"{step_text}; store filled in SQL in {filled:.0f} s",
        ),
        Result(
            "P6",
            f"申报明细数据, {ROWS:,} rows: peak memory of the process",
            f"{peak['bare']:.0f} MiB",
            f"{peak['ours']:.0f} MiB",
            peak["ours"] / peak["bare"],
            f"≤ {MEMORY_TARGET:g}× memory",
            peak["ours"] / peak["bare"] <= MEMORY_TARGET,
            "peak RSS (VmHWM) of the child process, Qt + Python + SQLite page cache included",
        ),
    ]


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        print(json.dumps(child(sys.argv[2], sys.argv[3])))
    else:
        for r in run():
            print(r)
