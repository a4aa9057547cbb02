"""P2: uploading a 50 MB package through the client core vs a bare ``requests.post``.

The package is the audit benchmark's generated 免抵退 package (``bench_audit.build``) of
the demo manufacturer, rewritten with stored (uncompressed) entries so that about 135,000
rows make 50 MB. A live stub runs with no audit workers (nothing competes for the CPU, and
a queued declaration can be deleted, so the next upload is not refused as a duplicate) and
a 200 MiB upload limit. Alternately, to the same route on the same loopback:

- baseline: ``requests.post(.../declarations, data={"stage": "pre"}, files={"file": ...})``;
- ours: ``PlatformClient.upload_declaration(path, "pre", progress=cb)`` (hashes the file
  for the resume check, streams it in blocks, reports progress).

After each upload the declaration is deleted (not timed). The server's work (receive,
full package check, queue) is the same for both, so the ratio is the client's overhead.
Separately: the client's peak Python heap growth during one upload (``tracemalloc``),
against the file size.
"""

from __future__ import annotations

import tempfile
import time
import tracemalloc
import zipfile
from collections.abc import Callable
from pathlib import Path

import requests

from app.client import PlatformClient
from tests.benchmarks.bench_audit import build
from tests.benchmarks.common import Result, median, spread
from tests.conftest import DEMO
from tests.livestub import LiveStub

KEYS = ("P2",)
ROWS = 135_000
REPEATS = 5
RATIO_TARGET = 0.8
MEMORY_TARGET = 0.10
NEW_PASSWORD = "Bench2026x"


def stored_package(folder: Path) -> Path:
    """The generated package rewritten with stored entries (same entry bytes, ~50 MB)."""
    deflated, _ = build(folder, ROWS)
    out = folder / "p2-stored.zip"
    with zipfile.ZipFile(deflated) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            data = src.read(info)
            info.compress_type = zipfile.ZIP_STORED
            dst.writestr(info, data)
    deflated.unlink()
    return out


def peak_heap_growth(fn: Callable[[], object]) -> int:
    """Peak Python heap growth (bytes) while ``fn`` runs, under ``tracemalloc``."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        fn()
        return tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


def run() -> list[Result]:
    credit, _, initial = DEMO["manufacturer"]
    with tempfile.TemporaryDirectory(prefix="bench-p2-") as tmp:
        root = Path(tmp)
        path = stored_package(root)
        size = path.stat().st_size
        stub = LiveStub(
            root / "stub",
            args=["--audit-workers", "0", "--max-upload-mb", "200",
                  "--accept-after", "0", "--approve-after", "0"],
        ).start()  # fmt: skip
        try:
            client = PlatformClient(stub.url)
            client.login("credit_code", credit, initial)
            client.change_password(initial, NEW_PASSWORD)
            client.login("credit_code", credit, NEW_PASSWORD)
            auth = {"Authorization": f"Bearer {client.token}"}
            http = requests.Session()
            calls = [0]

            def progress(sent: int, total: int) -> None:
                calls[0] += 1

            def baseline() -> str:
                with path.open("rb") as f:
                    r = http.post(
                        stub.api + "/declarations", headers=auth, data={"stage": "pre"},
                        files={"file": (path.name, f, "application/zip")}, timeout=300,
                    )  # fmt: skip
                assert r.status_code == 202, r.text[:500]
                return str(r.json()["id"])

            def ours() -> str:
                return client.upload_declaration(path, "pre", progress).id

            base: list[float] = []
            cand: list[float] = []
            for i in range(REPEATS + 1):  # the first round warms both up, untimed
                for fn, out in ((baseline, base), (ours, cand)):
                    t0 = time.perf_counter()
                    decl_id = fn()
                    took = time.perf_counter() - t0
                    if i:
                        out.append(took)
                    client.delete_declaration(decl_id)
            calls_per_upload = calls[0] // (REPEATS + 1)
            holder: list[str] = []
            growth = peak_heap_growth(lambda: holder.append(ours()))
            client.delete_declaration(holder[0])
            client.close()
        finally:
            stub.stop()
    b, o = median(base), median(cand)
    mb = size / 1024**2
    ratio = b / o  # throughput ours / baseline
    return [
        Result(
            "P2",
            f"upload of a {mb:.0f} MB package (stored entries, {ROWS:,} rows), progress on",
            f"{mb / b:.1f} MB/s ({b:.2f} s; spread {spread(base)})",
            f"{mb / o:.1f} MB/s ({o:.2f} s; spread {spread(cand)})",
            ratio,
            f"≥ {RATIO_TARGET:g}× throughput",
            ratio >= RATIO_TARGET,
            f"{REPEATS} alternating uploads each after one warm-up, medians; same route of a "
            f"live stub (0 audit workers) — the server's receive + full package check is in "
            f"both; {calls_per_upload} progress calls per upload; ratio = throughput",
        ),
        Result(
            "P2",
            "client peak memory growth during one upload",
            "—",
            f"{growth / 1024**2:.1f} MiB ({growth / size:.1%} of the file)",
            growth / size / MEMORY_TARGET,
            f"< {MEMORY_TARGET:.0%} of the file",
            growth < MEMORY_TARGET * size,
            "peak Python heap growth under tracemalloc (file buffers, request body, "
            "response); ratio column: growth / (10 % of the file)",
        ),
    ]


if __name__ == "__main__":
    for r in run():
        print(r)
