"""登录: password hashes, lockout, the login rate limit and sessions (protocol §2).

Sessions live in memory for speed (no database write per request) and in the database so
a restart keeps them; ``last_seen`` is written back at most every few minutes.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import sqlite3
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta

from server_stub import clock, db

IDLE_TIMEOUT = timedelta(hours=8)
LOCK_AFTER = 5
LOCK_WINDOW = timedelta(minutes=15)
LOCK_FOR = timedelta(minutes=15)
TOUCH_EVERY = timedelta(minutes=5)  # how stale the stored last_seen may get
_SCRYPT = (2**14, 8, 1)


def hash_password(password: str) -> str:
    n, r, p = _SCRYPT
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=32)
    return f"scrypt${n}${r}${p}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        _, n, r, p, salt, digest = stored.split("$")
        got = hashlib.scrypt(
            password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), dklen=32
        )
    except ValueError:
        return False
    return hmac.compare_digest(got.hex(), digest)


def initial_password(bank_account: str) -> str:
    """The initial password: 银行账号后8位."""
    return bank_account[-8:]


_LETTER = re.compile(r"[A-Za-z]")
_DIGIT = re.compile(r"\d")


def password_policy_problem(new: str, initial: str) -> str | None:
    """Why a new password is refused (Chinese), or None."""
    if not 8 <= len(new) <= 20:
        return "新密码应为8至20位，请重新设置。"
    if not _LETTER.search(new) or not _DIGIT.search(new):
        return "新密码须同时包含字母和数字，请重新设置。"
    if new == initial:
        return "新密码不能与初始密码（银行账号后8位）相同，请重新设置。"
    return None


# ---------------------------------------------------------------- lockout


def failure_subject(taxpayer_id: str | None, account_type: str, account: str) -> str:
    """Failures count per enterprise, or per name when the name matches none."""
    return f"ent:{taxpayer_id}" if taxpayer_id else f"name:{account_type}:{account}"


def locked_until(conn: sqlite3.Connection, subject: str) -> datetime | None:
    row = conn.execute(
        "SELECT locked_until FROM login_failures WHERE subject = ?", (subject,)
    ).fetchone()
    if row is None or row[0] is None:
        return None
    until = datetime.fromisoformat(row[0])
    return until if until > clock.now() else None


def record_failure(conn: sqlite3.Connection, subject: str) -> None:
    now = clock.now()
    with db.transaction(conn):
        row = conn.execute(
            "SELECT count, first_at FROM login_failures WHERE subject = ?", (subject,)
        ).fetchone()
        if row is None or datetime.fromisoformat(row[1]) < now - LOCK_WINDOW:
            count, first = 1, now
        else:
            count, first = int(row[0]) + 1, datetime.fromisoformat(row[1])
        until = clock.iso(now + LOCK_FOR) if count >= LOCK_AFTER else None
        conn.execute(
            "INSERT OR REPLACE INTO login_failures (subject, count, first_at, locked_until)"
            " VALUES (?, ?, ?, ?)",
            (subject, 0 if until else count, clock.iso(first), until),
        )


def clear_failures(conn: sqlite3.Connection, subject: str) -> None:
    conn.execute("DELETE FROM login_failures WHERE subject = ?", (subject,))


class RateLimiter:
    """At most ``limit`` calls a minute per client address (sliding window)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._calls: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, address: str) -> int:
        """0 when the call may go ahead (and is counted), else seconds to wait."""
        now = time.monotonic()
        with self._lock:
            calls = self._calls.setdefault(address, deque())
            while calls and calls[0] <= now - 60:
                calls.popleft()
            if len(calls) >= self.limit:
                return max(1, int(calls[0] + 60 - now) + 1)
            calls.append(now)
            return 0


# ---------------------------------------------------------------- sessions


@dataclass
class Caller:
    """The enterprise behind a valid token (CurrentEnterprise)."""

    token_hash: str
    taxpayer_id: str
    name: str
    kind: str
    management_class: str
    must_change_password: bool
    last_seen: datetime
    stored_seen: datetime

    @property
    def expires_at(self) -> datetime:
        return self.last_seen + IDLE_TIMEOUT


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Sessions:
    """Every live session, by token hash, backed by the ``sessions`` table."""

    def __init__(self, pool: db.Pool) -> None:
        self.pool = pool
        self._by_hash: dict[str, Caller] = {}
        self._lock = threading.Lock()

    def _caller(self, conn: sqlite3.Connection, th: str, tid: str, seen: datetime) -> Caller:
        row = conn.execute(
            "SELECT name, kind, management_class, must_change_password FROM enterprises"
            " WHERE taxpayer_id = ?",
            (tid,),
        ).fetchone()
        return Caller(th, tid, row[0], row[1], row[2], bool(row[3]), seen, seen)

    def create(self, conn: sqlite3.Connection, taxpayer_id: str) -> tuple[str, Caller]:
        token = secrets.token_urlsafe(32)
        th = token_hash(token)
        now = clock.now()
        conn.execute(
            "INSERT INTO sessions (token_hash, taxpayer_id, created_at, last_seen)"
            " VALUES (?, ?, ?, ?)",
            (th, taxpayer_id, clock.iso(now), clock.iso(now)),
        )
        caller = self._caller(conn, th, taxpayer_id, now)
        with self._lock:
            self._by_hash[th] = caller
        return token, caller

    def lookup(self, token: str) -> Caller | None:
        """The live session of ``token`` (its idle time restarted), or None."""
        th = token_hash(token)
        caller = self._by_hash.get(th)
        if caller is None:
            caller = self._load(th)
            if caller is None:
                return None
        now = clock.now()
        if now >= caller.expires_at:
            self.end(th)
            return None
        caller.last_seen = now
        return caller

    def needs_store(self, caller: Caller) -> bool:
        return caller.last_seen - caller.stored_seen >= TOUCH_EVERY

    def store_seen(self, caller: Caller) -> None:
        conn = self.pool.get()
        try:
            conn.execute(
                "UPDATE sessions SET last_seen = ? WHERE token_hash = ?",
                (clock.iso(caller.last_seen), caller.token_hash),
            )
            caller.stored_seen = caller.last_seen
        finally:
            self.pool.put(conn)

    def _load(self, th: str) -> Caller | None:
        conn = self.pool.get()
        try:
            row = conn.execute(
                "SELECT taxpayer_id, last_seen FROM sessions WHERE token_hash = ?", (th,)
            ).fetchone()
            if row is None:
                return None
            caller = self._caller(conn, th, row[0], datetime.fromisoformat(row[1]))
        finally:
            self.pool.put(conn)
        with self._lock:
            return self._by_hash.setdefault(th, caller)

    def end(self, th: str) -> None:
        with self._lock:
            self._by_hash.pop(th, None)
        conn = self.pool.get()
        try:
            conn.execute("DELETE FROM sessions WHERE token_hash = ?", (th,))
        finally:
            self.pool.put(conn)

    def end_all(self, conn: sqlite3.Connection, taxpayer_id: str, keep: str | None = None) -> None:
        """End every session of the enterprise except ``keep`` (in the caller's transaction)."""
        conn.execute(
            "DELETE FROM sessions WHERE taxpayer_id = ? AND token_hash IS NOT ?",
            (taxpayer_id, keep),
        )
        with self._lock:
            for th in [
                h for h, c in self._by_hash.items() if c.taxpayer_id == taxpayer_id and h != keep
            ]:
                del self._by_hash[th]

    def password_changed(self, taxpayer_id: str) -> None:
        with self._lock:
            for c in self._by_hash.values():
                if c.taxpayer_id == taxpayer_id:
                    c.must_change_password = False
