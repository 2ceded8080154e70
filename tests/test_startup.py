"""Start-up (issue 11): what the first trace does not need waits until it is needed.

The docks behind the Sandbox tab are made when first shown (or asked for) and then show the
step on screen; the lesson list is read when first shown; numpy and the docks' modules are
not imported to reach the first trace; the bench's start-up script runs.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import QSettings, Qt

from wasmviz.engine import Scenario, run
from wasmviz.lessons import shipped
from wasmviz.ui.lazy import LazyDock, PlayerRelay
from wasmviz.ui.main_window import MainWindow
from wasmviz.ui.player import Player

ROOT = Path(__file__).resolve().parents[1]
VIEW_DOCKS = ("Lesson", "Memory", "Table", "Module", "Functions", "Event log", "Messages")


def jit(qtbot, win: MainWindow, source: str = "x * x + 3") -> None:  # type: ignore[no-untyped-def]
    win.sandbox.editor.setPlainText(source)
    with qtbot.waitSignal(win.runner.finished, timeout=30000):
        qtbot.keyClick(win.sandbox.editor, Qt.Key.Key_J, Qt.KeyboardModifier.ControlModifier)


def test_docks_behind_the_sandbox_tab_are_made_when_first_shown(qtbot,
                                                                window: MainWindow) -> None:
    lazy = {t: d for t, d in window.docks.items() if isinstance(d, LazyDock)}
    assert set(lazy) == set(VIEW_DOCKS)
    assert not any(d.built for d in lazy.values())
    window.docks["Table"].raise_()
    qtbot.waitUntil(lambda: lazy["Table"].built)
    assert type(window.docks["Table"].widget()).__name__ == "TableView"
    assert not lazy["Memory"].built and not lazy["Lesson"].built


def test_a_view_made_late_shows_the_step_on_screen(qtbot, window: MainWindow) -> None:
    jit(qtbot, window)
    patch = window.player.trace.find("patch", "table.set")[0].index
    window.player.go(patch)
    step = window.player.current
    assert step is not None and not window.docks["Table"].built  # type: ignore[attr-defined]
    window.docks["Table"].raise_()
    table = window.docks["Table"].widget()
    qtbot.waitUntil(lambda: table.model.rowCount() == len(step.table))  # type: ignore
    window.docks["Event log"].raise_()
    log = window.docks["Event log"].widget()
    # The log lists every recorded step, the one on screen selected.
    qtbot.waitUntil(lambda: log.table.currentIndex().row() == patch)  # type: ignore
    # And it keeps following the player afterwards.
    window.player.go(patch + 1)
    qtbot.waitUntil(lambda: log.table.currentIndex().row() == patch + 1)  # type: ignore


def test_asking_for_a_dock_widget_makes_it(qtbot, window: MainWindow) -> None:
    jit(qtbot, window)
    window.player.go(3)
    module = window.docks["Module"].widget()   # behind its tab: made now, all the same
    assert window.docks["Module"].built  # type: ignore[attr-defined]
    assert module.parentWidget() is not None
    assert window.lesson_panel is window.docks["Lesson"].widget()


def test_the_lesson_list_is_read_when_first_shown(qtbot, window: MainWindow) -> None:
    assert not window.docks["Lesson"].built  # type: ignore[attr-defined]
    window.docks["Lesson"].raise_()
    browser = window.lesson_panel.browser
    qtbot.waitUntil(lambda: browser.list.count() == len(shipped()))
    assert browser.filled


def test_a_relay_reads_empty_while_built_then_as_the_player(qtbot) -> None:  # type: ignore
    player = Player()
    player.set_trace(run(Scenario(exprs=("x * x + 3",), args=(7,)), disassemble=False))
    player.go(4)
    relay = PlayerRelay(player)
    # While the view is built: a player with nothing loaded, as every view had at start-up.
    assert relay.index == -1 and len(relay.trace) == 0 and relay.current is None
    steps: list[tuple[int, int]] = []
    relay.step_changed.connect(lambda i, p: steps.append((i, p)))
    relay.catch_up()               # then the player itself, and this one view is told
    assert relay.trace is player.trace and relay.current is player.current
    assert steps == [(4, -1)]
    player.go(5)
    assert steps == [(4, -1), (5, 4)]   # relayed from the player from now on


def test_the_first_run_is_asked_for_before_the_window_is_shown(qtbot, tmp_path: Path) -> None:
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    settings.setValue("sandbox/source", "x + 1")
    settings.setValue("sandbox/args", "41")
    win = MainWindow(settings=settings)
    qtbot.addWidget(win)
    # Requested while the window was built: the worker records it meanwhile.
    assert win.scenario is not None and win.scenario.exprs == ("x + 1",)
    with qtbot.waitSignal(win.runner.finished, timeout=30000):
        win.show()
    qtbot.waitUntil(lambda: len(win.player.trace) > 0)
    assert win.player.trace.result == 42
    assert win.sandbox.editor.toPlainText() == "x + 1"   # the inputs restored, unchanged


def test_a_saved_source_that_cannot_run_is_reported_once(qtbot, tmp_path: Path) -> None:
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    settings.setValue("sandbox/source", "x * * 3")
    win = MainWindow(settings=settings)
    qtbot.addWidget(win)
    win.show()
    assert win.scenario is None   # nothing ran
    assert win.sandbox.editor.error is not None   # underlined where it is wrong
    notices = [win.messages.item(i).text() for i in range(win.messages.count())]
    assert len(notices) == 1 and notices[0].startswith("⚠")


def _imports_after(script: str) -> set[str]:
    code = ("import sys\n" + script +
            "\nprint(' '.join(sorted(sys.modules)))")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, check=True, timeout=120, cwd=ROOT)
    return set(out.stdout.split())


def test_the_first_trace_needs_neither_numpy_nor_the_docks_modules(tmp_path: Path) -> None:
    modules = _imports_after(f"""
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication
app = QApplication([])
from wasmviz.ui.main_window import MainWindow
w = MainWindow(settings=QSettings({str(tmp_path / 's.ini')!r}, QSettings.Format.IniFormat))
w.show()
w.runner.wait(); app.processEvents()
assert len(w.player.trace) > 0
""")
    assert "numpy" not in modules
    for name in ("memory_view", "table_view", "module_view", "source_view", "event_log",
                 "lesson_panel"):
        assert f"wasmviz.ui.{name}" not in modules
    assert "wasmviz.ui.main_window" in modules and "wasmtime" in modules


def test_the_bench_start_up_command_reaches_the_first_trace(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import bench_ui
    finally:
        sys.path.remove(str(ROOT / "bench"))
    assert bench_ui.startup_once(bench_ui.FULL, bench_ui.startup_env(str(tmp_path))) > 0
