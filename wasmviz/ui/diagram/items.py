"""The diagram's general-purpose graphics items: boxes, arrows, notes and the trap marker.

Items paint themselves from plain values handed to them (a title, a colour, some text), so the
view can rebuild the whole scene for any step: that is what makes "step back" show exactly the
recorded state. Colours come from colors.py; text and background from the widget palette (Ink).
"""

from __future__ import annotations

import math
from typing import Sequence

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFontMetricsF, QPainter, QPainterPath, QPainterPathStroker, QPen
from PySide6.QtWidgets import QGraphicsPathItem, QGraphicsRectItem

from .. import colors
from .paint import CENTER, LEFT_TOP, Ink, draw_text, font, text_height


class Box(QGraphicsRectItem):
    """A rounded box with a title (optionally after a coloured pill) and rows of text.

    The host, the main module and its parts, and each generated module; a failed module is
    dashed and crossed out in red. ``keys`` name the rows, so arrows can find "m1.expr".
    """

    TITLE_H, ROW_H = 34.0, 22.0

    def __init__(self, rect: QRectF, title: str, color: QColor, ink: Ink, *,
                 lines: Sequence[str] = (), pill: str = "", dashed: bool = False,
                 failed: bool = False, title_pt: float = 12.0, tip: str = "") -> None:
        super().__init__(rect)
        self.title, self.color, self.ink, self.lines = title, QColor(color), ink, list(lines)
        self.pill, self.dashed, self.failed, self.title_pt = pill, dashed, failed, title_pt
        self.row_marks: dict[int, QColor] = {}   # row -> highlight band (call target, trap)
        self.number: int | None = None           # a generated module's number
        self.keys: list[str] = []                # row names, parallel to ``lines``
        self.setToolTip(tip)

    def title_text(self) -> str:
        return f"{self.pill} {self.title}".strip()

    def anchor(self, key: str) -> QPointF:
        """Where an arrow to row ``key`` arrives: its left edge, else the title's."""
        r = self.rect()
        row = self.keys.index(key) if key in self.keys[: len(self.lines)] else -1
        y = r.top() + self.TITLE_H + (row + 0.5) * self.ROW_H if row >= 0 else r.top() + 20
        return QPointF(r.left(), y)

    def paint(self, p: QPainter, option: object, widget: object = None) -> None:
        r = self.rect()
        p.setPen(QPen(self.color, 2.0, Qt.PenStyle.DashLine if self.dashed else
                      Qt.PenStyle.SolidLine))
        p.setBrush(self.ink.tint(self.color, 0.06 if self.dashed else 0.12))
        p.drawRoundedRect(r, 10, 10)
        if self.failed:   # under the text, so the reason stays readable
            cross = QColor(colors.TRAP)
            cross.setAlphaF(0.55)
            p.setPen(QPen(cross, 3.0))
            inset = r.adjusted(18, 8, -18, -8)
            p.drawLine(inset.topLeft(), inset.bottomRight())
            p.drawLine(inset.topRight(), inset.bottomLeft())
        x = r.left() + 12
        title_f = font(self.title_pt, True)
        if self.pill:
            pw = QFontMetricsF(title_f).horizontalAdvance(self.pill) + 16
            pill = QRectF(x, r.top() + 7, pw, 22)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(self.color)
            p.drawRoundedRect(pill, 11, 11)
            draw_text(p, pill, self.pill, title_f, colors.text_on(self.color), CENTER)
            x += pw + 8
        draw_text(p, QRectF(x, r.top() + 4, r.right() - x - 8, 28), self.title, title_f,
                  colors.TRAP if self.failed else self.ink.text)
        for i, line in enumerate(self.lines):
            top = r.top() + self.TITLE_H + i * self.ROW_H
            band = QRectF(r.left() + 4, top + 1, r.width() - 8, self.ROW_H - 2)
            if band.bottom() > r.bottom():
                break
            color = self.ink.muted if line.startswith("·") else self.ink.text
            if i in self.row_marks:
                p.setPen(Qt.PenStyle.NoPen)
                p.setBrush(self.row_marks[i])
                p.drawRoundedRect(band, 5, 5)
                color = colors.text_on(self.row_marks[i])
            draw_text(p, band.adjusted(8, 0, -4, 0), line, font(10.5), color)


class Arrow(QGraphicsPathItem):
    """A path with an arrow head, drawn up to ``progress`` (0..1) so it can grow."""

    def __init__(self, path: QPainterPath, color: QColor, ink: Ink, width: float = 2.0,
                 dashed: bool = False, tip: str = "") -> None:
        super().__init__(path)
        self.color, self.ink, self.width, self.dashed = QColor(color), ink, width, dashed
        self.progress = 1.0
        self.setToolTip(tip)

    def set_progress(self, v: float) -> None:
        self.progress = v
        self.update()

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt override
        return self.path().boundingRect().adjusted(-12, -12, 12, 12)

    def shape(self) -> QPainterPath:
        stroker = QPainterPathStroker()
        stroker.setWidth(self.width + 8)
        return stroker.createStroke(self.path())

    def paint(self, p: QPainter, option: object, widget: object = None) -> None:
        if self.progress <= 0.001:
            return
        full, upto = self.path(), self.progress
        part = full
        if upto < 0.999:
            part = QPainterPath(full.pointAtPercent(0))
            for i in range(1, 61):
                part.lineTo(full.pointAtPercent(upto * i / 60))
        # A halo in the background colour keeps the arrow legible where it crosses things.
        p.setBrush(Qt.BrushStyle.NoBrush)
        for color, width, style in ((self.ink.bg, self.width + 4, Qt.PenStyle.SolidLine),
                                    (self.color, self.width, Qt.PenStyle.DashLine
                                     if self.dashed else Qt.PenStyle.SolidLine)):
            p.setPen(QPen(color, width, style, Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin))
            p.drawPath(part)
        tip, back = full.pointAtPercent(upto), full.pointAtPercent(max(0.0, upto - 0.02))
        angle = math.atan2(tip.y() - back.y(), tip.x() - back.x())
        size = 7 + self.width * 1.5
        head = QPainterPath(tip)
        for da in (2.6, -2.6):
            head.lineTo(tip + size * QPointF(math.cos(angle + da), math.sin(angle + da)))
        head.closeSubpath()
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(self.color)
        p.drawPath(head)


class Note(QGraphicsRectItem):
    """A rounded label or callout: text (wrapped or elided) on an optional fill and border."""

    def __init__(self, rect: QRectF, text: str, ink: Ink, *, fill: QColor | None = None,
                 border: QColor | None = None, pt: float = 11.0, bold: bool = False,
                 align: Qt.AlignmentFlag = CENTER, radius: float = 8.0, wrap: bool = False,
                 heading: str = "", tip: str = "") -> None:
        super().__init__(rect)
        self.text, self.ink, self.fill, self.border = text, ink, fill, border
        self.pt, self.bold, self.align, self.radius, self.wrap = pt, bold, align, radius, wrap
        self.heading = heading
        self.setToolTip(tip)

    def paint(self, p: QPainter, option: object, widget: object = None) -> None:
        r = self.rect()
        p.setBrush(self.fill if self.fill is not None else Qt.BrushStyle.NoBrush)
        p.setPen(QPen(self.border, 2) if self.border is not None else Qt.PenStyle.NoPen)
        p.drawRoundedRect(r, self.radius, self.radius)
        strong = self.fill is not None and self.fill not in (self.ink.bg, self.ink.panel)
        color = colors.text_on(self.fill) if strong else self.ink.text
        inner = r.adjusted(10, 4, -10, -4) if self.wrap or self.heading else r.adjusted(6, 0, -6, 0)
        if self.heading:
            neutral = self.border is None or self.border.saturationF() < 0.2
            draw_text(p, QRectF(inner.left(), inner.top(), inner.width(), 22), self.heading,
                      font(self.pt, True), color if neutral else self.border)
            inner.setTop(inner.top() + 24)
        draw_text(p, inner, self.text, font(self.pt, self.bold), color, self.align, self.wrap)


class TrapMarker(Note):
    """Where a trap happened: its code and, in plain words, why (from the step's caption)."""

    def __init__(self, rect: QRectF, code: str, reason: str, ink: Ink, *,
                 slot: int | None = None, where: str = "") -> None:
        text = f"in {where}: {reason}" if where else reason
        rect.setHeight(text_height(text, 10.5, rect.width() - 20) + 40)
        super().__init__(rect, text, ink, fill=ink.bg, border=colors.TRAP, pt=10.5,
                         align=LEFT_TOP, wrap=True, heading=f"✖ trap: {code}",
                         tip=f"The run stopped here with the trap {code}: {reason}")
        self.code, self.slot, self.where, self.reason = code, slot, where, reason
