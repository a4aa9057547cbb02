"""The sync feed (protocol §8): every change a client should see is one row in ``changes``.

Call :func:`record_change` in the SAME transaction as the change itself, so a client never
sees a cursor past a change that was rolled back, nor a change without its cursor.
"""

from __future__ import annotations

import secrets
import sqlite3
import time
from typing import Literal

from server_stub import clock

ChangeKind = Literal["declaration", "notice", "progress", "feedback_job", "document", "enterprise"]
ChangeOp = Literal["upsert", "deleted"]

EVERYONE = "*"  # taxpayer_id of a change every enterprise sees (a broadcast notice)


def sortable_id() -> str:
    """A new opaque id that sorts by creation time: lists ordered by (time, id) keep the
    creation order of objects made within the same second."""
    return f"{time.time_ns() // 1000:014x}{secrets.token_hex(6)}"


def record_change(
    conn: sqlite3.Connection,
    taxpayer_id: str | None,
    kind: ChangeKind,
    obj_id: str,
    op: ChangeOp = "upsert",
) -> int:
    """Append a change for ``taxpayer_id`` (None = every enterprise); returns its cursor."""
    cur = conn.execute(
        "INSERT INTO changes (taxpayer_id, kind, obj_id, op, at) VALUES (?, ?, ?, ?, ?)",
        (taxpayer_id or EVERYONE, kind, obj_id, op, clock.iso()),
    )
    return int(cur.lastrowid or 0)
