"""What every window and tab shares: the core's workspace and current session, the one
background helper, and the change feed (sync → coalesced ``changed`` signal).

The sync worker of ``app.sync`` calls back on its own thread; :class:`_SyncBridge`
re-emits those calls as Qt signals (queued onto the GUI thread), and the
:class:`~ui.tasks.Coalescer` turns a burst of changes into one redraw per kind.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from ui.tasks import Coalescer, Tasks

KINDS = ("declaration", "notice", "progress", "feedback_job", "document", "enterprise")


class _SyncBridge(QObject):
    changes = Signal(object)
    state = Signal(str, str)


class AppContext(QObject):
    """The app's shared state. ``changed(keys)`` tells tabs which local data to re-read."""

    # when, then how often, a session opened offline looks for the platform
    FIRST_PROBE_MS = 2_000
    RECONNECT_MS = 15_000

    changed = Signal(object)
    connection = Signal(str, str)  # connected | offline | reconnecting, detail
    session_changed = Signal()
    notify = Signal(str, str)  # title, message (tray)

    def __init__(
        self, paths: Any, settings: Any, workspace: Any, tasks: Tasks, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.paths = paths
        self.settings = settings
        self.workspace = workspace
        self.tasks = tasks
        self.session: Any = None
        self.server_url = ""
        self.state = "connected"
        # a session opened offline cannot log in by itself (no password remembered, or
        # it no longer works): None until its first look for the platform
        self.needs_login: bool | None = None
        self._sync: Any = None
        self._reconnect = QTimer(self)
        self._reconnect.timeout.connect(self._try_online)
        self._probing = False
        self._bridge = _SyncBridge(self)
        self._bridge.changes.connect(self._on_changes)
        self._bridge.state.connect(self._on_state)
        self.coalescer = Coalescer(150, self)
        self.coalescer.fired.connect(self.changed)
        self._statuses: dict[str, str] = {}
        self._jobs: dict[str, str] = {}
        self.changed.connect(self._watch_transitions)
        tasks.destroyed.connect(self._tasks_gone)

    def _tasks_gone(self) -> None:
        """The background helper went first (shutdown): no more refreshes."""
        self.coalescer.blockSignals(True)

    # -- session ----------------------------------------------------------------------------

    @property
    def enterprise(self) -> Any:
        if self.session is None:
            return None
        return self.session.enterprise or self.session.brief

    @property
    def kind(self) -> str:
        ent = self.enterprise
        return getattr(ent, "kind", "manufacturer") if ent is not None else "manufacturer"

    def set_session(self, session: Any) -> None:
        """Show ``session`` (after login or a switch); start its sync, refresh everything."""
        self.stop_sync()
        self._reconnect.stop()
        self.needs_login = None
        self.session = session
        self._statuses = {d.id: d.status for d in session.store.declarations()}
        self._jobs = {j.id: j.status for j in session.store.feedback_jobs()}
        self.session_changed.emit()
        self.changed.emit({"all"})
        if getattr(session, "offline", False):
            # opened from the local store because the platform was unreachable
            self._reconnect.start(self.FIRST_PROBE_MS)  # once the window has settled
            return
        fresh_store = session.store.sync_cursor() == 0
        self.start_sync()
        if not (fresh_store and self._sync is not None):  # the sync's first round loads all
            self.refresh_all()

    def refresh_all(self) -> None:
        session = self.session
        if session is None:
            return

        def failed(exc: BaseException) -> bool:
            from app.errors import NetworkError

            if isinstance(exc, NetworkError):
                self._on_state("offline", exc.detail)
                return True
            return False

        self.tasks.run(
            session.refresh_all,
            lambda _: self.changed.emit({"all"}) if session is self.session else None,
            failed,
            label="正在从平台更新数据…",
        )

    def _try_online(self) -> None:
        """A session opened offline: once the platform answers, log in again with the
        remembered password and go on as if the login had worked at once; without one,
        say that the platform is back and a login is needed."""
        session = self.session
        if session is None or not getattr(session, "offline", False):
            self._reconnect.stop()
            return
        self._reconnect.setInterval(self.RECONNECT_MS)
        if self._probing:
            return
        self._probing = True

        def attempt() -> str:
            from app.errors import LocalError, NetworkError

            try:
                session.ensure_online()
                return "online"
            except NetworkError:
                return "waiting"  # a password is remembered: it logs in when it can
            except LocalError:  # nothing remembered (or no keyring)
                pass
            try:
                session.client.health()
            except NetworkError:
                return "waiting-login"
            return "login"

        def done(outcome: str) -> None:
            self._probing = False
            if session is not self.session:
                return
            if outcome == "online":
                self._reconnect.stop()
                self._on_state("connected", "")
                self.start_sync()
                self.refresh_all()
                return
            self.needs_login = outcome != "waiting"
            if outcome == "login":
                self._reconnect.stop()  # the accountant takes it from here
                self._on_state("offline", "平台已恢复连接。")
            else:
                self._on_state("offline", "")

        def failed(exc: BaseException) -> bool:
            from app.errors import PlatformError

            self._probing = False
            if isinstance(exc, PlatformError) and session is self.session:
                # the remembered password no longer works (changed, locked …)
                self._reconnect.stop()
                self.needs_login = True
                self._on_state("offline", f"平台已恢复连接，但自动登录未成功：{exc.detail}")
                return True
            return False

        self.tasks.run(attempt, done, failed)

    def start_sync(self) -> None:
        if self.session is None or getattr(self.session, "offline", False):
            return
        from app.sync import SyncWorker

        self._sync = SyncWorker(
            self.session,
            on_changes=self._bridge.changes.emit,
            on_state=self._bridge.state.emit,
        )
        self._sync.start()

    def stop_sync(self) -> None:
        if self._sync is not None:
            self._sync.stop()
            self._sync = None

    def _on_changes(self, changes: Any) -> None:
        for change in changes or ():
            kind = getattr(change, "kind", str(change))
            self.coalescer.request("all" if kind == "reset" else kind)

    def _on_state(self, state: str, detail: str) -> None:
        if state != self.state:
            self.state = state
            if state == "connected":
                self.coalescer.request("all")
        self.connection.emit(state, detail or "")

    def request(self, *keys: str) -> None:
        """Ask every view showing ``keys`` to re-read the local store (coalesced)."""
        for key in keys:
            self.coalescer.request(key)

    # -- notifications ------------------------------------------------------------------------

    def _watch_transitions(self, keys: Any) -> None:
        """Tray notifications for what the accountant waits for (audit done, 受理, 审批, 反馈)."""
        if self.session is None or not ({"declaration", "feedback_job", "all"} & set(keys)):
            return
        session = self.session

        def read() -> tuple[Any, Any]:
            return session.store.declarations(), session.store.feedback_jobs()

        def compare(result: tuple[Any, Any]) -> None:
            if session is not self.session:
                return
            declarations, jobs = result
            for d in declarations:
                before = self._statuses.get(d.id)
                if before is not None and before != d.status:
                    self._announce_declaration(d, before)
                self._statuses[d.id] = d.status
            for job in jobs:
                before = self._jobs.get(job.id)
                if before == "assembling" and job.status == "ready":
                    self.notify.emit(
                        "反馈数据已就绪", f"{job.period} 的反馈数据已组装完成，正在自动下载解密。"
                    )
                self._jobs[job.id] = job.status

        self.tasks.run(read, compare, local=True)

    def _announce_declaration(self, d: Any, before: str) -> None:
        from ui import formatting as fmt

        what = f"{d.business_name} {fmt.period(d.period)} 第{d.batch}批"
        if d.stage == "pre" and before in ("queued", "auditing") and d.status == "audited":
            chip = fmt.declaration_chip(d)
            self.notify.emit(
                "预申报审核完成", f"{what}：{chip.text}。请在「退税申报」查看反馈信息。"
            )
        elif d.status == "rejected" and before in ("queued", "auditing"):
            self.notify.emit("申报不予受理", f"{what}：{d.reject_text or '请查看反馈信息'}")
        elif d.status == "accepted":
            self.notify.emit("税务机关已受理", f"{what} 已受理，可下载受理文书。")
        elif d.status == "approved":
            self.notify.emit("审核通过", f"{what} 已审核通过。")
