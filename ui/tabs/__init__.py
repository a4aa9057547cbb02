"""The seven tabs of the 办税桌面, one module each, on a common base."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import QWidget

from ui.context import AppContext


class Tab(QWidget):
    """A tab: re-reads the local store when the keys it shows change (``KEYS``)."""

    KEYS: frozenset[str] = frozenset()

    def __init__(self, ctx: AppContext, main: Any) -> None:
        super().__init__()
        self.ctx = ctx
        self.main = main
        ctx.changed.connect(self._changed)

    def _changed(self, keys: Any) -> None:
        if self.ctx.session is not None and ("all" in keys or self.KEYS & set(keys)):
            self.reload(set(keys))

    def reload(self, keys: set[str]) -> None:
        """Re-read what this tab shows (called on the GUI thread, work in the background)."""

    @property
    def session(self) -> Any:
        return self.ctx.session

    @property
    def store(self) -> Any:
        return self.ctx.session.store

    def read(self, fn: Callable[[], Any], on_done: Callable[[Any], None]) -> None:
        """A local query off the GUI thread; the result is dropped if the session changed."""
        session = self.ctx.session

        def deliver(result: Any) -> None:
            if session is self.ctx.session:
                on_done(result)

        self.ctx.tasks.run(fn, deliver, local=True, owner=self)

    def call(
        self,
        fn: Callable[..., Any],
        on_done: Callable[[Any], None] | None = None,
        *,
        label: str = "",
        progress: Callable[[int, int | None], None] | None = None,
        on_error: Callable[[BaseException], bool | None] | None = None,
    ) -> Any:
        """A platform call (network pool); errors go through the one error path."""
        return self.ctx.tasks.run(fn, on_done, on_error, progress, label=label, owner=self)
