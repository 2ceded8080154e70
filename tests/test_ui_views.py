"""The docked views draw the engine's real state, step by step, from a recorded trace."""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication

from wasmviz.engine import Scenario, run
from wasmviz.engine.trace import MemoryChange, Step, Trace
from wasmviz.ui import colors
from wasmviz.ui.event_log import EventLog
from wasmviz.ui.memory_view import CHANGED_ROLE, MemoryModel, MemoryView, parse_address
from wasmviz.ui.module_view import ModuleView
from wasmviz.ui.player import Player
from wasmviz.ui.source_view import SourceView
from wasmviz.ui.table_view import TableView



@pytest.fixture(scope="module")
def expr_trace() -> Trace:
    return run(Scenario(exprs=("x*x+3",), args=(7,), jit_now=True))


def make_player(qtbot, trace: Trace) -> Player:  # type: ignore[no-untyped-def]
    player = Player()
    player.animation_ms = 0
    player.set_trace(trace)
    return player


def only(trace: Trace, kind: str) -> Step:
    (step,) = trace.find(kind=kind)
    return step


# ---------------------------------------------------------------- memory
def test_relocation_highlights_exactly_the_code_slot_bytes(qtbot, fib_trace: Trace) -> None:
    player = make_player(qtbot, fib_trace)
    view = MemoryView(player)
    qtbot.addWidget(view)
    step = only(fib_trace, "relocation")
    player.go(step.index)
    model = view.model
    (change,) = step.memory_changes
    assert change.label == "fib.code_slot"
    assert change.new == step.detail["value"].to_bytes(4, "little")
    expected = {change.address + k for k in range(len(change.new))
                if change.old[k] != change.new[k]}
    assert expected and set(model.changed_addresses()) == expected
    # Every cell of the rows around the function objects: highlighted exactly where expected.
    lo, hi = 0x0F00 // 16, 0x1100 // 16
    seen = {r * 16 + c for r in range(lo, hi) for c in range(16)
            if model.data(model.index(r, c), CHANGED_ROLE)}
    assert seen == expected
    for address in expected:
        index = model.index_of(address)
        new = change.new[address - change.address]
        assert model.data(index) == f"{new:02X}"
        assert model.data(index, Qt.ItemDataRole.BackgroundRole) == QColor(colors.CHANGE)
        assert "fib.code_slot" in model.data(index, Qt.ItemDataRole.ToolTipRole)
    # The memory image is the engine's: the code slot holds the table index patch wrote.
    assert model.memory[0x1000:0x1004] == change.new
    # Follow-changes scrolled the first change into view.
    assert view.table.rowAt(view.table.viewport().height() // 2) in range(lo, hi)


def test_module_bytes_take_the_module_colour(qtbot, fib_trace: Trace) -> None:
    player = make_player(qtbot, fib_trace)
    model = MemoryModel(player)
    step = next(s for s in fib_trace if s.kind == "section")
    player.go(step.index)
    (change,) = step.memory_changes
    assert change.label == "module 1 bytes"
    first = model.changed_addresses()[0]
    assert model.data(model.index_of(first), Qt.ItemDataRole.BackgroundRole) == \
        colors.module_color(1)


def test_go_to_address_good_and_bad_input(qtbot, fib_trace: Trace) -> None:
    player = make_player(qtbot, fib_trace)
    view = MemoryView(player)
    qtbot.addWidget(view)
    view.show()
    for bad in ("0xzz", "", "hello", "1f00", "0x80000", "-5"):
        assert view.go_to_text(bad) is False
        assert view.message.isVisible() and view.message.text().startswith("⚠")
    assert "0x" in view.message.text()  # "-5" is not an address: use hex like 0x1000 ...
    view.address_edit.setText("0x1000")
    qtbot.keyClick(view.address_edit, Qt.Key.Key_Return)
    assert view.table.currentIndex() == view.model.index_of(0x1000)  # 16, 8 or 4 bytes a row
    assert not view.message.text().startswith("⚠")
    assert view.go_to_text("4096") and view.table.currentIndex().column() == 0
    assert parse_address(" 0x2_0000 ") == 0x20000


def test_without_follow_the_chosen_byte_stays_selected(qtbot, fib_trace: Trace) -> None:
    player = make_player(qtbot, fib_trace)
    view = MemoryView(player)
    qtbot.addWidget(view)
    view.follow_check.setChecked(False)
    assert view.go_to_text("0x1010")
    for _ in range(5):
        player.forward()
        assert view.table.currentIndex() == view.model.index_of(0x1010)
    view.follow_check.setChecked(True)
    player.go(only(fib_trace, "relocation").index)
    assert not view.table.selectionModel().hasSelection()  # the change colour stays visible


def test_region_combo_scrolls_to_the_region(qtbot, fib_trace: Trace) -> None:
    player = make_player(qtbot, fib_trace)
    view = MemoryView(player)
    qtbot.addWidget(view)
    view.show()
    row = view.region_combo.findText("JIT buffer", Qt.MatchFlag.MatchStartsWith)
    view.region_combo.activated.emit(row)
    assert view.table.rowAt(0) * view.model.bytes_per_row == 0x20000


def test_a_256_page_memory_model_is_fast(qtbot) -> None:
    big = Step(0, "setup", "instantiate", "big", (), 256,
               (MemoryChange(0xFFFFF0, b"\0", b"\x2a", "somewhere high"),))
    player = make_player(qtbot, Trace((big,)))
    started = time.perf_counter()
    view = MemoryView(player)
    qtbot.addWidget(view)
    view.show()
    qtbot.waitExposed(view)
    model = view.model
    assert model.rowCount() * model.bytes_per_row == 256 * 65536
    assert model.data(model.index_of(0xFFFFF0)) == "2A"
    assert time.perf_counter() - started < 3.0


# ---------------------------------------------------------------- table
def test_table_view_row_6_before_and_after_table_set(qtbot, expr_trace: Trace) -> None:
    player = make_player(qtbot, expr_trace)
    view = TableView(player)
    qtbot.addWidget(view)
    model = view.model
    player.go(only(expr_trace, "table.grow").index)
    assert model.rowCount() == 7
    assert model.data(model.index(6, 1)) == "null"
    assert model.changed_rows() == [6]
    player.go(only(expr_trace, "table.set").index)
    assert model.data(model.index(6, 1)) == "m1.expr"
    assert model.data(model.index(6, 1), CHANGED_ROLE) is True
    assert model.data(model.index(6, 2), Qt.ItemDataRole.DecorationRole) == colors.module_color(1)
    assert "table.set" in model.data(model.index(6, 1), Qt.ItemDataRole.ToolTipRole)
    assert model.changed_rows() == [6]
    # The relocation routes expr's calls through slot 6: the table is unchanged but its users.
    player.go(only(expr_trace, "relocation").index)
    assert model.changed_rows() == [] and model.users(6) == ["expr"] and model.users_changed(6)
    assert "slot 6" in view.summary.text()


# ---------------------------------------------------------------- module
def test_module_view_shows_wat_and_highlights_a_section(qtbot, fib_trace: Trace) -> None:
    player = make_player(qtbot, fib_trace)
    view = ModuleView(player)
    qtbot.addWidget(view)
    view.show()
    assert view.module is None
    step = only(fib_trace, "compiled")
    player.go(step.index)
    module = step.module
    assert module is not None and view.module == module
    assert '(import "main" "table"' in view.wat.toPlainText()
    code = next(s for s in module.sections if s.name == "code")
    view.select_section("code")
    assert view.highlighted_range == (code.start, code.end)
    raw_bytes = bytes.fromhex("".join(sel.cursor.selectedText()
                                      for sel in view.raw.extraSelections()))
    assert raw_bytes == module.data[code.start:code.end]
    dump_lines = [sel.cursor.selectedText() for sel in view.dump.extraSelections()]
    assert dump_lines[0].strip().startswith(f"0x{code.start:x} |")
    # Hovering another section previews it; leaving the list goes back to the selection.
    imports = next(s for s in module.sections if s.name == "import")
    # (Synthetic mouse moves land on the wrong row under the offscreen platform, so emit
    # what Qt emits when the pointer enters a row.)
    view.sections.itemEntered.emit(view.sections.topLevelItem(2), 0)
    assert view.highlighted_range == (imports.start, imports.end)
    QApplication.sendEvent(view.sections.viewport(), QEvent(QEvent.Type.Leave))
    assert view.highlighted_range == (code.start, code.end)
    player.go(len(fib_trace) - 1)  # later steps keep the latest module
    assert view.module == module


def test_module_view_shows_the_module_being_written(qtbot, fib_trace: Trace) -> None:
    player = make_player(qtbot, fib_trace)
    view = ModuleView(player)
    qtbot.addWidget(view)
    step = [s for s in fib_trace if s.kind == "section"][1]  # the import section
    player.go(step.index)
    assert view.module is not None and view.module.sections[-1].name == "import"
    end = step.detail["end"] - 0x20000
    assert view.module.data == player.memory_at()[0x20000:0x20000 + end]
    assert "being written" in view.title.text()


# ---------------------------------------------------------------- event log
def test_event_log_follows_and_drives_the_player(qtbot, fib_trace: Trace) -> None:
    player = make_player(qtbot, fib_trace)
    log = EventLog(player)
    qtbot.addWidget(log)
    log.show()
    qtbot.waitExposed(log)
    assert log.model.rowCount() == len(fib_trace)
    player.go(5)
    assert log.table.currentIndex().row() == 5
    target = log.proxy.index(9, 3)
    log.table.scrollTo(target)
    qtbot.mouseClick(log.table.viewport(), Qt.MouseButton.LeftButton,
                     pos=log.table.visualRect(target).center())
    assert player.index == 9
    log.set_phase_filter("patch")
    patch = [s.index for s in fib_trace if s.phase == "patch"]
    assert [log.step_at(r) for r in range(log.proxy.rowCount())] == patch
    qtbot.mouseClick(log.table.viewport(), Qt.MouseButton.LeftButton,
                     pos=log.table.visualRect(log.proxy.index(1, 1)).center())
    assert player.index == patch[1]
    player.go(0)  # hidden by the filter: nothing selected, nothing raised
    assert not log.table.selectionModel().hasSelection()


# ---------------------------------------------------------------- source
def test_source_view_follows_fibs_call_count(qtbot, fib_trace: Trace) -> None:
    player = make_player(qtbot, fib_trace)
    view = SourceView(player)
    qtbot.addWidget(view)

    def row() -> list[str]:
        item = view.tree.topLevelItem(0)
        return [item.text(c) for c in range(5)]

    player.go(only(fib_trace, "define").index)
    assert row()[:5] == ["fib", "1", "0", "cold", "0 (interpreted)"]
    assert "CALL fib" in view.code.toPlainText() and "RET" in view.code.toPlainText()
    tier = only(fib_trace, "tier-up")
    player.go(tier.index)
    assert row()[2] == str(tier.detail["calls"]) and row()[3] == "hot"
    assert view.tree.topLevelItem(0).font(2).bold()  # the count changed in this step
    result = only(fib_trace, "result")
    player.go(result.index)
    assert row()[2] == str(result.detail["calls"]) and row()[2] != str(tier.detail["calls"])
    assert row()[3] == "compiled" and row()[4] == "6 → m1.fib"
    assert "hot at 50 calls" in view.policy.text()


def test_views_draw_a_trace_read_back_from_json(qtbot, expr_trace: Trace) -> None:
    player = make_player(qtbot, Trace.loads(expr_trace.dumps()))
    views = [MemoryView(player), TableView(player), ModuleView(player), SourceView(player),
             EventLog(player)]
    for v in views:
        qtbot.addWidget(v)
    for i in range(len(player.trace)):
        player.go(i)
    assert views[2].module is not None and views[1].model.rowCount() == 7
    player.go(1)  # and back
    assert [f.name for f in views[3].functions()] == ["expr"]
    player.go(0)
    assert views[3].functions() == [] and views[2].module is None
    assert views[1].model.rowCount() == 6 and views[4].table.currentIndex().row() == 0


def test_source_view_shows_the_recorded_source(qtbot) -> None:  # type: ignore[no-untyped-def]
    from wasmviz.engine import Scenario, run
    from wasmviz.ui.player import Player
    from wasmviz.ui.source_view import SourceView

    src = "def sq(n) = n * n\ndef f(x) = sq(x) + 1\n"
    player = Player()
    player.animation_ms = 0
    view = SourceView(player)
    qtbot.addWidget(view)
    player.set_trace(run(Scenario(source=src, call="f", args=(3,), jit_now=True),
                         disassemble=False))
    player.to_end()
    assert view.source.toPlainText() == src.strip()
    view.select_function("sq")
    assert "MUL" in view.code.toPlainText()
