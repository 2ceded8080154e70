"""The memory dock paints its cells itself (wasmviz/ui/hex_table.py): what it paints must be
what the model says, pixel for pixel where a colour fills a cell, and the same glyphs as the
item delegate it replaces.

Issue 9 (performance): the item delegate took about 11 ms to repaint a 1920x1080 dock's cells;
the view's own paint is timed in bench/bench_ui.py, never here.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QImage, QPalette

from wasmviz.engine import Scenario, run
from wasmviz.engine.trace import Trace
from wasmviz.ui.memory_view import CHANGED_ROLE, MemoryView
from wasmviz.ui.player import Player


@pytest.fixture(scope="module")
def trace() -> Trace:
    return run(Scenario(exprs=("x*x+3",), args=(7,)))


@pytest.fixture
def view(qtbot, trace: Trace) -> MemoryView:  # type: ignore[no-untyped-def]
    player = Player()
    player.animation_ms = 0
    player.set_trace(trace)
    view = MemoryView(player)
    qtbot.addWidget(view)
    view.resize(600, 500)
    view.show()
    qtbot.waitExposed(view)
    player.go(next(s.index for s in trace if s.kind == "relocation"))
    return view


def grab(view: MemoryView) -> QImage:
    return view.table.viewport().grab().toImage()


def inside(view: MemoryView, row: int, col: int) -> QRect:
    """A cell's rect less a pixel each side (the edges may blend with a neighbour)."""
    return view.table.visualRect(view.model.index(row, col)).adjusted(1, 1, -1, -1)


def colours(image: QImage, rect: QRect) -> set[int]:
    return {image.pixel(x, y) for x in range(rect.left(), rect.right() + 1)
            for y in range(rect.top(), rect.bottom() + 1)}


def near(a: QColor, b: QColor, tolerance: int = 40) -> bool:
    return all(abs(x - y) <= tolerance for x, y in zip(a.getRgb()[:3], b.getRgb()[:3]))


def strongest(seen: set[int], background: QColor) -> QColor:
    """The pixel farthest from the background: a glyph's core, drawn in the ink itself."""
    def distance(p: int) -> int:
        return sum(abs(x - y) for x, y in zip(QColor(p).getRgb()[:3], background.getRgb()[:3]))
    return QColor(max(seen, key=distance))


def test_changed_cells_are_filled_with_the_models_colour_and_inked_with_its_text(
        view: MemoryView) -> None:
    model = view.model
    changed = model.changed_addresses()
    assert changed, "a relocation writes the code slot"
    image = grab(view)
    for address in changed:
        index = model.index_of(address)
        assert model.data(index, CHANGED_ROLE)
        rect = inside(view, index.row(), index.column())
        seen = colours(image, rect)
        background = model.data(index, Qt.ItemDataRole.BackgroundRole)
        ink = model.data(index, Qt.ItemDataRole.ForegroundRole)
        # The cell is filled with the change colour, and its text is in the model's ink.
        corner = QColor(image.pixel(rect.topLeft()))
        assert corner.rgb() == background.rgb()
        assert near(strongest(seen, background), ink), f"not {ink.name()} text at 0x{address:X}"


def test_plain_cells_show_their_byte_in_the_text_or_dim_colour(view: MemoryView) -> None:
    model, palette = view.model, view.table.palette()
    image = grab(view)
    base = palette.color(QPalette.ColorRole.Base)
    first, last = view.table.rowAt(0), view.table.rowAt(view.table.viewport().height() - 1)
    checked = {True: 0, False: 0}
    for row in range(first, last):
        for col in range(model.bytes_per_row):
            index = model.index(row, col)
            if model.span_at(row * model.bytes_per_row + col) is not None:
                continue
            zero = model.data(index) == "00"
            rect = inside(view, row, col)
            ink = model.data(index, Qt.ItemDataRole.ForegroundRole) or \
                palette.color(QPalette.ColorRole.Text)
            seen = colours(image, rect)
            assert QColor(image.pixel(rect.topLeft())).rgb() == base.rgb()
            assert len(seen) > 1, "the cell shows text"
            # The glyph's core pixels reach the ink: the dim grey for zeros, Text otherwise.
            assert near(strongest(seen, base), ink), f"row {row} column {col}"
            checked[zero] += 1
    assert checked[True] and checked[False]


def test_the_ascii_column_and_the_selection_are_painted(view: MemoryView, qtbot) -> None:
    model = view.model
    assert view.go_to_text("0x1008")
    index = model.index_of(0x1008)
    image = grab(view)
    highlight = view.table.palette().color(QPalette.ColorRole.Highlight)
    rect = inside(view, index.row(), index.column())
    assert QColor(image.pixel(rect.topLeft())).rgb() == highlight.rgb()
    # The ASCII cell of a row with printable bytes has text in it.
    ascii_rect = inside(view, index.row(), model.ascii_column)
    assert len(colours(image, ascii_rect)) > 1
    assert model.ascii_text(index.row()) == model.data(model.index(index.row(),
                                                                   model.ascii_column))


def test_stepping_never_resizes_the_table(view: MemoryView, trace: Trace) -> None:
    """The summary under the table keeps its two lines, whatever a step changed: a table
    resized by a longer summary would repaint every cell and measure its headers again."""
    player, sizes = view.player, set()
    for step in trace:
        player.go(step.index)
        view.layout().activate()
        sizes.add((view.table.width(), view.table.height()))
        assert view.summary.text()
    assert len(sizes) == 1
    many = max(trace, key=lambda s: len(s.memory_changes))
    player.go(many.index)
    assert all((c.label or f"0x{c.address:05X}") in view.summary.toolTip()
               for c in many.memory_changes)


def test_a_dropped_view_is_freed_at_once_not_by_the_garbage_collector(qtbot, trace) -> None:
    """WhenShown holds its view and the view's handlers weakly: no reference cycle, so a view
    goes as soon as it is dropped (a cycle was collected at random moments, during a paint
    once, where PySide crashed)."""
    import gc
    import weakref

    player = Player()
    player.set_trace(trace)
    view = MemoryView(player)
    refs = [weakref.ref(view), weakref.ref(view.table), weakref.ref(view.model)]
    gc.disable()
    try:
        del view
        assert all(r() is None for r in refs)
    finally:
        gc.enable()
    player.go(len(trace) - 1)   # the player's signal reaches no dead view
