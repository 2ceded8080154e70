"""The window's wiring of the link styles, the comparison, the costs dialog and a second engine:
menus with shortcuts, remembered choices, and what the status bar and diagram say about the
engine that recorded the trace (issues 12 and 14)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtGui import QKeySequence

from wasmviz.engine import Scenario, run
from wasmviz.engine.node_engine import node_path
from wasmviz.ui.diagram.items import Box
from wasmviz.ui.main_window import MainWindow


def action(window: MainWindow, text: str):  # type: ignore[no-untyped-def]
    for menu_action in window.menuBar().actions():
        for a in menu_action.menu().actions():
            if a.text().replace("&", "").startswith(text):
                return a
    raise AssertionError(f"no menu item {text!r}")


def test_the_link_style_is_remembered_and_bad_values_fall_back(qtbot, tmp_path) -> None:
    path = str(tmp_path / "settings.ini")
    first = MainWindow(settings=QSettings(path, QSettings.Format.IniFormat), autorun=False)
    qtbot.addWidget(first)
    first.show()
    assert first.sandbox.set_link_style("pic")
    first.close()
    again = MainWindow(settings=QSettings(path, QSettings.Format.IniFormat), autorun=False)
    qtbot.addWidget(again)
    again.show()
    assert again.sandbox.link_style() == "pic"
    again.close()
    settings = QSettings(path, QSettings.Format.IniFormat)
    settings.setValue("sandbox/link", "teleport")
    settings.sync()
    third = MainWindow(settings=QSettings(path, QSettings.Format.IniFormat), autorun=False)
    qtbot.addWidget(third)
    assert third.sandbox.link_style() == "patch"
    assert any("sandbox/link" in third.messages.item(i).text()
               for i in range(third.messages.count()))


def test_faults_run_in_the_chosen_link_style(window, qtbot) -> None:
    window.sandbox.set_link_style("start")
    with qtbot.waitSignal(window.runner.finished, timeout=30000):
        window.run_fault("null-slot")
    assert window.scenario.link == "start" and window.scenario.fault == "null-slot"
    assert "link start" in window.windowTitle()


def test_compare_link_styles_is_in_the_run_menu_and_a_compared_run_can_be_watched(
        window, qtbot) -> None:
    compare = action(window, "Compare link styles")
    assert compare.shortcut() == QKeySequence("Ctrl+Shift+K")
    pic = Scenario(exprs=("x * x + 3",), args=(7,), jit_now=True, link="pic")
    window.sandbox.compare_trace.emit(run(pic), pic)
    assert window.scenario.link == "pic"
    assert any(s.detail.get("by") == "main" and s.kind == "table.grow"
               for s in window.player.trace)
    assert "link pic" in window.windowTitle()


def test_help_costs_opens_one_dialog(window) -> None:
    costs = action(window, "Costs")
    costs.trigger()
    dialog = window.costs_dialog
    assert dialog.isVisible()
    costs.trigger()
    assert window.costs_dialog is dialog


@pytest.mark.skipif(node_path() is None, reason="node is not installed")
def test_a_trace_recorded_under_v8_says_so_in_the_diagram_and_the_status_bar(window) -> None:
    from wasmviz.engine import node_engine

    trace = node_engine.run(Scenario(exprs=("x * x + 3",), args=(7,)))
    window.player.set_trace(trace)
    window.player.go(len(trace) - 1)
    titles = [i.title for i in window.central.scene().items() if isinstance(i, Box)]
    assert "host · Node.js + V8" in titles
    assert window.status_fuel.text().strip() == "fuel: none (node)"
    window.player.set_trace(run(Scenario(exprs=("x * x + 3",), args=(7,))))
    window.player.go(1)
    assert window.status_fuel.text().strip().startswith("fuel: ")
    assert "none" not in window.status_fuel.text()


def test_redefine_in_the_sandbox_frees_the_old_slot_and_the_app_shows_the_store(
        window, qtbot) -> None:
    """Issue 12 item 3: a function redefined in the sandbox: main frees its old slot, the JIT
    reuses it, and the last step shows what the store keeps alive."""
    sandbox = window.sandbox
    assert not sandbox.redefine_button.isEnabled()   # nothing run yet in this session
    sandbox.editor.setPlainText("def f(x) = x * x + 3\n")
    sandbox.args_edit.setText("7")
    with qtbot.waitSignal(window.runner.finished, timeout=30000):
        sandbox.jit_button.click()
    assert not sandbox.redefine_button.isEnabled()   # the editor holds the same program
    sandbox.editor.setPlainText("def f(x) = x * 2 - 1\n")
    assert sandbox.redefine_button.isEnabled()
    with qtbot.waitSignal(window.runner.finished, timeout=30000):
        sandbox.redefine_button.click()
    trace = window.player.trace
    assert window.scenario.redefine == ("def f(x) = x * 2 - 1\n",)
    freed = [s for s in trace if s.kind == "table.set" and s.detail.get("by") == "main"]
    reused = [s for s in trace if s.kind == "reuse"]
    assert freed and reused and reused[0].detail["slot"] == freed[0].detail["slot"]
    assert trace.result == 13 and trace.steps[-1].kind == "store"
    # Redefining again starts from the program the run ended with.
    assert sandbox.session_program == "def f(x) = x * 2 - 1\n"
    sandbox.editor.setPlainText("def g(x) = x\n")
    sandbox.redefine_button.click()
    assert "must define g again" in sandbox.message.text()
    sandbox.new_session()
    assert not sandbox.redefine_button.isEnabled()


def test_file_open_module_links_a_module_of_your_own_from_the_sandbox(window, qtbot) -> None:
    """Issue 13: File > Open module puts a .wat file in the Sandbox's Your module page (read
    by a worker); Link and run links it in place of the JIT's output and shows the trace."""
    from wasmviz.data import data_path

    assert window.wat_editor is None   # made when first needed (start-up)
    open_module = action(window, "Open module")
    assert open_module.shortcut() == QKeySequence("Ctrl+M")
    window.open_module(str(data_path() / "modules" / "handwritten_patch.wat"))
    editor = window.wat_editor
    assert window.input_tabs.currentWidget() is editor
    qtbot.waitUntil(lambda: "valid" in editor.status.text(), timeout=30000)
    with qtbot.waitSignal(editor.trace_ready, timeout=30000):
        editor.link_button.click()
    trace = window.player.trace
    assert trace.result == 49
    assert any(s.kind == "effect" for s in trace)
    assert "handwritten_patch.wat" in window.windowTitle()
    window.input_tabs.setCurrentIndex(0)
    assert window.input_tabs.currentWidget() is window.sandbox
