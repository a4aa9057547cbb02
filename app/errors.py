"""The three ways a core call can fail, each with a Chinese ``detail`` that says what to do.

- :class:`PlatformError` — the platform answered and refused (problem+json, protocol §0).
- :class:`NetworkError` — the platform could not be reached, timed out or cut the line.
- :class:`LocalError` — something on this computer: a bad file, a full disk, no keyring …
"""

from __future__ import annotations

import errno
import sqlite3
from typing import Any


class CoreError(Exception):
    """Base of every error the core raises on purpose; ``detail`` is shown to the user."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class PlatformError(CoreError):
    """The platform refused the call: HTTP ``status``, protocol ``code`` (§9), the body."""

    def __init__(
        self, status: int, code: str, detail: str, body: dict[str, Any] | None = None
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.body: dict[str, Any] = body or {}

    @property
    def existing_id(self) -> str | None:
        value = self.body.get("existing_id")
        return str(value) if value is not None else None

    @property
    def locked_until(self) -> str | None:
        value = self.body.get("locked_until")
        return str(value) if value is not None else None

    @property
    def problems(self) -> list[dict[str, Any]]:
        return list(self.body.get("problems") or [])

    @property
    def errors(self) -> list[dict[str, Any]]:
        return list(self.body.get("errors") or [])

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}"


class NetworkError(CoreError):
    """The platform could not be reached (no connection, timeout, connection cut)."""


class LocalError(CoreError):
    """A problem on this computer; ``code`` and ``problems`` when a package was refused."""

    def __init__(
        self,
        detail: str,
        *,
        code: str | None = None,
        problems: list[dict[str, Any]] | None = None,
        existing_id: str | None = None,
    ) -> None:
        super().__init__(detail)
        self.code = code
        self.problems = problems or []
        self.existing_id = existing_id


DISK_FULL_DETAIL = (
    "本机磁盘空间不足，{what}未能保存。请清理磁盘、释放空间后重试；已有的数据未受影响。"
)
_DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


def is_disk_full(exc: BaseException) -> bool:
    """An OS write error or an SQLite error that means: no room left on the disk."""
    if isinstance(exc, OSError) and exc.errno in _DISK_FULL_ERRNOS:
        return True
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        return code == sqlite3.SQLITE_FULL or "database or disk is full" in str(exc)
    return False


def local_write_error(exc: BaseException, what: str) -> LocalError:
    """A failed write on this computer as a LocalError: ``DISK_FULL`` when the disk (or
    the quota) is full, else ``IO`` naming the OS reason. ``what`` names what was being
    saved, e.g. ``反馈文件``."""
    if is_disk_full(exc):
        return LocalError(DISK_FULL_DETAIL.format(what=what), code="DISK_FULL")
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return LocalError(
        f"{what}无法写入本机文件夹（{reason}）。请检查文件夹权限或磁盘后重试。", code="IO"
    )
