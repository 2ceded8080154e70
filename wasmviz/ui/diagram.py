"""The central diagram: main module, host, generated modules, the table and linear memory.

The scene is rebuilt from ``player.current`` at every step (plus the modules seen so far, read
from the recorded steps before it), so going back shows exactly the recorded state. A single
step forward animates towards that state; any other move cross-fades from the old picture.
The layout is fixed in scene units (SCENE) and the view scales it to fit.
"""

from __future__ import annotations

import math
from typing import Callable

from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt, QVariantAnimation
from PySide6.QtGui import (QFontMetricsF, QImage, QPainter, QPainterPath, QPixmap, QResizeEvent,
                           QShowEvent)
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import (QFrame, QGraphicsItem, QGraphicsPixmapItem, QGraphicsScene,
                               QGraphicsView, QWidget)

from ..engine.trace import PHASES, MemoryChange, Step
from . import colors
from .diagram_items import (LEFT_MID, LEFT_TOP, REGIONS, Arrow, Box, Ink, JitFill, ModuleState,
                            Note, RegionItem, SlotItem, TrapMarker, font, history, mix,
                            region_of)
from .player import Player

SCENE = QRectF(0, 0, 1200, 672)
HOST = QRectF(20, 50, 800, 44)
MAIN = QRectF(20, 104, 800, 440)
SUBS = {"interpreter": QRectF(40, 140, 235, 56), "invoke": QRectF(315, 140, 240, 56),
        "jit": QRectF(575, 140, 225, 56)}
TABLE = QRectF(40, 254, 760, 50)       # the slots; their indices sit just above
MEMORY = QRectF(40, 354, 760, 82)      # the regions
NOTES_Y = MEMORY.bottom() + 32         # changed bytes, the relocation callout, a trap
COLUMN = QRectF(880, 50, 300, 494)     # generated modules, oldest first
CAPTION = QRectF(20, 556, 1160, 104)
CHANNEL_X = 850.0                      # the gap between main and the modules, where arrows run
MAX_SLOTS = 12                         # more than this and the table shows a window
#: Traps raised by call_indirect's own checks: they happen at the slot, not in the callee.
AT_CALL_INDIRECT = ("INDIRECT_CALL_TO_NULL", "BAD_SIGNATURE", "TABLE_OUT_OF_BOUNDS")

PHASE_TIPS = {
    "setup": "Setup: wasmtime instantiates the main module and the host's front end writes "
             "the program into its memory.",
    "generate": "Generate: the main module's template JIT writes a new module's bytes into "
                "its own linear memory.",
    "compile": "Compile: the host hands those bytes to wasmtime, which validates and compiles "
               "them.",
    "link": "Link: the host instantiates the new module, importing main's table and memory.",
    "patch": "Patch: the new module's patch grows the table, installs its functions and "
             "relocates their code slots.",
    "call": "Call: main calls through the table with call_indirect and reaches the new code.",
}
STATUS = {"writing": "being written…", "written": "written, not compiled yet",
          "compiled": "compiled", "linked": "linked", "patched": "linked + patched"}


def _i32(data: bytes) -> int:
    return int.from_bytes(data[:4], "little", signed=True)


def _change_text(c: MemoryChange) -> str:
    """One memory change in a few words: a 4-byte field as old → new, else its size."""
    if len(c.new) != 4:
        return f"{c.label or 'bytes'} ({len(c.new)} B)"
    old, new = _i32(c.old), _i32(c.new)
    fmt = (lambda v: f"0x{v:05x}") if max(abs(old), abs(new)) >= 0x1000 else str
    return f"{c.label} {fmt(old)} → {fmt(new)}"


def _slot_number(node: str) -> int | None:
    """``'slot 6'`` -> 6 (call edges name table slots this way)."""
    word = node.split()
    return int(word[1]) if len(word) == 2 and word[0] == "slot" and word[1].isdigit() else None


class DiagramView(QGraphicsView):
    """Draws the step on screen of ``player``: modules, table, memory, arrows, caption."""

    def __init__(self, player: Player, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.player = player
        self._scene = QGraphicsScene(self)
        self._scene.setSceneRect(SCENE)
        self.setScene(self._scene)
        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing
                            | QPainter.RenderHint.SmoothPixmapTransform)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setMinimumSize(480, 280)
        self._anim = QVariantAnimation(self)
        self._anim.setStartValue(0.0)
        self._anim.setEndValue(1.0)
        self._anim.valueChanged.connect(self._on_anim_value)
        self._anim.finished.connect(self._on_anim_finished)
        self._reversing = False
        self._index = -1
        self._tweens: list[tuple[float, float, Callable[[float], object]]] = []
        self._motion = False
        self._ink = Ink.from_palette(self.palette())
        self._reset()
        player.step_changed.connect(self._on_step_changed)
        player.trace_changed.connect(self._on_trace_changed)
        self._redraw(fade=False)

    # ------------------------------------------------------------------ what is on screen
    def slot_items(self) -> list[SlotItem]:
        """The table slots drawn (a window around the interesting ones when there are many)."""
        return sorted(self._slots.values(), key=lambda s: s.index)

    def slot_item(self, index: int) -> SlotItem | None:
        return self._slots.get(index)

    def module_boxes(self) -> list[Box]:
        """The boxes of the generated modules seen so far, oldest first."""
        return list(self._modules)

    def module_box(self, number: int) -> Box | None:
        return next((b for b in self._modules if b.number == number), None)

    def memory_highlights(self) -> list[tuple[int, int]]:
        """The address ranges [lo, hi) lit up: this step's memory changes."""
        return list(self._highlights)

    def call_path(self) -> list[str]:
        """The highlighted call, e.g. ``['main', 'slot 6', 'm1.expr']``."""
        return list(self._path)

    def trap_marker(self) -> TrapMarker | None:
        return self._trap

    def relocation_callout(self) -> str | None:
        """The relocation shown, e.g. ``'expr.code_slot  0 → 6'``."""
        return self._callout

    def import_edges(self) -> list[tuple[str, str]]:
        return list(self._imports)

    def jit_fill(self) -> int:
        """How many bytes of the JIT buffer the picture shows written."""
        return self._jit_bytes

    def state(self) -> dict[str, object]:
        """Everything the picture asserts, as plain data: equal states look the same."""
        return {"slots": [(s.index, s.label_text(), s.ring) for s in self.slot_items()],
                "modules": [(b.title_text(), b.lines, b.failed) for b in self._modules],
                "highlights": self._highlights, "path": self._path, "callout": self._callout,
                "trap": (self._trap.code, self._trap.slot) if self._trap else None,
                "imports": self._imports, "jit": self._jit_bytes, "caption": self._caption}

    # ------------------------------------------------------------------ export
    def render_png(self, path: str, scale: float = 2.0) -> None:
        """Write the whole scene as a PNG, ``scale`` pixels per scene unit."""
        self._finish()
        size = QSize(int(SCENE.width() * scale), int(SCENE.height() * scale))
        image = QImage(size, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(self._ink.bg)
        painter = QPainter(image)
        painter.setRenderHints(self.renderHints())
        self._scene.render(painter, QRectF(image.rect()), SCENE)
        painter.end()
        if not image.save(str(path), "PNG"):
            raise OSError(f"could not write {path}")

    def render_svg(self, path: str) -> None:
        """Write the whole scene as an SVG file."""
        self._finish()
        gen = QSvgGenerator()
        gen.setFileName(str(path))
        gen.setSize(SCENE.size().toSize())
        gen.setViewBox(SCENE)
        gen.setResolution(self.logicalDpiY())   # point sizes as on screen (the default is 72)
        gen.setTitle("wasmviz: late linking")
        painter = QPainter(gen)
        painter.fillRect(SCENE, self._ink.bg)
        self._scene.render(painter, SCENE, SCENE)
        painter.end()

    # ------------------------------------------------------------------ signals and events
    def _on_step_changed(self, index: int, previous: int) -> None:
        # Only one step forward animates what happened; other moves are jumps between
        # recorded states, shown by fading the old picture out over the new one.
        forward = index == previous + 1
        if index == previous - 1 and self.player.animation_ms > 0:
            # One step back plays the undone step's animation in reverse (the later picture
            # un-happening), then settles on the recorded earlier state.
            self._redraw(fade=False, motion=True, reverse_from=previous)
            return
        self._redraw(fade=previous >= 0 and not forward, motion=forward)

    def _on_trace_changed(self) -> None:
        self._redraw(fade=False)

    def _on_anim_value(self, value: object) -> None:
        t = float(value)  # type: ignore[arg-type]
        for start, end, setter in self._tweens:
            setter(min(1.0, max(0.0, (t - start) / (end - start))))

    def _on_anim_finished(self) -> None:
        reversing = self._reversing
        self._reversing = False
        self._anim.setDirection(QVariantAnimation.Direction.Forward)
        self._on_anim_value(0.0 if reversing else 1.0)
        self._tweens.clear()
        if reversing:
            self._redraw(fade=False)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self.fitInView(SCENE, Qt.AspectRatioMode.KeepAspectRatio)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        self.fitInView(SCENE, Qt.AspectRatioMode.KeepAspectRatio)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            self._redraw(fade=False)

    # ------------------------------------------------------------------ building
    def _reset(self) -> None:
        self._slots: dict[int, SlotItem] = {}
        self._modules: list[Box] = []
        self._boxes: dict[str, Box] = {}
        self._regions: dict[str, RegionItem] = {}
        self._highlights: list[tuple[int, int]] = []
        self._path: list[str] = []
        self._imports: list[tuple[str, str]] = []
        self._trap: TrapMarker | None = None
        self._callout: str | None = None
        self._jit_bytes = 0
        self._caption = ""

    def _tween(self, setter: Callable[[float], object], start: float = 0.0,
               end: float = 1.0) -> None:
        """Animate ``setter`` from 0 to 1 over [start, end] of the step, or jump to 1."""
        if self._motion:
            self._tweens.append((start, end, setter))
        else:
            setter(1.0)

    def _finish(self) -> None:
        if self._anim.state() == QVariantAnimation.State.Running:
            self._anim.stop()
            self._reversing = False  # a new picture replaces the reversed one anyway
            self._on_anim_finished()

    def _add(self, item: QGraphicsItem, z: float = 0.0) -> QGraphicsItem:
        item.setZValue(z)
        self._scene.addItem(item)
        return item

    def _redraw(self, fade: bool, motion: bool = False, reverse_from: int | None = None) -> None:
        ms = self.player.animation_ms
        self._finish()
        self._index = self.player.index if reverse_from is None else reverse_from
        old = self._picture() if fade and ms > 0 and self._scene.items() else None
        self._motion, self._tweens = motion and ms > 0, []
        self._scene.clear()
        self._reset()
        self._ink = Ink.from_palette(self.palette())
        self._scene.setBackgroundBrush(self._ink.bg)
        step = self.player.trace[self._index] if 0 <= self._index < len(self.player.trace) \
            else None
        if step is None:
            self._add(Note(QRectF(200, 300, 800, 60), "Load a program or pick a lesson to "
                           "watch a WebAssembly JIT link new code at run time.", self._ink,
                           pt=14))
        else:
            self._build(step)
        self._motion = False
        if old is not None:
            shot = self._add(QGraphicsPixmapItem(old), 1000)
            shot.setScale(SCENE.width() / old.width())
            self._tweens.append((0.0, 0.7, lambda t: shot.setOpacity(1.0 - t)))
        if self._tweens:
            self._reversing = reverse_from is not None
            self._anim.setDirection(QVariantAnimation.Direction.Backward if self._reversing
                                    else QVariantAnimation.Direction.Forward)
            self._on_anim_value(1.0 if self._reversing else 0.0)
            self._anim.setDuration(ms)
            self._anim.start()
        elif reverse_from is not None:
            self._redraw(fade=False)  # nothing moved in that step: just show the earlier one

    def _picture(self) -> QPixmap:
        pix = QPixmap(SCENE.size().toSize())
        pix.fill(self._ink.bg)
        painter = QPainter(pix)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        self._scene.render(painter, QRectF(pix.rect()), SCENE)
        painter.end()
        return pix

    def _build(self, step: Step) -> None:
        modules, jit = history(self.player.trace, self._index)
        self._draw_frame(step)
        self._draw_modules(step, modules)
        self._draw_table(step)
        self._draw_memory(step, jit)
        self._draw_imports(step)
        self._draw_call(step)
        self._draw_trap(step)
        border = colors.TRAP if step.trap or step.error else \
            colors.CALL if step.result is not None else mix(self._ink.bg, self._ink.text, 0.3)
        self._caption = step.caption
        self._add(Note(CAPTION, step.caption, self._ink, fill=self._ink.panel, border=border,
                       pt=13, align=LEFT_TOP, wrap=True, heading=f"{step.phase} · {step.kind}",
                       tip="What just happened, in words; the picture above shows it."), 5)

    def _label(self, rect: QRectF, text: str, pt: float = 11.5, bold: bool = True,
               tip: str = "") -> None:
        self._add(Note(rect, text, self._ink, pt=pt, bold=bold, align=LEFT_MID, tip=tip), 1)

    def _draw_frame(self, step: Step) -> None:
        """The phase badges, the host, the main module and its three parts, strip titles."""
        ink, x = self._ink, 20.0
        for phase in PHASES:
            on = phase == step.phase
            width = QFontMetricsF(font(11, True)).horizontalAdvance(phase) + 24
            self._add(Note(QRectF(x, 10, width, 28), phase, ink, pt=11, bold=on, radius=14,
                           fill=self.palette().color(self.palette().ColorRole.Highlight)
                           if on else None, border=None if on else mix(ink.bg, ink.text, 0.3),
                           tip=PHASE_TIPS[phase]))
            x += width + 10
        self._add(Note(QRectF(x, 10, SCENE.right() - 20 - x, 28),
                       f"step {step.index + 1} of {len(self.player.trace)} · {step.kind}", ink,
                       align=Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                       tip="Where you are in the recorded run, and what kind of event this is."))
        self._boxes["host"] = self._add(Box(
            HOST, "host · Python + wasmtime", colors.HOST, ink, title_pt=11.5,
            tip="The host (Python embedding wasmtime) plays the browser's part: it compiles "
                "the bytes main hands it, instantiates them and calls their patch."))
        self._label(QRectF(HOST.left() + 260, HOST.top() + 8, 530, 30), "compiles + "
                    "instantiates the bytes main hands it, then calls patch", 10.5, False)
        self._add(Box(MAIN, "main.wat: owns the table and the memory", colors.MAIN, ink,
                      pill="main module",
                      tip="The main module: a hand-written wasm program with a bytecode "
                          "interpreter and a template JIT. It exports its table and memory, "
                          "so new modules can import them."))
        parts = {
            "interpreter": ("interpreter", "runs bytecode (slots 1–5)",
                            "The bytecode interpreter runs functions that are not compiled; "
                            "its entries enter0–enter4 sit in table slots 1–5."),
            "invoke": ("invoke", "code slot ≠ 0 → call_indirect",
                       "invoke, the top-level call, reads the function's code slot and, if "
                       "it is not 0, calls through that table slot with call_indirect."),
            "jit": ("template JIT", "writes new modules' bytes",
                    "The template JIT translates hot functions' bytecode op by op into the "
                    "bytes of a new wasm module, written into the JIT buffer below."),
        }
        for key, (title, line, tip) in parts.items():
            self._boxes[key] = self._add(Box(SUBS[key], title, colors.MAIN, ink, lines=[line],
                                             title_pt=11, tip=tip), 1)
        table_tip = ("The funcref table: call_indirect picks a function from it by index at "
                     "run time. Slot 0 stays null; slots 1–5 are the interpreter's entries; "
                     "a slot's colour is the module owning its function.")
        memory_tip = ("Main's linear memory, which every generated module imports: cells light "
                      "up where this step changed bytes (hover one for old → new).")
        for rect, title, tip in (
                (QRectF(32, TABLE.top() - 50, 776, TABLE.height() + 58),
                 f"TABLE · funcref · {len(step.table)} slots", table_tip),
                (MEMORY.adjusted(-8, -32, 8, 26),
                 f"LINEAR MEMORY · {step.memory_pages} pages", memory_tip)):
            self._add(Note(rect, "", ink, border=ink.frame(), tip=tip), 1)
            self._label(QRectF(rect.left() + 16, rect.top() + 2, 400, 24), title, tip=tip)

    def _draw_modules(self, step: Step, modules: dict[int, ModuleState]) -> None:
        ink, col = self._ink, COLUMN
        self._label(QRectF(col.left(), col.top(), col.width(), 22), "GENERATED MODULES",
                    tip="Modules the JIT wrote at run time, each compiled and linked by the "
                        "host; their colours match their table slots.")
        if not modules:
            self._add(Note(QRectF(col.left(), col.top() + 30, col.width(), 56), "none yet: "
                           "functions run in main's interpreter until they are hot", ink,
                           pt=10.5, wrap=True, fill=ink.panel))
            return
        slots = {(s.module, s.function): s.index for s in step.table if s.kind == "generated"}
        shown = [modules[n] for n in sorted(modules)]

        def rows(m: ModuleState) -> list[tuple[str, str]]:
            out = [(f, f"{f}  → slot {slots[(m.number, f)]}" if (m.number, f) in slots else f)
                   for f in m.functions[:5]]
            out += [("…", f"· … {len(m.functions) - 5} more")] if len(m.functions) > 5 else []
            if m.status == "failed":
                return out + [("", "· not installed: they stay interpreted")]
            return out + [("patch", "· patch (the host calls it once)")]

        # Older modules fold to a title bar when the column is full; then the oldest drop off.
        heights = [40 + Box.ROW_H * len(rows(m)) for m in shown]
        room, folded = col.height() - 30, 0
        while sum(heights) + 8 * len(heights) > room and folded < len(shown) - 1:
            heights[folded], folded = 34.0, folded + 1
        while sum(heights) + 8 * len(heights) > room - 22 and len(shown) > 1:
            shown, heights, folded = shown[1:], heights[1:], max(0, folded - 1)
        y = col.top() + 30
        if len(shown) < len(modules):
            self._label(QRectF(col.left(), y - 4, col.width(), 20),
                        f"… {len(modules) - len(shown)} earlier module(s)", 10, False)
            y += 22
        for i, (m, height) in enumerate(zip(shown, heights)):
            keys, lines = zip(*rows(m))
            failed, full = m.status == "failed", i >= folded
            title = m.problem if failed else STATUS[m.status]
            box = Box(QRectF(col.left(), y, col.width(), height),
                      title if full else ", ".join(m.functions) or title,
                      colors.module_color(m.number), ink, lines=lines if full else [],
                      pill=f"m{m.number}", dashed=failed or m.status == "writing",
                      failed=failed, title_pt=11,
                      tip=f"Generated module {m.number} ({title}): "
                          f"{', '.join(m.functions) or 'its functions'}, plus patch. It "
                          f"imports main's table and memory, and the host's note."
                          + (f" wasmtime said: {step.error}" if failed and step.error else ""))
            box.number, box.keys = m.number, list(keys)
            if step.kind in ("table.grow", "table.set", "relocation") and full \
                    and m.status == "linked" and "patch" in box.keys:   # patch is running
                box.row_marks[box.keys.index("patch")] = colors.module_color(m.number)
            self._add(box, 2)
            self._modules.append(box)
            if step.kind == "begin" and m.status == "writing" or step.kind == "complete" \
                    and step.module is not None and step.module.number == m.number:
                self._tween(box.setOpacity, 0.0, 0.5)
            y += height + 8

    def _anchor(self, label: str) -> QPointF | None:
        """Where an arrow to ``m1.expr`` (or ``m1.patch``) ends: that row of m1's box."""
        owner, _, name = label.partition(".")
        box = self.module_box(int(owner[1:])) if owner[1:].isdigit() else None
        return box.anchor(name) if box is not None else None

    def _visible_slots(self, step: Step, focus: list[int]) -> list[int | None]:
        """Slot indices to draw, None for a "…" gap: all of them, or when there are many the
        first six (null and the interpreter entries), the slots this step is about, the last."""
        n = len(step.table)
        beyond = [f for f in focus if f >= n][:1]   # a call past the end: drawn as a ghost
        if n <= MAX_SLOTS:
            return list(range(n)) + beyond
        keep, around = set(range(6)) | {n - 1}, [f for f in focus if f < n] or [n - 1]
        for radius in range(n):
            if len(keep) >= MAX_SLOTS - 1:
                break
            for i in (j for f in around for j in (f - radius, f + radius)):
                if len(keep) < MAX_SLOTS - 1 and 0 <= i < n:
                    keep.add(i)
        out: list[int | None] = []
        for i in sorted(keep):
            out += [None, i] if out and i != out[-1] + 1 else [i]  # type: ignore[operator]
        return out + beyond

    def _draw_table(self, step: Step) -> None:
        d, ink = step.detail, self._ink
        focus = [s for e in step.edges if e.kind == "call" and (s := _slot_number(e.source))
                 is not None]
        focus += [d["slot"]] if isinstance(d.get("slot"), int) and d["slot"] > 0 else []
        grown = range(d["base"], d["base"] + d["delta"]) if step.kind == "table.grow" else ()
        order = self._visible_slots(step, focus + list(grown))
        gaps = order.count(None)
        pitch = min(84.0, (TABLE.width() - gaps * 34) / max(1, len(order) - gaps))
        x = TABLE.left()
        for i in order:
            if i is None:
                self._add(Note(QRectF(x, TABLE.top(), 30, TABLE.height()), "…", ink, pt=14,
                               bold=True, tip="Slots left out so the ones that matter now stay "
                                              "legible; the title gives the table's size."), 2)
                x += 34
                continue
            slot = step.table[i] if i < len(step.table) else None
            item = SlotItem(QRectF(x + 2, TABLE.top(), pitch - 4, TABLE.height()), i, slot, ink)
            self._slots[i] = self._add(item, 2)
            x += pitch
            if i in grown:   # the table visibly gains its new slots
                item.setTransformOriginPoint(item.rect().left(), item.rect().center().y())
                self._tween(lambda t, it=item: (it.setOpacity(t), it.setScale(0.2 + 0.8 * t)))
            if step.kind == "table.set" and i == d.get("slot") and slot is not None:
                item.ring = colors.CHANGE   # orange, like memory: changed by this step
                self._tween(lambda t, it=item: it.set_glow(math.sin(math.pi * t)), 0.5, 1.0)
                self._draw_install(item)

    def _draw_install(self, item: SlotItem) -> None:
        """table.set: an arrow from the function's row in its module to the slot it now fills."""
        start = self._anchor(item.label_text())
        if start is None:
            return
        r, y = item.rect(), TABLE.bottom() + 12
        arrow = self._add(Arrow(self._routed([start, QPointF(CHANNEL_X + 24, start.y()),
                                              QPointF(CHANNEL_X + 24, y),
                                              QPointF(r.center().x(), y),
                                              QPointF(r.center().x(), r.bottom())]),
                                colors.module_color(item.slot.module if item.slot else None),
                                self._ink, 3.0, tip=f"patch ran table.set: slot {item.index} "
                                "now holds this function, so call_indirect can reach it."), 6)
        self._tween(arrow.set_progress, 0.0, 0.6)

    def _draw_memory(self, step: Step, jit: JitFill | None) -> None:
        ink, total, x = self._ink, sum(r.weight for r in REGIONS), MEMORY.left()
        for region in REGIONS:
            width = MEMORY.width() * region.weight / total
            span = max(0x200, -(-(jit.end - jit.start) // 0x80) * 0x80) \
                if region.key == "jit" and jit is not None else None
            self._regions[region.key] = self._add(RegionItem(
                QRectF(x + 2, MEMORY.top(), width - 4, MEMORY.height()), region, ink, span), 2)
            x += width
        if jit is not None:
            self._draw_jit(step, jit)
        for c in step.memory_changes:
            self._highlights.append((c.address, c.address + len(c.new)))
            region = region_of(c.address)
            if region is None or region.key == "jit":   # JIT bytes: the section segments
                continue
            cell = Note(self._regions[region.key].cell_rect(c.address, len(c.new)), "", ink,
                        fill=colors.CHANGE, border=mix(colors.CHANGE, ink.text, 0.4), radius=2,
                        tip=f"{c.label or 'bytes'} at 0x{c.address:05x} ({len(c.new)} B) "
                            f"changed this step: {c.old[:8].hex(' ')} → {c.new[:8].hex(' ')}")
            self._add(cell, 3)
            self._tween(cell.setOpacity, 0.0, 0.5)
            if step.kind == "relocation" and c.address == step.detail.get("address"):
                self._draw_relocation(step, c, cell)
        if step.memory_changes and self._callout is None and step.trap is None:
            parts = [_change_text(c) for c in step.memory_changes[:6]]
            more = len(step.memory_changes) - len(parts)
            self._add(Note(QRectF(MEMORY.left(), NOTES_Y, MEMORY.width(), 44),
                           "changed: " + "  ·  ".join(parts) + (f"  · +{more} more" * bool(more)),
                           ink, pt=10, wrap=True, align=LEFT_TOP,
                           tip="The bytes this step changed in main's memory, old → new "
                               "(4-byte fields read as little-endian i32)."), 3)

    def _draw_jit(self, step: Step, jit: JitFill) -> None:
        """The JIT buffer fills with the module's sections, in its colour, as they are written."""
        item, ink, color = self._regions["jit"], self._ink, colors.module_color(jit.module)
        band, self._jit_bytes = item.band(), jit.end - jit.start
        sections = jit.sections or ([("module", jit.start, jit.end)] * (jit.end > jit.start))
        for k, (name, lo, hi) in enumerate(sections):
            rect = QRectF(item.x_of(lo), band.top(), max(2.0, item.x_of(hi) - item.x_of(lo)),
                          band.height())
            new = step.phase == "generate" and step.detail.get("start") == lo
            seg = self._add(Note(rect, "", ink, fill=mix(color, ink.bg, 0.3 * (k % 2)), radius=0,
                                 border=ink.text if new else None,
                                 tip=f"m{jit.module}'s {name} section: 0x{lo:05x}–0x{hi - 1:05x}"
                                     f" ({hi - lo} B), written by the template JIT."), 3)
            if new:   # the bytes flow from the JIT into the buffer
                self._boxes["jit"].row_marks[0] = color
                self._tween(lambda t, s=seg, r=QRectF(rect): s.setRect(
                    QRectF(r.left(), r.top(), max(1.0, r.width() * t), r.height())), 0.35, 1.0)
                chip = self._add(Note(QRectF(-32, -11, 64, 22), f"{hi - lo} B", ink, fill=color,
                                      pt=10, bold=True, radius=11), 6)
                a, b = self._boxes["jit"].rect().center(), rect.center()
                self._tween(lambda t, c=chip, a=a, b=b: (
                    c.setPos(a + (b - a) * t), c.setOpacity(float(t < 0.9))), 0.0, 0.6)
        r = item.rect()
        self._label(QRectF(r.left(), r.bottom() + 2, r.width(), 20),
                    f"m{jit.module} · {self._jit_bytes} B" if self._jit_bytes else
                    f"m{jit.module} · starting", 10,
                    tip="How much of the new module the JIT has written so far.")

    def _draw_relocation(self, step: Step, c: MemoryChange, cell: Note) -> None:
        old, new = _i32(c.old), _i32(c.new)
        self._callout = f"{c.label}  {old} → {new}"
        anchor = cell.rect().center()
        box = QRectF(max(40.0, anchor.x() - 150), NOTES_Y, 330, 62)
        note = self._add(Note(box, f"calls to {step.detail.get('function', 'it')} now go "
                              f"through table slot {new}", self._ink, fill=self._ink.bg,
                              border=colors.CHANGE, pt=10.5, align=LEFT_TOP, wrap=True,
                              heading=self._callout, tip="Relocation: patch stored the new "
                              "table index in the function object's code slot, in main's "
                              "memory."), 7)
        line = QPainterPath(QPointF(box.center().x(), box.top()))
        line.lineTo(anchor.x(), cell.rect().bottom())
        leader = self._add(Arrow(line, colors.CHANGE, self._ink, 2.0), 7)
        self._tween(lambda t: (note.setOpacity(t), leader.set_progress(t)), 0.0, 0.4)
        self._tween(lambda t: cell.setOpacity(0.3 + 0.7 * abs(math.cos(3 * math.pi * t))))

    def _routed(self, points: list[QPointF]) -> QPainterPath:
        path = QPainterPath(points[0])
        for p in points[1:]:
            path.lineTo(p)
        return path

    def _draw_imports(self, step: Step) -> None:
        """Each linked module's imports of main's table and memory; the host's call to patch."""
        ink = self._ink
        linking = step.detail.get("module") if step.phase == "link" else None
        called = {e.target.split(".")[0] for e in step.edges if e.kind == "call"}
        targets = {"main.table": QPointF(TABLE.right() + 8, TABLE.center().y()),
                   "main.memory": QPointF(MEMORY.right() + 8, MEMORY.center().y())}
        newest = max((b.number or 0 for b in self._modules), default=0)
        for e in step.edges:
            box = self.module_box(int(e.source[1:])) if e.source[1:].isdigit() else None
            if e.kind == "import" and e.target in targets and box is not None:
                k = (box.number or 0) % 5
                start = QPointF(box.rect().left(), box.rect().top() + 14 + 3 * k)
                end = targets[e.target] + QPointF(0, 5 * (k % 3) - 5)
                lane = CHANNEL_X - 14 + 5 * k
                # Only the module in focus gets a bold arrow, so many modules stay readable.
                focus = box.number in (linking, newest) or f"m{box.number}" in called
                color = colors.module_color(box.number)
                color.setAlphaF(1.0 if focus else 0.45)
                arrow = self._add(Arrow(self._routed([start, QPointF(lane, start.y()),
                                                      QPointF(lane, end.y()), end]),
                                        color, ink, 2.0 if focus else 1.3,
                                        tip=f"{e.source} imports {e.target}: the new module "
                                            f"uses the main module's own "
                                            f"{e.target.split('.')[1]}, not a copy."), 4)
                self._imports.append((e.source, e.target))
                if linking == box.number:
                    self._tween(arrow.set_progress, 0.0, 0.7)
            elif e.kind == "call" and e.source == "host" and (end := self._anchor(e.target)):
                start = QPointF(HOST.right(), HOST.center().y())
                arrow = self._add(Arrow(self._routed([
                    start, QPointF(CHANNEL_X + 14, start.y()), QPointF(CHANNEL_X + 14, end.y()),
                    end]), colors.HOST, ink, 2.5, dashed=True, tip="The host calls the new "
                    "module's patch once, right after instantiating it."), 4)
                self._tween(arrow.set_progress, 0.4, 1.0)

    def _draw_call(self, step: Step) -> None:
        """The call path: invoke → slot N → the function in it (or the interpreter) → result."""
        calls = {e.source: e.target for e in step.edges if e.kind == "call" and e.source != "host"}
        node = "main"
        while node in calls and len(self._path) < 4:
            self._path.append(node)
            node = calls[node]
        self._path += [node] if self._path else []
        if len(self._path) < 2:
            return
        invoke, color = self._boxes["invoke"].rect(), colors.TRAP if step.trap else colors.CALL
        number = _slot_number(self._path[1])
        slot = self._slots.get(number) if number is not None else None
        # The result step repeats the call step's path: draw it at once, animate the result.
        prev = self.player.trace[self._index - 1] if self._index > 0 else None
        again = prev is not None and \
            [e for e in prev.edges if e.kind == "call"] == [e for e in step.edges
                                                           if e.kind == "call"]
        legs: list[QPainterPath] = []
        if self._path[1] == "main.interpreter":
            interp = self._boxes["interpreter"]
            y = interp.rect().top() + Box.TITLE_H + Box.ROW_H / 2   # its first row
            legs.append(self._routed([QPointF(invoke.left(), y),
                                      QPointF(interp.rect().right(), y)]))
            interp.row_marks[0] = color
        elif slot is not None:
            r = slot.rect()
            sx = min(max(r.center().x(), invoke.left() + 30), invoke.right() - 30)
            leg = QPainterPath(QPointF(sx, invoke.bottom()))
            leg.cubicTo(sx, invoke.bottom() + 20, r.left() + 12, r.top() - 40, r.left() + 12,
                        r.top())
            legs.append(leg)
            slot.ring = color
            if not again:
                self._tween(lambda t: slot.set_glow(math.sin(math.pi * t)), 0.3, 0.6)
            end = self._anchor(self._path[2]) if len(self._path) > 2 else None
            if end is not None:
                y = TABLE.bottom() + 12
                legs.append(self._routed([QPointF(r.center().x(), r.bottom()),
                                          QPointF(r.center().x(), y), QPointF(CHANNEL_X + 24, y),
                                          QPointF(CHANNEL_X + 24, end.y()), end]))
                owner, _, name = self._path[2].partition(".")
                box = self.module_box(int(owner[1:])) if owner[1:].isdigit() else None
                if box is not None and name in box.keys[: len(box.lines)]:
                    box.row_marks[box.keys.index(name)] = color
        for leg, (a, b) in zip(legs, ((0.0, 0.4), (0.5, 0.85))):
            arrow = self._add(Arrow(leg, color, self._ink, 3.5, tip="The call path: invoke reads "
                                    "the code slot and call_indirect goes through that table "
                                    "slot to the function it holds."), 6)
            if not again:
                self._tween(arrow.set_progress, a, b)
        if step.result is not None:
            d = step.detail
            text = f"{d.get('function', 'f')}({', '.join(map(str, d.get('args', ())))}) = " \
                   f"{step.result}"
            pill = self._add(Note(QRectF(invoke.left() + 80, invoke.top() + 6, 160, 24), text,
                                  self._ink, fill=colors.CALL, pt=11, bold=True, radius=12,
                                  tip="The result the call returned to the host."), 8)
            self._tween(pill.setOpacity, 0.2 if again else 0.85, 1.0)

    def _draw_trap(self, step: Step) -> None:
        """Mark where the trap happened: the slot (or ghost slot), patch, or the interpreter."""
        if step.trap is None:
            return
        code, d = step.trap.code, step.detail
        reason = step.caption.split(f"{code}: ", 1)[-1].split(" wasmtime said", 1)[0]
        slot = d.get("slot") if step.phase == "call" and d.get("via") == "jit" else None
        box = self.module_box(d.get("module", -1)) if step.phase == "patch" else None
        if slot in self._slots:
            # Below the memory strip, where there is room, with a leader up to the slot.
            anchor, where = self._slots[slot].rect(), f"slot {slot}"
            if code not in AT_CALL_INDIRECT and len(self._path) > 2 and "." in self._path[2]:
                where = self._path[2]   # it got through the slot and trapped in the function
            rect = QRectF(min(max(anchor.center().x() - 210, 40.0), MAIN.right() - 440),
                          NOTES_Y - 8, 420, 60)
            self._slots[slot].ring = colors.TRAP
        elif box is not None:
            anchor, where, box.failed = box.rect(), f"m{box.number}.patch", True
            rect = QRectF(COLUMN.left(), anchor.bottom() + 8, COLUMN.width(), 60)
        else:
            # The interpreter's row is already red; the words go where there is room.
            anchor, where = self._boxes["interpreter"].rect(), "the interpreter"
            rect = QRectF(MEMORY.left(), NOTES_Y - 8, 420, 60)
        self._trap = self._add(TrapMarker(rect, code, reason, self._ink, slot=slot, where=where), 9)
        r = self._trap.rect()
        if box is None and r.bottom() > MAIN.bottom() - 6:   # long reasons: stay inside main
            self._trap.setRect(r.translated(0, MAIN.bottom() - 6 - r.bottom()))
            rect = self._trap.rect()
        if slot in self._slots:   # behind the memory regions, so their labels stay legible
            leader = self._add(Arrow(self._routed([QPointF(anchor.center().x(), rect.top()),
                                                   QPointF(anchor.center().x(), anchor.bottom())]),
                                     colors.TRAP, self._ink, 2.0, dashed=True), 0.5)
            self._tween(leader.set_progress, 0.6, 0.8)
        self._tween(self._trap.setOpacity, 0.7, 1.0)
