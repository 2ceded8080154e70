"""Lessons and the shared player: detaching, one numbering, the course order, the keyboard."""

import re
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QAbstractButton, QApplication, QLineEdit, QListWidget,
                               QTextBrowser)

from wasmviz.lessons import load, shipped
from wasmviz.ui.main_window import MainWindow

CHOICES = """
title = "A lesson with choices"
summary = "One expression, JIT-compiled, and a multiple-choice question."
[scenario]
exprs = ["x + 1"]
args = [41]
[[step]]
at = "patch/table.set"
title = "1. The slot"
narration = "patch puts the new function into a slot of the table."
[step.checkpoint]
question = "Which slot holds the new function?"
choices = ["slot `5`", "slot `6`", "slot `0`, the interpreter's"]
answer = 2
right = "Yes: the table had 6 slots, so the first new one is slot 6."
wrong = \"\"\"No. Look at the Table dock: the table had six slots (0 to 5) before table.grow,
and table.grow returns the old size, which is the index of the first new slot. That slot is
where table.set put the function. Try again.\"\"\"
[[step]]
at = "call/result"
narration = "The result."
"""


def open_and_wait(qtbot, win: MainWindow, name: str) -> None:  # type: ignore[no-untyped-def]
    with qtbot.waitSignal(win.session.loaded, timeout=30000):
        assert win.open_lesson(name)


def open_choices(qtbot, win: MainWindow, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "choices.toml"
    path.write_text(CHOICES, encoding="utf-8")
    open_and_wait(qtbot, win, str(path))


def run_sandbox(qtbot, win: MainWindow) -> None:  # type: ignore[no-untyped-def]
    with qtbot.waitSignal(win.runner.finished, timeout=30000):
        win.sandbox.request(jit_now=True)


def ctrl(qtbot, win: MainWindow, key: Qt.Key) -> None:  # type: ignore[no-untyped-def]
    qtbot.keyClick(win, key, Qt.KeyboardModifier.ControlModifier)


def answer_every_checkpoint(qtbot, win: MainWindow) -> None:  # type: ignore[no-untyped-def]
    """Visit each checkpoint step and answer it right, as a learner would with Check."""
    for k, step in enumerate(win.session.lesson.steps):  # type: ignore[union-attr]
        if step.checkpoint is None:
            continue
        win.session.go(k)
        box = win.lesson_panel.checkpoint
        cp = step.checkpoint
        if cp.typed:
            box.type_answer(cp.answer[0])  # type: ignore[index]
        else:
            box.choose(cp.answer)  # type: ignore[arg-type]
        assert win.session.answers[step.number]


# ---------------------------------------------------------------- 1. detached
def test_a_sandbox_run_detaches_the_lesson_and_ctrl_keys_leave_it_alone(
        qtbot, window: MainWindow, tmp_path: Path) -> None:
    open_choices(qtbot, window, tmp_path)
    panel, session = window.lesson_panel, window.session
    lesson_trace = window.player.trace
    ctrl(qtbot, window, Qt.Key.Key_Right)
    assert session.position == 1 and not session.detached
    assert not panel.detached_banner.isVisible()

    with qtbot.waitSignal(session.detached_changed) as blocker:
        run_sandbox(qtbot, window)
    assert blocker.args == [True] and session.detached
    mine, where = window.player.trace, window.player.index
    assert mine is not lesson_trace
    assert panel.detached_banner.isVisible()
    assert not panel.next_button.isEnabled() and not panel.back_button.isEnabled()
    # The keys and buttons must not put the lesson's run back over the learner's own.
    ctrl(qtbot, window, Qt.Key.Key_Left)
    ctrl(qtbot, window, Qt.Key.Key_Right)
    session.back()
    assert window.player.trace is mine and window.player.index == where
    assert session.position == 1
    assert session.highlights == ()

    with qtbot.waitSignal(session.detached_changed) as blocker:
        qtbot.mouseClick(panel.reattach_button, Qt.MouseButton.LeftButton)
    assert blocker.args == [False]
    assert window.player.trace is lesson_trace
    assert window.player.index == session.resolved.indices[1]  # type: ignore[union-attr]
    assert not panel.detached_banner.isVisible()
    ctrl(qtbot, window, Qt.Key.Key_Left)
    assert session.position == 0
    assert window.player.index == session.resolved.indices[0]  # type: ignore[union-attr]


def test_opening_a_trace_file_detaches_the_lesson(qtbot, window: MainWindow,
                                                  tmp_path: Path) -> None:
    run_sandbox(qtbot, window)
    saved = window.export_trace(str(tmp_path / "mine.json"))
    assert saved
    open_choices(qtbot, window, tmp_path)
    window.open_trace(saved)   # read by a worker
    qtbot.waitUntil(lambda: window.session.detached, timeout=10000)
    assert window.lesson_panel.detached_banner.isVisible()
    opened = window.player.trace
    ctrl(qtbot, window, Qt.Key.Key_Right)
    assert window.player.trace is opened and window.session.position == 0
    # Choosing the open lesson again in the browser brings its run back without re-running it.
    window.lesson_panel.open(window.session.path)  # type: ignore[arg-type]
    assert window.player.trace is window.session.resolved.trace  # type: ignore[union-attr]
    assert not window.session.detached


# ---------------------------------------------------------------- 2. one numbering
def test_steps_are_numbered_as_the_transport_numbers_them(qtbot, window: MainWindow) -> None:
    path = next(p for p in shipped() if p.stem.startswith("06"))
    lesson = load(path)
    open_and_wait(qtbot, window, str(path))
    panel, session = window.lesson_panel, window.session
    k = next(i for i, s in enumerate(lesson.steps) if s.title.startswith("1."))
    session.go(k)
    n = len(lesson.steps)
    heading = panel.position.text()
    assert f"Step {k + 1} of {n}" in heading and "table.grow" in heading
    assert "1." not in heading.split("—")[1]
    index, total = window.player.index + 1, len(window.player.trace)
    # Whatever its wording, the transport shows the same two numbers.
    assert re.findall(r"\d+", window.transport.position.text()) == [str(index), str(total)]
    assert f"trace step {index} of {total}" in panel.trace_step.text()
    assert f"trace step {index - 1} " not in panel.trace_step.text()


# ---------------------------------------------------------------- 3. the course
def test_browser_numbers_lessons_as_the_readme_and_ticks_done(qtbot,
                                                              window: MainWindow) -> None:
    window.show_lessons()
    lst = window.lesson_panel.browser.list
    qtbot.waitUntil(lambda: lst.count() == len(shipped()), timeout=30000)   # read by a worker
    for i, path in enumerate(shipped()):
        number = path.stem.split("-")[0]
        assert lst.item(i).text().startswith(f"{number} · {load(path).title}")
        assert "✓" not in lst.item(i).text()
    first = shipped()[0]
    open_and_wait(qtbot, window, str(first))
    session = window.session
    session.go(session.count - 1)
    window.show_lessons()
    # The end reached but the checkpoints not answered yet: not done.
    assert "✓" not in lst.item(0).text()
    window.lesson_panel.open(first)
    answer_every_checkpoint(qtbot, window)
    window.show_lessons()
    item = lst.item(0)
    assert "✓" in item.text()
    assert "done" in item.data(Qt.ItemDataRole.AccessibleTextRole)
    assert "done" not in lst.item(1).data(Qt.ItemDataRole.AccessibleTextRole)


def test_the_last_step_says_complete_and_opens_the_next_lesson(qtbot,
                                                               window: MainWindow) -> None:
    first, second = shipped()[:2]
    open_and_wait(qtbot, window, str(first))
    panel, session = window.lesson_panel, window.session
    session.go(session.count - 1)
    assert panel.end_box.isVisible()
    assert "Lesson complete" not in panel.end_label.text()  # checkpoints still to answer
    answer_every_checkpoint(qtbot, window)
    session.go(session.count - 1)
    assert "Lesson complete" in panel.end_label.text()
    button = panel.next_lesson_button
    number = second.stem.split("-")[0]
    assert button.isVisible() and button.text().startswith(f"Next lesson: {number} · ")
    assert load(second).title in button.toolTip()
    with qtbot.waitSignal(session.loaded, timeout=30000):
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert session.path == second and session.position == 0
    assert not panel.end_box.isVisible()


def test_the_last_lesson_says_it_is_the_last(qtbot, window: MainWindow) -> None:
    open_and_wait(qtbot, window, str(shipped()[-1]))
    window.session.go(window.session.count - 1)
    panel = window.lesson_panel
    assert "last lesson" in panel.end_label.text()
    assert not panel.next_lesson_button.isVisible()


# ---------------------------------------------------------------- 4. feedback below
def test_checkpoint_feedback_does_not_move_the_choices(qtbot, window: MainWindow,
                                                       tmp_path: Path) -> None:
    window.resizeDocks([window.docks["Lesson"]], [380], Qt.Orientation.Horizontal)
    open_choices(qtbot, window, tmp_path)
    box = window.lesson_panel.checkpoint
    qtbot.waitUntil(lambda: box.group.button(1).isVisible())

    def places() -> list[tuple[int, int]]:
        widgets = [*box.group.buttons(), box.check_button]
        return [(w.mapTo(window, w.rect().topLeft()).x(), w.mapTo(window, w.rect().topLeft()).y())
                for w in widgets]

    before = places()
    qtbot.mouseClick(box.group.button(1), Qt.MouseButton.LeftButton)
    qtbot.mouseClick(box.check_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: box.feedback.isVisible() and box.feedback.height() > 30)
    assert box.feedback.text().startswith("✘")
    assert places() == before
    # The feedback is under the choices and the Check button, not above them.
    assert box.feedback.y() > box.check_button.y() > box.choices_box.y()


# ---------------------------------------------------------------- 5. keyboard
def test_focus_browser_then_down_and_return_opens_a_lesson(qtbot, window: MainWindow) -> None:
    window.show_lessons()
    window.activateWindow()
    panel = window.lesson_panel
    panel.focus_browser()
    lst = panel.browser.list
    qtbot.waitUntil(lambda: QApplication.focusWidget() is lst)
    qtbot.waitUntil(lambda: lst.count() == len(shipped()), timeout=30000)   # read by a worker
    assert lst.currentRow() == 0
    focused = QApplication.focusWidget()
    qtbot.keyClick(focused, Qt.Key.Key_Down)
    with qtbot.waitSignal(window.session.loaded, timeout=30000):
        qtbot.keyClick(focused, Qt.Key.Key_Return)
    assert window.session.path == shipped()[1]
    # Back in the browser, the open lesson is the selected one.
    panel.focus_browser()
    assert lst.currentRow() == 1


# ---------------------------------------------------------------- 6. accessible names
def test_every_interactive_widget_has_a_name_and_a_tooltip(qtbot, window: MainWindow,
                                                           tmp_path: Path) -> None:
    open_choices(qtbot, window, tmp_path)
    panel = window.lesson_panel
    panel.checkpoint.choose(1)
    run_sandbox(qtbot, window)  # shows the banner's button too
    window.session.reattach()
    window.session.go(window.session.count - 1)
    kinds = (QAbstractButton, QLineEdit, QListWidget, QTextBrowser)
    widgets = [w for kind in kinds for w in panel.findChildren(kind)]
    assert len(widgets) > 8
    for w in widgets:
        assert w.accessibleName(), w
        assert w.toolTip(), w.accessibleName()


# ---------------------------------------------------------------- 7. reading room
def test_the_checkpoint_follows_short_narration(qtbot, window: MainWindow,
                                                tmp_path: Path) -> None:
    window.resizeDocks([window.docks["Lesson"]], [380], Qt.Orientation.Horizontal)
    open_choices(qtbot, window, tmp_path)
    panel = window.lesson_panel
    narration, box = panel.narration, panel.checkpoint
    qtbot.waitUntil(lambda: box.isVisible() and narration.height() > 0)
    text_height = narration.document().size().height
    qtbot.waitUntil(lambda: text_height() <= narration.height() <= text_height() + 12)
    # The whole narration shows without its own scroll bar, and the question comes right
    # after it, not pinned to the bottom of the dock.
    gap = box.mapTo(panel, box.rect().topLeft()).y() - \
        narration.mapTo(panel, narration.rect().bottomLeft()).y()
    assert 0 <= gap < 30
    assert panel.width() <= 420
