"""One step's picture: where things go in the scene, and what the drawn items show.

The view makes a fresh Picture for every step it shows; the ``draw_*`` layers add items to it
and note what they drew (slots, boxes, highlights, the call path, ...), so the view can answer
questions about the picture as plain data without searching the scene.
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QColor, QPainterPath
from PySide6.QtWidgets import QGraphicsItem, QGraphicsScene

from ...engine.trace import Trace
from .history import ModuleState
from .items import Box, Note, TrapMarker
from .paint import LEFT_MID, Ink
from .strips import RegionItem, SlotItem

# The layout is fixed in scene units and the view scales it to fit.
SCENE = QRectF(0, 0, 1200, 700)
HOST = QRectF(20, 50, 800, 44)
MAIN = QRectF(20, 104, 800, 440)
SUBS = {"interpreter": QRectF(40, 140, 235, 56), "invoke": QRectF(315, 140, 240, 56),
        "jit": QRectF(575, 140, 225, 56)}
TABLE = QRectF(40, 254, 760, 50)       # the slots; their indices sit just above
MEMORY = QRectF(40, 354, 760, 82)      # the regions
NOTES_Y = MEMORY.bottom() + 32         # changed bytes, the relocation callout, a trap
COLUMN = QRectF(880, 50, 300, 494)     # generated modules, oldest first
CAPTION = QRectF(20, 556, 1160, 104)
LEGEND = QRectF(20, 668, 1160, 26)     # what the colours mean
CHANNEL_X = 850.0                      # the gap between main and the modules, where arrows run

#: (start, end, setter): the setter is driven from 0 to 1 over [start, end] of a step's animation.
Tween = tuple[float, float, Callable[[float], object]]


class Picture:
    """The items of step ``index`` of ``trace`` in ``scene``, and the animation that leads to it.

    With ``motion`` the layers queue tweens (the view plays them); without it every tween
    jumps straight to its end, which is how a recorded state is shown at rest.
    """

    def __init__(self, scene: QGraphicsScene, ink: Ink, highlight: QColor, trace: Trace,
                 index: int, motion: bool = False) -> None:
        self.scene, self.ink, self.highlight = scene, ink, highlight
        self.trace, self.index, self.motion = trace, index, motion
        self.tweens: list[Tween] = []
        self.slots: dict[int, SlotItem] = {}
        self.modules: list[Box] = []
        self.boxes: dict[str, Box] = {}
        self.regions: dict[str, RegionItem] = {}
        self.highlights: list[tuple[int, int]] = []
        self.path: list[str] = []
        self.imports: list[tuple[str, str]] = []
        #: The arrows drawn, by what they show ("import", "call"), for a lesson to point at.
        self.arrows: dict[str, list[QGraphicsItem]] = {}
        #: The lesson highlights ringed on this picture (their texts).
        self.focus: list[str] = []
        self.trap: TrapMarker | None = None
        self.callout: str | None = None
        self.jit_bytes = 0
        self.caption = ""
        #: What the host box says it does (it depends on how the trace's modules link).
        self.host_line = ""
        #: The generated modules as far as the trace has got (history.history), by number.
        self.history: dict[int, ModuleState] = {}
        #: Who did what this step to the table, as the label by the table says it, or "".
        self.actor = ""
        #: The slots this step filled (table.set, table.init, an active segment), ringed.
        self.filled: list[int] = []
        #: The legend's entries, as drawn.
        self.legend: list[str] = []

    def add(self, item: QGraphicsItem, z: float = 0.0) -> QGraphicsItem:
        item.setZValue(z)
        self.scene.addItem(item)
        return item

    def tween(self, setter: Callable[[float], object], start: float = 0.0,
              end: float = 1.0) -> None:
        """Animate ``setter`` from 0 to 1 over [start, end] of the step, or jump to 1."""
        if self.motion:
            self.tweens.append((start, end, setter))
        else:
            setter(1.0)

    def label(self, rect: QRectF, text: str, pt: float = 11.5, bold: bool = True,
              tip: str = "") -> None:
        self.add(Note(rect, text, self.ink, pt=pt, bold=bold, align=LEFT_MID, tip=tip), 1)

    def module_box(self, number: int) -> Box | None:
        return next((b for b in self.modules if b.number == number), None)

    def anchor(self, label: str) -> QPointF | None:
        """Where an arrow to ``m1.expr`` (or ``m1.patch``) ends: that row of m1's box."""
        owner, _, name = label.partition(".")
        box = self.module_box(int(owner[1:])) if owner[1:].isdigit() else None
        return box.anchor(name) if box is not None else None


def routed(points: list[QPointF]) -> QPainterPath:
    """A path through ``points`` in straight legs."""
    path = QPainterPath(points[0])
    for p in points[1:]:
        path.lineTo(p)
    return path
