"""P7: 1,000 idle long-polling clients plus a burst of 100 uploads vs a status GET.

Standalone (not collected by pytest, not a ``bench_*`` module):

    .venv/bin/python -m tests.benchmarks.sync_load [--clients 1000] [--uploads 100]

Starts a real stub, measures the p50/p99 of ``GET /declarations/{id}`` idle, then again
while ``--clients`` connections hold ``GET /sync?wait=25`` and ``--uploads`` packages are
uploaded at once, and prints both with the target of docs/benchmarks.md (p99 under load
≤ max(5 × idle p99, 50 ms), 0 errors). The pollers are raw asyncio sockets speaking
keep-alive HTTP/1.1, so the load generator itself stays light on the shared cores; they
reuse a few sessions' tokens (the login rate limit would refuse 1,000 logins a minute).
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from tests.benchmarks.common import Result, machine
from tests.conftest import DEMO
from tests.livestub import LiveStub

KEYS = ("P7",)
NEW_PASSWORD = "Bench2026x"
POLLER_SESSIONS = 16
STATUS_SAMPLES = 400


def _raise_fd_limit(need: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(need, hard), hard))


def _tokens(stub: LiveStub, kind: str, sessions: int) -> list[str]:
    """``sessions`` sessions of a demo enterprise, after the forced password change."""
    credit, _, initial = DEMO[kind]
    first = stub.login(credit, initial)
    r = httpx.post(
        stub.api + "/auth/password",
        headers={"Authorization": f"Bearer {first}"},
        json={"old_password": initial, "new_password": NEW_PASSWORD},
    )
    r.raise_for_status()
    return [first] + [stub.login(credit, NEW_PASSWORD) for _ in range(sessions - 1)]


class Poller:
    """One idle client: keeps ``GET /sync?wait=25`` open on one keep-alive connection."""

    def __init__(self, host: str, port: int, token: str) -> None:
        self.host, self.port, self.token = host, port, token
        self.cursor = 0
        self.answers = 0
        self.errors = 0

    async def run(self, stop: asyncio.Event, ready: asyncio.Semaphore) -> None:
        reader, writer = await asyncio.open_connection(self.host, self.port)
        first = True
        try:
            while not stop.is_set():
                request = (
                    f"GET /api/v1/sync?cursor={self.cursor}&wait=25 HTTP/1.1\r\n"
                    f"Host: {self.host}\r\nAuthorization: Bearer {self.token}\r\n\r\n"
                )
                writer.write(request.encode())
                await writer.drain()
                if first:
                    ready.release()
                    first = False
                status, body = await _read_response(reader)
                if status != 200:
                    self.errors += 1
                    await asyncio.sleep(1)
                    continue
                self.answers += 1
                self.cursor = int(body.split(b'"cursor":', 1)[1].split(b",", 1)[0])
        except (OSError, asyncio.IncompleteReadError):
            if not stop.is_set():
                self.errors += 1
        finally:
            writer.close()


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        if line.lower().startswith("content-length:"):
            length = int(line.split(":", 1)[1])
    return status, await reader.readexactly(length)


def _status_latencies(url: str, token: str, n: int) -> tuple[list[float], int]:
    """``n`` sequential GETs on one keep-alive connection, timed. Run in its own thread,
    so the pollers' event loop does not delay the measurement."""
    times: list[float] = []
    errors = 0
    with httpx.Client(timeout=60, headers={"Authorization": f"Bearer {token}"}) as client:
        for _ in range(n):
            t0 = time.perf_counter()
            r = client.get(url)
            times.append(time.perf_counter() - t0)
            errors += r.status_code != 200
    return times, errors


def _percentile(xs: list[float], p: float) -> float:
    return statistics.quantiles(xs, n=100, method="inclusive")[int(p) - 1] if len(xs) > 1 else xs[0]


def _packages(stub: LiveStub, out: Path, n: int) -> list[Path]:
    """``n`` distinct pre-declaration packages of the manufacturer (one batch each)."""
    from app.declaration.generator import generate_package
    from server_stub import clock, db, einfo

    tid = DEMO["manufacturer"][0]
    conn = db.connect(stub.data_dir)
    try:
        enterprise = einfo.enterprise(conn, tid)
        customs = einfo.customs_lines(conn, tid)
        rates = einfo.rate_library(conn)
        exchange = einfo.exchange_rates(conn)
        vat = einfo.vat_returns(conn, tid)
    finally:
        conn.close()
    today = clock.today()
    period = f"{today.year - (today.month == 1)}{(today.month - 2) % 12 + 1:02d}"
    folder = out / "packages"
    folder.mkdir()
    return [
        generate_package(
            folder,
            enterprise=enterprise,
            customs=customs,
            invoices=[],
            rates=rates,
            exchange_rates=exchange,
            vat_returns=vat,
            period=period,
            batch=f"{i:03d}",
            today=today,
        )
        for i in range(1, n + 1)
    ]


async def _upload_burst(client: httpx.AsyncClient, url: str, token: str, files: list[Path]) -> int:
    async def one(path: Path) -> int:
        r = await client.post(
            url,
            headers={"Authorization": f"Bearer {token}"},
            data={"stage": "pre"},
            files={"file": (path.name, path.read_bytes(), "application/zip")},
        )
        return int(r.status_code != 202)

    return sum(await asyncio.gather(*(one(p) for p in files)))


async def measure(
    stub: LiveStub, clients: int, uploads: int, work: Path, busy: bool
) -> dict[str, Any]:
    # the uploads are the manufacturer's; the idle pollers are the trader's sessions, so a
    # change of the uploader wakes none of them (--busy-pollers: all the uploader's instead)
    manufacturer_token = _tokens(stub, "manufacturer", 1)[0]
    tokens = [manufacturer_token] if busy else _tokens(stub, "trader", POLLER_SESSIONS)
    parts = urlsplit(stub.url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        r = await client.get(
            stub.api + "/declarations?stage=formal",
            headers={"Authorization": f"Bearer {manufacturer_token}"},
        )
        r.raise_for_status()
        some = r.json()["items"][0]["id"]
        status_url = f"{stub.api}/declarations/{some}"
        files = _packages(stub, work, uploads)

        _status_latencies(status_url, manufacturer_token, 20)  # warm up
        idle, idle_errors = await asyncio.to_thread(
            _status_latencies, status_url, manufacturer_token, STATUS_SAMPLES
        )

        stop = asyncio.Event()
        ready = asyncio.Semaphore(0)
        pollers = [Poller(host, port, tokens[i % len(tokens)]) for i in range(clients)]
        tasks = [asyncio.create_task(p.run(stop, ready)) for p in pollers]
        for _ in range(clients):
            await ready.acquire()
        await asyncio.sleep(1)  # every poller has sent its request and waits

        burst = asyncio.create_task(
            _upload_burst(client, stub.api + "/declarations", manufacturer_token, files)
        )
        loaded, loaded_errors = await asyncio.to_thread(
            _status_latencies, status_url, manufacturer_token, STATUS_SAMPLES
        )
        upload_errors = await burst
        stop.set()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return {
        "idle": idle,
        "loaded": loaded,
        "errors": idle_errors + loaded_errors + upload_errors + sum(p.errors for p in pollers),
        "upload_errors": upload_errors,
        "poll_answers": sum(p.answers for p in pollers),
    }


def run(clients: int = 1000, uploads: int = 100, busy: bool = False) -> list[Result]:
    _raise_fd_limit(clients * 2 + 500)
    with tempfile.TemporaryDirectory() as tmp:
        stub = LiveStub(
            Path(tmp) / "stub", args=["--accept-after", "0", "--approve-after", "0"]
        ).start()
        try:
            m = asyncio.run(measure(stub, clients, uploads, Path(tmp), busy))
        finally:
            stub.stop()
    idle99, load99 = _percentile(m["idle"], 99), _percentile(m["loaded"], 99)
    idle50, load50 = statistics.median(m["idle"]), statistics.median(m["loaded"])
    target = max(5 * idle99, 0.050)
    print(f"machine: {machine()}")
    print(f"status GET idle:   p50 {idle50 * 1000:.1f} ms  p99 {idle99 * 1000:.1f} ms")
    print(
        f"status GET loaded: p50 {load50 * 1000:.1f} ms  p99 {load99 * 1000:.1f} ms "
        f"({clients} long polls + {uploads} uploads)"
    )
    print(f"target p99 ≤ {target * 1000:.1f} ms; errors {m['errors']}; "
          f"sync answers during the run {m['poll_answers']}")  # fmt: skip
    return [
        Result(
            "P7",
            f"status GET p99, {clients} long polls + {uploads} uploads",
            f"{idle99 * 1000:.1f} ms idle",
            f"{load99 * 1000:.1f} ms",
            load99 / idle99,
            "≤ max(5× idle p99, 50 ms), 0 errors",
            load99 <= target and m["errors"] == 0,
            f"p50 {idle50 * 1000:.1f} → {load50 * 1000:.1f} ms; errors {m['errors']}",
        )
    ]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--uploads", type=int, default=100)
    parser.add_argument(
        "--busy-pollers", action="store_true",
        help="the pollers are the uploading enterprise's sessions (every upload wakes them)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    (result,) = run(args.clients, args.uploads, args.busy_pollers)
    return 0 if result.ok else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
