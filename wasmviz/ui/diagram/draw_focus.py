"""A lesson's highlights: a ring around each thing the narration talks about.

The ring is drawn over everything else, dashed in the text colour with a faint halo of the same
colour: neutral, so it reads on top of any module colour in light and dark palettes and never
borrows a hue that means something else (blue is the main module).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QGraphicsRectItem

from .paint import Ink
from .picture import HOST, Picture

if TYPE_CHECKING:  # a lesson's rings: the lessons package is imported with the first lesson
    from ...lessons import Highlight

#: Above every other item (the view finds rings by it to replace them).
FOCUS_Z = 20


class FocusRing(QGraphicsRectItem):
    """A dashed rounded ring with a soft halo; ``set_pulse`` fades the halo in."""

    def __init__(self, rect: QRectF, ink: Ink, halo: QColor, text: str) -> None:
        super().__init__(rect)
        self.ink, self.halo, self.text = ink, QColor(halo), text
        self.pulse = 1.0
        self.setToolTip(f"The lesson points here: {text}")

    def set_pulse(self, v: float) -> None:
        self.pulse = v
        self.update()

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt override
        return self.rect().adjusted(-6, -6, 6, 6)

    def paint(self, p: QPainter, option: object, widget: object = None) -> None:
        r = self.rect()
        halo = QColor(self.halo)
        halo.setAlphaF(0.18 * self.pulse)
        p.setPen(QPen(halo, 9))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawRoundedRect(r, 8, 8)
        pen = QPen(self.ink.text, 2.4, Qt.PenStyle.DashLine)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        p.setPen(pen)
        p.drawRoundedRect(r, 8, 8)


def draw_focus(pic: Picture, highlights: tuple[Highlight, ...]) -> list[str]:
    """Ring every highlight that is on the picture; return the texts of those drawn."""
    drawn = []
    for h in highlights:
        rect = target_rect(pic, h)
        if rect is None:
            continue
        ring = pic.add(FocusRing(rect.adjusted(-5, -5, 5, 5), pic.ink, pic.ink.text, h.text),
                       FOCUS_Z)
        pic.tween(ring.set_pulse, 0.5, 1.0)
        drawn.append(h.text)
    return drawn


def target_rect(pic: Picture, h: Highlight) -> QRectF | None:
    """Where ``h`` is in the scene, or None if the picture does not show it."""
    if h.kind == "slot":
        slot = pic.slots.get(h.target)
        # Around the slot and its index above it, so the ring never covers the number.
        return slot.rect().adjusted(0, -22, 0, 0) if slot is not None else None
    if h.kind == "module":
        box = pic.module_box(h.target)
        return box.rect() if box is not None else None
    if h.kind == "host":
        return QRectF(HOST)
    if h.kind == "region":
        region = pic.regions.get(h.target)
        return region.rect() if region is not None else None
    if h.kind == "memory":
        return _memory_rect(pic, h.target, h.length)
    if h.kind == "section":
        span = _section_span(pic, h.target)
        return _memory_rect(pic, *span) if span else None
    if h.kind == "arrow":
        items = pic.arrows.get(h.target, [])
        if not items:
            return None
        rect = items[0].sceneBoundingRect()
        for item in items[1:]:
            rect = rect.united(item.sceneBoundingRect())
        return rect
    return None


def _memory_rect(pic: Picture, address: int, length: int) -> QRectF | None:
    for item in pic.regions.values():
        if item.region.start <= address < item.region.end:
            return item.cell_rect(address, max(length, 1)).adjusted(-2, -2, 2, 2)
    return None


def _section_span(pic: Picture, name: str) -> tuple[int, int] | None:
    """The bytes of the newest section called ``name`` written by the step on screen."""
    for step in reversed(pic.trace.steps[: pic.index + 1]):
        d = step.detail
        if d.get("section") == name and "start" in d and "end" in d:
            return int(d["start"]), int(d["end"]) - int(d["start"])
    return None
