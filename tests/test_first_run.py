"""The app's first run in a child process (engine/child_run.py, issue 11: start-up).

The child records with the same engine code, so its trace must equal the one recorded in this
process, step for step; its errors must be the engine's own; and when it cannot answer, the app
records the run itself and shows the same trace.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings

from wasmviz.engine import Scenario, SourceError, run
from wasmviz.engine.child_run import ChildFailed, FirstRun
from wasmviz.engine.scenario import ScenarioError
from wasmviz.ui.main_window import MainWindow

ROOT = Path(__file__).resolve().parents[1]

SCENARIOS = [
    Scenario(exprs=("x * x + 3",), args=(7,)),
    Scenario.for_fault("bad-signature", expr="x + 1", link="start"),
    Scenario(source="def f(a) = a * 2", call="f", args=(21,), jit_now=True, link="pic"),
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=["expression", "fault-start", "pic"])
def test_the_child_records_the_same_trace_as_this_process(scenario: Scenario) -> None:
    assert FirstRun().run(scenario) == run(scenario)


def test_the_child_raises_the_engines_own_errors() -> None:
    with pytest.raises(SourceError) as bad:
        FirstRun().run(Scenario(exprs=("x * * 3",), args=(7,)))
    assert (bad.value.line, bad.value.column) == (1, 5)
    with pytest.raises(ScenarioError) as refused:
        FirstRun().run(Scenario(exprs=("x",), args=(7,), fuel=10**30))
    assert refused.value.field == "fuel"


def test_a_child_answers_once_and_one_never_asked_is_stopped() -> None:
    child = FirstRun()
    child.run(SCENARIOS[0])
    with pytest.raises(ChildFailed):
        child.run(SCENARIOS[0])
    idle = FirstRun()
    proc = idle.proc
    assert proc is not None
    idle.close()
    assert proc.poll() is not None


def test_a_child_that_cannot_start_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "executable", "/nonexistent/python")
    with pytest.raises(ChildFailed):
        FirstRun().run(SCENARIOS[0])


def test_a_child_that_dies_says_so() -> None:
    child = FirstRun()
    assert child.proc is not None
    child.proc.kill()
    with pytest.raises(ChildFailed):
        child.run(SCENARIOS[0])


def _window(qtbot, tmp_path: Path, child: FirstRun) -> MainWindow:  # type: ignore[no-untyped-def]
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    settings.setValue("sandbox/source", "x * x + 3")
    settings.setValue("sandbox/args", "7")
    win = MainWindow(settings=settings, first_run=child)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: len(win.player.trace) > 0, timeout=30000)
    return win


def test_the_window_shows_the_childs_trace(qtbot, tmp_path: Path) -> None:  # type: ignore
    child = FirstRun()
    win = _window(qtbot, tmp_path, child)
    assert child.proc is None                     # used: it answered
    assert win.player.trace == run(win.scenario)  # type: ignore[arg-type]


def test_without_a_child_the_window_records_the_run_itself(qtbot, tmp_path: Path) -> None:  # type: ignore
    child = FirstRun()
    assert child.proc is not None
    child.proc.kill()                             # dies before it is asked
    win = _window(qtbot, tmp_path, child)
    assert win.player.trace == run(win.scenario)  # type: ignore[arg-type]


def test_the_app_started_as_a_user_does_shows_its_first_trace(tmp_path: Path) -> None:
    """`wasmviz` with WASMVIZ_STARTUP_PROBE=1 (what bench/bench_ui.py times): the real entry, with its
    first run recorded in the child, so this process imports no wasmtime and no lesson checker
    or dock view to show the first trace."""
    code = ("import sys\nfrom wasmviz.cli import main\nstatus = main([])\n"
            "print('modules', ' '.join(sorted(sys.modules)))\nsys.exit(status)")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(tmp_path),
           "WASMVIZ_STARTUP_PROBE": "1"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         cwd=tmp_path, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "child process failed" not in out.stderr   # recorded in the child, not here
    lines = dict(line.split(" ", 1) for line in out.stdout.splitlines())
    assert float(lines["first-trace"]) > 0
    modules = set(lines["modules"].split())
    assert "wasmviz.ui.main_window" in modules
    for name in ("wasmtime", "numpy", "wasmviz.engine.machine", "wasmviz.lessons.checker",
                 "wasmviz.ui.memory_view", "wasmviz.ui.table_view", "wasmviz.ui.event_log",
                 "wasmviz.ui.lesson_panel"):
        assert name not in modules, name


def test_a_child_started_early_answers_the_same_scenario_only() -> None:
    child = FirstRun()
    child.start(SCENARIOS[0])
    assert child.run(SCENARIOS[0]) == run(SCENARIOS[0])
    other = FirstRun()
    other.start(SCENARIOS[0])
    with pytest.raises(ChildFailed):
        other.run(SCENARIOS[2])        # asked for another: this process records it instead
    assert other.proc is None


@pytest.mark.parametrize("source, args, link", [
    ("x * x + 3", "7", "patch"),
    ("def f(a, b) = a * b", "6, 7", "start"),
    ("x - 1", "5", "no-such-style"),      # an unusable saved value: the default, as the window
])
def test_the_apps_early_scenario_is_the_one_the_window_asks_for(
        qtbot, tmp_path: Path, source: str, args: str, link: str) -> None:  # type: ignore
    from wasmviz.ui.window_settings import first_scenario

    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    for key, value in (("source", source), ("args", args), ("link", link)):
        settings.setValue(f"sandbox/{key}", value)
    early = first_scenario(settings)
    win = MainWindow(settings=settings)
    qtbot.addWidget(win)
    assert early is not None and early == win.scenario


def test_inputs_that_cannot_run_start_no_early_run(tmp_path: Path) -> None:
    from wasmviz.ui.window_settings import first_scenario

    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    settings.setValue("sandbox/source", "x * * 3")
    assert first_scenario(settings) is None
    settings.setValue("sandbox/source", "x + 1")
    settings.setValue("sandbox/args", "1, 2")     # an expression takes one argument
    assert first_scenario(settings) is None


def test_a_long_saved_source_is_not_parsed_before_the_window(tmp_path: Path) -> None:
    """Review D6: a long source is parsed by the sandbox's worker, never on the GUI thread, so
    the app does not build its early scenario from it (the window records that run itself)."""
    from wasmviz.ui.sandbox import SYNC_PARSE_CHARS
    from wasmviz.ui.window_settings import first_scenario

    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    settings.setValue("sandbox/source", "x + 1" + " " * SYNC_PARSE_CHARS)
    assert first_scenario(settings) is None
    settings.setValue("sandbox/source", "x + 1")
    assert first_scenario(settings) is not None
