"""``tuishui --self-test [--home DIR]``: the installed client checks itself, without a window.

Runs :func:`app.selftest.run_self_test` (bundled platform, login, upload, audit,
feedback, acceptance) and opens the acceptance PDF with QtPdf, as the document viewer
does. Exit 0 when everything worked; otherwise 1, with the reason on standard error (when
there is one: a windowed build has none) and in the application log.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtPdf import QPdfDocument

from app.errors import CoreError, LocalError
from app.logs import setup_logging
from app.paths import app_paths
from app.selftest import run_self_test

log = logging.getLogger(__name__)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="tuishui --self-test", description="客户端自检")
    parser.add_argument("--self-test", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--home", type=Path, help="把设置、数据和日志都放在这个文件夹")
    args = parser.parse_args(argv)
    paths = app_paths(args.home)
    setup_logging(paths)
    try:
        pdf = run_self_test(paths, log=_say)
        pages = check_pdf(pdf)
    except CoreError as exc:
        log.error("self-test failed: %s", exc.detail)
        _say(exc.detail, error=True)
        return 1
    _say(f"自检通过：受理通知 {pdf}（{pages} 页）已用 QtPdf 打开。日志在 {paths.log_dir}")
    return 0


def check_pdf(path: Path) -> int:
    """Open ``path`` with QtPdf and render page 1; return the page count."""
    app = QGuiApplication.instance() or QGuiApplication([sys.argv[0]])
    document = QPdfDocument(app)
    try:
        document.load(str(path))
        if document.status() != QPdfDocument.Status.Ready or document.pageCount() < 1:
            raise LocalError(f"自检失败（打开PDF）：QtPdf 无法打开 {path}（{document.error()}）。")
        image = document.render(0, document.pagePointSize(0).toSize())
        # render() leaves the background transparent: a page with text has opaque pixels
        if image.isNull() or not has_ink(image):
            raise LocalError(f"自检失败（打开PDF）：{path} 的第 1 页渲染为空白。")
        return document.pageCount()
    finally:
        document.close()
        document.deleteLater()


def has_ink(image: QImage) -> bool:
    """True when some pixel is not fully transparent."""
    argb = image.convertToFormat(QImage.Format.Format_ARGB32)
    return any(bytes(argb.constBits())[3::4])  # alpha is byte 3 of each pixel (BGRA)


def _say(text: str, *, error: bool = False) -> None:
    """A line on the console when there is one, and in the application log."""
    log.info("%s", text)
    stream = sys.stderr if error else sys.stdout
    if stream is not None:
        print(text, file=stream, flush=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
