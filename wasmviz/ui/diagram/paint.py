"""Painting helpers shared by every diagram item: colours from the palette, fonts, text."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPalette, QStaticText

from .. import colors

LEFT_TOP = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop
LEFT_MID = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
CENTER = Qt.AlignmentFlag.AlignCenter


def mix(a: QColor, b: QColor, t: float) -> QColor:
    """Return ``a`` blended towards ``b`` by ``t`` (0..1), opaque."""
    return QColor.fromRgbF(*(x + (y - x) * t for x, y in zip(a.getRgbF()[:3], b.getRgbF()[:3])))


#: The smallest text the diagram paints, in scene units (pixels at zoom 1). The view never
#: shows the scene smaller than LEGIBLE_PX / MIN_TEXT_PX, so no label renders below 11 px.
MIN_TEXT_PX = 15
LEGIBLE_PX = 11.0
#: Pixel sizes of the fonts painted since ``probe`` was last cleared (tests and the bench read it).
probe: set[int] = set()
#: Labels that had to be shortened with "…" since ``elided`` was last cleared.
elided: set[str] = set()


def font(points: float = 11.0, bold: bool = False) -> QFont:
    """A font of ``points`` (at 96 dpi), sized in scene pixels so text and boxes scale together.

    Pixel sizes make the layout the same on every screen; the floor keeps every label legible.
    Fonts are shared (every frame paints ~80 labels): callers must not modify them.
    """
    return _font(max(MIN_TEXT_PX, round(points * 96 / 72)), bold)


@lru_cache(maxsize=64)
def _font(pixels: int, bold: bool) -> QFont:
    f = QFont()
    f.setPixelSize(pixels)
    f.setBold(bold)
    return f


@lru_cache(maxsize=4096)
def _elided(text: str, f: QFont, width: float) -> str:
    return QFontMetricsF(f).elidedText(text, Qt.TextElideMode.ElideRight, width)


@lru_cache(maxsize=4096)
def _static(text: str, f: QFont) -> tuple[QStaticText, float, float]:
    """``text`` laid out once in ``f``, with its advance width and line height."""
    static = QStaticText(text)
    static.setTextFormat(Qt.TextFormat.PlainText)
    static.setPerformanceHint(QStaticText.PerformanceHint.AggressiveCaching)
    metrics = QFontMetricsF(f)
    return static, metrics.horizontalAdvance(text), metrics.height()


@lru_cache(maxsize=1024)
def _wrapped_height(text: str, f: QFont, width: float, flags: int) -> float:
    return QFontMetricsF(f).boundingRect(QRectF(0, 0, width, 1e4), flags, text).height()


def text_height(text: str, points: float, width: float) -> float:
    """Height ``text`` needs when word-wrapped to ``width`` (measured once: the build asks,
    and the paint of the same text asks again)."""
    return _wrapped_height(text, font(points), round(width, 1),
                           int(LEFT_TOP) | int(Qt.TextFlag.TextWordWrap))


@dataclass(frozen=True)
class Ink:
    """Text and background colours taken from the widget palette (light or dark)."""

    text: QColor
    muted: QColor
    bg: QColor
    panel: QColor

    @staticmethod
    def from_palette(p: QPalette) -> Ink:
        bg, text = p.color(QPalette.ColorRole.Base), p.color(QPalette.ColorRole.Text)
        return Ink(text, mix(text, bg, 0.38), bg, mix(bg, text, 0.05))

    def tint(self, color: QColor, amount: float = 0.12) -> QColor:
        """A box fill: ``color`` faint over the background, so palette text stays readable."""
        return mix(self.bg, color, amount)

    def frame(self) -> QColor:
        return mix(colors.MAIN, self.bg, 0.5)


def draw_text(p: QPainter, rect: QRectF, text: str, f: QFont, color: QColor,
              flags: Qt.AlignmentFlag = LEFT_MID, wrap: bool = False) -> None:
    """Draw ``text`` in ``rect``; elide single lines rather than let them spill over."""
    probe.add(f.pixelSize())
    p.setFont(f)
    p.setPen(color)
    if wrap:
        wrapped = int(flags) | int(Qt.TextFlag.TextWordWrap)
        # Wrapped text that needs more lines than the rect holds is cut off at its bottom:
        # as much a lost label as an elided one.
        if _wrapped_height(text, f, round(rect.width(), 1), wrapped) > rect.height() + 1:
            elided.add(text)
        p.drawText(rect, wrapped, text)
    else:
        shown = _elided(text, f, round(rect.width(), 1))
        if shown != text:
            elided.add(text)
        # A one-line label is laid out once and kept (QStaticText): the same labels are
        # painted on every step and every animation frame, and laying them out again each
        # time was a good part of a frame at 1920x1080.
        static, width, height = _static(shown, f)
        h = int(flags) & int(Qt.AlignmentFlag.AlignHorizontal_Mask)
        v = int(flags) & int(Qt.AlignmentFlag.AlignVertical_Mask)
        x = rect.right() - width if h & int(Qt.AlignmentFlag.AlignRight) else \
            rect.center().x() - width / 2 if h & int(Qt.AlignmentFlag.AlignHCenter) else \
            rect.left()
        y = rect.top() if v & int(Qt.AlignmentFlag.AlignTop) else \
            rect.bottom() - height if v & int(Qt.AlignmentFlag.AlignBottom) else \
            rect.center().y() - height / 2
        p.drawStaticText(QPointF(x, y), static)
