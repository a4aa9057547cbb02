"""Following the platform (§8 sync): a daemon thread long-polls ``/sync`` from the cursor
kept in the local store, refreshes the store for what the changes name and reports them.

Callbacks are plain callables, called on the worker thread (the UI re-emits them as Qt
signals): ``on_changes(list[Change])`` and ``on_state(state, detail)`` with state
``"connected"``, ``"reconnecting"`` (first failures) or ``"offline"`` (still failing; the
worker keeps trying, backing off). A change of kind ``"reset"`` means the whole store was
reloaded (a fresh store, or the platform's data was reset).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from app.errors import CoreError, NetworkError, PlatformError
from app.models import QUEUED_STATUSES, Change
from app.session import Session

log = logging.getLogger(__name__)

RESET = Change("reset", "", "upsert")
OFFLINE_AFTER = 3  # failures in a row before "reconnecting" becomes "offline"


class SyncWorker:
    def __init__(
        self,
        session: Session,
        on_changes: Callable[[list[Change]], None] | None = None,
        on_state: Callable[[str, str], None] | None = None,
        *,
        wait: int = 25,
        queue_poll: int = 3,
        max_backoff: float = 15.0,
    ) -> None:
        self.session = session
        self.on_changes = on_changes
        self.on_state = on_state
        self.wait = wait
        self.queue_poll = queue_poll
        self.max_backoff = max_backoff
        self.state = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run, name=f"sync-{self.session.taxpayer_id}", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Ask the worker to stop; a long poll in flight ends on its own (daemon thread)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                self.session.ensure_online()
                changes = self.poll_once()
            except NetworkError as exc:
                failures += 1
                self._set_state(
                    "reconnecting" if failures < OFFLINE_AFTER else "offline", exc.detail
                )
                self._stop.wait(min(2.0 ** (failures - 1), self.max_backoff))
                continue
            except CoreError as exc:  # refused (e.g. the password was reset): wait, retry
                failures += 1
                self._set_state("offline", exc.detail)
                self._stop.wait(self.max_backoff)
                continue
            except Exception:  # never let the thread die silently
                log.exception("sync step failed")
                failures += 1
                self._set_state("offline", "同步出现异常，稍后自动重试。")
                self._stop.wait(self.max_backoff)
                continue
            failures = 0
            self._set_state("connected", "")
            if changes and self.on_changes and not self._stop.is_set():
                self.on_changes(changes)

    def poll_once(self) -> list[Change]:
        """One round: the changes since the stored cursor, applied to the store."""
        store = self.session.store
        if store.meta("sync_cursor") is None:  # a fresh store: load everything first
            self.session.refresh_all()
            return [RESET]
        queued = store.declarations(status=",".join(sorted(QUEUED_STATUSES)))
        page = self.session.client.sync(
            store.sync_cursor(), min(self.wait, self.queue_poll) if queued else self.wait
        )
        if page.reset:
            self.session.refresh_all()
            return [RESET]
        latest: dict[tuple[str, str], Change] = {}
        for change in page.changes:
            latest[(change.kind, change.id)] = change
        for change in latest.values():
            self.session.refresh(change.kind, change.id, change.op)
        store.set_sync_cursor(page.cursor)
        # Queue ranks move without sync events (§5.2): re-read queued declarations.
        for decl in queued:
            if ("declaration", decl.id) in latest:
                continue
            try:
                fresh = self.session.declaration(decl.id)
            except PlatformError as exc:
                if exc.code != "NOT_FOUND":
                    raise
                store.delete_declaration(decl.id)
                latest[("declaration", decl.id)] = Change("declaration", decl.id, "deleted")
                continue
            if (fresh.status, fresh.queue_position, fresh.queue_eta_seconds) != (
                decl.status,
                decl.queue_position,
                decl.queue_eta_seconds,
            ):
                latest[("declaration", decl.id)] = Change("declaration", decl.id, "upsert")
        return list(latest.values())

    def _set_state(self, state: str, detail: str) -> None:
        if state == self.state or self._stop.is_set():
            return
        self.state = state
        if self.on_state:
            self.on_state(state, detail)
