"""P8: a peak-day burst — the queue drained by 2 audit workers vs 1.

A stub data dir is seeded with bulk e-info for the demo manufacturer; ``PACKAGES``
distinct pre-declaration packages of ``ROWS_PER_PACKAGE`` rows each (each from its own
slice of the e-info, with its own batch number) are generated from it and uploaded while
the stub runs with 0 audit workers, so they all wait in the queue. The data dir is then
copied; copies are started with 1, 2, 2 and 1 ``--audit-workers`` in turn, each timed
from the moment the stub listens until no declaration is queued or auditing; the best
drain of each side counts (other jobs on the shared cores outrank the niced workers).
While it drains, a sample of declarations at the back of the queue is polled and their
``queue_position`` must never rise.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from tests.benchmarks.common import Result, median
from tests.conftest import DEMO
from tests.livestub import LiveStub

KEYS = ("P8",)
PACKAGES = 2000
ROWS_PER_PACKAGE = 1000
RATIO_TARGET = 1.7  # the issue's; benchmarks.md asks 1.5
SAMPLES = 12
ORDER = (1, 2, 2, 1)  # workers per drain, alternated
NEW_PASSWORD = "Bench2026x"
STUB_ARGS = ["--accept-after", "0", "--approve-after", "0", "--audit-delay", "0"]


def packages(data_dir: Path, out: Path, n: int) -> list[Path]:
    """``n`` distinct packages generated from the e-info in ``data_dir``."""
    from app.declaration.generator import generate_package
    from server_stub import clock, db, einfo
    from server_stub.__main__ import load_clock

    tid = DEMO["manufacturer"][0]
    load_clock(data_dir)
    conn = db.connect(data_dir)
    try:
        reference = {
            "enterprise": einfo.enterprise(conn, tid),
            "customs": einfo.customs_lines(conn, tid),
            "invoices": einfo.invoices(conn, tid),
            "rates": einfo.rate_library(conn),
            "exchange_rates": einfo.exchange_rates(conn),
            "vat_returns": einfo.vat_returns(conn, tid),
        }
    finally:
        conn.close()
    # each package its own lines: packages sharing lines would make every audit look up
    # all the earlier ones (the platform keeps each audited package's lines); a package
    # declares the month of its latest export, batches numbered within the month
    customs = sorted(reference.pop("customs"), key=lambda c: (c.export_date, c.entry_no))
    size = len(customs) // n
    batches: Counter[str] = Counter()
    out.mkdir()
    files = []
    for i in range(n):
        lines = customs[i * size : (i + 1) * size]
        period = lines[-1].export_date.strftime("%Y%m")
        batches[period] += 1
        files.append(
            generate_package(
                out / f"p{i + 1:04d}.zip",
                **reference,
                customs=lines,
                period=period,
                rows=ROWS_PER_PACKAGE,
                batch=f"{batches[period]:03d}",
                today=clock.today(),
            )
        )
    return files


def _token(stub: LiveStub, password: str) -> str:
    return stub.login(DEMO["manufacturer"][0], password)


def queue_all(data_dir: Path, files: list[Path]) -> None:
    """Upload every package to a stub with no audit workers: all of them stay queued."""
    initial = DEMO["manufacturer"][2]
    stub = LiveStub(data_dir, args=["--audit-workers", "0", *STUB_ARGS]).start()
    try:
        token = _token(stub, initial)
        requests.post(
            stub.api + "/auth/password", headers={"Authorization": f"Bearer {token}"},
            json={"old_password": initial, "new_password": NEW_PASSWORD}, timeout=30,
        ).raise_for_status()  # fmt: skip
        auth = {"Authorization": f"Bearer {_token(stub, NEW_PASSWORD)}"}

        def upload(path: Path) -> None:
            with requests.Session() as s, path.open("rb") as f:
                r = s.post(
                    stub.api + "/declarations", headers=auth, data={"stage": "pre"},
                    files={"file": (path.name, f, "application/zip")}, timeout=300,
                )  # fmt: skip
            assert r.status_code == 202, r.text[:500]

        with ThreadPoolExecutor(4) as pool:
            list(pool.map(upload, files))
    finally:
        stub.stop()


def drain(data_dir: Path, workers: int) -> tuple[float, int, int]:
    """Seconds to drain the queue with ``workers``; (seconds, rank samples, rises)."""
    stub = LiveStub(data_dir, args=["--audit-workers", str(workers), *STUB_ARGS])
    stub.start()
    t0 = time.perf_counter()
    try:
        http = requests.Session()
        http.headers["Authorization"] = f"Bearer {_token(stub, NEW_PASSWORD)}"

        def waiting() -> int:
            r = http.get(
                stub.api + "/declarations",
                params={"stage": "pre", "status": "queued,auditing", "page_size": 1},
                timeout=60,
            )
            r.raise_for_status()
            return int(r.json()["total"])

        r = http.get(
            stub.api + "/declarations",
            params={"stage": "pre", "status": "queued", "page_size": 100},
            timeout=60,
        )
        r.raise_for_status()
        # the newest page holds the back of the queue: their ranks fall the longest way
        sample = [d["id"] for d in r.json()["items"]][:: max(1, 100 // SAMPLES)]
        last: dict[str, int] = {}
        samples = rises = 0
        while waiting():
            for decl_id in sample:
                got = http.get(f"{stub.api}/declarations/{decl_id}", timeout=60)
                got.raise_for_status()
                rank = got.json()["queue_position"]
                if rank is None:
                    continue
                samples += 1
                rises += decl_id in last and rank > last[decl_id]
                last[decl_id] = rank
            time.sleep(0.5)
        took = time.perf_counter() - t0
        left = http.get(
            stub.api + "/declarations",
            params={"stage": "pre", "status": "audited,rejected", "page_size": 1},
            timeout=60,
        ).json()["total"]
        assert left == PACKAGES, f"{left} of {PACKAGES} audited"
        http.close()
    finally:
        stub.stop()
    return took, samples, rises


def run() -> list[Result]:
    with tempfile.TemporaryDirectory(prefix="bench-p8-") as tmp:
        root = Path(tmp)
        seeded = root / "seeded"
        subprocess.run(
            [sys.executable, "-m", "server_stub", "seed", "--data-dir", str(seeded),
             "--taxpayer-id", DEMO["manufacturer"][0],
             "--einfo-lines", str(int(PACKAGES * ROWS_PER_PACKAGE * 1.2))],
            check=True, capture_output=True,
        )  # fmt: skip
        t0 = time.perf_counter()
        files = packages(seeded, root / "packages", PACKAGES)
        generated = time.perf_counter() - t0
        t0 = time.perf_counter()
        queue_all(seeded, files)
        uploaded = time.perf_counter() - t0
        times: dict[int, list[float]] = {1: [], 2: []}
        total_samples = total_rises = 0
        for workers in ORDER:
            copy = root / f"w{workers}"
            shutil.copytree(seeded, copy)
            took, samples, rises = drain(copy, workers)
            times[workers].append(took)
            total_samples += samples
            total_rises += rises
            shutil.rmtree(copy)
    # other developers' jobs share the 2 cores and outrank the niced workers: the least
    # disturbed drain of each side is the one that says what the workers can do
    one, two = min(times[1]), min(times[2])
    speedup = one / two
    all_times = "; ".join(
        f"{w} worker{'s' * (w > 1)}: " + ", ".join(f"{t:.1f}" for t in ts) + " s"
        for w, ts in times.items()
    )
    return [
        Result(
            "P8",
            f"burst of {PACKAGES:,} queued packages × {ROWS_PER_PACKAGE:,} rows: drain time",
            f"{one:.1f} s with 1 worker ({PACKAGES / one:.1f}/s)",
            f"{two:.1f} s with 2 workers ({PACKAGES / two:.1f}/s)",
            speedup,
            f"≥ {RATIO_TARGET:g}× (2 workers vs 1), ranks never rise",
            speedup >= RATIO_TARGET and total_rises == 0,
            f"drains alternated "
            f"{'/'.join(map(str, ORDER))} workers, each from a copy of the same queued data "
            f"dir, best of each side ({all_times}; median speed-up "
            f"{median(times[1]) / median(times[2]):.2f}×); "
            f"{total_samples} rank samples, {total_rises} rises; generated in "
            f"{generated:.0f} s, uploaded in {uploaded:.0f} s; ratio = speed-up",
        )
    ]


if __name__ == "__main__":
    for r in run():
        print(r)
