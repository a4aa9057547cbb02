"""Where the client keeps its files (目录).

Every folder comes from ``platformdirs``, with one override — ``TUISHUI_HOME`` or the
``--home`` option — that puts everything under one folder (tests, portable installs).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

APP_NAME = "tuishui"
HOME_ENV = "TUISHUI_HOME"


class AppPaths:
    """The client's folders. Nothing is created until it is first written to.

    Immutable, compared by value. A plain class rather than a dataclass: this module loads
    before the login window shows, and ``dataclasses`` with the class it generates costs
    ~4 ms there (P1).
    """

    __slots__ = ("cache_dir", "data_dir", "home", "log_dir")
    _FIELDS = ("home", "data_dir", "log_dir", "cache_dir")  # the constructor's order
    home: Path
    data_dir: Path
    log_dir: Path
    cache_dir: Path

    def __init__(self, home: Path, data_dir: Path, log_dir: Path, cache_dir: Path) -> None:
        for name, value in zip(self._FIELDS, (home, data_dir, log_dir, cache_dir), strict=True):
            object.__setattr__(self, name, value)

    def _values(self) -> tuple[Path, ...]:
        return (self.home, self.data_dir, self.log_dir, self.cache_dir)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"AppPaths is read-only: cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"AppPaths is read-only: cannot delete {name!r}")

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, AppPaths)
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __reduce__(self) -> tuple[type[AppPaths], tuple[Path, ...]]:
        return (AppPaths, self._values())

    def __repr__(self) -> str:
        fields = ", ".join(f"{n}={v!r}" for n, v in zip(self._FIELDS, self._values(), strict=True))
        return f"AppPaths({fields})"

    @property
    def settings_file(self) -> Path:
        return self.home / "settings.json"

    @property
    def stub_data_dir(self) -> Path:
        """Data of the bundled demo platform (内置演示平台)."""
        return self.home / "platform"

    def enterprise_dir(self, taxpayer_id: str) -> Path:
        """``<data>/<纳税人识别号>/`` — everything of one enterprise."""
        if not taxpayer_id.isalnum():
            raise ValueError(f"bad taxpayer id {taxpayer_id!r}")
        return self.data_dir / taxpayer_id

    def feedback_dir(self, taxpayer_id: str) -> Path:
        return self.enterprise_dir(taxpayer_id) / "反馈"

    def documents_dir(self, taxpayer_id: str) -> Path:
        return self.enterprise_dir(taxpayer_id) / "文书"

    def store_path(self, taxpayer_id: str) -> Path:
        return self.enterprise_dir(taxpayer_id) / "local.sqlite3"


def app_paths(home: Path | None = None) -> AppPaths:
    """The folders for ``home`` (``--home``), else ``TUISHUI_HOME``, else the OS defaults."""
    if home is None and os.environ.get(HOME_ENV):
        home = Path(os.environ[HOME_ENV])
    if home is not None:
        home = home.expanduser().absolute()
        return AppPaths(home, home / "data", home / "logs", home / "cache")
    import platformdirs

    base = Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    return AppPaths(
        home=base,
        data_dir=base / "data",
        log_dir=Path(platformdirs.user_log_dir(APP_NAME, appauthor=False)),
        cache_dir=Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False)),
    )


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``path`` so that readers see the old content or the new, never half of it."""
    import tempfile  # not at start-up: the login window comes first (P1)

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))
