"""P7: 1,000 idle long-polling sync clients plus a burst of 100 uploads vs idle.

The load script is ``tests/benchmarks/sync_load.py`` (standalone too): it starts a real
stub, times a status GET idle, then again while 1,000 clients hold ``/sync?wait=25`` and
100 packages are uploaded at once. Target: p99 under load ≤ max(5× idle p99, 50 ms),
0 errors.
"""

from __future__ import annotations

from tests.benchmarks import sync_load
from tests.benchmarks.common import Result

KEYS = ("P7",)


def run() -> list[Result]:
    return sync_load.run(clients=1000, uploads=100)


if __name__ == "__main__":
    for r in run():
        print(r)
