"""Transport controls: first/back/step/play/phase/last, speed, and a timeline that marks traps.

Shortcuts follow debuggers (F5 play/continue, F10 step, F11 next phase, with Shift going back)
and always work, wherever focus is, because no text field uses those keys. The plain keys
(arrows, Space, Home/End, Page Up/Down) work too, except while a text field has focus: there
they keep editing text, which is what a learner typing in the sandbox expects.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QAction, QColor, QKeyEvent, QKeySequence, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import (QAbstractButton, QAbstractSlider, QApplication, QLabel, QSlider,
                               QTabBar, QToolBar, QWidget)

from . import colors
from .player import Player

SPEEDS = (0.5, 1, 2, 4, 8, 16)

#: (attribute, text, always-working key, plain key, what it does). The menu "Go" lists these.
TRANSPORT = (
    ("reset_action", "|◀ First", "Alt+Home", "Home", "Go to the first step"),
    ("phase_back_action", "◀◀ Phase", "Shift+F11", "PgUp", "Go to the start of the previous phase"),
    ("back_action", "◀ Back", "Shift+F10", "Left",
     "Previous step: shows the recorded earlier state"),
    ("play_action", "▶ Play", "F5", "Space", "Play / pause"),
    ("step_action", "Step ▶", "F10", "Right", "Next step"),
    ("phase_action", "Phase ▶▶", "F11", "PgDown", "Jump to the next phase"),
    ("end_action", "Last ▶|", "Alt+End", "End", "Go to the last step"),
)


def step_text(index: int, count: int) -> str:
    """The one numbering every view uses: "Step N of M", 1-based."""
    return f"Step {index + 1} of {count}" if count else "No steps"


#: Keys a focused control keeps for itself (Space presses a button; arrows move a slider).
_SLIDER_KEYS = {Qt.Key.Key_Left, Qt.Key.Key_Right, Qt.Key.Key_Home, Qt.Key.Key_End,
                Qt.Key.Key_PageUp, Qt.Key.Key_PageDown}


class KeyPolicy(QObject):
    """Lets a focused button keep Space, and a focused slider or tab bar its arrow keys.

    Text fields already keep the keys they edit with (Qt's shortcut override); buttons and
    sliders do not ask, so without this Space on a focused "Run" button would play the trace.
    The F-key shortcuts are unaffected: they work everywhere.

    It filters the focused control only (the shortcut override goes to the focus widget), and
    follows the focus: an application-wide filter in Python would see every event of every
    object, a Python call each, and the first object of each type PySide has not yet met
    makes it load its lazy classes (about 15 ms of the window's start, issue 11).
    """

    #: The controls that keep some plain keys.
    KEEPERS = (QAbstractButton, QAbstractSlider, QTabBar)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        app = QApplication.instance()
        if isinstance(app, QApplication):
            app.focusChanged.connect(self._on_focus)

    def _on_focus(self, old: QWidget | None, new: QWidget | None) -> None:
        if old is not None:
            try:
                old.removeEventFilter(self)
            except RuntimeError:
                pass   # deleted as it lost the focus
        if isinstance(new, self.KEEPERS):
            new.installEventFilter(self)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent) \
                and event.modifiers() == Qt.KeyboardModifier.NoModifier:
            key = event.key()
            if isinstance(obj, QAbstractButton) and key == Qt.Key.Key_Space \
                    or isinstance(obj, (QAbstractSlider, QTabBar)) and key in _SLIDER_KEYS:
                event.accept()
        return False


class Timeline(QSlider):
    """The scrubber; a trap step is marked with a red tick so it can be found at a glance."""

    def __init__(self) -> None:
        super().__init__(Qt.Orientation.Horizontal)
        self.marks: dict[int, QColor] = {}

    def set_marks(self, marks: dict[int, QColor]) -> None:
        self.marks = dict(marks)
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        super().paintEvent(event)
        if not self.marks or self.maximum() <= self.minimum():
            return
        # Here, once there is a trap to mark: QStyle's Python enums take ~6 ms to make, which
        # the window's first frame does not need (issue 11).
        from PySide6.QtWidgets import QStyle, QStyleOptionSlider  # noqa: PLC0415
        opt = QStyleOptionSlider()
        self.initStyleOption(opt)
        groove = self.style().subControlRect(QStyle.ComplexControl.CC_Slider, opt,
                                             QStyle.SubControl.SC_SliderGroove, self)
        handle = self.style().subControlRect(QStyle.ComplexControl.CC_Slider, opt,
                                             QStyle.SubControl.SC_SliderHandle, self)
        span = groove.width() - handle.width()
        p = QPainter(self)
        for value, color in self.marks.items():
            x = groove.left() + handle.width() / 2 + QStyle.sliderPositionFromValue(
                self.minimum(), self.maximum(), value, span)
            p.setPen(QPen(color, 3))
            p.drawLine(int(x), 2, int(x), self.height() - 3)
        p.end()


class TransportBar(QToolBar):
    """A toolbar driving the player; its actions carry the keyboard shortcuts."""

    def __init__(self, player: Player, parent: QWidget | None = None) -> None:
        super().__init__("Transport", parent)
        self.setObjectName("transport")
        self.setAccessibleName("Transport")
        self.player = player
        slots = {"reset_action": player.reset, "phase_back_action": player.previous_phase,
                 "back_action": player.back, "play_action": player.toggle_play,
                 "step_action": player.forward, "phase_action": player.next_phase,
                 "end_action": player.to_end}
        self.actions_in_order: list[QAction] = []
        for attr, text, key, plain, tip in TRANSPORT:
            action = self._action(text, key, plain, tip, slots[attr])
            setattr(self, attr, action)
            self.actions_in_order.append(action)
        self.trap_action = QAction("Jump to trap", self)
        self.trap_action.setShortcut(QKeySequence("Ctrl+T"))
        self.trap_action.setToolTip("Go to the step where the run trapped (Ctrl+T)")
        self.trap_action.setStatusTip(self.trap_action.toolTip())
        self.trap_action.triggered.connect(self.jump_to_trap)
        self.addSeparator()
        self.timeline = Timeline()
        self.timeline.setMinimumWidth(160)
        self.timeline.setToolTip("Timeline: drag to scrub through the recorded steps; a red "
                                 "tick marks the trap")
        self.timeline.setAccessibleName("Timeline")
        self.addWidget(self.timeline)
        self.position = QLabel(" No steps ")
        self.position.setToolTip("Where you are in the recorded run (the same numbering as the "
                                  "diagram, the event log and the lesson)")
        self.position.setAccessibleName("Step position")
        # A fixed size: a label that grows with its number relayouts (and repaints) the
        # whole window on every step.
        self.position.setFixedSize(self.position.fontMetrics().horizontalAdvance(
            " Step 99999 of 99999 "), self.position.sizeHint().height())
        self.position.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.addWidget(self.position)
        self.addSeparator()
        self.speed = QSlider(Qt.Orientation.Horizontal)
        self.speed.setRange(0, len(SPEEDS) - 1)
        self.speed.setFixedWidth(80)
        self.speed.setToolTip("Play speed (steps per second)")
        self.speed.setAccessibleName("Play speed")
        self.speed_label = QLabel()
        self.addWidget(self.speed)
        self.addWidget(self.speed_label)
        self.speed.valueChanged.connect(self._on_speed)
        self.timeline.valueChanged.connect(self._on_timeline)
        player.step_changed.connect(self._on_step_changed)
        player.trace_changed.connect(self._on_trace_changed)
        player.playing_changed.connect(self._on_playing_changed)
        self.set_speed(2)
        self._on_trace_changed()
        self._key_policy = KeyPolicy(self)

    def _action(self, text: str, key: str, plain: str, tip: str, slot: object) -> QAction:
        action = QAction(text, self)
        # The first shortcut is shown in menus; both trigger from anywhere in the window, but
        # a focused text field takes the plain key first (Qt's shortcut override).
        action.setShortcuts([QKeySequence(key), QKeySequence(plain)])
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        plain_name = QKeySequence(plain).toString(QKeySequence.SequenceFormat.NativeText)
        action.setToolTip(f"{tip} ({key}, or {plain_name} outside text fields)")
        action.setStatusTip(action.toolTip())
        action.triggered.connect(slot)
        self.addAction(action)
        widget = self.widgetForAction(action)
        if widget is not None:
            widget.setAccessibleName(tip)
        return action

    def set_speed(self, steps_per_second: float) -> None:
        best = min(range(len(SPEEDS)), key=lambda i: abs(SPEEDS[i] - steps_per_second))
        self.speed.setValue(best)
        self._on_speed(best)

    def jump_to_trap(self) -> None:
        trap = self.trap_index()
        if trap is not None:
            self.player.go(trap)

    def trap_index(self) -> int | None:
        """The index of the step where the shown run trapped, if it did."""
        trace = self.player.trace
        for i in range(len(trace) - 1, -1, -1):
            if trace[i].trap is not None:
                return i
        return None

    def _on_speed(self, index: int) -> None:
        self.player.set_speed(SPEEDS[index])
        self.speed_label.setText(f" {SPEEDS[index]:g}/s ")

    def _on_timeline(self, value: int) -> None:
        if value != self.player.index:
            self.player.go(value)

    def _on_step_changed(self, index: int, _previous: int) -> None:
        self.timeline.blockSignals(True)
        self.timeline.setValue(index)
        self.timeline.blockSignals(False)
        count = len(self.player.trace)
        self.position.setText(f" {step_text(index, count)} ")
        for action in (self.reset_action, self.back_action, self.phase_back_action):
            action.setEnabled(index > 0)
        for action in (self.step_action, self.phase_action, self.end_action):
            action.setEnabled(count > 0 and not self.player.at_end)
        self.play_action.setEnabled(count > 0)

    def _on_trace_changed(self) -> None:
        count = len(self.player.trace)
        self.timeline.setRange(0, max(0, count - 1))
        trap = self.trap_index()
        self.timeline.set_marks({} if trap is None else {trap: QColor(colors.TRAP)})
        self.trap_action.setEnabled(trap is not None)
        self.trap_action.setText("Jump to trap" if trap is None
                                 else f"Jump to trap ({step_text(trap, count)})")
        self._on_step_changed(max(self.player.index, 0) if count else -1, -1)
        if not count:
            self.position.setText(" No steps ")

    def _on_playing_changed(self, playing: bool) -> None:
        self.play_action.setText("■ Pause" if playing else "▶ Play")
