"""Every file the app opens is read and parsed by a worker, never on the GUI thread: a program,
a trace, a lesson with its source_file, and the lesson's narration images (issue 11, item 4).

A FIFO, a device or a file that takes long to read never blocks the window: its event loop keeps
running, and Messages says what was wrong.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any, Callable

import pytest
from PySide6.QtCore import QTimer, QUrl
from PySide6.QtGui import QImage, QTextDocument

from wasmviz.engine import Scenario, run
from wasmviz.lessons import load, shipped
from wasmviz.ui import lesson_runner
from wasmviz.ui import runner as runner_module
from wasmviz.ui import window_files
from wasmviz.ui.lesson_session import lesson_label
from wasmviz.ui.main_window import MainWindow

LESSON = """title = "Read in the background"
summary = "One expression, JIT-compiled."
[scenario]
{scenario}
[[step]]
at = "call/result"
narration = "{narration}"
expect = [{{result = 42}}]
"""
EXPR = 'exprs = ["x + 1"]\nargs = [41]'
IMAGE_RESOURCE = QTextDocument.ResourceType.ImageResource.value


class Ticks:
    """Counts the GUI event loop's turns: if a read blocked the GUI thread, none would come."""

    def __init__(self) -> None:
        self.count = 0
        self.timer = QTimer(interval=0)
        self.timer.timeout.connect(self._tick)
        self.timer.start()

    def _tick(self) -> None:
        self.count += 1


def messages(window: MainWindow) -> list[str]:
    return [window.messages.item(i).text() for i in range(window.messages.count())]


def slow(monkeypatch: pytest.MonkeyPatch, module: Any, name: str) -> tuple[threading.Event,
                                                                          list[int]]:
    """Make ``module.name`` (a reading function) wait for the returned gate before reading,
    as a slow disk would, and record the thread each call runs on."""
    gate, threads = threading.Event(), []
    original: Callable[..., Any] = getattr(module, name)

    def read(*args: Any) -> Any:
        threads.append(threading.get_ident())
        gate.wait(60)
        return original(*args)

    monkeypatch.setattr(module, name, read)
    return gate, threads


def write_lesson(folder: Path, scenario: str = EXPR, narration: str = "n") -> Path:
    path = folder / "lesson.toml"
    path.write_text(LESSON.format(scenario=scenario, narration=narration), encoding="utf-8")
    return path


@pytest.fixture
def trace_file(tmp_path: Path) -> Path:
    """A trace the app wrote, from a real run."""
    path = tmp_path / "run.json"
    path.write_text(run(Scenario(exprs=("x * x + 3",), args=(7,))).dumps())
    return path


# ---------------------------------------------------------------- a slow file
def test_a_slow_program_file_is_read_by_a_worker(qtbot, window: MainWindow,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    example = next(p for p in window.example_programs() if p.name == "fib.wv")
    gate, threads = slow(monkeypatch, window_files, "read_program")
    window.sandbox.editor.setPlainText("my work")
    ticks = Ticks()
    assert window.open_program(str(example))
    # The read is stuck, and the window still turns its event loop and keeps its text.
    qtbot.waitUntil(lambda: bool(threads) and ticks.count >= 5, timeout=10000)
    assert window.sandbox.editor.toPlainText() == "my work"
    gate.set()
    qtbot.waitUntil(lambda: window.sandbox.editor.toPlainText() == example.read_text(),
                    timeout=10000)
    assert threads[0] != threading.get_ident()
    assert window.docks["Sandbox"].isVisible()


def test_a_slow_trace_file_is_read_by_a_worker(qtbot, window: MainWindow, trace_file: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    gate, threads = slow(monkeypatch, runner_module, "read_trace_file")
    before = window.player.trace
    ticks = Ticks()
    window.open_trace(str(trace_file))
    qtbot.waitUntil(lambda: bool(threads) and ticks.count >= 5, timeout=10000)
    assert window.player.trace is before
    gate.set()
    qtbot.waitUntil(lambda: window.player.trace is not before, timeout=10000)
    assert threads[0] != threading.get_ident()
    assert window.player.trace.result == 52 and "run.json" in window.windowTitle()


def test_a_slow_lesson_file_is_read_by_a_worker(qtbot, window: MainWindow, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    gate, threads = slow(monkeypatch, lesson_runner, "load")
    path = write_lesson(tmp_path)
    ticks = Ticks()
    assert window.open_lesson(str(path))
    qtbot.waitUntil(lambda: bool(threads) and ticks.count >= 5, timeout=10000)
    assert window.session.lesson is None
    with qtbot.waitSignal(window.session.loaded, timeout=30000):
        gate.set()
    assert threads[0] != threading.get_ident()
    assert window.session.lesson is not None and window.player.trace.result == 42


# ---------------------------------------------------------------- a FIFO
@pytest.mark.parametrize("kind", ["program", "trace", "lesson", "lesson-list", "source_file"])
def test_a_fifo_is_refused_in_messages_and_the_window_keeps_running(
        qtbot, window: MainWindow, tmp_path: Path, kind: str) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    window.sandbox.editor.setPlainText("x + 2")   # the learner's own work
    before, count = window.player.trace, window.messages.count()
    ticks = Ticks()
    if kind == "program":
        assert window.open_program(str(fifo))
        expected = f"Could not open {fifo}: {fifo}: not a regular file"
    elif kind == "trace":
        window.open_trace(str(fifo))
        expected = f"Could not open {fifo}: cannot read it"
    elif kind == "lesson":   # File > Open lesson: named by a stat, never opened
        assert not window.open_lesson(str(fifo))
        expected = f"{fifo}: not a lesson file (a folder, a device or a pipe)"
    elif kind == "lesson-list":   # chosen in the lesson list: refused by the worker
        window.lesson_panel.open(fifo)
        expected = f"{fifo}: not a lesson file (a folder, a device or a pipe)"
    else:
        lesson = write_lesson(tmp_path, 'source_file = "pipe"\ncall = "f"\nargs = [41]')
        assert window.open_lesson(str(lesson))
        expected = f"{lesson}:4: scenario: source_file 'pipe' is not a regular file"
    # The event loop turns (it would not if the pipe were read on the GUI thread: nobody
    # writes to it), and Messages says what is wrong.
    qtbot.waitUntil(lambda: window.messages.count() > count and ticks.count > 0, timeout=10000)
    assert messages(window)[-1].startswith("⚠ " + expected)
    # Nothing was lost, and the app still runs what the learner asks.
    assert window.sandbox.editor.toPlainText() == "x + 2"
    assert window.player.trace is before
    with qtbot.waitSignal(window.runner.finished, timeout=30000):
        window.sandbox.request(jit_now=True)
    assert window.player.trace.result == 9   # x + 2 with the sandbox's argument 7


def test_a_trace_that_is_no_trace_is_reported_from_the_worker(qtbot, window: MainWindow,
                                                              tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    count = window.messages.count()
    window.open_trace(str(bad))
    qtbot.waitUntil(lambda: window.messages.count() > count, timeout=10000)
    assert "not a wasmviz trace" in messages(window)[-1]


# ---------------------------------------------------------------- narration images
def test_narration_images_are_read_with_the_lesson_not_by_the_pane(
        qtbot, window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from PySide6.QtCore import Qt

    image = QImage(30, 20, QImage.Format.Format_RGB32)
    image.fill(Qt.GlobalColor.red)
    picture = tmp_path / "red.png"
    image.save(str(picture))
    threads: list[int] = []
    original = lesson_runner.read_small_bytes

    def read(*args: Any) -> bytes:
        threads.append(threading.get_ident())
        return original(*args)

    monkeypatch.setattr(lesson_runner, "read_small_bytes", read)
    path = write_lesson(tmp_path, narration="The run: ![red](red.png)")
    with qtbot.waitSignal(window.session.loaded, timeout=30000):
        window.open_lesson(str(path))
    assert threads and all(t != threading.get_ident() for t in threads)
    narration = window.lesson_panel.narration
    # Handed to the document, decoded: the pane has nothing left to read.
    assert narration.document().resource(IMAGE_RESOURCE, QUrl("red.png")).width() == 30
    picture.unlink()
    window.session.go(0)
    narration.grab()
    assert narration.loadResource(IMAGE_RESOURCE, QUrl("red.png")).size().width() == 30
    # What was not read with the lesson is a blank, never a read (these once hung the window).
    for name in ("/dev/zero", "../x.png", "file:///dev/zero", "https://example.com/a.png"):
        assert narration.loadResource(IMAGE_RESOURCE, QUrl(name)).width() == 1
    assert narration.height() > 20   # the image is laid out in the pane


def test_the_next_lessons_title_is_read_with_the_lesson(qtbot, window: MainWindow) -> None:
    first, second = shipped()[:2]
    with qtbot.waitSignal(window.session.loaded, timeout=30000):
        window.open_lesson(str(first))
    opened = window.session.opened
    assert opened is not None and opened.in_course and opened.next_path == second
    assert opened.next_label == lesson_label(second, load(second).title)


def test_the_lesson_list_is_read_by_a_worker(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    """The shipped lessons are parsed off the GUI thread when the list is first shown (they
    took 60-90 ms); later refreshes reuse them and re-read only the progress."""
    import threading

    from wasmviz.lessons import shipped
    from wasmviz.ui import lesson_browser

    threads: list[str] = []
    real = lesson_browser.load

    def spy(path):  # type: ignore[no-untyped-def]
        threads.append(threading.current_thread().name)
        return real(path)

    lesson_browser.load = spy
    try:
        window.show_lessons()
        browser = window.lesson_panel.browser
        qtbot.waitUntil(lambda: browser.list.count() == len(shipped()), timeout=30000)
        assert threads and threading.main_thread().name not in threads
        count = len(threads)
        browser.refresh()
        assert len(threads) == count and browser.list.count() == len(shipped())
    finally:
        lesson_browser.load = real
