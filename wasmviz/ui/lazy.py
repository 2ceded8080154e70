"""Step updates for views the learner cannot see wait until the view is shown.

Docks share tabbed columns, so most of them are hidden behind another tab at any moment.
Refreshing a hidden table of 10,000 slots or a hidden disassembly on every step would cost
a good part of a frame for nothing; a hidden view instead remembers that it is behind and
catches up, from the player's current step, when it is shown. A view that is not in a shown
window at all (a test's widget, say) updates at once, as before.
"""

from __future__ import annotations

import weakref
from typing import Callable

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QDockWidget, QWidget

from .player import Player

StepHandler = Callable[[int, int], None]


class WhenShown(QObject):
    """Connects ``handlers`` to ``player.step_changed``, deferred while ``widget`` is hidden."""

    def __init__(self, widget: QWidget, player: Player, *handlers: StepHandler) -> None:
        super().__init__(widget)
        # The widget weakly: it owns this object (its Qt child), and usually the handlers are
        # its own methods; a strong reference would make a cycle that only the garbage
        # collector frees, at any moment (a paint included), which PySide does not survive.
        self._widget = weakref.ref(widget)
        self.player, self.handlers = player, tuple(_weak(h) for h in handlers)
        self.behind = False
        self._dock: QDockWidget | None = None
        widget.installEventFilter(self)
        player.step_changed.connect(self._on_step_changed)

    @property
    def widget(self) -> QWidget | None:
        return self._widget()

    def _on_step_changed(self, index: int, previous: int) -> None:
        widget = self.widget
        if widget is None:
            return
        # A dock behind another tab stays "visible" to Qt; what tells is that none of it
        # can be seen.
        if widget.window().isVisible() and (not widget.isVisible()
                                            or widget.visibleRegion().isEmpty()):
            self._watch_dock()
            self.behind = True
            return
        self._run(index, previous)

    def _watch_dock(self) -> None:
        """Catch up when the dock holding the widget comes to the front of its tabs."""
        if self._dock is not None:
            return
        widget = self.widget
        parent = widget.parentWidget() if widget is not None else None
        while parent is not None and not isinstance(parent, QDockWidget):
            parent = parent.parentWidget()
        if parent is not None:
            self._dock = parent
            parent.visibilityChanged.connect(self._on_dock_visibility)

    def _on_dock_visibility(self, visible: bool) -> None:
        if visible and self.behind:
            # After the dock has its size: scrolling to a change needs the real viewport.
            QTimer.singleShot(0, self._catch_up)

    def flush(self) -> None:
        """Bring the view up to the current step now (before pointing it at something)."""
        self._catch_up()

    def _catch_up(self) -> None:
        if self.behind:
            self.behind = False
            # As a jump: the steps in between were never shown here.
            self._run(self.player.index, -1)

    def _run(self, index: int, previous: int) -> None:
        for handler in self.handlers:
            handler(index, previous)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if watched is self.widget and event.type() == QEvent.Type.Show and self.behind:
            QTimer.singleShot(0, self._catch_up)
        return False


def _weak(handler: StepHandler) -> StepHandler:
    """A bound method held weakly (other callables as they are): see WhenShown.__init__."""
    if not hasattr(handler, "__self__"):
        return handler
    ref = weakref.WeakMethod(handler)  # type: ignore[arg-type]

    def call(index: int, previous: int) -> None:
        method = ref()
        if method is not None:
            method(index, previous)
    return call
