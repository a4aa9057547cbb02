"""The icon set and the style sheet, loaded from ``resources/`` in one place.

Icons are line drawings in ``resources/icons/*.svg`` (24 × 24, ``currentColor``
strokes). :func:`icon` recolours one and renders it at each size and scale a widget
paints it (crisp at 100–200 % scaling), with a greyed variant for disabled buttons.
"""

from __future__ import annotations

import sys
from functools import cache
from pathlib import Path

from PySide6.QtCore import QByteArray, QRect, QRectF, QSize
from PySide6.QtGui import (
    QColor,
    QFont,
    QGuiApplication,
    QIcon,
    QIconEngine,
    QPainter,
    QPalette,
    QPixmap,
)
from PySide6.QtSvg import QSvgRenderer

ACCENT = "#1f5fbf"
_INK = "#3c4656"
_DISABLED = "#a8b0bc"


@cache
def resources_dir() -> Path:
    frozen = getattr(sys, "_MEIPASS", None)
    base = Path(frozen) if frozen else Path(__file__).resolve().parent.parent
    return base / "resources"


def _svg(name: str) -> str:
    return (resources_dir() / "icons" / f"{name}.svg").read_text(encoding="utf-8")


class _SvgIconEngine(QIconEngine):
    """One recoloured SVG, rendered at the size and scale a widget paints it, once each.

    Rendering every size up front (six sizes, normal and disabled) for each icon of a
    window took longer than building the window (P1); most sizes are never painted.
    """

    def __init__(self, svg: str, color: str) -> None:
        super().__init__()
        self._svg = svg
        self._color = color
        self._renderers: dict[bool, QSvgRenderer] = {}
        self._pixmaps: dict[tuple[int, int, bool, float], QPixmap] = {}

    def _renderer(self, disabled: bool) -> QSvgRenderer:
        renderer = self._renderers.get(disabled)
        if renderer is None:
            color = _DISABLED if disabled else self._color
            renderer = QSvgRenderer(QByteArray(self._svg.replace("currentColor", color).encode()))
            self._renderers[disabled] = renderer
        return renderer

    def scaledPixmap(
        self, size: QSize, mode: QIcon.Mode, state: QIcon.State, scale: float
    ) -> QPixmap:
        disabled = mode == QIcon.Mode.Disabled
        key = (size.width(), size.height(), disabled, scale)
        px = self._pixmaps.get(key)
        if px is None:
            px = QPixmap(round(size.width() * scale), round(size.height() * scale))
            px.fill(QColor(0, 0, 0, 0))
            painter = QPainter(px)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            self._renderer(disabled).render(painter, QRectF(0, 0, px.width(), px.height()))
            painter.end()
            px.setDevicePixelRatio(scale)
            self._pixmaps[key] = px
        return px

    def pixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State) -> QPixmap:
        return self.scaledPixmap(size, mode, state, 1.0)

    def paint(self, painter: QPainter, rect: QRect, mode: QIcon.Mode, state: QIcon.State) -> None:
        scale = painter.device().devicePixelRatioF() if painter.device() is not None else 1.0
        painter.drawPixmap(rect, self.scaledPixmap(rect.size(), mode, state, scale))

    def clone(self) -> QIconEngine:
        twin = _SvgIconEngine(self._svg, self._color)
        _ENGINES.append(twin)
        return twin


# The engines live as long as the app: a QIcon refers to its engine from C++.
_ENGINES: list[_SvgIconEngine] = []


@cache
def icon(name: str, color: str = "") -> QIcon:
    """The icon ``name`` (file stem under resources/icons) in ``color`` (default: ink)."""
    engine = _SvgIconEngine(_svg(name), color or ink())
    _ENGINES.append(engine)
    return QIcon(engine)


@cache
def app_icon() -> QIcon:
    result = QIcon()
    ico = resources_dir() / "app.ico"
    if sys.platform == "win32" and ico.exists():  # elsewhere the SVG serves (and reads lazily)
        result.addFile(str(ico))
    result.addFile(str(resources_dir() / "app.svg"), QSize(256, 256))
    return result


def dark_mode() -> bool:
    """The system (or, once styled, our) palette is dark.

    Read from the palette rather than ``QStyleHints.colorScheme()``: that returns a
    ``Qt`` enum, and building PySide6's ``Qt`` namespace costs ~12 ms before the login
    window can show (P1).
    """
    app = QGuiApplication.instance()
    if not isinstance(app, QGuiApplication):
        return False
    palette = app.palette()
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


def ink() -> str:
    return tone(_INK, "#c9d1dc")


def tone(light: str, dark: str) -> str:
    """A colour painted in code (not through the style sheet): the variant of the palette."""
    return dark if dark_mode() else light


def ui_font_family() -> str:
    return "Microsoft YaHei UI" if sys.platform == "win32" else "Noto Sans CJK SC"


def apply_style(app: QGuiApplication, *, set_style: bool = True) -> None:
    """The house look: Fusion, the CJK UI font, the style sheet (light or dark palette).

    ``set_style=False`` when the app was started with ``-style Fusion`` already.
    """
    from PySide6.QtWidgets import QApplication

    if set_style and isinstance(app, QApplication):
        app.setStyle("Fusion")
    font = QFont(ui_font_family())
    font.setPointSizeF(9.5 if sys.platform == "win32" else 10)
    font.setStyleHint(QFont.StyleHint.SansSerif)
    app.setFont(font)
    dark = dark_mode()
    palette = QPalette()
    if dark:
        for role, color in (
            (QPalette.ColorRole.Window, "#1e2228"),
            (QPalette.ColorRole.Base, "#16191e"),
            (QPalette.ColorRole.AlternateBase, "#1c2026"),
            (QPalette.ColorRole.Text, "#e4e8ee"),
            (QPalette.ColorRole.WindowText, "#e4e8ee"),
            (QPalette.ColorRole.Button, "#2a2f37"),
            (QPalette.ColorRole.ButtonText, "#e4e8ee"),
            (QPalette.ColorRole.Highlight, "#2f6fd0"),
            (QPalette.ColorRole.HighlightedText, "#ffffff"),
            (QPalette.ColorRole.PlaceholderText, "#8a93a0"),
            (QPalette.ColorRole.ToolTipBase, "#2a2f37"),
            (QPalette.ColorRole.ToolTipText, "#e4e8ee"),
            (QPalette.ColorRole.Link, "#7fb0ff"),
        ):
            palette.setColor(role, QColor(color))
    else:
        for role, color in (
            (QPalette.ColorRole.Window, "#f4f6f9"),
            (QPalette.ColorRole.Base, "#ffffff"),
            (QPalette.ColorRole.AlternateBase, "#f7f9fc"),
            (QPalette.ColorRole.Text, "#1f2733"),
            (QPalette.ColorRole.WindowText, "#1f2733"),
            (QPalette.ColorRole.Button, "#ffffff"),
            (QPalette.ColorRole.ButtonText, "#1f2733"),
            (QPalette.ColorRole.Highlight, "#d6e4f8"),
            (QPalette.ColorRole.HighlightedText, "#1f2733"),
            (QPalette.ColorRole.PlaceholderText, "#8a93a0"),
            (QPalette.ColorRole.ToolTipBase, "#ffffff"),
            (QPalette.ColorRole.ToolTipText, "#1f2733"),
            (QPalette.ColorRole.Link, ACCENT),
        ):
            palette.setColor(role, QColor(color))
    app.setPalette(palette)
    qss = (resources_dir() / "style.qss").read_text(encoding="utf-8")
    for token, (light_value, dark_value) in sorted(_TOKENS.items(), key=lambda t: -len(t[0])):
        qss = qss.replace(token, dark_value if dark else light_value)
    qss = qss.replace("$resources", resources_dir().as_posix())
    if isinstance(app, QApplication):
        app.setStyleSheet(qss)


# Style sheet tokens ($name in style.qss): (light, dark).
_TOKENS = {
    "$window": ("#f4f6f9", "#1e2228"),
    "$card": ("#ffffff", "#252a31"),
    "$border": ("#dde2e9", "#3a414b"),
    "$text": ("#1f2733", "#e4e8ee"),
    "$muted": ("#6b7482", "#9aa3b0"),
    "$hover": ("#eef3fb", "#2c3440"),
    "$header": ("#f7f9fc", "#2a2f37"),
    "$selected": ("#d6e4f8", "#2f4a75"),
    "$accentHover": ("#1a52a6", "#3a7be0"),
    "$banner": ("#fff4e0", "#4a3a1a"),
    "$bannerText": ("#7a4b00", "#ffd89a"),
    "$accent": (ACCENT, "#3b7ddd"),
}
