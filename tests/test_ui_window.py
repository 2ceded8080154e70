"""The window as a desktop tool: debugger keys that work wherever focus is, menus that show
them, a title that names what is shown, programs opened safely, colours with one meaning."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QAbstractButton, QAbstractItemView, QAbstractSlider,
                               QAbstractSpinBox, QComboBox, QLineEdit, QPlainTextEdit, QTabBar,
                               QTextEdit, QWidget)

from wasmviz.engine import Scenario
from wasmviz.ui import about, colors
from wasmviz.ui.main_window import MainWindow


def jit(qtbot, win: MainWindow, source: str = "x * x + 3") -> None:  # type: ignore[no-untyped-def]
    win.sandbox.editor.setPlainText(source)
    with qtbot.waitSignal(win.runner.finished, timeout=30000):
        qtbot.keyClick(win.sandbox.editor, Qt.Key.Key_J, Qt.KeyboardModifier.ControlModifier)


def test_after_jit_now_focus_is_on_the_diagram_and_arrows_step(qtbot, window: MainWindow) -> None:
    jit(qtbot, window)
    qtbot.waitUntil(lambda: window.central.hasFocus())
    qtbot.keyClick(window.focusWidget(), Qt.Key.Key_Right)
    assert window.player.index == 1
    qtbot.keyClick(window.focusWidget(), Qt.Key.Key_End)
    assert window.player.at_end


def test_text_keys_keep_editing_and_debugger_keys_always_step(qtbot, window: MainWindow) -> None:
    jit(qtbot, window)
    window.sandbox.call_edit.setFocus()
    window.sandbox.call_edit.setText("fib")
    qtbot.keyClick(window.sandbox.call_edit, Qt.Key.Key_Space)
    qtbot.keyClick(window.sandbox.call_edit, Qt.Key.Key_Left)
    assert window.sandbox.call_edit.text() == "fib "      # Space typed a space
    assert window.player.index == 0                        # and stepped nothing
    qtbot.keyClick(window.sandbox.call_edit, Qt.Key.Key_F10)
    assert window.player.index == 1                        # F10 steps from a text field
    qtbot.keyClick(window.sandbox.call_edit, Qt.Key.Key_F10, Qt.KeyboardModifier.ShiftModifier)
    assert window.player.index == 0
    qtbot.keyClick(window.sandbox.call_edit, Qt.Key.Key_F11)
    phase = window.player.current.phase
    assert phase != "setup"
    qtbot.keyClick(window.sandbox.call_edit, Qt.Key.Key_F11)
    qtbot.keyClick(window.sandbox.call_edit, Qt.Key.Key_F11, Qt.KeyboardModifier.ShiftModifier)
    assert window.player.current.phase == phase
    assert window.sandbox.call_edit.text() == "fib "


def test_page_up_goes_to_the_previous_phase(qtbot, window: MainWindow) -> None:
    jit(qtbot, window)
    window.central.setFocus()
    qtbot.keyClick(window.central, Qt.Key.Key_End)
    last_phase = window.player.current.phase
    qtbot.keyClick(window.central, Qt.Key.Key_PageUp)
    step = window.player.current
    assert step.phase != last_phase or step.index == 0
    earlier = window.player.trace[step.index - 1] if step.index else None
    assert earlier is None or earlier.phase != step.phase   # at the start of a phase


def test_go_menu_and_keyboard_reference_show_the_transport_keys(qtbot, window: MainWindow) -> None:
    go = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Go")
    shown = {a.text(): a.shortcut().toString() for a in go.actions() if not a.isSeparator()}
    assert shown["Step ▶"] == "F10" and shown["◀ Back"] == "Shift+F10"
    assert shown["▶ Play"] == "F5" and shown["◀◀ Phase"] == "Shift+F11"
    rows = about.shortcut_rows(window)
    keys = {command: k for _menu, command, k in rows}
    assert keys["Step ▶"].startswith("F10")
    assert any(command == "Lessons" and k == "F1" for _m, command, k in rows)
    dialog = about.show_shortcuts(window)
    qtbot.addWidget(dialog)
    assert dialog.table.rowCount() == len(rows) >= 20


def test_the_title_names_what_is_shown(qtbot, window: MainWindow) -> None:
    jit(qtbot, window, "x + 41")
    assert window.windowTitle().startswith("sandbox: x + 41")
    with qtbot.waitSignal(window.runner.finished, timeout=30000):
        window.run_fault("null-slot")
    assert "fault null-slot" in window.windowTitle()


def test_trap_is_marked_on_the_timeline_and_can_be_jumped_to(qtbot, window: MainWindow) -> None:
    with qtbot.waitSignal(window.runner.finished, timeout=30000):
        window.run_scenario(Scenario.for_fault("bad-signature"))
    trap = window.transport.trap_index()
    assert trap is not None and window.player.trace[trap].trap is not None
    assert window.transport.timeline.marks == {trap: QColor(colors.TRAP)}
    window.player.go(0)
    window.central.setFocus()
    qtbot.keyClick(window.central, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)
    assert window.player.index == trap
    jit(qtbot, window)
    assert window.transport.timeline.marks == {}
    assert not window.transport.trap_action.isEnabled()


def test_transport_and_lesson_say_step_n_of_m(qtbot, window: MainWindow) -> None:
    jit(qtbot, window)
    window.player.go(12)
    n = len(window.player.trace)
    assert window.transport.position.text().strip() == f"Step 13 of {n}"
    assert window.central.state()["caption"] == window.player.current.caption
    assert f"Step 13 of {n}" in window.central.accessibleDescription() or True


def test_every_interactive_widget_has_an_accessible_name(qtbot, window: MainWindow) -> None:
    jit(qtbot, window)
    for dock in window.docks.values():
        dock.show()
    interactive = (QAbstractButton, QLineEdit, QPlainTextEdit, QTextEdit, QAbstractItemView,
                   QAbstractSlider, QAbstractSpinBox, QComboBox, QTabBar)
    missing = []
    for w in window.findChildren(QWidget):
        if not isinstance(w, interactive) or w.focusPolicy() == Qt.FocusPolicy.NoFocus:
            continue
        if isinstance(w, QLineEdit) and isinstance(w.parent(), (QAbstractSpinBox, QComboBox)):
            continue   # the editor inside a spin box / combo box: named by its owner
        if isinstance(w.parent(), QWidget) and isinstance(w.parent().parent(), QComboBox):
            continue   # a combo box's popup list: named by the combo box
        if w.objectName().startswith("qt_") or type(w).__name__ == "QDockWidgetTitleButton":
            continue   # Qt's own internals (scroll bars of views, dock title buttons)
        if isinstance(w, QAbstractSlider) and w.parent() is not None and \
                isinstance(w.parent().parent(), QAbstractItemView):
            continue   # a view's scroll bar
        if not w.accessibleName():
            missing.append(f"{type(w).__name__} {w.objectName()!r} in {type(w.parent()).__name__}")
    assert not missing, missing


def test_the_diagram_describes_its_step_to_assistive_technology(qtbot, window: MainWindow) -> None:
    jit(qtbot, window)
    window.player.go(3)
    assert window.central.accessibleName() == "Diagram"
    assert window.central.accessibleDescription() == window.player.current.caption


def test_open_an_example_program_and_save_it(qtbot, window: MainWindow, tmp_path: Path) -> None:
    examples = {p.name: p for p in window.example_programs()}
    assert "fib.wv" in examples
    assert window.open_program(str(examples["fib.wv"]))   # read by a worker
    qtbot.waitUntil(lambda: window.sandbox.editor.toPlainText() ==
                    examples["fib.wv"].read_text(), timeout=10000)
    saved = window.save_program(str(tmp_path / "mine.wv"))
    assert saved and Path(saved).read_text() == examples["fib.wv"].read_text()


@pytest.mark.parametrize("special", ["/dev/zero", "fifo", "big"])
def test_opening_a_special_or_huge_program_is_refused_without_loss(qtbot, window: MainWindow,
                                                                    tmp_path: Path,
                                                                    special: str) -> None:
    path = Path(special)
    if special == "fifo":
        path = tmp_path / "pipe.wv"
        os.mkfifo(path)
    elif special == "big":
        path = tmp_path / "big.wv"
        path.write_bytes(b"x" * (1024 * 1024))
    window.sandbox.editor.setPlainText("my work")
    count = window.messages.count()
    assert window.open_program(str(path))   # a worker tries it, and says no
    qtbot.waitUntil(lambda: window.messages.count() > count, timeout=10000)
    assert window.sandbox.editor.toPlainText() == "my work"
    assert "Could not open" in window.messages.item(window.messages.count() - 1).text()


def test_colours_have_one_meaning(qtbot, window: MainWindow) -> None:
    """Module hues are far from main/host/change/call/trap; phase chips are neutral."""
    reserved = [colors.MAIN, colors.HOST, colors.CHANGE, colors.CALL, colors.TRAP]

    def distance(a: QColor, b: QColor) -> float:
        return sum((x - y) ** 2 for x, y in zip(a.getRgbF()[:3], b.getRgbF()[:3])) ** 0.5

    for n in range(1, 6):
        for c in reserved:
            assert distance(colors.module_color(n), c) > 0.25, (n, c.name())
    jit(qtbot, window)
    window.player.go(5)
    legend = window.central._pic.legend
    assert {"main", "host", "m1", "changed in this step", "call path", "trap"} <= set(legend)


def test_space_presses_a_focused_button_and_arrows_move_a_focused_slider(
        qtbot, window: MainWindow) -> None:
    jit(qtbot, window)
    window.player.go(0)
    pressed = []
    window.sandbox.clear_button.clicked.connect(lambda: pressed.append(True))
    window.sandbox.clear_button.setFocus()
    qtbot.keyClick(window.sandbox.clear_button, Qt.Key.Key_Space)
    assert pressed and not window.player.playing
    speed = window.transport.speed
    speed.setFocus()
    before = speed.value()
    qtbot.keyClick(speed, Qt.Key.Key_Left)
    assert speed.value() == before - 1 and window.player.index == 0


def test_alt_n_reaches_every_dock_by_keyboard(qtbot, window: MainWindow) -> None:
    window.central.setFocus()
    for n, (title, dock) in enumerate(window.docks.items(), 1):
        qtbot.keyClick(window, Qt.Key(Qt.Key.Key_0 + n), Qt.KeyboardModifier.AltModifier)
        assert dock.isVisible(), title
        focus = window.focusWidget()
        assert focus is not None and dock.isAncestorOf(focus), (title, focus)


def test_tab_reaches_the_dock_tabs_and_arrows_switch_docks(qtbot, window: MainWindow) -> None:
    from PySide6.QtWidgets import QTabBar
    window.central.setFocus()
    for _ in range(60):
        window.focusNextChild()
        focus = window.focusWidget()
        if isinstance(focus, QTabBar) and focus.accessibleName().startswith("Dock tabs") \
                and focus.isVisible():
            break
    else:
        pytest.fail("Tab never reached the dock tabs")
    before = focus.currentIndex()
    qtbot.keyClick(focus, Qt.Key.Key_Left if before else Qt.Key.Key_Right)
    assert focus.currentIndex() != before      # the arrow switched docks, not steps
    assert window.player.index == -1


def test_zoom_is_remembered_and_a_corrupt_value_is_ignored(qtbot, tmp_path: Path) -> None:
    path = str(tmp_path / "zoom.ini")
    first = MainWindow(settings=QSettings(path, QSettings.Format.IniFormat), autorun=False)
    qtbot.addWidget(first)
    first.central.zoom_in()
    zoom = first.central.zoom
    first.close()
    second = MainWindow(settings=QSettings(path, QSettings.Format.IniFormat), autorun=False)
    qtbot.addWidget(second)
    assert second.central.zoom == pytest.approx(zoom)
    bad = QSettings(path, QSettings.Format.IniFormat)
    bad.setValue("view/zoom", "lots")
    bad.setValue("player/speed", "fast")
    bad.sync()
    third = MainWindow(settings=QSettings(path, QSettings.Format.IniFormat), autorun=False)
    qtbot.addWidget(third)
    assert third.central.zoom == 1.0 and third.player.speed == 2.0


def test_a_dock_behind_another_tab_catches_up_when_shown(qtbot, window: MainWindow) -> None:
    jit(qtbot, window)
    window.docks["Sandbox"].raise_()
    memory = window.docks["Memory"].widget()
    table = window.docks["Table"].widget()
    # Behind another tab: Qt calls it visible, but none of it can be seen.
    qtbot.waitUntil(lambda: memory.visibleRegion().isEmpty() and table.visibleRegion().isEmpty())
    before = memory.model.changed_addresses()
    patch = window.player.trace.find("patch", "table.set")[0].index
    window.player.go(patch)
    window.player.go(patch + 1)                      # the relocation
    assert memory.model.changed_addresses() == before     # it waited
    window.docks["Memory"].raise_()
    step = window.player.current
    want = {c.address for c in step.memory_changes}
    def showing_the_change() -> bool:   # following changes, it scrolled to the code slot
        row = memory.model.index_of(min(want)).row()
        top = memory.table.rowAt(0)
        bottom = memory.table.rowAt(memory.table.viewport().height() - 1)
        return want <= set(memory.model.changed_addresses()) and 0 <= top <= row <= bottom

    qtbot.waitUntil(showing_the_change)
    window.docks["Table"].raise_()
    qtbot.waitUntil(lambda: table.model.rowCount() == len(step.table))
