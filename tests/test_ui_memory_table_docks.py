"""The Memory and Table docks at the widths the window gives them, in both themes, by keyboard.

Issue 9: at a 380 px (1280x720) or 520 px (1920x1080) dock the hex dump keeps byte 0 and the
ASCII text on screen; following a change never scrolls sideways; every byte reads at WCAG AA
contrast right after the theme switches; Tab moves through the docks instead of being trapped;
everything focusable has an accessible name.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import (QApplication, QDockWidget, QHBoxLayout, QLabel, QMainWindow,
                               QWidget)

from wasmviz.engine import Scenario, run
from wasmviz.engine.trace import Trace
from wasmviz.ui.memory_view import CHANGED_ROLE, ROW_CHOICES, MemoryView
from wasmviz.ui.player import Player
from wasmviz.ui.table_view import TableView
from wasmviz.ui.theme import apply_theme


@pytest.fixture(scope="module")
def trace() -> Trace:
    return run(Scenario(exprs=("x*x+3",), args=(7,), jit_now=True))


@pytest.fixture
def player(qtbot, trace: Trace) -> Player:  # type: ignore[no-untyped-def]
    player = Player()
    player.animation_ms = 0
    player.set_trace(trace)
    return player


@pytest.fixture
def restore_theme():  # type: ignore[no-untyped-def]
    """The palette is application-wide: put back what the other tests run with."""
    app = QApplication.instance()
    palette, style = QPalette(app.palette()), app.style().name()
    yield
    app.setStyle(style)
    app.setPalette(palette)


def wcag(a: QColor, b: QColor) -> float:
    """WCAG 2 contrast ratio, written out here independently of the code under test."""
    def lum(c: QColor) -> float:
        ch = [v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4
              for v in (c.redF(), c.greenF(), c.blueF())]
        return 0.2126 * ch[0] + 0.7152 * ch[1] + 0.0722 * ch[2]
    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def section_step(trace: Trace, n: int = 1) -> int:
    """A step that writes module bytes: changed, rewritten and zero bytes side by side."""
    return [s for s in trace if s.kind == "section"][n].index


def in_dock(player: Player, window: tuple[int, int], width: int):  # type: ignore[no-untyped-def]
    """A MemoryView docked on the right of a window of ``window`` size, the dock ``width`` wide."""
    win = QMainWindow()
    win.setCentralWidget(QLabel("diagram"))
    view = MemoryView(player)
    dock = QDockWidget("Memory", win)
    dock.setWidget(view)
    win.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
    win.resize(*window)
    win.show()
    win.resizeDocks([dock], [width], Qt.Orientation.Horizontal)
    return win, dock, view


def assert_row_fits(view: MemoryView) -> None:
    """Byte 0, the ASCII column and its header are wholly on screen, with no sideways scroll."""
    table, model = view.table, view.model
    n = model.bytes_per_row
    assert n in ROW_CHOICES and model.ascii_column == n
    assert table.horizontalScrollBar().maximum() == 0
    viewport = table.viewport().rect()
    row = table.rowAt(viewport.height() // 2)
    assert row >= 0
    first, ascii_ = table.visualRect(model.index(row, 0)), table.visualRect(model.index(row, n))
    assert viewport.contains(first) and viewport.contains(ascii_)
    text = model.data(model.index(row, n))
    assert len(text) == n and table.fontMetrics().horizontalAdvance(text) < ascii_.width()
    header = table.horizontalHeader()
    right = header.sectionViewportPosition(n) + header.sectionSize(n)
    assert header.sectionViewportPosition(0) >= 0 and right <= header.viewport().width()
    assert header.sectionSize(n) > header.fontMetrics().horizontalAdvance("ASCII") + 8
    # Row labels and cells still name the right bytes at this width.
    label = model.headerData(row, Qt.Orientation.Vertical)
    assert label == f"0x{row * n:05X}"
    memory = model.memory
    assert [model.data(model.index(row, c)) for c in range(n)] == \
        [f"{b:02X}" for b in memory[row * n:row * n + n]]


@pytest.mark.parametrize("window,width", [((1280, 720), 380), ((1920, 1080), 520)])
def test_the_memory_dock_shows_byte_0_and_ascii_at_its_default_width(
        qtbot, player: Player, trace: Trace, window: tuple[int, int], width: int) -> None:
    win, dock, view = in_dock(player, window, width)
    qtbot.addWidget(win)
    qtbot.waitExposed(win)
    qtbot.waitUntil(lambda: abs(dock.width() - width) <= 2)
    player.go(section_step(trace))
    assert_row_fits(view)
    # Go-to and the region menu still land on the right byte and row.
    assert view.go_to_text("0x2000B")
    assert view.model.address_of(view.table.currentIndex()) == 0x2000B
    assert view.table.horizontalScrollBar().value() == 0
    jit = view.region_combo.findText("JIT buffer", Qt.MatchFlag.MatchStartsWith)
    view.region_combo.activated.emit(jit)
    assert view.table.rowAt(0) * view.model.bytes_per_row == trace.layout.jit_buf


def test_the_bare_view_at_380_px_and_rows_that_follow_the_width(
        qtbot, player: Player, trace: Trace) -> None:
    view = MemoryView(player)
    qtbot.addWidget(view)
    assert view.minimumSizeHint().width() <= 300  # the toolbar does not widen the dock
    view.resize(900, 600)
    view.show()
    qtbot.waitExposed(view)
    player.go(section_step(trace))
    assert view.model.bytes_per_row == 16  # 16 whenever they fit
    assert_row_fits(view)
    view.go_to(0x20040, top=True)
    view.resize(380, 600)
    qtbot.waitUntil(lambda: view.model.bytes_per_row < 16)
    assert_row_fits(view)
    # The same bytes stay at the top when a row's width changes.
    assert view.table.rowAt(0) * view.model.bytes_per_row == 0x20040
    view.resize(view.minimumSizeHint().width(), 600)
    qtbot.waitUntil(lambda: view.model.bytes_per_row == ROW_CHOICES[-1])
    assert_row_fits(view)
    # Back up, one step at a time: each row width fits from the narrowest width that shows
    # it (no column keeps the width it had in the previous layout).
    width, seen = view.width(), {ROW_CHOICES[-1]}
    while width < 900:
        width += 3
        view.resize(width, 600)
        qtbot.waitUntil(lambda: view.width() == width)
        if view.model.bytes_per_row not in seen:
            seen.add(view.model.bytes_per_row)
            assert_row_fits(view)
    assert seen == set(ROW_CHOICES)


def test_follow_changes_scrolls_only_vertically(qtbot, player: Player, trace: Trace) -> None:
    view = MemoryView(player)
    qtbot.addWidget(view)
    view.resize(380, 500)
    view.show()
    qtbot.waitExposed(view)
    table, model = view.table, view.model
    # A row wider than the viewport, scrolled right: as a dock narrower than its row would be.
    table.setColumnWidth(0, table.viewport().width())
    bar = table.horizontalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0)
    steps = [s.index for s in trace if s.memory_changes and s.index != player.index]
    followed = 0
    for index in steps:
        bar.setValue(bar.maximum())
        player.go(index)
        first = model.changed_addresses()
        if not first:
            continue
        followed += 1
        assert bar.value() == 0, f"step {index + 1} scrolled sideways"
        cell = table.visualRect(model.index_of(first[0]))
        assert table.viewport().rect().intersects(QRect(0, cell.top(), 1, cell.height()))
        assert table.visualRect(model.index(model.index_of(first[0]).row(), 0)).left() >= 0
    assert followed >= 5


def cells(view: MemoryView, rows: range) -> list[tuple[QColor, QColor]]:
    """(text, background) of the zero and the changed bytes in ``rows``, as Qt paints them."""
    model, palette = view.model, view.table.palette()
    out = []
    for row in rows:
        for col in range(model.bytes_per_row):
            index = model.index(row, col)
            if model.data(index) != "00" and not model.data(index, CHANGED_ROLE):
                continue
            base = palette.color(QPalette.ColorRole.Base)
            bg = model.data(index, Qt.ItemDataRole.BackgroundRole) or base
            fg = model.data(index, Qt.ItemDataRole.ForegroundRole) or \
                palette.color(QPalette.ColorRole.Text)
            assert bg.alpha() == 255 and fg.alpha() == 255  # what is returned is what is seen
            out.append((fg, bg))
    return out


def test_zero_bytes_read_at_aa_contrast_right_after_the_theme_switches(
        qtbot, player: Player, trace: Trace, restore_theme: None) -> None:
    apply_theme(False)
    view = MemoryView(player)
    qtbot.addWidget(view)
    view.resize(600, 500)
    view.show()
    qtbot.waitExposed(view)
    player.go(section_step(trace))
    n = view.model.bytes_per_row
    changed = view.model.changed_addresses()
    rows = range(changed[0] // n - 4, changed[-1] // n + 5)   # plain, tinted and changed zeros
    seen: dict[bool, set[str]] = {}
    app = QApplication.instance()
    for dark in (True, False, True):
        apply_theme(dark)
        # Qt delivers the new palette to widgets as events, ahead of the repaint they cause;
        # no step is taken: the colours must be right for that very first paint.
        base = app.palette().color(QPalette.ColorRole.Base)
        qtbot.waitUntil(lambda: view.table.palette().color(QPalette.ColorRole.Base) == base)
        assert (base.lightness() < 128) == dark
        drawn = cells(view, rows)
        assert len({bg.rgba() for _, bg in drawn}) >= 3  # base, tinted and full change colour
        worst = min(wcag(fg, bg) for fg, bg in drawn)
        assert worst >= 4.5, f"{'dark' if dark else 'light'}: a byte at {worst:.2f}:1"
        seen.setdefault(dark, set()).update(fg.name() for fg, bg in drawn if bg == base)
    assert seen[True].isdisjoint(seen[False])  # the dim zero colour follows the theme
    # The table's null slot (grey) is also legible on both palettes and on its change tint.
    table = TableView(player)
    qtbot.addWidget(table)
    player.go(next(s.index for s in trace if s.kind == "table.grow"))
    model = table.model
    table.show()
    for dark in (False, True):
        apply_theme(dark)
        base = app.palette().color(QPalette.ColorRole.Base)
        qtbot.waitUntil(lambda: table.table.palette().color(QPalette.ColorRole.Base) == base)
        index = model.index(6, 1)
        assert model.data(index) == "null"
        bg = model.data(index, Qt.ItemDataRole.BackgroundRole) or base
        bg = QColor.fromRgbF(*(bg.alphaF() * a + (1 - bg.alphaF()) * b for a, b in
                               zip(bg.getRgbF()[:3], base.getRgbF()[:3])))
        assert wcag(model.data(index, Qt.ItemDataRole.ForegroundRole), bg) >= 4.5


def test_tab_leaves_the_hex_table_and_reaches_the_table_view(qtbot, player: Player,
                                                              trace: Trace) -> None:
    box = QWidget()
    row = QHBoxLayout(box)
    memory, table = MemoryView(player), TableView(player)
    row.addWidget(memory)
    row.addWidget(table)
    qtbot.addWidget(box)
    box.resize(1000, 500)
    box.show()
    box.activateWindow()
    qtbot.waitUntil(box.isActiveWindow)
    memory.follow_check.setChecked(False)
    memory.go_to(0x1000)
    memory.table.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(memory.table.hasFocus)
    qtbot.keyClick(memory.table, Qt.Key.Key_Right)   # arrows still move from byte to byte
    assert memory.model.address_of(memory.table.currentIndex()) == 0x1001
    path = []
    for _ in range(6):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        path.append(QApplication.focusWidget())
    assert path[0] is not memory.table
    assert table.table in path
    # The Table view works by keyboard, and keeps its row across steps.
    table.table.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(table.table.hasFocus)
    table.table.setCurrentIndex(table.model.index(2, 0))
    qtbot.keyClick(table.table, Qt.Key.Key_Down)
    assert table.table.currentIndex().row() == 3
    player.forward()
    assert table.table.currentIndex().row() == 3
    qtbot.keyClick(table.table, Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is not table.table


def test_every_focusable_widget_in_both_views_has_an_accessible_name(
        qtbot, player: Player) -> None:
    memory, table = MemoryView(player), TableView(player)
    for view in (memory, table):
        qtbot.addWidget(view)
        view.show()
        qtbot.waitExposed(view)
        focusable = [w for w in view.findChildren(QWidget)
                     if w.focusPolicy() != Qt.FocusPolicy.NoFocus]
        assert view.table in focusable
        for w in focusable + [view.table.horizontalHeader()]:
            assert w.accessibleName(), f"{type(w).__name__} {w.objectName()!r} has no name"
            assert w.toolTip() or w.parent().toolTip() or w is not view.table
    assert memory.table.verticalHeader().accessibleName()
    assert {memory.address_edit, memory.region_combo, memory.follow_check} <= set(
        w for w in memory.findChildren(QWidget) if w.focusPolicy() != Qt.FocusPolicy.NoFocus)
