"""Which view goes where: the diagram in the centre, the rest as docks.

The docked views are made when first seen (lazy.LazyDock): each entry of ``make_docks`` is a
factory, and each view's module is imported only by its factory, so none of them costs the
app's start-up while its dock waits behind the Sandbox tab.
"""

from __future__ import annotations

from typing import Callable, cast

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from .diagram.view import DiagramView
from .lazy import PlayerRelay
from .player import Player

Right = Qt.DockWidgetArea.RightDockWidgetArea
Bottom = Qt.DockWidgetArea.BottomDockWidgetArea

ViewFactory = Callable[[], QWidget]


def make_central(player: Player) -> DiagramView:
    return DiagramView(player)


def make_docks(player: Player) -> list[tuple[str, ViewFactory, Qt.DockWidgetArea]]:
    """Return (title, factory of the widget, area) for each docked view, in tab order."""
    return [
        ("Memory", lambda: _late(player, _memory_view), Right),
        ("Table", lambda: _late(player, _table_view), Right),
        ("Module", lambda: _late(player, _module_view), Right),
        ("Functions", lambda: _late(player, _source_view), Right),
        ("Event log", lambda: _late(player, _event_log), Bottom),
    ]


def _late(player: Player, make: Callable[[Player], QWidget]) -> QWidget:
    """A view made after the player may have a trace, on its own relay: the LazyDock catches
    it up (PlayerRelay.catch_up) once the view is in the dock."""
    relay = PlayerRelay(player)
    view = make(cast(Player, relay))   # built as at start-up, before any trace
    relay.setParent(view)
    relay.go_live()
    return view


# Each view's module is imported when its dock is first shown (noqa: PLC0415 throughout).
def _memory_view(player: Player) -> QWidget:
    from .memory_view import MemoryView  # noqa: PLC0415
    return MemoryView(player)


def _table_view(player: Player) -> QWidget:
    from .table_view import TableView  # noqa: PLC0415
    return TableView(player)


def _module_view(player: Player) -> QWidget:
    from .module_view import ModuleView  # noqa: PLC0415
    return ModuleView(player)


def _source_view(player: Player) -> QWidget:
    from .source_view import SourceView  # noqa: PLC0415
    return SourceView(player)


def _event_log(player: Player) -> QWidget:
    from .event_log import EventLog  # noqa: PLC0415
    return EventLog(player)
