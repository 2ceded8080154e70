"""Which view goes where: the diagram in the centre, the rest as docks."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from .diagram.view import DiagramView
from .event_log import EventLog
from .memory_view import MemoryView
from .module_view import ModuleView
from .player import Player
from .source_view import SourceView
from .table_view import TableView

Right = Qt.DockWidgetArea.RightDockWidgetArea
Bottom = Qt.DockWidgetArea.BottomDockWidgetArea


def make_central(player: Player) -> DiagramView:
    return DiagramView(player)


def make_docks(player: Player) -> list[tuple[str, QWidget, Qt.DockWidgetArea]]:
    """Return (title, widget, area) for each docked view, in tab order."""
    return [
        ("Memory", MemoryView(player), Right),
        ("Table", TableView(player), Right),
        ("Module", ModuleView(player), Right),
        ("Functions", SourceView(player), Right),
        ("Event log", EventLog(player), Bottom),
    ]
