"""The items of the two strips inside the main module: funcref table slots and memory regions."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPen
from PySide6.QtWidgets import QGraphicsRectItem

from ...engine.layout import Region
from ...engine.trace import Slot
from .. import colors
from .paint import CENTER, Ink, draw_text, font, mix


class SlotItem(QGraphicsRectItem):
    """One funcref table slot: its index above, owner inside, coloured by owning module.

    ``slot`` is None for a "ghost": an index past the end of the table that a call used.
    """

    def __init__(self, rect: QRectF, index: int, slot: Slot | None, ink: Ink,
                 how: str = "", reserved_for: int | None = None) -> None:
        super().__init__(rect)
        self.index, self.slot, self.ink = index, slot, ink
        self.how = how   # how a generated function got here (its module's link style)
        #: pic: the module main reserved this (still null) slot for, before instantiating it.
        self.reserved_for = reserved_for
        self.ring: QColor | None = None   # call path / trap / just installed
        self.glow = 0.0                   # 0..1, an animated halo
        self.setToolTip(self._tip())

    def label_text(self) -> str:
        return self.slot.label if self.slot else "past the end"

    def fill(self) -> QColor:
        if self.slot is None or self.slot.kind == "null":
            return mix(self.ink.bg, colors.NULL, 0.45)
        return colors.module_color(self.slot.module if self.slot.kind == "generated" else None)

    def _tip(self) -> str:
        s, i = self.slot, self.index
        if s is None:
            return (f"Slot {i} does not exist: the table is shorter, so call_indirect with "
                    f"index {i} traps (out of bounds).")
        if s.kind == "null" and self.reserved_for is not None:
            return (f"Slot {i} is null, but taken: main reserved it with table.grow for module "
                    f"{self.reserved_for} before asking the host to instantiate it; the "
                    f"module's active element segment is to fill it (a failed instantiation "
                    f"leaves it null: main does not give it back).")
        if s.kind == "null":
            return ("Slot 0 stays null forever, so a code slot of 0 can mean 'not compiled'."
                    if i == 0 else f"Slot {i} is null: nothing is installed here, and "
                    f"call_indirect through it traps.")
        if s.kind == "main":
            return (f"Slot {i} holds the main module's {s.function}: the interpreter entry for "
                    f"functions with {i - 1} parameter(s) that are not compiled yet.")
        return (f"Slot {i} holds {s.label}: JIT code of generated module {s.module}, put here "
                f"{self.how or 'when it was linked'}.")

    def set_glow(self, v: float) -> None:
        self.glow = v
        self.update()

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt override
        return self.rect().adjusted(-8, -24, 8, 8)   # room for the index above and the halo

    def paint(self, p: QPainter, option: object, widget: object = None) -> None:
        r, ghost = self.rect(), self.slot is None
        draw_text(p, QRectF(r.left(), r.top() - 22, r.width(), 20), str(self.index),
                  font(10.5, True), colors.TRAP if ghost else self.ink.muted, CENTER)
        if self.glow > 0:
            halo = QColor(self.ring or colors.CALL)
            halo.setAlphaF(0.45 * self.glow)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(halo)
            p.drawRoundedRect(r.adjusted(-7, -7, 7, 7), 9, 9)
        fill = self.fill()
        p.setBrush(Qt.BrushStyle.NoBrush if ghost else fill)
        p.setPen(QPen(colors.TRAP, 2, Qt.PenStyle.DashLine) if ghost
                 else QPen(mix(fill, self.ink.text, 0.25), 1))
        p.drawRoundedRect(r, 6, 6)
        null = ghost or self.slot.kind == "null"
        if not ghost and null:
            p.setBrush(QBrush(mix(fill, self.ink.text, 0.25), Qt.BrushStyle.BDiagPattern))
            p.drawRoundedRect(r, 6, 6)
        if self.ring is not None:
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.setPen(QPen(self.ring, 3.5))
            p.drawRoundedRect(r.adjusted(-2, -2, 2, 2), 7, 7)
        text = self.ink.text if null else colors.text_on(fill)
        owner, _, func = self.label_text().partition(".")
        half = r.height() / 2 - 4
        if self.reserved_for is not None:   # null, but main's: whose, above the null
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.setPen(QPen(colors.module_color(self.reserved_for), 2.5, Qt.PenStyle.DashLine))
            p.drawRoundedRect(r.adjusted(1, 1, -1, -1), 6, 6)
            owner, func = f"for m{self.reserved_for}", owner
        if func:
            draw_text(p, QRectF(r.left() + 3, r.top() + 4, r.width() - 6, half), owner,
                      font(10), text, CENTER)
            draw_text(p, QRectF(r.left() + 3, r.center().y(), r.width() - 6, half), func,
                      font(10.5, True), text, CENTER)
        else:
            draw_text(p, r.adjusted(3, 0, -3, 0), owner, font(10, ghost), text, CENTER, ghost)


#: The size of a region's title and address (draw_memory sizes the boxes to fit them).
REGION_TITLE_PT = 10.0


class RegionItem(QGraphicsRectItem):
    """A memory region: name and address on top, a band below where changed bytes light up.

    The band shows ``span`` bytes from the region's start, so the few bytes a step touches are
    wide enough to see; ``title`` replaces the region's name where the band is too narrow.
    """

    def __init__(self, rect: QRectF, region: Region, ink: Ink, span: int, title: str = "",
                 address: str = "") -> None:
        super().__init__(rect)
        self.region, self.ink, self.span = region, ink, span
        self.title = title or region.name
        self.address = address or f"0x{region.start:05x}"
        self.setToolTip(f"{region.name} (0x{region.start:05x}–0x{region.end - 1:05x}): "
                        f"{region.meaning}")

    def band(self) -> QRectF:
        r = self.rect()
        return QRectF(r.left() + 6, r.bottom() - 30, r.width() - 12, 24)

    def x_of(self, address: int) -> float:
        b = self.band()
        return b.left() + b.width() * min(1.0, max(0.0, (address - self.region.start) / self.span))

    def cell_rect(self, address: int, length: int) -> QRectF:
        b = self.band()
        x0 = min(self.x_of(address), b.right() - 5)
        return QRectF(x0, b.top(), max(self.x_of(address + length) - x0, 5.0), b.height())

    def paint(self, p: QPainter, option: object, widget: object = None) -> None:
        r = self.rect()
        p.setPen(QPen(mix(colors.MAIN, self.ink.bg, 0.3), 1.5))
        p.setBrush(self.ink.tint(colors.MAIN, 0.08))
        p.drawRoundedRect(r, 6, 6)
        draw_text(p, QRectF(r.left() + 6, r.top() + 4, r.width() - 10, 20), self.title,
                  font(REGION_TITLE_PT, True), self.ink.text)
        draw_text(p, QRectF(r.left() + 6, r.top() + 23, r.width() - 8, 18),
                  self.address, font(REGION_TITLE_PT), self.ink.muted)
        p.setPen(QPen(mix(self.ink.bg, self.ink.text, 0.2), 1))
        p.setBrush(self.ink.bg)
        p.drawRect(self.band())
