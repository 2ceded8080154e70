"""Where the window and its docks go: sized from the screen, arranged so the diagram stays big.

The diagram is the product, so the docks never take most of the window: on a screen narrower
than WIDE_SCREEN every dock shares one tabbed column on the right; on a wide screen the sandbox
and the lesson get a column on the left and the views one on the right. Nothing sits under the
diagram, so it keeps the whole height.
"""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtWidgets import QDockWidget, QMainWindow, QTabWidget

#: The window's preferred size; smaller screens get their whole available area.
PREFERRED = QSize(1400, 860)
#: From this window width on, the sandbox and lesson get a column of their own on the left.
WIDE_SCREEN = 1700
#: The docks that take input (left on a wide screen) and the views (right).
INPUT_DOCKS = ("Sandbox", "Lesson")


def initial_geometry(available: QRect) -> QRect:
    """The first-start window rectangle on a screen whose usable area is ``available``.

    It never exceeds the screen at any scale factor (``available`` is in device-independent
    pixels); on a screen up to the preferred size it fills the area.
    """
    width = min(PREFERRED.width(), available.width())
    height = min(PREFERRED.height(), available.height())
    if available.width() <= PREFERRED.width() * 1.1 or available.height() <= PREFERRED.height():
        width, height = available.width(), available.height()
    rect = QRect(0, 0, width, height)
    rect.moveCenter(available.center())
    return rect


def clamp_geometry(rect: QRect, available: QRect) -> QRect:
    """``rect`` moved and shrunk so that it lies wholly inside ``available``."""
    width = min(rect.width(), available.width())
    height = min(rect.height(), available.height())
    x = min(max(rect.x(), available.x()), available.right() + 1 - width)
    y = min(max(rect.y(), available.y()), available.bottom() + 1 - height)
    return QRect(x, y, width, height)


def dock_widths(window_width: int) -> tuple[int, int]:
    """(left column, right column) widths for a window this wide; 0 = no column."""
    if window_width >= WIDE_SCREEN:
        return 340, min(560, int(window_width * 0.26))
    # The diagram needs about 900 px to fit at a legible scale; the column gets the rest.
    return 0, max(300, min(370, window_width - 920))


def arrange_docks(window: QMainWindow, docks: dict[str, QDockWidget]) -> None:
    """Put the docks in their first-start places for the window's current width."""
    left_width, right_width = dock_widths(window.width())
    right_area = Qt.DockWidgetArea.RightDockWidgetArea
    left_area = Qt.DockWidgetArea.LeftDockWidgetArea
    inputs = [docks[t] for t in INPUT_DOCKS if t in docks]
    views = [d for t, d in docks.items() if t not in INPUT_DOCKS]
    column = (inputs + views) if not left_width else views
    groups = [(right_area, column)] + ([(left_area, inputs)] if left_width else [])
    if all(_grouped(window, area, group) for area, group in groups):
        _size(window, column, inputs, left_width, right_width)
        return   # re-tabbing docks already in place leaves Qt's old tab bars on screen
    # Each group: the first dock is placed, the others are tabbed onto it (placing them all
    # first would stack them, and their minimum heights could enlarge the window).
    window.addDockWidget(right_area, column[0])
    _tab(window, column)
    if left_width:
        window.addDockWidget(left_area, inputs[0])
        _tab(window, inputs)
    column[0].raise_()
    if left_width:
        inputs[0].raise_()
    _size(window, column, inputs, left_width, right_width)


def _grouped(window: QMainWindow, area: Qt.DockWidgetArea, group: list[QDockWidget]) -> bool:
    """Whether ``group`` already shares one tab group in ``area``, docked and shown."""
    first = group[0]
    together = set(window.tabifiedDockWidgets(first)) | {first}
    return together == set(group) and all(
        window.dockWidgetArea(d) == area and not d.isFloating() and not d.isHidden()
        for d in group)


def _size(window: QMainWindow, column: list[QDockWidget], inputs: list[QDockWidget],
          left_width: int, right_width: int) -> None:
    if left_width:
        window.resizeDocks([inputs[0]], [left_width], Qt.Orientation.Horizontal)
    window.resizeDocks([column[0]], [right_width], Qt.Orientation.Horizontal)


def _tab(window: QMainWindow, docks: list[QDockWidget]) -> None:
    for dock in docks[1:]:
        window.tabifyDockWidget(docks[0], dock)


def configure_tabs(window: QMainWindow) -> None:
    """Dock tabs run down the window's outer edges, as in IDEs' tool windows.

    Eight docks share one column on a small screen; horizontal tabs would elide every title
    to two letters, vertical ones keep them whole.
    """
    window.setDockOptions(QMainWindow.DockOption.AnimatedDocks
                          | QMainWindow.DockOption.AllowTabbedDocks
                          | QMainWindow.DockOption.AllowNestedDocks)
    window.setTabPosition(Qt.DockWidgetArea.RightDockWidgetArea, QTabWidget.TabPosition.East)
    window.setTabPosition(Qt.DockWidgetArea.LeftDockWidgetArea, QTabWidget.TabPosition.West)
    window.setTabPosition(Qt.DockWidgetArea.BottomDockWidgetArea, QTabWidget.TabPosition.North)


class FocusMode:
    """"Focus on the diagram": hide every dock but the lesson's, keep transport and caption.

    What was visible is remembered, so leaving focus mode restores exactly that.
    """

    def __init__(self, window: QMainWindow, docks: dict[str, QDockWidget]) -> None:
        self.window, self.docks = window, docks
        self._shown: list[QDockWidget] | None = None

    @property
    def active(self) -> bool:
        return self._shown is not None

    def set_active(self, on: bool, keep: tuple[str, ...] = ()) -> None:
        if on == self.active:
            return
        if on:
            self._shown = [d for d in self.docks.values() if d.isVisible()]
            for title, dock in self.docks.items():
                if title not in keep:
                    dock.hide()
        else:
            for dock in self._shown or []:
                dock.show()
            self._shown = None
