"""下载专区: files with their sha256, kept under DATA_DIR/downloads.

A file whose content comes from the platform's own data (the rate library export, the
sample packages) is made when the 下载专区 is first opened, so seeding stays fast.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

from server_stub import clock
from server_stub.changes import sortable_id
from server_stub.notices import add_notice

log = logging.getLogger(__name__)

DownloadKind = Literal["declaration_software", "sample_package", "rate_library", "manual"]
SOFTWARE_NAME = "出口退税申报系统"
MANUAL_PATH = Path(__file__).parent / "content" / "manual.txt"
TEMP_PREFIX = ".tmp-"  # a file being written, beside its final name


def downloads_dir(data_dir: Path) -> Path:
    path = Path(data_dir) / "downloads"
    path.mkdir(parents=True, exist_ok=True)
    return path


def store_file(data_dir: Path, file_name: str, content: bytes) -> tuple[int, str]:
    """Write ``content`` atomically under the downloads folder; returns (size, sha256)."""
    folder = downloads_dir(data_dir)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=TEMP_PREFIX)
    with os.fdopen(fd, "wb") as f:
        f.write(content)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, folder / file_name)
    return len(content), hashlib.sha256(content).hexdigest()


def add_download(
    conn: sqlite3.Connection,
    *,
    name: str,
    version: str,
    kind: DownloadKind,
    data_dir: Path | None = None,
    file_name: str | None = None,
    content: bytes | None = None,
    published_at: str | None = None,
    recipe: str | None = None,
) -> str:
    """Publish a file (``content`` None = made on first request by :func:`ensure_files`
    from ``recipe``, a JSON object its maker reads).

    A new 申报系统 version also sends everyone the 政策通知 to upgrade.
    """
    download_id = sortable_id()
    size: int | None = None
    sha256: str | None = None
    if content is not None:
        assert data_dir is not None, "a file with content is stored under data_dir"
        file_name = f"{download_id}-{file_name or 'file'}"
        size, sha256 = store_file(data_dir, file_name, content)
    published = published_at or clock.iso()
    conn.execute(
        "INSERT INTO downloads (id, name, version, kind, size, sha256, file_name, published_at,"
        " recipe) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (download_id, name, version, kind, size, sha256, file_name if content is not None else None,
         published, recipe),
    )  # fmt: skip
    if kind == "declaration_software":
        add_notice(
            conn,
            taxpayer_id=None,
            category="policy",
            subcategory="申报系统升级",
            title=f"出口退税申报系统需要升级到{version}版本",
            body=(
                f"下载专区已发布{name}（版本{version}）。请下载安装新版本，"
                "用新版本生成申报数据包；用旧版本生成的数据包在预审核时会提示“申报系统版本过低”。"
            ),
            published_at=published,
        )
    return download_id


def current_software_version(conn: sqlite3.Connection) -> str | None:
    """Version of the newest 申报系统 in the 下载专区 (package-format ``SCRJ_OLD``)."""
    row = conn.execute(
        "SELECT version FROM downloads WHERE kind = 'declaration_software'"
        " ORDER BY published_at DESC, rowid DESC LIMIT 1"
    ).fetchone()
    return None if row is None else str(row[0])


# kind → makes (file name, content) of a lazily published file from (version, recipe)
Maker = Callable[[sqlite3.Connection, str, dict[str, Any]], tuple[str, bytes]]


def ensure_files(conn: sqlite3.Connection, data_dir: Path, makers: Mapping[str, Maker]) -> None:
    """Make the files published without content (once; later calls find them made)."""
    pending = conn.execute(
        "SELECT id, kind, version, recipe FROM downloads WHERE file_name IS NULL"
    ).fetchall()
    for download_id, kind, version, recipe in pending:
        maker = makers.get(kind)
        if maker is None:
            continue
        try:
            base_name, content = maker(conn, version, json.loads(recipe or "{}"))
        except ValueError:
            # the data no longer makes this file (say, a sample after a new library):
            # it stays unlisted rather than failing the whole 下载专区
            log.warning("download %s (%s) cannot be made", download_id, kind, exc_info=True)
            continue
        file_name = f"{download_id}-{base_name}"
        size, sha256 = store_file(data_dir, file_name, content)
        conn.execute(
            "UPDATE downloads SET file_name = ?, size = ?, sha256 = ? WHERE id = ?"
            " AND file_name IS NULL",
            (file_name, size, sha256, download_id),
        )
