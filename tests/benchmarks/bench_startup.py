"""P1: cold start of the desktop client to its login window vs a bare PySide6 window.

Both are fresh processes (offscreen Qt), started alternately, timed from spawn to exit:

- baseline: a script that imports PySide6, shows one ``QLabel`` and quits when the event
  loop is idle;
- ours: ``python -m ui.main --measure-startup --home <tmp>`` (exits once the login window
  is shown and the event loop is idle), with a fresh home each time.

The second target (the main window with a warm local store ≤ 2× the bare script plus one
``QTableView``): a home is warmed once by logging in to a live stub as a demo enterprise and
syncing; then ``python -m ui.main --measure-main-window TAXPAYER_ID --home <it>`` (opens the
enterprise from its local store, exits once the main window is shown and the event loop is
idle) alternates with a bare script showing a ``QLabel`` and a ``QTableView``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from tests.benchmarks.common import Result, alternate, median, spread

KEYS = ("P1",)
REPEATS = 7
RATIO_TARGET = 1.3
MAIN_RATIO_TARGET = 2.0
ROOT = Path(__file__).resolve().parents[2]

BARE = """
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QLabel

app = QApplication(sys.argv)
label = QLabel("出口退税")
label.show()
QTimer.singleShot(0, app.quit)
sys.exit(app.exec())
"""

BARE_TABLE = """
import sys
from PySide6.QtCore import QTimer
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import QApplication, QLabel, QTableView, QVBoxLayout, QWidget

app = QApplication(sys.argv)
window = QWidget()
layout = QVBoxLayout(window)
layout.addWidget(QLabel("出口退税"))
table = QTableView()
table.setModel(QStandardItemModel(20, 8))
layout.addWidget(table)
window.show()
QTimer.singleShot(0, lambda: (print("idle", flush=True), app.quit()))
sys.exit(app.exec())
"""


def _until_idle(cmd: list[str], env: dict[str, str]) -> float:
    """Seconds from spawn to the process printing ``idle``: the main window is on screen
    and the event loop has nothing left to do. The teardown after it (saving the window
    state, closing the local store) is not what P1 measures and is not timed."""
    t0 = time.perf_counter()
    with subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.strip() == "idle":
                break
        elapsed = time.perf_counter() - t0
        proc.stdout.read()
    if proc.returncode != 0:
        raise subprocess.CalledProcessError(proc.returncode, cmd)
    return elapsed


def _warm_home(home: Path) -> str:
    """A home with one enterprise logged in and synced once; returns its taxpayer id."""
    from app.paths import app_paths
    from app.session import Workspace
    from tests.conftest import DEMO
    from tests.livestub import LiveStub

    tid, _, initial = DEMO["manufacturer"]
    stub = LiveStub(home / "stub", args=["--accept-after", "0", "--approve-after", "0"]).start()
    try:
        workspace = Workspace(app_paths(home))
        session = workspace.login(stub.url, "credit_code", tid, initial, remember=False)
        if session.must_change_password:
            session.change_password(initial, "Huachen2026")
        session.refresh_all()
        workspace.close()
    finally:
        stub.stop()
    return session.taxpayer_id


def _env(root: Path) -> dict[str, str]:
    """Offscreen, and with bytecode cached as an installed client has it: the machines here
    set PYTHONDONTWRITEBYTECODE, which would time compiling our sources at every start."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPYCACHEPREFIX": str(root / "pyc")}
    env.pop("TUISHUI_HOME", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def run() -> list[Result]:
    with tempfile.TemporaryDirectory(prefix="bench-p1-") as tmp:
        root = Path(tmp)
        env = _env(root)
        bare = root / "bare.py"
        bare.write_text(BARE, encoding="utf-8")

        def baseline() -> None:
            subprocess.run([sys.executable, str(bare)], env=env, check=True, cwd=ROOT)

        def ours() -> None:
            home = root / uuid.uuid4().hex
            subprocess.run(
                [sys.executable, "-m", "ui.main", "--measure-startup", "--home", str(home)],
                env=env, check=True, cwd=ROOT,
            )  # fmt: skip

        baseline()  # warm the OS file cache and the bytecode cache for both
        ours()
        base, cand = alternate(baseline, ours, REPEATS)
        table = root / "bare_table.py"
        table.write_text(BARE_TABLE, encoding="utf-8")
        home = root / "warm"
        taxpayer_id = _warm_home(home)

        bare_cmd = [sys.executable, str(table)]
        main_cmd = [sys.executable, "-m", "ui.main", "--measure-main-window", taxpayer_id,
                    "--home", str(home)]  # fmt: skip
        _until_idle(bare_cmd, env)
        _until_idle(main_cmd, env)
        mbase, mcand = [], []
        for _ in range(REPEATS):
            mbase.append(_until_idle(bare_cmd, env))
            mcand.append(_until_idle(main_cmd, env))
    b, o = median(base), median(cand)
    mb, mo = median(mbase), median(mcand)
    return [
        Result(
            "P1",
            "cold start to an idle login window (offscreen)",
            f"{b:.3f} s bare QLabel (spread {spread(base)})",
            f"{o:.3f} s (spread {spread(cand)})",
            o / b,
            f"≤ {RATIO_TARGET:g}×",
            o / b <= RATIO_TARGET,
            f"{REPEATS} alternating process starts, medians, fresh --home each, bytecode "
            "cached for both",
        ),
        Result(
            "P1",
            "main window from a warm local store (offscreen)",
            f"{mb:.3f} s bare QLabel + QTableView (spread {spread(mbase)})",
            f"{mo:.3f} s (spread {spread(mcand)})",
            mo / mb,
            f"≤ {MAIN_RATIO_TARGET:g}×",
            mo / mb <= MAIN_RATIO_TARGET,
            f"{REPEATS} alternating process starts, medians, timed to the idle event loop "
            "(not the teardown), one home warmed by a login and a sync against a live stub, "
            "opened offline",
        ),
    ]


if __name__ == "__main__":
    for r in run():
        print(r)
