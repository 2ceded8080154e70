"""Work for views the learner cannot see waits until the view is shown.

Docks share tabbed columns, so most of them are hidden behind another tab at any moment.
Refreshing a hidden table of 10,000 slots or a hidden disassembly on every step would cost
a good part of a frame for nothing; a hidden view instead remembers that it is behind and
catches up, from the player's current step, when it is shown (WhenShown). A view that is not
in a shown window at all (a test's widget, say) updates at once, as before.

The same holds for making the views at all: importing and building the docks that start
behind the Sandbox tab took a sixth of the app's start-up (issue 11). A LazyDock makes its view
the first time the dock comes to the front, or the first time code asks for ``widget()``; the
view then catches up with the trace and step it missed through its own PlayerRelay.
"""

from __future__ import annotations

import weakref
from typing import Any, Callable

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QDockWidget, QMainWindow, QWidget

from .player import Player

StepHandler = Callable[[int, int], None]


def enclosing_dock(widget: QWidget | None) -> QDockWidget | None:
    """The dock ``widget`` is in, if any."""
    parent = widget.parentWidget() if widget is not None else None
    while parent is not None and not isinstance(parent, QDockWidget):
        parent = parent.parentWidget()
    return parent


def unseen(widget: QWidget) -> bool:
    """Whether a widget of a shown window cannot be seen: a dock behind another tab stays
    "visible" to Qt; what tells is that none of it can be seen."""
    return not widget.isVisible() or widget.visibleRegion().isEmpty()


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
        if widget.window().isVisible() and unseen(widget):
            self._watch_dock()
            self.behind = True
            return
        self._run(index, previous)

    def _watch_dock(self) -> None:
        """Catch up when the dock holding the widget comes to the front of its tabs."""
        if self._dock is not None:
            return
        parent = enclosing_dock(self.widget)
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


class PlayerRelay(QObject):
    """The player as a view made late sees it, so that it ends up as one made at start-up.

    While the view is built (until ``go_live``) the relay reads as a player with nothing
    loaded, the state every view was built in at start-up (a view reading a step in its
    constructor would otherwise scroll and size itself before it is even in its dock). Then
    every attribute is the player's, and step_changed, trace_changed and playing_changed are
    relayed through signals of the relay's own, so that ``catch_up`` tells this one view what
    it missed.
    """

    step_changed = Signal(int, int)
    trace_changed = Signal()
    playing_changed = Signal(bool)

    def __init__(self, player: Player, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._player = player
        self._source: Player = Player(self)   # nothing loaded, until go_live
        player.step_changed.connect(self.step_changed)
        player.trace_changed.connect(self.trace_changed)
        player.playing_changed.connect(self.playing_changed)

    def __getattr__(self, name: str) -> Any:
        # Only called for what the relay itself lacks: the trace, index, go, ...
        if name in ("_player", "_source"):
            raise AttributeError(name)
        return getattr(self._source, name)

    def go_live(self) -> None:
        """From now on the relay reads as the player."""
        self._source = self._player

    def catch_up(self) -> None:
        """Tell the view the trace and the step on screen, as if it had been there."""
        self.go_live()
        player = self._player
        if len(player.trace):
            self.trace_changed.emit()
        if player.index >= 0:
            self.step_changed.emit(player.index, -1)


class LazyDock(QDockWidget):
    """A dock whose view is made by ``factory`` when the dock first comes to the front, or
    when code first asks for ``widget()``; until then it holds an empty page nobody sees."""

    def __init__(self, title: str, parent: QWidget, factory: Callable[[], QWidget]) -> None:
        super().__init__(title, parent)
        self._factory: Callable[[], QWidget] | None = factory
        self.setWidget(QWidget())
        self.visibilityChanged.connect(self._on_visibility)

    @property
    def built(self) -> bool:
        return self._factory is None

    def widget(self) -> QWidget:
        """The dock's view, made now if it was not yet."""
        self.build()
        return super().widget()

    def build(self) -> None:
        """Make the view now, in the dock, and catch it up with the player."""
        if self._factory is None:
            return
        factory, self._factory = self._factory, None
        placeholder = super().widget()
        view = factory()
        self.setWidget(view)
        placeholder.deleteLater()
        if self.isVisible():
            # Laid out and shown at the size it will have in front now, as a view made at
            # start-up was long before its first step: a view that sizes itself when resized
            # (the memory dock picks its row width then) must not do so later, in the middle
            # of catching up. Behind a tab, Qt parks a dock out of sight at another size.
            window = self.parentWidget()
            if isinstance(window, QMainWindow):
                front = [d for d in window.tabifiedDockWidgets(self)
                         if not d.visibleRegion().isEmpty()]
                if front and self.visibleRegion().isEmpty():
                    self.resize(front[0].size())
            self.layout().activate()
            view.show()
        direct = Qt.FindChildOption.FindDirectChildrenOnly
        for relay in view.findChildren(PlayerRelay, options=direct):
            relay.catch_up()   # a view behind a tab waits (WhenShown); one in front shows it

    def _on_visibility(self, visible: bool) -> None:
        # Emitted with True when the dock is shown at the front of its tabs (or alone), not
        # for a dock shown behind another tab.
        if visible:
            self.build()
