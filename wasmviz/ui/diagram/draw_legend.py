"""The legend under the caption: what each colour and mark in the picture means.

Each colour has one meaning: blue is the main module, each generated module has its own hue,
grey is the host, orange marks what this step changed, green is the call path and red a trap.
Phase chips are neutral (ink on background), so they never borrow a module's colour.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFontMetricsF, QPainter, QPen
from PySide6.QtWidgets import QGraphicsRectItem

from ...engine.trace import Step
from .. import colors
from .history import ModuleState
from .paint import LEFT_MID, Ink, draw_text, font
from .picture import LEGEND, Picture

#: How many module swatches the legend lists before "…".
MAX_MODULES = 6
LEGEND_PT = 11.0


class Swatch(QGraphicsRectItem):
    """One legend entry: a mark drawn the way the picture draws that thing, then its meaning."""

    def __init__(self, x: float, kind: str, color: QColor, text: str, ink: Ink) -> None:
        width = 26 + QFontMetricsF(font(LEGEND_PT)).horizontalAdvance(text) + 14
        super().__init__(QRectF(x, LEGEND.top(), width, LEGEND.height()))
        self.kind, self.color, self.text, self.ink = kind, QColor(color), text, ink

    def paint(self, p: QPainter, option: object, widget: object = None) -> None:
        r = self.rect()
        mark = QRectF(r.left(), r.center().y() - 8, 20, 16)
        p.setBrush(Qt.BrushStyle.NoBrush)
        if self.kind == "fill":
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(self.color)
            p.drawRoundedRect(mark, 4, 4)
        elif self.kind == "ring":          # changed in this step: an orange outline / cell
            p.setPen(QPen(self.color, 3))
            p.drawRoundedRect(mark.adjusted(1, 1, -1, -1), 4, 4)
        elif self.kind == "line":          # the call path
            p.setPen(QPen(self.color, 3))
            p.drawLine(mark.left(), mark.center().y(), mark.right(), mark.center().y())
        elif self.kind == "dashed":        # an import: drawn in its module's colour, so no hue here
            p.setPen(QPen(self.ink.muted, 1.8, Qt.PenStyle.DashLine))
            p.drawLine(mark.left(), mark.center().y(), mark.right(), mark.center().y())
        elif self.kind == "chip":          # the current phase
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(self.ink.text)
            p.drawRoundedRect(mark, 8, 8)
        draw_text(p, QRectF(mark.right() + 6, r.top(), r.width() - 26, r.height()), self.text,
                  font(LEGEND_PT), self.ink.text, LEFT_MID)


def legend_entries(modules: dict[int, ModuleState]) -> list[tuple[str, QColor, str]]:
    """(mark kind, colour, meaning) for each entry, the modules seen so far included."""
    entries = [("fill", colors.MAIN, "main"), ("fill", colors.HOST, "host")]
    numbers = sorted(modules)
    for n in numbers[-MAX_MODULES:]:
        entries.append(("fill", colors.module_color(n), f"m{n}"))
    entries += [("ring", colors.CHANGE, "changed in this step"),
                ("line", colors.CALL, "call path"), ("dashed", colors.HOST, "import (dashed)"),
                ("fill", colors.TRAP, "trap"),
                ("chip", colors.HOST, "current phase")]
    return entries


def draw_legend(pic: Picture, step: Step, modules: dict[int, ModuleState]) -> None:
    """Draw the legend row; entries that do not fit are left out rather than squeezed."""
    del step  # the legend depends on the modules seen, not on the step's kind
    x = LEGEND.left()
    width = QFontMetricsF(font(LEGEND_PT, True)).horizontalAdvance("Colours:") + 16
    pic.label(QRectF(x, LEGEND.top(), width, LEGEND.height()), "Colours:", LEGEND_PT, True,
              tip="What the colours mean; each colour has one meaning.")
    x += width
    pic.legend = []
    for kind, color, text in legend_entries(modules):
        item = Swatch(x, kind, color, text, pic.ink)
        if item.rect().right() > LEGEND.right():
            break
        item.setToolTip(f"{text}: drawn like this in the picture")
        pic.add(item, 1)
        pic.legend.append(text)
        x = item.rect().right() + 4
