"""The lesson player driven like a learner: every shipped lesson played to its end in the app."""

from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt

from wasmviz.lessons import load, shipped
from wasmviz.ui.lesson_session import lesson_label
from wasmviz.ui.main_window import MainWindow

GOOD = """
title = "A tiny lesson"
summary = "One expression, JIT-compiled."
[scenario]
exprs = ["x + 1"]
args = [41]
[[step]]
at = "patch/table.set"
narration = "TITLE_MARK: patch puts the function into a slot."
highlight = ["slot 6", "field expr.code_slot"]
[[step]]
at = "call/result"
narration = "The result."
[step.checkpoint]
question = "What did x + 1 return for x = 41?"
answer = "42"
right = "Yes."
"""


def make_window(qtbot, settings_path: Path, **kw) -> MainWindow:  # type: ignore[no-untyped-def]
    settings = QSettings(str(settings_path), QSettings.Format.IniFormat)
    win = MainWindow(settings=settings, autorun=False, **kw)
    win.player.animation_ms = 0
    qtbot.addWidget(win)
    win.show()
    return win


def open_and_wait(qtbot, win: MainWindow, name: str) -> None:  # type: ignore[no-untyped-def]
    with qtbot.waitSignal(win.session.loaded, timeout=30000):
        assert win.open_lesson(name)


def answer_right(qtbot, win: MainWindow) -> None:  # type: ignore[no-untyped-def]
    box = win.lesson_panel.checkpoint
    cp = win.session.step.checkpoint  # type: ignore[union-attr]
    with qtbot.waitSignal(win.session.answered) as blocker:
        if cp.typed:
            box.typed.setText(cp.answer[0])
            qtbot.keyClick(box.typed, Qt.Key.Key_Return)
        else:
            box.group.button(cp.answer).click()
            qtbot.mouseClick(box.check_button, Qt.MouseButton.LeftButton)
    assert blocker.args == [win.session.step.number, True]  # type: ignore[union-attr]
    assert box.feedback.text().startswith("✔")


@pytest.mark.parametrize("path", shipped(), ids=lambda p: p.stem)
def test_every_shipped_lesson_plays_to_its_end(qtbot, window: MainWindow, path: Path) -> None:
    lesson = load(path)
    open_and_wait(qtbot, window, str(path))
    panel, session = window.lesson_panel, window.session
    assert panel.title.text() == lesson_label(path, lesson.title)
    assert not panel.error.isVisible(), panel.error.text()
    for k, step in enumerate(lesson.steps):
        assert session.position == k
        # The diagram shows the very trace step the lesson resolved, with its highlights.
        assert window.player.index == session.resolved.indices[k]  # type: ignore[union-attr]
        assert window.central.highlights() == [h.text for h in session.highlights]
        assert panel.narration.toPlainText().strip()
        assert panel.checkpoint.isVisible() == (step.checkpoint is not None)
        if step.checkpoint is not None:
            answer_right(qtbot, window)
        if k < len(lesson.steps) - 1:
            qtbot.mouseClick(panel.next_button, Qt.MouseButton.LeftButton)
    assert not panel.next_button.isEnabled()
    assert lesson.steps[-1].checkpoint is not None


def test_wrong_answer_says_so_and_keeps_nothing(qtbot, window: MainWindow,
                                                tmp_path: Path) -> None:
    path = tmp_path / "tiny.toml"
    path.write_text(GOOD, encoding="utf-8")
    open_and_wait(qtbot, window, str(path))
    window.session.go(1)
    box = window.lesson_panel.checkpoint
    box.type_answer("41")
    assert box.feedback.text().startswith("✘")
    assert window.session.answers == {2: False}
    box.type_answer(" 42 ")
    assert window.session.answers == {2: True}


def test_next_and_back_drive_the_transport_and_highlights(qtbot, window: MainWindow,
                                                          tmp_path: Path) -> None:
    path = tmp_path / "tiny.toml"
    path.write_text(GOOD, encoding="utf-8")
    open_and_wait(qtbot, window, str(path))
    step = window.player.current
    assert step is not None and step.kind == "table.set"
    assert window.central.highlights() == ["slot 6", "field expr.code_slot"]
    table = window.docks["Table"].widget()
    assert table.table.currentIndex().row() == 6  # type: ignore[attr-defined]
    qtbot.keyClick(window, Qt.Key.Key_Right, Qt.KeyboardModifier.ControlModifier)
    assert window.player.current.kind == "result"  # type: ignore[union-attr]
    assert window.player.current.result == 42  # type: ignore[union-attr]
    qtbot.keyClick(window, Qt.Key.Key_Left, Qt.KeyboardModifier.ControlModifier)
    assert window.session.position == 0 and window.player.current.kind == "table.set"  # type: ignore[union-attr]


def test_position_and_answers_survive_a_restart(qtbot, tmp_path: Path) -> None:
    path = tmp_path / "tiny.toml"
    path.write_text(GOOD, encoding="utf-8")
    first = make_window(qtbot, tmp_path / "s.ini")
    open_and_wait(qtbot, first, str(path))
    first.session.next()
    first.lesson_panel.checkpoint.type_answer("42")
    first.close()
    second = make_window(qtbot, tmp_path / "s.ini")
    open_and_wait(qtbot, second, str(path))
    assert second.session.position == 1 and second.session.answers == {2: True}
    assert "before" in second.lesson_panel.checkpoint.feedback.text()


def test_a_broken_lesson_shows_where_and_the_app_stays_usable(qtbot, window: MainWindow,
                                                              tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text(GOOD.replace('at = "call/result"', 'at = "call/nonsense"'), "utf-8")
    with qtbot.waitSignal(window.session.failed, timeout=30000) as blocker:
        window.open_lesson(str(path))
    message = blocker.args[0]
    assert "broken.toml" in message and "step 2" in message and "nonsense" in message
    assert window.lesson_panel.error.isVisible()
    assert any("nonsense" in window.messages.item(i).text()
               for i in range(window.messages.count()))
    # The sandbox still runs.
    with qtbot.waitSignal(window.runner.finished, timeout=30000):
        window.sandbox.request(jit_now=True)
    assert window.player.trace.result is not None


def test_a_syntax_error_names_the_line(qtbot, window: MainWindow, tmp_path: Path) -> None:
    path = tmp_path / "syntax.toml"
    path.write_text('title = "x"\nsummary = "y\n', encoding="utf-8")
    with qtbot.waitSignal(window.session.failed, timeout=5000) as blocker:
        assert window.open_lesson(str(path))
    assert "syntax.toml:2" in blocker.args[0]


def test_unknown_lesson_name_is_reported(window: MainWindow) -> None:
    assert not window.open_lesson("no-such-lesson")
    assert "no-such-lesson" in window.messages.item(window.messages.count() - 1).text()


def test_the_lesson_reloads_when_its_file_changes(qtbot, window: MainWindow,
                                                  tmp_path: Path) -> None:
    path = tmp_path / "tiny.toml"
    path.write_text(GOOD, encoding="utf-8")
    open_and_wait(qtbot, window, str(path))
    with qtbot.waitSignal(window.session.loaded, timeout=30000):
        path.write_text(GOOD.replace("A tiny lesson", "A renamed lesson"), encoding="utf-8")
    assert window.lesson_panel.title.text() == "A renamed lesson"


def test_lesson_option_opens_a_shipped_lesson_by_number(qtbot, tmp_path: Path) -> None:
    first = shipped()[0]
    number = first.stem.split("-")[0]
    win = make_window(qtbot, tmp_path / "s.ini", lesson=number)
    qtbot.waitUntil(lambda: win.session.active, timeout=30000)
    assert win.session.path == first
    assert win.lesson_panel.title.text() == f"{number} · {load(first).title}"


def test_sandbox_run_then_reattach_brings_the_lesson_run_back(qtbot, window: MainWindow,
                                                              tmp_path: Path) -> None:
    path = tmp_path / "tiny.toml"
    path.write_text(GOOD, encoding="utf-8")
    open_and_wait(qtbot, window, str(path))
    lesson_trace = window.player.trace
    with qtbot.waitSignal(window.runner.finished, timeout=30000):
        window.sandbox.request(jit_now=True)
    assert window.player.trace is not lesson_trace
    # Next while detached leaves the learner's run alone (tests/test_ui_lesson_navigation.py).
    window.session.next()
    assert window.player.trace is not lesson_trace
    window.lesson_panel.reattach_button.click()
    assert window.player.trace is lesson_trace
    window.session.next()
    assert window.player.current.kind == "result"  # type: ignore[union-attr]


def test_browser_lists_every_shipped_lesson_with_progress(qtbot, window: MainWindow) -> None:
    window.show_lessons()
    browser = window.lesson_panel.browser
    # Read by a worker the first time: the list says so meanwhile.
    assert browser.reading and browser.list.item(0).text() == "Reading the lessons…"
    qtbot.waitUntil(lambda: not browser.reading, timeout=30000)
    assert browser.list.count() == len(shipped())
    for i, path in enumerate(shipped()):
        assert lesson_label(path, load(path).title) in browser.list.item(i).text()
        assert "new" in browser.list.item(i).text()


BAD = sorted((Path(__file__).parent / "lessons_bad").glob("*.toml"))


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.stem)
def test_each_broken_lesson_shows_the_checkers_message_and_nothing_is_lost(
        qtbot, window: MainWindow, path: Path) -> None:
    from wasmviz.lessons import check_file
    expected = "\n".join(str(e) for e in check_file(path))
    assert expected
    window.sandbox.editor.setPlainText("x + 2")
    with qtbot.waitSignal(window.session.failed, timeout=30000) as blocker:
        window.open_lesson(str(path))
    window.session.runner.wait()
    assert blocker.args[0] == expected
    assert window.lesson_panel.error.text() == "⚠ " + expected
    assert window.sandbox.editor.toPlainText() == "x + 2"
    with qtbot.waitSignal(window.runner.finished, timeout=30000):
        window.sandbox.request(jit_now=True)
    assert window.player.trace.result == 9  # x + 2 with the sandbox argument 7
