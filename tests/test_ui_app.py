"""The app driven like a user: keys, clicks, menus; every assertion against the real trace."""

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt

from wasmviz.ui.main_window import MainWindow


def run_and_wait(qtbot, win: MainWindow, jit: bool = True) -> None:  # type: ignore[no-untyped-def]
    with qtbot.waitSignal(win.runner.finished, timeout=30000):
        win.sandbox.request(jit_now=jit)


def test_jit_an_expression_and_step_through_every_phase(qtbot, window: MainWindow) -> None:
    window.sandbox.editor.setPlainText("x * x + 3")
    window.sandbox.args_edit.setText("7")
    run_and_wait(qtbot, window)
    trace = window.player.trace
    assert trace.result == 52 and window.player.index == 0
    seen = set()
    while not window.player.at_end:
        qtbot.keyClick(window, Qt.Key.Key_Right)
        step = window.player.current
        assert step is not None
        seen.add(step.phase)
        assert window.status_phase.text().strip() == f"phase: {step.phase} / {step.kind}"
        used = sum(1 for s in step.table if s.kind != "null")
        assert window.status_slots.text().strip() == f"slots: {used}/{len(step.table)}"
    assert {"generate", "compile", "link", "patch", "call"} <= seen
    assert window.player.current.result == 52  # type: ignore[union-attr]


def test_forward_n_back_m_equals_going_there(qtbot, window: MainWindow) -> None:
    run_and_wait(qtbot, window)
    for _ in range(12):
        qtbot.keyClick(window, Qt.Key.Key_Right)
    for _ in range(5):
        qtbot.keyClick(window, Qt.Key.Key_Left)
    assert window.player.index == 7
    memory_after_keys = window.player.memory_at()
    slots_after_keys = window.player.current.table  # type: ignore[union-attr]
    qtbot.keyClick(window, Qt.Key.Key_Home)
    window.player.go(7)
    assert window.player.memory_at() == memory_after_keys
    assert window.player.current.table == slots_after_keys  # type: ignore[union-attr]
    assert window.player.memory_at(7) == window.player.trace.memory_at(
        7, 0, len(memory_after_keys))


def test_play_runs_to_the_end(qtbot, window: MainWindow) -> None:
    run_and_wait(qtbot, window)
    window.transport.set_speed(16)
    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert window.player.playing
    qtbot.waitUntil(lambda: window.player.at_end and not window.player.playing, timeout=10000)
    assert window.transport.play_action.text().endswith("Play")


def test_bad_expression_is_underlined_and_nothing_is_lost(qtbot, window: MainWindow) -> None:
    run_and_wait(qtbot, window)
    before = window.player.trace
    window.sandbox.editor.setPlainText("x + * 2")
    window.sandbox.jit_button.click()
    assert window.sandbox.editor.error is not None
    line, column, _ = window.sandbox.editor.error
    assert (line, column) == (1, 5)
    assert window.sandbox.editor.error_selection() == (4, 5)
    assert "line 1, column 5" in window.messages.item(window.messages.count() - 1).text()
    assert window.player.trace is before
    assert window.sandbox.editor.toPlainText() == "x + * 2"


def test_a_second_expression_adds_a_second_module(qtbot, window: MainWindow) -> None:
    window.sandbox.editor.setPlainText("x + 1")
    run_and_wait(qtbot, window)
    window.sandbox.editor.setPlainText("x * 2")
    run_and_wait(qtbot, window)
    labels = [s.label for s in window.player.trace[-1].table]
    assert labels[6:] == ["m1.expr1", "m2.expr2"]
    assert window.player.trace.result == 14


def test_program_calls_count_up_and_tier_up(qtbot, window: MainWindow) -> None:
    window.sandbox.editor.setPlainText(
        "def fib(n) = if n < 2 then 1 else fib(n - 1) + fib(n - 2)")
    window.sandbox.args_edit.setText("15")
    window.sandbox.threshold.setValue(50)
    run_and_wait(qtbot, window, jit=False)
    kinds = [s.kind for s in window.player.trace]
    assert "tier-up" in kinds and "relocation" in kinds
    assert window.player.trace.result == 987


@pytest.mark.parametrize("fault, code", [("null-slot", "INDIRECT_CALL_TO_NULL"),
                                         ("bad-signature", "BAD_SIGNATURE"),
                                         ("out-of-bounds", "TABLE_OUT_OF_BOUNDS"),
                                         ("runaway", "OUT_OF_FUEL")])
def test_faults_menu_shows_the_trap(qtbot, window: MainWindow, fault: str, code: str) -> None:
    with qtbot.waitSignal(window.runner.finished, timeout=30000):
        window.run_fault(fault)
    window.player.to_end()
    step = window.player.current
    assert step is not None and step.trap is not None and step.trap.code == code


def test_exports_write_valid_png_svg_and_json(qtbot, window: MainWindow, tmp_path: Path) -> None:
    run_and_wait(qtbot, window)
    window.player.to_end()
    png = window.export_diagram("png", str(tmp_path / "d.png"))
    svg = window.export_diagram("svg", str(tmp_path / "d.svg"))
    js = window.export_trace(str(tmp_path / "t.json"))
    assert png and Path(png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert svg and ET.parse(svg).getroot().tag.endswith("svg")
    assert js and '"phase"' in Path(js).read_text()


def test_settings_are_remembered(qtbot, tmp_path: Path) -> None:
    path = str(tmp_path / "remember.ini")
    first = MainWindow(settings=QSettings(path, QSettings.Format.IniFormat), autorun=False)
    qtbot.addWidget(first)
    first.sandbox.editor.setPlainText("x - 40")
    first.sandbox.args_edit.setText("2")
    first.transport.set_speed(8)
    first.close()
    second = MainWindow(settings=QSettings(path, QSettings.Format.IniFormat), autorun=False)
    qtbot.addWidget(second)
    assert second.sandbox.editor.toPlainText() == "x - 40"
    assert second.sandbox.args_edit.text() == "2"
    assert second.player.speed == 8


def test_a_broken_trace_file_is_reported_not_raised(qtbot, window: MainWindow,
                                                    tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    count = window.messages.count()
    window.open_trace(str(bad))   # read by a worker
    qtbot.waitUntil(lambda: window.messages.count() > count, timeout=10000)
    assert "not a wasmviz trace" in window.messages.item(window.messages.count() - 1).text()


def test_a_program_defining_expr_is_not_taken_for_a_bare_expression(qtbot,
                                                                     window: MainWindow) -> None:
    window.sandbox.editor.setPlainText("def expr(a, b) = a - b")
    window.sandbox.args_edit.setText("9, 4")
    scenario = window.sandbox.build(jit_now=True)
    assert scenario.source is not None and scenario.call == "expr" and not scenario.exprs
