"""Where the client keeps its files (目录).

Every folder comes from ``platformdirs``, with one override — ``TUISHUI_HOME`` or the
``--home`` option — that puts everything under one folder (tests, portable installs).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

APP_NAME = "tuishui"
HOME_ENV = "TUISHUI_HOME"


@dataclass(frozen=True, slots=True)
class AppPaths:
    """The client's folders. Nothing is created until it is first written to."""

    home: Path
    data_dir: Path
    log_dir: Path
    cache_dir: Path

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
