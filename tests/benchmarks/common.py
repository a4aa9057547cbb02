"""Shared helpers of the benchmarks: side-by-side timing and the result rows.

Machines here are noisy: every benchmark runs its baseline and its candidate alternately
in the same process, repeats, and reports medians — never an absolute target.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Result:
    key: str  # P1 … P8
    what: str
    baseline: str  # a human-readable figure of the baseline
    ours: str
    ratio: float  # ours / baseline (time) or ours / baseline throughput, as `better` says
    target: str
    ok: bool
    note: str = ""


def alternate(
    baseline: Callable[[], object],
    candidate: Callable[[], object],
    repeats: int = 5,
    setup: Callable[[], object] | None = None,
) -> tuple[list[float], list[float]]:
    """Time baseline and candidate alternately; returns both lists of seconds."""
    b: list[float] = []
    c: list[float] = []
    for _ in range(repeats):
        for fn, out in ((baseline, b), (candidate, c)):
            if setup:
                setup()
            t0 = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t0)
    return b, c


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def spread(xs: list[float]) -> str:
    return f"{min(xs):.3f}–{max(xs):.3f}"


def machine() -> str:
    try:
        import PySide6

        qt = f", PySide6 {PySide6.__version__}"
    except ImportError:
        qt = ""
    return (
        f"{os.cpu_count()} cores, Python {platform.python_version()}{qt}, "
        f"{platform.system()} {platform.release()}"
    )
