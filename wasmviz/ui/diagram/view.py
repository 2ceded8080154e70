"""The central diagram: main module, host, generated modules, the table and linear memory.

The scene is rebuilt from ``player.current`` at every step (plus the modules seen so far, read
from the recorded steps before it), so going back shows exactly the recorded state. A single
step forward animates towards that state; any other move cross-fades from the old picture.
This module is the widget and its timing; what a step looks like is drawn by the draw_* layers
into a Picture (picture.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QRectF, QSize, Qt, QVariantAnimation, Signal
from PySide6.QtGui import (QColor, QFocusEvent, QImage, QPainter, QPalette, QPen, QPixmap,
                           QResizeEvent, QShowEvent, QTransform, QWheelEvent)
from PySide6.QtWidgets import (QFrame, QGraphicsItem, QGraphicsPixmapItem, QGraphicsScene,
                               QGraphicsView, QWidget)

from ...engine.trace import Step
from .. import colors
from ..player import Player
from .draw_calls import draw_call, draw_imports, draw_trap
from .draw_compile import draw_compile
from .draw_focus import FOCUS_Z, draw_focus
from .draw_frame import draw_frame, draw_modules
from .draw_memory import draw_memory
from .draw_table import draw_table
from .history import history
from .items import Box, Note, TrapMarker
from . import paint
from .draw_legend import draw_legend
from .draw_link import draw_actor
from .paint import LEFT_TOP, Ink, mix
from .picture import CAPTION, SCENE, Picture, Tween
from .strips import SlotItem

if TYPE_CHECKING:  # a lesson's rings: the lessons package is imported with the first lesson
    from ...lessons import Highlight


#: The caption's text sizes, largest first: a long caption (a link step names every import and
#: what the link did) takes a smaller one rather than being cut off at the box's bottom.
CAPTION_PTS = (13.0, 12.5, 12.0, 11.5)


def caption_pt(text: str) -> float:
    """The largest caption size at which ``text`` fits the caption box whole."""
    room = QRectF(CAPTION).adjusted(10, 4 + 24, -10, -4)   # as Note lays out a heading
    for pt in CAPTION_PTS:
        if paint.text_height(text, pt, room.width()) <= room.height():
            return pt
    return CAPTION_PTS[-1]


#: The zoom factors the user can choose, relative to "fit" (1.0).
ZOOM_MIN, ZOOM_MAX, ZOOM_STEP = 0.5, 4.0, 1.2


class DiagramView(QGraphicsView):
    """Draws the step on screen of ``player``: modules, table, memory, arrows, caption.

    The scene is laid out once in scene units; the view shows it as large as the viewport allows
    ("fit"), but never smaller than the scale at which its smallest text is 11 px: in a small
    window the picture scrolls instead of shrinking into illegibility. The user's zoom
    (Ctrl+wheel, Ctrl+=, Ctrl+-; Ctrl+0 fits again) multiplies that.
    """

    #: The zoom factor (1.0 = fit) changed.
    zoom_changed = Signal(float)

    def __init__(self, player: Player, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("diagram")
        self.setAccessibleName("Diagram")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._zoom = 1.0
        self.player = player
        self._scene = QGraphicsScene(self)
        self._scene.setSceneRect(SCENE)
        self.setScene(self._scene)
        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing
                            | QPainter.RenderHint.SmoothPixmapTransform)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        # The focus frame is painted by drawForeground: a style sheet would make the whole
        # window repaint behind the view on every step.
        self.setFrameShape(QFrame.Shape.NoFrame)
        # Every item sets the pen, brush and font it paints with: saving and restoring the
        # painter around each of them only costs time in a frame.
        self.setOptimizationFlags(QGraphicsView.OptimizationFlag.DontSavePainterState)
        self.setMinimumSize(320, 240)
        self._anim = QVariantAnimation(self)
        self._anim.setStartValue(0.0)
        self._anim.setEndValue(1.0)
        self._anim.valueChanged.connect(self._on_anim_value)
        self._anim.finished.connect(self._on_anim_finished)
        self._reversing = False
        self._tweens: list[Tween] = []
        # A lesson's highlights belong to one trace step; they show only while it is on screen.
        self._focus: tuple[Highlight, ...] = ()
        self._focus_index = -1
        self._ink = Ink.from_palette(self.palette())
        self._pic = Picture(self._scene, self._ink, self._highlight(), player.trace, -1)
        player.step_changed.connect(self._on_step_changed)
        player.trace_changed.connect(self._on_trace_changed)
        self._redraw(fade=False)

    # ------------------------------------------------------------------ what is on screen
    def slot_items(self) -> list[SlotItem]:
        """The table slots drawn (a window around the interesting ones when there are many)."""
        return sorted(self._pic.slots.values(), key=lambda s: s.index)

    def slot_item(self, index: int) -> SlotItem | None:
        return self._pic.slots.get(index)

    def module_boxes(self) -> list[Box]:
        """The boxes of the generated modules seen so far, oldest first."""
        return list(self._pic.modules)

    def module_box(self, number: int) -> Box | None:
        return self._pic.module_box(number)

    def memory_highlights(self) -> list[tuple[int, int]]:
        """The address ranges [lo, hi) lit up: this step's memory changes."""
        return list(self._pic.highlights)

    def call_path(self) -> list[str]:
        """The highlighted call, e.g. ``['main', 'slot 6', 'm1.expr']``."""
        return list(self._pic.path)

    def trap_marker(self) -> TrapMarker | None:
        return self._pic.trap

    def relocation_callout(self) -> str | None:
        """The relocation shown, e.g. ``'expr.code_slot  0 → 6'``."""
        return self._pic.callout

    def arrows(self, kind: str) -> list[QGraphicsItem]:
        """The arrows drawn for ``kind`` ("import", "call", "callback", "compile", "patch")."""
        return list(self._pic.arrows.get(kind, ()))

    def import_edges(self) -> list[tuple[str, str]]:
        return list(self._pic.imports)

    def jit_fill(self) -> int:
        """How many bytes of the JIT buffer the picture shows written."""
        return self._pic.jit_bytes

    def highlights(self) -> list[str]:
        """The lesson highlights ringed on the picture, as the lesson wrote them."""
        return list(self._pic.focus)

    def set_highlights(self, highlights: tuple[Highlight, ...], index: int | None = None) -> None:
        """Ring ``highlights`` while trace step ``index`` (default: the current) is shown."""
        self._focus = tuple(highlights)
        self._focus_index = self.player.index if index is None else index
        for item in self._scene.items():
            if item.zValue() == FOCUS_Z:
                self._scene.removeItem(item)
        self._pic.focus = []
        # Rings added after the step's animation has ended must not wait for it.
        self._pic.motion = self._anim.state() == QVariantAnimation.State.Running
        self._draw_focus(self._pic)

    def _draw_focus(self, pic: Picture) -> None:
        if self._focus and pic.index == self._focus_index:
            pic.focus = draw_focus(pic, self._focus)

    def state(self) -> dict[str, object]:
        """Everything the picture asserts, as plain data: equal states look the same."""
        pic = self._pic
        return {"slots": [(s.index, s.label_text(), s.ring) for s in self.slot_items()],
                "modules": [(b.title_text(), b.lines, b.failed) for b in pic.modules],
                "highlights": pic.highlights, "path": pic.path, "callout": pic.callout,
                "trap": (pic.trap.code, pic.trap.slot) if pic.trap else None,
                "imports": pic.imports, "jit": pic.jit_bytes, "caption": pic.caption,
                "focus": pic.focus, "host": pic.host_line, "actor": pic.actor,
                "filled": pic.filled}

    # ------------------------------------------------------------------ scale and zoom
    @property
    def zoom(self) -> float:
        """The user's zoom, relative to fitting the picture (1.0)."""
        return self._zoom

    def set_zoom(self, zoom: float) -> None:
        self._zoom = min(ZOOM_MAX, max(ZOOM_MIN, zoom))
        self._apply_scale()
        self.zoom_changed.emit(self._zoom)

    def zoom_in(self) -> None:
        self.set_zoom(self._zoom * ZOOM_STEP)

    def zoom_out(self) -> None:
        self.set_zoom(self._zoom / ZOOM_STEP)

    def zoom_to_fit(self) -> None:
        self.set_zoom(1.0)

    def fit_scale(self) -> float:
        """The scale at zoom 1: the whole picture in the viewport, or legible if it cannot be."""
        size = self.maximumViewportSize()
        fit = min(size.width() / SCENE.width(), size.height() / SCENE.height())
        return max(fit, paint.LEGIBLE_PX / paint.MIN_TEXT_PX)

    def scale_factor(self) -> float:
        """Screen pixels per scene unit, as the picture is shown now."""
        return self.transform().m11()

    def rendered_text_px(self) -> tuple[float, float]:
        """(smallest, median) pixel size of the text the diagram paints on screen now.

        Measured, not computed: the view is painted and every font the items drew with is
        recorded (paint.probe), then multiplied by the view's scale.
        """
        paint.probe.clear()
        self.viewport().grab()
        sizes = sorted(paint.probe)
        if not sizes:
            return 0.0, 0.0
        scale = self.scale_factor()
        return sizes[0] * scale, sizes[len(sizes) // 2] * scale

    def _apply_scale(self) -> None:
        scale = self.fit_scale() * self._zoom
        self.setTransform(QTransform.fromScale(scale, scale))
        if self._zoom == 1.0:
            # Fitted but a little too wide: show it from its left edge (the phases, the host),
            # so only the right margin, which is empty, is out of view.
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().minimum())
            self.verticalScrollBar().setValue(self.verticalScrollBar().minimum())

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:  # noqa: N802
        # A visible focus frame: the keyboard user must see that the diagram has the keys.
        # Painted here rather than by a style sheet, which would make the whole window
        # repaint behind the view on every step.
        if not self.hasFocus():
            return
        painter.save()
        painter.resetTransform()
        pen = QPen(self.palette().color(QPalette.ColorRole.Highlight), 3)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(QRectF(self.viewport().rect()).adjusted(1.5, 1.5, -1.5, -1.5))
        painter.restore()

    def focusInEvent(self, event: QFocusEvent) -> None:  # noqa: N802 - Qt override
        super().focusInEvent(event)
        self.viewport().update()

    def focusOutEvent(self, event: QFocusEvent) -> None:  # noqa: N802 - Qt override
        super().focusOutEvent(event)
        self.viewport().update()

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802 - Qt override
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            steps = event.angleDelta().y() / 120
            if steps:
                self.set_zoom(self._zoom * ZOOM_STEP ** steps)
            event.accept()
            return
        super().wheelEvent(event)

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
        from PySide6.QtSvg import QSvgGenerator  # noqa: PLC0415 - on export only
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
        self._apply_scale()

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        self._apply_scale()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            self._redraw(fade=False)

    # ------------------------------------------------------------------ building
    def _highlight(self) -> QColor:
        return self.palette().color(QPalette.ColorRole.Highlight)

    def _finish(self) -> None:
        if self._anim.state() == QVariantAnimation.State.Running:
            self._anim.stop()
            self._reversing = False  # a new picture replaces the reversed one anyway
            self._on_anim_finished()

    def _redraw(self, fade: bool, motion: bool = False, reverse_from: int | None = None) -> None:
        ms = self.player.animation_ms
        self._finish()
        index = self.player.index if reverse_from is None else reverse_from
        old = self._grab() if fade and ms > 0 and self._scene.items() else None
        self._scene.clear()
        self._ink = Ink.from_palette(self.palette())
        self._scene.setBackgroundBrush(self._ink.bg)
        trace = self.player.trace
        self._pic = pic = Picture(self._scene, self._ink, self._highlight(), trace, index,
                                  motion=motion and ms > 0)
        step = trace[index] if 0 <= index < len(trace) else None
        if step is None:
            pic.add(Note(QRectF(200, 280, 800, 100), "Load a program or pick a lesson to "
                         "watch a WebAssembly JIT link new code at run time.", self._ink,
                         pt=14, wrap=True))
        else:
            self._build(pic, step)
            self._draw_focus(pic)
        # Screen readers get what the picture shows, in words: the step's caption.
        self.setAccessibleDescription(pic.caption or "No trace loaded.")
        self._tweens = pic.tweens
        if old is not None:
            shot = pic.add(QGraphicsPixmapItem(old), 1000)
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

    def _grab(self) -> QPixmap:
        pix = QPixmap(SCENE.size().toSize())
        pix.fill(self._ink.bg)
        painter = QPainter(pix)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        self._scene.render(painter, QRectF(pix.rect()), SCENE)
        painter.end()
        return pix

    @staticmethod
    def _build(pic: Picture, step: Step) -> None:
        # Layer order matters: the call and trap layers find the slots and boxes drawn before.
        modules, jit = history(pic.trace, pic.index)
        pic.history = modules
        draw_frame(pic, step)
        draw_modules(pic, step, modules)
        draw_table(pic, step)
        draw_memory(pic, step, jit)
        draw_compile(pic, step)        # the bytes leaving memory for the host
        draw_imports(pic, step)
        draw_call(pic, step)
        draw_actor(pic, step)          # who changed the table: after the arrows it avoids
        draw_trap(pic, step)
        ink = pic.ink
        border = colors.TRAP if step.trap or step.error else \
            colors.CALL if step.result is not None else mix(ink.bg, ink.text, 0.3)
        pic.caption = step.caption
        pic.add(Note(CAPTION, step.caption, ink, fill=ink.panel, border=border,
                     pt=caption_pt(step.caption), align=LEFT_TOP, wrap=True,
                     heading=f"Step {step.index + 1} of {len(pic.trace)} · {step.phase} · "
                             f"{step.kind}",
                     tip="What just happened, in words; the picture above shows it."), 5)
        draw_legend(pic, step, modules)
