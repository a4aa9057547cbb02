"""Logging: a rotating application log and a request log the user can hand to support.

The request log has one line per HTTP call — method, path, status, milliseconds — and
never a body, password, token or key.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.paths import AppPaths

REQUEST_LOGGER = "tuishui.requests"
_MAX_BYTES = 2 * 1024 * 1024
_BACKUPS = 5

request_logger = logging.getLogger(REQUEST_LOGGER)


def setup_logging(paths: AppPaths, level: int = logging.INFO) -> None:
    """Send the app log to ``app.log`` and the request log to ``requests.log`` (rotating)."""
    import logging.handlers  # with socket, pickle …: only once logging starts (P1)

    paths.log_dir.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    if any(getattr(h, "_tuishui", False) for h in root.handlers):
        return
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    app_handler = logging.handlers.RotatingFileHandler(
        paths.log_dir / "app.log", maxBytes=_MAX_BYTES, backupCount=_BACKUPS, encoding="utf-8"
    )
    app_handler.setFormatter(fmt)
    app_handler._tuishui = True  # type: ignore[attr-defined]
    root.addHandler(app_handler)
    root.setLevel(level)

    req_handler = logging.handlers.RotatingFileHandler(
        paths.log_dir / "requests.log", maxBytes=_MAX_BYTES, backupCount=_BACKUPS, encoding="utf-8"
    )
    req_handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    request_logger.addHandler(req_handler)
    request_logger.setLevel(logging.INFO)
    request_logger.propagate = False


def log_request(method: str, path: str, status: int | str, millis: float) -> None:
    """One request-log line. ``path`` must not carry secrets (the protocol puts none there)."""
    request_logger.info("%s %s %s %.0fms", method, path, status, millis)
