"""同步: ``GET /sync`` — what changed since the client's cursor, with long polling (protocol §8).

Waiting clients cost one coroutine each: they await an asyncio.Event of their enterprise.
One poller task per server process reads the changes table's highest id a few times a
second (changes are also written by the audit worker processes, which cannot signal this
loop) and wakes the enterprises whose changes arrived. All SQL here runs on the poller's
own connection in the event-loop thread: each statement is a short indexed read.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query, Request

from server_stub import db
from server_stub.api.deps import CurrentEnterprise
from server_stub.api.errors import error_responses
from server_stub.api.schemas import SyncAnswer, documented
from server_stub.changes import EVERYONE


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    hub.start(app.state.settings.data_dir)
    yield
    hub.stop()


router = APIRouter(tags=["同步"], lifespan=_lifespan)

MAX_CHANGES = 500
MAX_WAIT = 25
POLL_INTERVAL = 0.15


class ChangeHub:
    """Wakes the long polls of the enterprises whose changes were committed."""

    def __init__(self) -> None:
        self.conn: sqlite3.Connection | None = None
        self.latest = 0
        self._events: dict[str, asyncio.Event] = {}
        self._task: asyncio.Task[None] | None = None

    def start(self, data_dir: Any) -> sqlite3.Connection:
        """Open the hub's connection and start the poller (once per process and loop)."""
        if self.conn is None:
            self.conn = db.connect(data_dir)
            self.latest = self.max_id()
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._poll())
        return self.conn

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def max_id(self) -> int:
        assert self.conn is not None
        return int(self.conn.execute("SELECT coalesce(max(id), 0) FROM changes").fetchone()[0])

    def event(self, taxpayer_id: str) -> asyncio.Event:
        ev = self._events.get(taxpayer_id)
        if ev is None:
            ev = self._events[taxpayer_id] = asyncio.Event()
        return ev

    def _wake(self, taxpayer_id: str) -> None:
        # a fresh event for the next wait; whoever holds the old one is released by set()
        ev = self._events.pop(taxpayer_id, None)
        if ev is not None:
            ev.set()

    async def _poll(self) -> None:
        assert self.conn is not None
        while True:
            await asyncio.sleep(POLL_INTERVAL)
            try:
                newest = self.max_id()
                if newest <= self.latest:
                    continue
                who = [
                    str(r[0])
                    for r in self.conn.execute(
                        "SELECT DISTINCT taxpayer_id FROM changes WHERE id > ? AND id <= ?",
                        (self.latest, newest),
                    )
                ]
                self.latest = newest
                if EVERYONE in who:
                    who = list(self._events)
                for taxpayer_id in who:
                    self._wake(taxpayer_id)
            except sqlite3.Error:
                # a locked or busy database is transient: try again on the next tick
                continue


hub = ChangeHub()


def _read_changes(
    conn: sqlite3.Connection, taxpayer_id: str, cursor: int, snapshot: int
) -> dict[str, Any]:
    if cursor > snapshot:
        return {"cursor": snapshot, "more": False, "reset": True, "changes": []}
    rows = conn.execute(
        "SELECT id, kind, obj_id, op, at FROM changes"
        " WHERE taxpayer_id IN (?, ?) AND id > ? AND id <= ? ORDER BY id LIMIT ?",
        (taxpayer_id, EVERYONE, cursor, snapshot, MAX_CHANGES + 1),
    ).fetchall()
    more = len(rows) > MAX_CHANGES
    rows = rows[:MAX_CHANGES]
    return {
        # with nothing more to read the cursor jumps to the snapshot, past other
        # enterprises' changes, so the next call does not scan them again
        "cursor": int(rows[-1][0]) if more else snapshot,
        "more": more,
        "reset": False,
        "changes": [{"kind": r[1], "id": r[2], "op": r[3], "at": r[4]} for r in rows],
    }


class _Answers:
    """Answers by (enterprise, cursor, snapshot). Changes are append-only, so such an
    answer never changes: when a change wakes hundreds of an enterprise's waiters at the
    same cursor, one query answers them all."""

    LIMIT = 4096

    def __init__(self) -> None:
        self._cache: dict[tuple[str, int, int], dict[str, Any]] = {}

    def get(self, conn: sqlite3.Connection, taxpayer_id: str, cursor: int) -> dict[str, Any]:
        snapshot = int(conn.execute("SELECT coalesce(max(id), 0) FROM changes").fetchone()[0])
        key = (taxpayer_id, cursor, snapshot)
        answer = self._cache.get(key)
        if answer is None:
            if len(self._cache) >= self.LIMIT:
                self._cache.clear()
            answer = self._cache[key] = _read_changes(conn, taxpayer_id, cursor, snapshot)
        return answer


answers = _Answers()


@router.get(
    "/sync",
    response_model=documented(SyncAnswer),
    summary="同步：自游标以来的变化（长轮询）",
    responses=error_responses(401, 403, 422),
)
async def get_sync(
    request: Request,
    enterprise: CurrentEnterprise,
    cursor: Annotated[int, Query(ge=0, description="上次应答的 cursor；0 = 从头开始")] = 0,
    wait: Annotated[int, Query(ge=0, le=MAX_WAIT, description="无变化时最多等待的秒数")] = 0,
) -> dict[str, Any]:
    # the settings straight from the app: a sync dependency would take a thread-pool slot
    conn = hub.start(request.app.state.settings.data_dir)
    deadline = time.monotonic() + wait
    while True:
        # take the event before reading, so a change committed after the read wakes us
        ev = hub.event(enterprise.taxpayer_id)
        answer = answers.get(conn, enterprise.taxpayer_id, cursor)
        remaining = deadline - time.monotonic()
        if answer["changes"] or answer["reset"] or remaining <= 0:
            return answer
        try:
            await asyncio.wait_for(ev.wait(), remaining)
        except TimeoutError:
            return answers.get(conn, enterprise.taxpayer_id, cursor)
