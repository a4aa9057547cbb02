"""Regenerate ``app.ico`` (every size Windows asks for) and ``app-256.png`` from ``app.svg``.

Run: ``python resources/build_icon.py``. Each size is rendered by QtSvg and stored as a
PNG entry of the .ico (Vista+ format), so small sizes stay crisp.
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

HERE = Path(__file__).resolve().parent
SIZES = (16, 20, 24, 32, 40, 48, 64, 96, 128, 256)


def render(renderer: QSvgRenderer, size: int) -> bytes:
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    return bytes(data.data())


def main() -> None:
    _app = QGuiApplication(sys.argv)
    renderer = QSvgRenderer(str(HERE / "app.svg"))
    pngs = [render(renderer, s) for s in SIZES]
    header = struct.pack("<HHH", 0, 1, len(SIZES))
    offset = 6 + 16 * len(SIZES)
    entries = b""
    for s, png in zip(SIZES, pngs, strict=True):
        dim = 0 if s >= 256 else s
        entries += struct.pack("<BBBBHHII", dim, dim, 0, 0, 1, 32, len(png), offset)
        offset += len(png)
    (HERE / "app.ico").write_bytes(header + entries + b"".join(pngs))
    (HERE / "app-256.png").write_bytes(pngs[-1])


if __name__ == "__main__":
    main()
