"""退税提醒: notices for one enterprise or for everyone, with per-enterprise read marks."""

from __future__ import annotations

import sqlite3
from typing import Literal

from server_stub import clock
from server_stub.changes import record_change, sortable_id

NoticeCategory = Literal["announcement", "daily", "annual", "progress", "policy"]

CATEGORY_NAMES: dict[str, str] = {
    "announcement": "通知公告",
    "daily": "日常提醒",
    "annual": "年度提醒",
    "progress": "办理进度",
    "policy": "政策通知",
}


def add_notice(
    conn: sqlite3.Connection,
    *,
    taxpayer_id: str | None,
    category: NoticeCategory,
    subcategory: str,
    title: str,
    body: str,
    published_at: str | None = None,
    dedup_key: str | None = None,
) -> str:
    """Publish a notice (taxpayer_id None = every enterprise) and record its change.

    With ``dedup_key`` a notice that already exists under that key is not published again
    (computed 年度提醒); its id is returned instead.
    """
    if dedup_key is not None:
        row = conn.execute("SELECT id FROM notices WHERE dedup_key = ?", (dedup_key,)).fetchone()
        if row is not None:
            return str(row[0])
    notice_id = sortable_id()
    conn.execute(
        "INSERT INTO notices (id, taxpayer_id, category, subcategory, title, body,"
        " published_at, dedup_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            notice_id,
            taxpayer_id,
            category,
            subcategory,
            title,
            body,
            published_at or clock.iso(),
            dedup_key,
        ),
    )
    record_change(conn, taxpayer_id, "notice", notice_id)
    return notice_id
