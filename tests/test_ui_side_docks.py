"""The side docks at the width they open with (~380 px): one step numbering, truthful call
counts, a readable Module dock, a wrapping sandbox editor, errors past the end of a line,
an unambiguous session list, accessible names, and Tab never trapped."""

from __future__ import annotations

import struct

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QAbstractSpinBox, QComboBox, QLineEdit, QPlainTextEdit,
                               QTabBar, QToolButton, QVBoxLayout, QWidget)

from wasmviz.engine import Scenario, SourceError, compile_program, run
from wasmviz.engine.trace import Trace
from wasmviz.ui.editor import ERROR_COLOR, CodeEditor
from wasmviz.ui.event_log import EventLog
from wasmviz.ui.module_view import ModuleView
from wasmviz.ui.player import Player
from wasmviz.ui.sandbox import SandboxPanel
from wasmviz.ui.source_view import (CALLS_COLUMN, PARAMS_COLUMN, SourceView,
                                     jit_calls_from_host)

DOCK_WIDTH = 380


def shown(qtbot, view, width: int, height: int):  # type: ignore[no-untyped-def]
    """``view`` shown at ``width`` x ``height``, as in a dock of that size."""
    qtbot.addWidget(view)
    view.resize(width, height)
    view.show()
    qtbot.waitExposed(view)
    return view


@pytest.fixture(scope="module")
def expr_trace() -> Trace:
    # Three calls of expr, all straight into its JIT code: the interpreter never runs it.
    return run(Scenario(exprs=("x*x+3",), args=(7,), jit_now=True, repeat=3))


def make_player(trace: Trace) -> Player:
    player = Player()
    player.animation_ms = 0
    player.set_trace(trace)
    return player


# ---------------------------------------------------------------- 1. one numbering
def test_event_log_numbers_steps_from_one(qtbot, fib_trace: Trace) -> None:
    player = make_player(fib_trace)
    log = EventLog(player)
    qtbot.addWidget(log)
    n = len(fib_trace)
    for i in range(n):
        player.go(i)
        row = log.table.currentIndex().row()
        assert log.step_at(row) == player.index == i
        assert log.proxy.index(row, 0).data() == str(i + 1)
        tip = log.proxy.index(row, 3).data(Qt.ItemDataRole.ToolTipRole)
        assert tip.startswith(f"Step {i + 1} of {n} ·")
    assert log.model.headerData(0, Qt.Orientation.Horizontal) == "Step"


def test_module_title_gives_the_one_based_step(qtbot, fib_trace: Trace) -> None:
    player = make_player(fib_trace)
    view = ModuleView(player)
    qtbot.addWidget(view)
    made = [s.index for s in fib_trace if s.module is not None]
    player.go(len(fib_trace) - 1)
    assert made[-1] < player.index
    assert view.title.text().endswith(f"from step {made[-1] + 1}")
    player.go(made[-1])
    assert view.title.text().endswith("from this step")


# ---------------------------------------------------------------- 2. truthful call counts
def test_calls_column_says_it_counts_interpreted_calls(qtbot, expr_trace: Trace) -> None:
    player = make_player(expr_trace)
    view = SourceView(player)
    qtbot.addWidget(view)
    header = view.tree.headerItem()
    assert header.text(CALLS_COLUMN).replace("\n", " ") == "Interpreted calls"
    assert "JIT code" in header.toolTip(CALLS_COLUMN)
    player.to_end()
    (fn,) = view.functions()
    # The number shown is the object's +16 field in the recorded memory, which is still 0
    # after three calls: every one went into JIT code.
    memory = player.memory_at()
    assert struct.unpack("<I", memory[fn.address + 16:fn.address + 20]) == (0,)
    host_calls = [s for s in expr_trace if s.kind == "call"]
    assert len(host_calls) == 3 and all(s.detail["via"] == "jit" for s in host_calls)
    item = view.tree.topLevelItem(0)
    assert item.text(CALLS_COLUMN) == "0"
    tip = item.toolTip(CALLS_COLUMN)
    assert "0 interpreted call(s)" in tip
    assert "called expr 3 time(s) straight into its JIT code" in tip
    # Before the second call only one such call had happened.
    player.go(host_calls[1].index - 1)
    assert "called expr 1 time(s)" in view.tree.topLevelItem(0).toolTip(CALLS_COLUMN)


def test_calls_column_matches_the_interpreter_for_fib(qtbot, fib_trace: Trace) -> None:
    player = make_player(fib_trace)
    view = SourceView(player)
    qtbot.addWidget(view)
    result = next(s for s in fib_trace if s.kind == "result")
    player.go(result.index)
    item = view.tree.topLevelItem(0)
    # 99 interpreted calls; fib(20) makes 21891 in all, the rest as JIT code.
    assert item.text(CALLS_COLUMN) == str(result.detail["calls"]) != "21891"
    assert item.text(3) == "compiled"
    assert "not counted" in item.toolTip(CALLS_COLUMN)
    assert jit_calls_from_host(fib_trace.steps) == {}  # the host called fib interpreted


def test_functions_dock_shows_the_code_slot_at_380_px(qtbot, fib_trace: Trace) -> None:
    player = make_player(fib_trace)
    view = shown(qtbot, SourceView(player), DOCK_WIDTH, 500)
    player.to_end()
    item = view.tree.topLevelItem(0)
    assert item.text(4) == "6 → m1.fib"
    needed = view.tree.fontMetrics().horizontalAdvance(item.text(4))
    # Params gives way (its count stays in the row tooltip and the title) so nothing scrolls.
    assert view.tree.isColumnHidden(PARAMS_COLUMN)
    assert "1 param ·" in view.title.text() and "1 parameter(s)" in item.toolTip(0)
    assert view.tree.horizontalScrollBar().maximum() == 0
    assert view.tree.columnWidth(4) > needed
    view.resize(800, 500)
    qtbot.waitUntil(lambda: not view.tree.isColumnHidden(PARAMS_COLUMN))


# ---------------------------------------------------------------- 3. Module dock at 380 px
def test_module_dock_fits_380_px(qtbot, fib_trace: Trace) -> None:
    player = make_player(fib_trace)
    view = shown(qtbot, ModuleView(player), DOCK_WIDTH, 600)
    player.to_end()
    bar = view.tabs.tabBar()
    assert bar.sizeHint().width() <= view.tabs.width() <= DOCK_WIDTH
    assert all(bar.tabRect(i).right() < bar.width() for i in range(bar.count()))
    assert [view.tabs.tabText(i) for i in range(3)] == ["WAT", "Annotated", "Bytes"]
    assert view.splitter.orientation() == Qt.Orientation.Vertical
    # The WAT wraps at the width, in a font no smaller than 9 pt: nothing to scroll sideways.
    assert view.wat.lineWrapMode() == QPlainTextEdit.LineWrapMode.WidgetWidth
    assert view.wat.font().pointSizeF() >= 9
    assert view.wat.horizontalScrollBar().maximum() == 0
    longest = max(view.wat.toPlainText().splitlines(), key=len)
    assert view.wat.fontMetrics().horizontalAdvance(longest) > view.wat.viewport().width()
    # The raw dump puts fewer bytes on a line so that none is cut off, and a section's
    # highlight still covers exactly its bytes.
    view.tabs.setCurrentWidget(view.raw)
    qtbot.waitUntil(lambda: view.bytes_per_line < 16)
    assert view.raw.horizontalScrollBar().maximum() == 0
    code = next(s for s in view.module.sections if s.name == "code")
    view.select_section("code")
    marked = bytes.fromhex("".join(sel.cursor.selectedText()
                                   for sel in view.raw.extraSelections()))
    assert marked == view.module.data[code.start:code.end]
    view.resize(1000, 600)  # wide again: list beside the text, 16 bytes a line
    qtbot.waitUntil(lambda: view.bytes_per_line == 16)
    assert view.splitter.orientation() == Qt.Orientation.Horizontal


# ---------------------------------------------------------------- 4, 5. the editor
def test_editor_wraps_and_numbers_source_lines(qtbot) -> None:
    editor = CodeEditor()
    qtbot.addWidget(editor)
    editor.resize(300, 300)
    editor.show()
    qtbot.waitExposed(editor)
    editor.setPlainText("def fib(n) = if n < 2 then 1 else fib(n - 1) + fib(n - 2)\nfib(20)")
    assert editor.lineWrapMode() == QPlainTextEdit.LineWrapMode.WidgetWidth
    first = editor.document().firstBlock()
    assert first.layout().lineCount() > 1  # the def really wraps
    assert editor.horizontalScrollBar().maximum() == 0
    (n1, top1, h1), (n2, top2, _h2) = editor.visible_numbers()
    # Line 2 is numbered 2 and drawn where its block starts, below all of line 1's rows.
    assert (n1, n2) == (1, 2)
    assert h1 >= 2 * editor.fontMetrics().height() and top2 == top1 + h1


def test_error_past_the_end_of_the_line_is_marked(qtbot) -> None:
    panel = SandboxPanel()
    qtbot.addWidget(panel)
    panel.resize(DOCK_WIDTH, 500)
    panel.show()
    qtbot.waitExposed(panel)
    text = "x * (3 + y"
    with pytest.raises(SourceError) as caught:
        compile_program(text)
    assert (caught.value.line, caught.value.column) == (1, len(text) + 1)  # past the end
    panel.editor.setPlainText(text)
    errors: list[tuple[str, object]] = []
    panel.input_error.connect(lambda msg, where: errors.append((msg, where)))
    panel.request(jit_now=True)
    assert errors and errors[0][1][:2] == (1, len(text) + 1)
    editor = panel.editor
    assert editor.error_selection() == (len(text) - 1, len(text))  # the last character
    assert editor.error_caret == len(text)
    rect = editor.error_marker_rect()
    assert rect is not None
    end = editor.textCursor()
    end.setPosition(len(text))
    assert rect.left() >= editor.cursorRect(end).left()
    # The caret is really drawn, in the error colour.
    image = editor.viewport().grab().toImage()
    red = QColor(ERROR_COLOR)
    assert any(_near(QColor(image.pixel(x, y)), red)
               for x in range(rect.left(), rect.right() + 1)
               for y in range(rect.top(), rect.bottom() + 1))
    editor.insertPlainText(")")
    assert editor.error is None and editor.error_marker_rect() is None
    assert editor.toolTip().startswith("An expression over x")  # the help comes back


def _near(a: QColor, b: QColor) -> bool:
    return abs(a.red() - b.red()) + abs(a.green() - b.green()) + abs(a.blue() - b.blue()) < 60


# ---------------------------------------------------------------- 6. the session list
def test_session_list_describes_the_next_jit_run(qtbot) -> None:
    panel = SandboxPanel()
    qtbot.addWidget(panel)
    panel.show()
    asked: list[Scenario] = []
    panel.scenario_requested.connect(asked.append)
    panel.editor.setPlainText("x * x + 3")
    panel.request(jit_now=True)
    assert asked[-1].exprs == ("x * x + 3",)
    assert panel.session_label.isHidden()  # the next JIT of this text compiles only it
    panel.editor.setPlainText("x / (x - 7)")
    text = panel.session_label.text()
    assert panel.session_label.isVisible() and text.startswith("Session: the next JIT now")
    assert "m1: x * x + 3" in text and "then yours as m2" in text
    panel.request(jit_now=True)  # and the run does what the label said
    assert asked[-1].exprs == ("x * x + 3", "x / (x - 7)")
    panel.editor.setPlainText("x - 1")
    assert ("recompiles m1: x * x + 3; m2: x / (x - 7) first, then yours as m3"
            in panel.session_label.text())
    panel.clear_button.click()
    assert panel.session_label.text() == "" and panel.session_label.isHidden()
    panel.request(jit_now=True)
    assert asked[-1].exprs == ("x - 1",)


# ---------------------------------------------------------------- 7. accessible names
def test_every_focusable_widget_has_a_name_and_a_tooltip(qtbot, expr_trace: Trace) -> None:
    player = make_player(expr_trace)
    player.to_end()
    views = [ModuleView(player), SourceView(player), EventLog(player), SandboxPanel()]
    checked = 0
    for view in views:
        qtbot.addWidget(view)
        view.resize(DOCK_WIDTH, 500)
        view.show()
        for child in view.findChildren(QWidget):
            if child.focusPolicy() == Qt.FocusPolicy.NoFocus or _qt_internal(child):
                continue
            label = f"{type(view).__name__}: {type(child).__name__}"
            assert child.accessibleName(), label
            assert child.toolTip(), label
            checked += 1
    assert checked >= 20


def _qt_internal(widget: QWidget) -> bool:
    """Parts Qt builds and names itself: a spin box's or combo box's editor and popup, and a
    tab bar's (hidden) scroll arrows."""
    if isinstance(widget.parent(), QTabBar) and isinstance(widget, QToolButton):
        return True
    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, (QAbstractSpinBox, QComboBox)):
            return True
        parent = parent.parentWidget()
    return False


# ---------------------------------------------------------------- 8. Tab is not trapped
def test_tab_reaches_and_leaves_the_event_log(qtbot, fib_trace: Trace) -> None:
    player = make_player(fib_trace)
    host = QWidget()
    qtbot.addWidget(host)
    log = EventLog(player)
    after = QLineEdit()
    layout = QVBoxLayout(host)
    layout.addWidget(log)
    layout.addWidget(after)
    host.show()
    qtbot.waitExposed(host)
    host.activateWindow()
    assert not log.table.tabKeyNavigation()
    log.phase_combo.setFocus()
    qtbot.waitUntil(log.phase_combo.hasFocus)
    qtbot.keyClick(log.phase_combo, Qt.Key.Key_Tab)
    qtbot.waitUntil(log.table.hasFocus)
    player.go(3)
    qtbot.keyClick(log.table, Qt.Key.Key_Tab)
    qtbot.waitUntil(after.hasFocus)
    assert player.index == 3  # Tab left the log without moving the cursor
