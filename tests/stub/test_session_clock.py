"""Idle expiry and lock expiry follow the platform clock (no live stub: the clock is moved)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from server_stub import auth, clock, db
from server_stub.seed import seed_data_dir

TID = "91110108MA01HC7K1M"


@pytest.fixture
def pool(tmp_path: Path) -> Iterator[db.Pool]:
    seed_data_dir(tmp_path, clock.now())
    yield db.Pool(tmp_path)
    clock.set_offset_seconds(0)


def test_sessions_expire_after_eight_idle_hours_and_slide(pool: db.Pool) -> None:
    sessions = auth.Sessions(pool)
    conn = pool.get()
    token, caller = sessions.create(conn, TID)
    first_expiry = caller.expires_at
    clock.set_offset_seconds(timedelta(hours=7).total_seconds())
    again = sessions.lookup(token)
    assert again is not None and again.expires_at > first_expiry  # activity slides it
    sessions.store_seen(again)
    clock.set_offset_seconds(timedelta(hours=14).total_seconds())
    assert sessions.lookup(token) is not None
    # a restart reads the session back from the database
    assert auth.Sessions(pool).lookup(token) is not None
    clock.set_offset_seconds(timedelta(hours=22, minutes=1).total_seconds())
    assert sessions.lookup(token) is None
    assert auth.Sessions(pool).lookup(token) is None


def test_lock_lifts_after_fifteen_minutes(pool: db.Pool) -> None:
    conn = pool.get()
    subject = auth.failure_subject(TID, "credit_code", TID)
    for _ in range(auth.LOCK_AFTER):
        assert auth.locked_until(conn, subject) is None
        auth.record_failure(conn, subject)
    assert auth.locked_until(conn, subject) is not None
    clock.set_offset_seconds(timedelta(minutes=15, seconds=1).total_seconds())
    assert auth.locked_until(conn, subject) is None
    # old failures outside the window do not add up
    auth.record_failure(conn, subject)
    assert auth.locked_until(conn, subject) is None
