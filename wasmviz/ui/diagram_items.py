"""Graphics items of the late-linking diagram, and the little it reads from a trace's history.

Items paint themselves from plain values handed to them (a Slot, a colour, some text), so the
view can rebuild the whole scene for any step: that is what makes "step back" show exactly the
recorded state. Colours come from colors.py; text and background from the widget palette (Ink).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (QBrush, QColor, QFont, QFontMetricsF, QPainter, QPainterPath,
                           QPainterPathStroker, QPalette, QPen)
from PySide6.QtWidgets import QGraphicsPathItem, QGraphicsRectItem

from ..engine.trace import Slot, Trace
from . import colors

LEFT_TOP = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop
LEFT_MID = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
CENTER = Qt.AlignmentFlag.AlignCenter


def mix(a: QColor, b: QColor, t: float) -> QColor:
    """Return ``a`` blended towards ``b`` by ``t`` (0..1), opaque."""
    return QColor.fromRgbF(*(x + (y - x) * t for x, y in zip(a.getRgbF()[:3], b.getRgbF()[:3])))


def font(points: float = 11.0, bold: bool = False) -> QFont:
    f = QFont()
    f.setPointSizeF(points)
    f.setBold(bold)
    return f


def text_height(text: str, points: float, width: float) -> float:
    """Height ``text`` needs when word-wrapped to ``width``."""
    flags = int(LEFT_TOP) | int(Qt.TextFlag.TextWordWrap)
    return QFontMetricsF(font(points)).boundingRect(QRectF(0, 0, width, 1e4), flags, text).height()


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
    p.setFont(f)
    p.setPen(color)
    if wrap:
        p.drawText(rect, int(flags) | int(Qt.TextFlag.TextWordWrap), text)
    else:
        p.drawText(rect, int(flags),
                   QFontMetricsF(f).elidedText(text, Qt.TextElideMode.ElideRight, rect.width()))


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


class SlotItem(QGraphicsRectItem):
    """One funcref table slot: its index above, owner inside, coloured by owning module.

    ``slot`` is None for a "ghost": an index past the end of the table that a call used.
    """

    def __init__(self, rect: QRectF, index: int, slot: Slot | None, ink: Ink) -> None:
        super().__init__(rect)
        self.index, self.slot, self.ink = index, slot, ink
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
        if s.kind == "null":
            return ("Slot 0 stays null forever, so a code slot of 0 can mean 'not compiled'."
                    if i == 0 else f"Slot {i} is null: nothing is installed here, and "
                    f"call_indirect through it traps.")
        if s.kind == "main":
            return (f"Slot {i} holds the main module's {s.function}: the interpreter entry for "
                    f"functions with {i - 1} parameter(s) that are not compiled yet.")
        return (f"Slot {i} holds {s.label}: JIT code of generated module {s.module}, put here "
                f"by its patch with table.set.")

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
        if func:
            draw_text(p, QRectF(r.left() + 3, r.top() + 4, r.width() - 6, half), owner,
                      font(10), text, CENTER)
            draw_text(p, QRectF(r.left() + 3, r.center().y(), r.width() - 6, half), func,
                      font(10.5, True), text, CENTER)
        else:
            draw_text(p, r.adjusted(3, 0, -3, 0), owner, font(10, ghost), text, CENTER, ghost)


@dataclass(frozen=True)
class Region:
    """A region of main's linear memory. Its band shows ``span`` bytes from ``lo``, so the
    few bytes a step touches are wide enough to see; ``weight`` is its share of the strip."""

    key: str
    name: str
    lo: int
    hi: int
    span: int
    weight: float
    tip: str


#: The memory map of docs/abi.md ("Memory map (8 pages)"). The engine reads the same numbers
#: from main's exported globals (engine/layout.py); the diagram only needs them to place cells.
REGIONS = (
    Region("state", "VM state", 0x100, 0x200, 0x30, 0.9,
           "The VM state block: the main module's counters and settings (functions defined, "
           "heap pointer, queue length, threshold, modules generated, ...)."),
    Region("args", "args", 0x200, 0x300, 0x10, 0.85,
           "Where the host writes the arguments for invoke before each top-level call."),
    Region("queue", "hot queue", 0x400, 0x800, 0x40, 1.0,
           "The JIT queue: addresses of functions that became hot and wait for the next batch."),
    Region("functions", "function objects", 0x1000, 0x3000, 0x200, 1.6,
           "One 32-byte object per function; its first field, the code slot, is the table "
           "index every call goes through (0 = not compiled, interpret it)."),
    Region("heap", "heap", 0x3000, 0x10000, 0x200, 0.8,
           "Names and bytecode that the host's front end wrote for each function."),
    Region("stack", "interp. stack", 0x10000, 0x20000, 0x200, 1.25,
           "The interpreter's value stack, used while bytecode runs."),
    Region("jit", "JIT buffer", 0x20000, 0x80000, 0x200, 1.6,
           "Where the main module's template JIT writes each new module's bytes; the host "
           "compiles them from here (the buffer is reused for every batch)."),
)


def region_of(address: int) -> Region | None:
    return next((r for r in REGIONS if r.lo <= address < r.hi), None)


class RegionItem(QGraphicsRectItem):
    """A memory region: name and address on top, a band below where changed bytes light up."""

    def __init__(self, rect: QRectF, region: Region, ink: Ink, span: int | None = None) -> None:
        super().__init__(rect)
        self.region, self.ink, self.span = region, ink, span or region.span
        self.setToolTip(f"{region.name} (0x{region.lo:05x}–0x{region.hi - 1:05x}): {region.tip}")

    def band(self) -> QRectF:
        r = self.rect()
        return QRectF(r.left() + 6, r.bottom() - 30, r.width() - 12, 24)

    def x_of(self, address: int) -> float:
        b = self.band()
        return b.left() + b.width() * min(1.0, max(0.0, (address - self.region.lo) / self.span))

    def cell_rect(self, address: int, length: int) -> QRectF:
        b = self.band()
        x0 = min(self.x_of(address), b.right() - 5)
        return QRectF(x0, b.top(), max(self.x_of(address + length) - x0, 5.0), b.height())

    def paint(self, p: QPainter, option: object, widget: object = None) -> None:
        r = self.rect()
        p.setPen(QPen(mix(colors.MAIN, self.ink.bg, 0.3), 1.5))
        p.setBrush(self.ink.tint(colors.MAIN, 0.08))
        p.drawRoundedRect(r, 6, 6)
        draw_text(p, QRectF(r.left() + 6, r.top() + 4, r.width() - 10, 20), self.region.name,
                  font(10, True), self.ink.text)
        draw_text(p, QRectF(r.left() + 6, r.top() + 23, r.width() - 8, 18),
                  f"0x{self.region.lo:05x}", font(10), self.ink.muted)
        p.setPen(QPen(mix(self.ink.bg, self.ink.text, 0.2), 1))
        p.setBrush(self.ink.bg)
        p.drawRect(self.band())


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


# ------------------------------------------------------------------ what history tells us

@dataclass
class ModuleState:
    """A generated module as far as the trace has got: its functions and how far it went."""

    number: int
    functions: tuple[str, ...] = ()
    status: str = "writing"   # writing, written, compiled, linked, patched, failed
    problem: str = ""         # a few words, for a failed module


@dataclass
class JitFill:
    """The batch in the JIT buffer: which module, and the sections written so far."""

    module: int
    start: int
    end: int
    sections: list[tuple[str, int, int]] = field(default_factory=list)


_STATUS_AT = {("compile", "compiled"): "compiled", ("link", "linked"): "linked",
              ("patch", "patched"): "patched"}
_FAILURE_AT = {("compile", "invalid"): "invalid module", ("link", "link-error"): "link error",
               ("patch", "trap"): "patch trapped"}


def history(trace: Trace, index: int) -> tuple[dict[int, ModuleState], JitFill | None]:
    """Return the modules seen up to step ``index`` and what the JIT buffer holds then.

    Read only from recorded steps, in order, so stepping back gives the same answer as
    arriving; each step says which module it is about (``module``, ``detail``, byte labels).
    """
    modules: dict[int, ModuleState] = {}
    jit: JitFill | None = None
    for step in trace.steps[: index + 1]:
        d, at = step.detail, (step.phase, step.kind)
        number = step.module.number if step.module else d.get("module")
        if at == ("generate", "begin"):
            guess = max(modules, default=0) + 1   # the bytes' labels confirm it below
            modules[guess] = ModuleState(guess, tuple(d.get("functions", ())))
            jit = JitFill(guess, d.get("address", 0), d.get("address", 0))
        elif step.phase == "generate" and "end" in d and jit is not None:
            for c in step.memory_changes:
                words = c.label.split()
                if words[:1] == ["module"] and words[1].isdigit() and int(words[1]) != jit.module:
                    modules[int(words[1])] = modules.pop(jit.module)
                    modules[int(words[1])].number = jit.module = int(words[1])
            jit.end = max(jit.end, d["end"])
            jit.sections.append((d.get("section", "?"), d["start"], d["end"]))
        if isinstance(number, int):
            m = modules.setdefault(number, ModuleState(number))
            if step.module:
                m.functions = step.module.functions or m.functions
                m.status = "written" if m.status == "writing" else m.status
                if jit is not None and jit.module == number:
                    jit.end = max(jit.end, step.module.address + len(step.module.data))
            if at in _STATUS_AT and m.status != "failed":
                m.status = _STATUS_AT[at]
            if at in _FAILURE_AT:
                m.status, m.problem = "failed", _FAILURE_AT[at]
        if step.kind == "jit-done" and d.get("status", 0) != 0 and modules:
            last = modules[max(modules)]
            if last.status != "failed":
                last.status, last.problem = "failed", f"instantiate returned {d['status']}"
    return modules, jit
