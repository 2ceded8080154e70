"""Transport controls: Reset, Back, Step, Play/Pause, speed, timeline, next phase."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QLabel, QSlider, QToolBar, QWidget

from .player import Player

SPEEDS = (0.5, 1, 2, 4, 8, 16)


class TransportBar(QToolBar):
    """A toolbar driving the player; its actions carry the keyboard shortcuts."""

    def __init__(self, player: Player, parent: QWidget | None = None) -> None:
        super().__init__("Transport", parent)
        self.setObjectName("transport")
        self.player = player
        self.reset_action = self._action("Reset", "Home", "Back to the first step (Home)",
                                         player.reset)
        self.back_action = self._action("◀ Back", "Left",
                                        "Previous step: shows the recorded earlier state (Left)",
                                        player.back)
        self.play_action = self._action("▶ Play", "Space", "Play / pause (Space)",
                                        player.toggle_play)
        self.step_action = self._action("Step ▶", "Right", "Next step (Right)", player.forward)
        self.phase_action = self._action("Next phase ▶▶", "PgDown",
                                         "Jump to the next phase (Page Down)", player.next_phase)
        self.end_action = self._action("End", "End", "Last step (End)", player.to_end)
        self.addSeparator()
        self.timeline = QSlider(Qt.Orientation.Horizontal)
        self.timeline.setMinimumWidth(220)
        self.timeline.setToolTip("Timeline: drag to scrub through the recorded steps")
        self.addWidget(self.timeline)
        self.position = QLabel(" 0 / 0 ")
        self.position.setToolTip("Current step / number of steps")
        self.addWidget(self.position)
        self.addSeparator()
        self.addWidget(QLabel(" Speed "))
        self.speed = QSlider(Qt.Orientation.Horizontal)
        self.speed.setRange(0, len(SPEEDS) - 1)
        self.speed.setFixedWidth(110)
        self.speed.setToolTip("Play speed (steps per second)")
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

    def _action(self, text: str, key: str, tip: str, slot: object) -> QAction:
        action = QAction(text, self)
        action.setShortcut(QKeySequence(key))
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.setToolTip(tip)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def set_speed(self, steps_per_second: float) -> None:
        best = min(range(len(SPEEDS)), key=lambda i: abs(SPEEDS[i] - steps_per_second))
        self.speed.setValue(best)
        self._on_speed(best)

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
        self.position.setText(f" {index + 1} / {len(self.player.trace)} ")
        self.back_action.setEnabled(index > 0)
        self.step_action.setEnabled(not self.player.at_end)

    def _on_trace_changed(self) -> None:
        self.timeline.setRange(0, max(0, len(self.player.trace) - 1))
        self.position.setText(f" 0 / {len(self.player.trace)} ")

    def _on_playing_changed(self, playing: bool) -> None:
        self.play_action.setText("■ Pause" if playing else "▶ Play")
