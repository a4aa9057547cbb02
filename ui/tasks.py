"""The one background helper: run a callable off the GUI thread, deliver on the GUI thread.

Every network call, unzip, decrypt, PDF render and big query of the UI goes through
:meth:`Tasks.run` (modelled on Anki's ``QueryOp``): the callable runs in a
``QThreadPool``; its result, its failure and its progress come back as signals of a
``QObject`` living on the GUI thread, so the callbacks run there. Failures of the core
(``CoreError``) reach the user through :func:`show_error` — one path, in Chinese.

:class:`Coalescer` turns a burst of refresh requests (sync changes) into one redraw.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, QTimer, Signal, Slot

if TYPE_CHECKING:
    from PySide6.QtWidgets import QWidget

log = logging.getLogger(__name__)

ProgressCb = Callable[[int, int | None], None]


class Cancelled(Exception):
    """Raised inside a task by its progress callback once the user cancelled it."""

    detail = "已取消，未完成的部分没有保留。"


class _Signals(QObject):
    done = Signal(object)
    failed = Signal(object)
    progress = Signal(object, object)


class Task(QRunnable):
    """One background operation. Keep no reference: the pool owns it until it finishes."""

    def __init__(
        self,
        fn: Callable[..., Any],
        with_progress: bool,
        signals: _Signals,
    ) -> None:
        super().__init__()
        self.fn = fn
        self.with_progress = with_progress
        self.signals = signals
        self.cancel_event = threading.Event()

    def _progress(self, done: int, total: int | None = None) -> None:
        if self.cancel_event.is_set():
            raise Cancelled()
        self.signals.progress.emit(done, total)

    def run(self) -> None:
        try:
            result = self.fn(self._progress) if self.with_progress else self.fn()
        except Cancelled as exc:
            self.signals.failed.emit(exc)
        except BaseException as exc:  # delivered to the GUI thread, never lost
            self.signals.failed.emit(exc)
        else:
            self.signals.done.emit(result)

    def cancel(self) -> None:
        self.cancel_event.set()


class Tasks(QObject):
    """Runs operations off the GUI thread: network ones in parallel, local ones in order.

    ``busy_changed(count, label)`` lets the status bar show what runs; ``progress`` of a
    task with a label feeds the status bar's small progress bar.
    """

    busy_changed = Signal(int, str)
    status_progress = Signal(int, int)  # done, total (0 = unknown)

    def __init__(self, parent: QObject | None = None, error_parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.network = QThreadPool(self)
        self.network.setMaxThreadCount(4)
        self.local = QThreadPool(self)
        self.local.setMaxThreadCount(1)  # one writer at a time on the local store
        self.error_parent = error_parent
        self._running: dict[int, tuple[Task, _Signals, str]] = {}
        self._next = 0

    def run(
        self,
        fn: Callable[..., Any],
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[BaseException], bool | None] | None = None,
        progress: Callable[[int, int | None], None] | None = None,
        *,
        label: str = "",
        local: bool = False,
        owner: QObject | None = None,
    ) -> Task:
        """Run ``fn`` (``fn(progress_cb)`` when ``progress`` is given) in the background.

        ``on_done(result)`` runs on the GUI thread. ``on_error(exc)`` too; when it is missing
        or returns a falsy value the error is shown through :func:`show_error`. A task
        cancelled through its progress callback gets ``on_error(Cancelled())`` (to clean up)
        and shows nothing. With an ``owner``, callbacks are dropped once the owner is
        destroyed.
        """
        signals = _Signals()
        task = Task(fn, progress is not None, signals)
        task.setAutoDelete(False)
        key = self._next
        self._next += 1
        self._running[key] = (task, signals, label)
        alive = [True]
        if owner is not None:
            owner.destroyed.connect(lambda *_: alive.__setitem__(0, False))

        def finish() -> None:
            self._running.pop(key, None)
            self._emit_busy()

        def done(result: Any) -> None:
            finish()
            if alive[0] and on_done is not None:
                on_done(result)

        def failed(exc: BaseException) -> None:
            finish()
            if not alive[0]:
                return
            handled = on_error is not None and on_error(exc)
            if not handled and not isinstance(exc, Cancelled):
                self.show_error(exc)

        def report(done_: int, total: int | None) -> None:
            if not alive[0]:
                return
            if progress is not None:
                progress(done_, total)
            if label:
                self.status_progress.emit(done_, total or 0)

        signals.done.connect(done)
        signals.failed.connect(failed)
        signals.progress.connect(report)
        (self.local if local else self.network).start(task)
        self._emit_busy()
        return task

    def _emit_busy(self) -> None:
        labels = [label for _, _, label in self._running.values() if label]
        self.busy_changed.emit(len(self._running), labels[-1] if labels else "")

    def pending(self) -> int:
        return len(self._running)

    def cancellable(self) -> list[Task]:
        """The running tasks the status bar shows with progress (downloads, uploads)."""
        return [t for t, _, label in self._running.values() if label and t.with_progress]

    def cancel_shown(self) -> int:
        """取消 in the status bar: cancel those tasks; they stop at their next progress."""
        tasks = self.cancellable()
        for task in tasks:
            task.cancel()
        return len(tasks)

    def show_error(self, exc: BaseException) -> None:
        show_error(self.error_parent, exc)

    def wait_idle(self, msecs: int = 30000) -> bool:
        """For shutdown and tests: wait for both pools (does not deliver results)."""
        return self.network.waitForDone(msecs) and self.local.waitForDone(msecs)


def error_text(exc: BaseException) -> str:
    """The Chinese sentence for a failure: the core's ``detail``, else a generic one."""
    detail = getattr(exc, "detail", None)
    if isinstance(detail, str) and detail:
        return detail
    if isinstance(exc, OSError):
        return f"读写文件失败：{exc.strerror or exc}。请检查磁盘空间和文件夹权限后重试。"
    return "操作没有完成：程序内部出错。请重试；如果再次出现，请把日志文件夹中的日志发给技术支持。"


def show_error(parent: QWidget | None, exc: BaseException) -> None:
    """THE error path: log it and tell the user what happened and what to do next."""
    from PySide6.QtWidgets import QMessageBox  # not at start-up: its enums cost ~1 ms (P1)

    from app.errors import CoreError

    if isinstance(exc, CoreError):
        log.info("operation failed: %s", exc)
    else:
        log.error("operation failed", exc_info=(type(exc), exc, exc.__traceback__))
    box = QMessageBox(QMessageBox.Icon.Warning, "操作未完成", error_text(exc), parent=parent)
    problems = getattr(exc, "problems", None) or []
    if problems:
        lines = [
            f"{p.get('entry', '')} 第{p.get('row', '')}行 {p.get('column', '')}：{p.get('message', '')}"
            for p in problems[:200]
        ]
        box.setDetailedText("\n".join(lines))
    from PySide6.QtCore import Qt  # not at start-up: the Qt namespace is slow to build (P1)

    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
    box.open()


class Coalescer(QObject):
    """Collects refresh requests for a short while and fires ``fired(set_of_keys)`` once."""

    fired = Signal(object)

    def __init__(self, delay_ms: int = 150, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._keys: set[str] = set()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(delay_ms)
        self._timer.timeout.connect(self._fire)

    @Slot(str)
    def request(self, key: str) -> None:
        self._keys.add(key)
        if not self._timer.isActive():
            self._timer.start()

    def _fire(self) -> None:
        keys, self._keys = self._keys, set()
        if keys:
            self.fired.emit(keys)
