"""``make bench``: run every benchmark module (``bench_*.py``) and write docs/performance.md.

Each module has ``run() -> list[Result]``. ``python -m tests.benchmarks P3 P4`` runs a subset
and replaces only those rows: the results are kept in docs/performance.json, the table is
rendered from it.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import pkgutil
import sys
import traceback
from pathlib import Path

from tests.benchmarks.common import Result, machine

ROOT = Path(__file__).resolve().parents[2]


def main(argv: list[str]) -> int:
    wanted = {a.upper() for a in argv}
    results: list[Result] = []
    failures = 0
    here = Path(__file__).parent
    for mod in sorted(
        m.name for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_")
    ):
        module = importlib.import_module(f"tests.benchmarks.{mod}")
        keys = set(getattr(module, "KEYS", ()))
        if wanted and not (keys & wanted):
            continue
        print(f"== {mod}", flush=True)
        try:
            got = module.run()
        except Exception:
            traceback.print_exc()
            failures += 1
            continue
        for r in got:
            print(
                f"{r.key} {r.what}: baseline {r.baseline}, ours {r.ours}, ratio {r.ratio:.2f} "
                f"(target {r.target}) {'OK' if r.ok else 'MISSED'}",
                flush=True,
            )
        results.extend(got)
    write_report(merge(results))
    return 1 if failures else 0


def merge(results: list[Result]) -> list[Result]:
    """The new results, plus the kept rows of every benchmark that did not run now."""
    kept = ROOT / "docs" / "performance.json"
    ran = {r.key for r in results}
    old = json.loads(kept.read_text(encoding="utf-8")) if kept.exists() else []
    merged = [Result(**row) for row in old if row["key"] not in ran] + results
    kept.parent.mkdir(exist_ok=True)
    rows = [dataclasses.asdict(r) for r in merged]
    kept.write_text(json.dumps(rows, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return merged


def write_report(results: list[Result]) -> None:
    lines = [
        "# Performance",
        "",
        "Written by `make bench` (tests/benchmarks/). Baseline and ours are measured side by side",
        "in the same run, repeated, medians reported; the ratio is what the target constrains.",
        "",
        f"Machine: {machine()}",
        "",
        "| # | what | baseline | ours | ratio | target | met |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in sorted(results, key=lambda r: r.key):
        lines.append(
            f"| {r.key} | {r.what} | {r.baseline} | {r.ours} | {r.ratio:.2f} | {r.target} | "
            f"{'yes' if r.ok else 'no'} |"
        )
    notes = [f"- {r.key}: {r.note}" for r in results if r.note]
    if notes:
        lines += ["", "Notes:", "", *notes]
    out = ROOT / "docs" / "performance.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
