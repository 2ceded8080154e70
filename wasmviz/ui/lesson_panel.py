"""The Lesson dock: a browser of the shipped lessons, and the player of the open one.

This file holds the dock and its player page; the browser page is LessonBrowser
(lesson_browser.py).

Narration is Qt's own Markdown (QTextBrowser.setMarkdown); its images were read and decoded
with the lesson, by a worker, so the pane never reads the disk. Next/Back move the shared
Player, so the diagram and every dock follow the lesson exactly as they follow the transport; while
another run is on the player the lesson is detached and says so, and Next/Back wait.

Numbering is the one the rest of the app uses: lessons by their file number ("06 · …", as the
README and `wasmviz lessons list`), lesson steps and trace steps 1-based "N of M", as the
transport shows them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices, QImage, QKeySequence, QShortcut, QTextDocument
from PySide6.QtWidgets import (QFrame, QHBoxLayout, QLabel, QProgressBar, QPushButton,
                               QScrollArea, QSizePolicy, QStackedWidget, QTextBrowser, QVBoxLayout,
                               QWidget)

from .lesson_browser import LessonBrowser
from .lesson_checkpoint import CheckpointBox
from .lesson_session import LessonSession, lesson_label, step_title

#: A button does not wrap: a longer lesson title is cut (the tooltip has it whole).
BUTTON_CHARS = 34


class LessonPanel(QWidget):
    """Browser page and player page in one dock."""

    def __init__(self, session: LessonSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.browser = LessonBrowser(session.settings)
        self.browser.open_requested.connect(self.open)
        self.next_path: Path | None = None
        self._busy = False

        self.title = QLabel(wordWrap=True)
        self.title.setStyleSheet("font-size: 13pt; font-weight: 700;")
        self.progress = QProgressBar(textVisible=False, maximumHeight=6)
        self.progress.setToolTip("How far through the lesson you are")
        self.progress.setAccessibleName("Lesson progress")
        self.position = QLabel(wordWrap=True)
        self.trace_step = QLabel(wordWrap=True)
        self.trace_step.setToolTip("The step of the recorded run this lesson step shows, "
                                   "numbered as in the transport bar")
        self.error = QLabel(wordWrap=True, visible=False)
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error.setStyleSheet("color: #E03131;")
        self.detached_banner, self.reattach_button = self._make_banner()

        self.narration = _FittedBrowser()
        self.narration.setAccessibleName("Lesson narration")
        self.narration.setToolTip("The lesson's narration for this step")
        self.checkpoint = CheckpointBox()
        self.checkpoint.submitted.connect(self._on_submitted)
        self.end_box, self.end_label, self.next_lesson_button = self._make_end_box()
        self.scroll = self._make_scroll(self.narration, self.checkpoint)

        self.back_button = self._button("◀ Back", "Previous lesson step",
                                        "Previous lesson step (Ctrl+Left)", session.back)
        self.next_button = self._button("Next ▶", "Next lesson step",
                                        "Next lesson step (Ctrl+Right)", session.next)
        self.all_button = self._button("All lessons", "All lessons",
                                       "Back to the list of lessons; your place is remembered",
                                       self.show_browser)
        # Window-wide, but enabled only while this lesson's run is on the player.
        self.shortcuts = [QShortcut(QKeySequence(key), self, slot,
                                    context=Qt.ShortcutContext.WindowShortcut)
                          for key, slot in (("Ctrl+Right", session.next),
                                            ("Ctrl+Left", session.back))]
        buttons = QHBoxLayout()
        buttons.addWidget(self.all_button)
        buttons.addStretch(1)
        buttons.addWidget(self.back_button)
        buttons.addWidget(self.next_button)
        page = QWidget()
        lay = QVBoxLayout(page)
        lay.setContentsMargins(4, 4, 4, 4)
        for w in (self.title, self.progress, self.position, self.trace_step,
                  self.detached_banner, self.error):
            lay.addWidget(w)
        lay.addWidget(self.scroll, 1)
        # Outside the scroll area: "Lesson complete" is seen the moment the answer makes it so,
        # without scrolling the choices away from under the mouse.
        lay.addWidget(self.end_box)
        lay.addLayout(buttons)
        self.player_page = page

        self.stack = QStackedWidget()
        self.stack.addWidget(self.browser)
        self.stack.addWidget(page)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.stack)

        # Tab in reading order (widgets joined the focus chain as they were parented).
        box = self.checkpoint
        box.tab_after = self.narration
        chain = [self.reattach_button, self.scroll, self.narration, box.typed, box.check_button,
                 self.next_lesson_button, self.all_button, self.back_button, self.next_button]
        for first, second in zip(chain, chain[1:]):
            QWidget.setTabOrder(first, second)

        session.loaded.connect(self._on_loaded)
        session.position_changed.connect(self._on_position)
        session.failed.connect(self._on_failed)
        session.answered.connect(self._on_answered)
        session.busy_changed.connect(self._on_busy)
        session.detached_changed.connect(self._on_detached)
        self._update_controls()

    # ---------------------------------------------------------------- building
    def _button(self, text: str, name: str, tip: str, slot: object) -> QPushButton:
        button = QPushButton(text)
        button.setAccessibleName(name)
        button.setToolTip(tip)
        button.clicked.connect(slot)
        return button

    def _make_banner(self) -> tuple[QFrame, QPushButton]:
        """The notice shown while another run is on the player, with the way back."""
        banner = QFrame(visible=False, objectName="lesson-detached")
        banner.setFrameShape(QFrame.Shape.StyledPanel)
        # Amber reads as "attention" in both palettes; the text is dark on it in both.
        banner.setStyleSheet("#lesson-detached { background: #FFF3BF; border: 1px solid #F08C00;"
                             " border-radius: 4px; } #lesson-detached QLabel { color: #111; }")
        text = QLabel("<b>This lesson's run is not on screen</b>: you are looking at your own "
                      "run. Next and Back (Ctrl+←/→) wait until you go back to the lesson.",
                      wordWrap=True)
        text.setAccessibleName("This lesson's run is not on screen")
        button = self._button("Back to the lesson", "Back to the lesson",
                              "Show this lesson's run again, at the lesson's current step",
                              self.reattach)
        lay = QVBoxLayout(banner)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addWidget(text)
        lay.addWidget(button, 0, Qt.AlignmentFlag.AlignLeft)
        return banner, button

    def _make_end_box(self) -> tuple[QWidget, QLabel, QPushButton]:
        """What the last step adds: "Lesson complete" and the way on to the next lesson."""
        box = QWidget(visible=False)
        label = QLabel(wordWrap=True)
        # Two lines kept for it either way, so the scroll area above never changes height
        # (and never shifts the choices) when an answer completes the lesson.
        label.setMinimumHeight(2 * label.fontMetrics().lineSpacing())
        button = self._button("Next lesson", "Next lesson", "Open the next lesson",
                              self.open_next)
        lay = QVBoxLayout(box)
        lay.setContentsMargins(0, 6, 0, 0)
        lay.addWidget(label)
        lay.addWidget(button, 0, Qt.AlignmentFlag.AlignLeft)
        return box, label, button

    def _make_scroll(self, *widgets: QWidget) -> QScrollArea:
        """Narration, then the checkpoint: one column read top-down, which scrolls."""
        content = QWidget()
        lay = QVBoxLayout(content)
        lay.setContentsMargins(0, 0, 4, 0)
        for w in widgets:
            lay.addWidget(w)
        lay.addStretch(1)
        scroll = QScrollArea(widgetResizable=True, frameShape=QFrame.Shape.NoFrame)
        scroll.setWidget(content)
        scroll.setAccessibleName("Lesson step")
        scroll.setToolTip("This lesson step: its narration and checkpoint (Page Up/Down scroll)")
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        # A scroll bar that came and went would re-wrap the text and move the choices under
        # the mouse when feedback appears: it is always there.
        scroll.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        return scroll

    # ---------------------------------------------------------------- pages
    def open(self, path: Path) -> None:
        """Open the lesson at ``path``; the lesson already open is shown again, not re-run."""
        self.stack.setCurrentWidget(self.player_page)
        if self.session.active and self.session.path == Path(path):
            self.reattach()
            return
        self.error.hide()
        self.title.setText(path.stem)
        self.position.setText("Running the lesson's scenario in wasmtime…")
        self.trace_step.clear()
        self.narration.clear()
        self.checkpoint.hide()
        self.end_box.hide()
        self.session.open(path)
        self._update_controls()

    def open_next(self) -> None:
        if self.next_path is not None:
            self.open(self.next_path)

    def reattach(self) -> None:
        """Bring the lesson's run back on the player at the lesson's current step."""
        self.session.reattach()

    def show_browser(self) -> None:
        self.browser.refresh()
        self.browser.select(self.session.path)
        self.stack.setCurrentWidget(self.browser)

    def focus_browser(self) -> None:
        """Show the lesson list with the current lesson selected, and give it keyboard focus."""
        self.show_browser()
        lst = self.browser.list
        if lst.currentRow() < 0 and lst.count():
            lst.setCurrentRow(0)
        lst.scrollToItem(lst.currentItem())
        lst.setFocus(Qt.FocusReason.ShortcutFocusReason)

    # ---------------------------------------------------------------- session events
    def _on_loaded(self) -> None:
        lesson, path = self.session.lesson, self.session.path
        if lesson is None or path is None:
            return
        self.title.setText(lesson_label(path, lesson.title))
        self.title.setToolTip(lesson.summary)
        self.progress.setRange(0, max(self.session.count - 1, 1))
        opened = self.session.opened
        self.next_path = opened.next_path if opened is not None else None

    def _on_position(self, position: int) -> None:
        step = self.session.step
        if step is None:
            return
        n = self.session.count
        title = step_title(step)
        self.position.setText(f"<b>Step {position + 1} of {n}</b>" + (f" — {title}" if title
                                                                      else ""))
        self.position.setAccessibleName(f"Step {position + 1} of {n}")
        trace = self.session.resolved.trace if self.session.resolved else ()
        self.trace_step.setText(f"<small>Shows trace step {self.session.trace_index + 1} of "
                                f"{len(trace)}</small>")
        self.progress.setValue(position)
        opened = self.session.opened
        self.narration.show_markdown(step.narration, opened.images if opened else {})
        self.checkpoint.show_checkpoint(step.checkpoint,
                                        self.session.answers.get(step.number, False))
        self.scroll.verticalScrollBar().setValue(0)
        self._update_end()
        self._update_controls()

    def _on_answered(self, _number: int, right: bool) -> None:
        self.checkpoint.show_result(right)
        self._update_end()

    def _on_detached(self, detached: bool) -> None:
        self._update_controls()
        if not detached and self.reattach_button.hasFocus():
            # The banner's button is about to vanish: keep keyboard focus in the lesson.
            (self.next_button if self.next_button.isEnabled() else self.scroll).setFocus()
        self.detached_banner.setVisible(detached)

    def _on_failed(self, message: str) -> None:
        self.error.setText("⚠ " + message)
        self.error.setToolTip(message)
        self.error.show()
        if self.session.lesson is None:
            self.position.setText("This lesson cannot be played; fix the file and it reloads "
                                  "when saved.")
        self._update_controls()

    def _on_busy(self, busy: bool) -> None:
        self._busy = busy
        self._update_controls()

    def _on_submitted(self, reply: object) -> None:
        self.session.answer(reply)  # type: ignore[arg-type]

    # ---------------------------------------------------------------- state
    def _update_controls(self) -> None:
        """Next/Back (buttons and keys) act only while this lesson's run is on the player."""
        s = self.session
        live = s.active and not s.detached
        self.back_button.setEnabled(live and s.position > 0)
        self.next_button.setEnabled(live and not self._busy and s.position < s.count - 1)
        for shortcut in self.shortcuts:
            shortcut.setEnabled(live)

    def _update_end(self) -> None:
        """On the last step: say whether the lesson is complete and offer the next one."""
        s = self.session
        if s.lesson is None or s.position != s.count - 1:
            self.end_box.hide()
            return
        missing = s.unanswered
        if not missing:
            text = "<b>✓ Lesson complete.</b>"
        elif missing == [s.position + 1]:
            text = "<b>End of the lesson.</b> Answer the checkpoint above to complete it."
        else:
            which = (f"the checkpoints on steps {', '.join(str(n) for n in missing)}"
                     if len(missing) > 1 else f"the checkpoint on step {missing[0]}")
            text = f"<b>End of the lesson.</b> Answer {which} to complete it."
        nxt, opened = self.next_path, s.opened
        if nxt is not None:
            # Read with the lesson, by the worker: no lesson file is read on the GUI thread.
            label = opened.next_label if opened is not None and opened.next_label else nxt.stem
            short = label if len(label) <= BUTTON_CHARS else label[:BUTTON_CHARS - 1] + "…"
            self.next_lesson_button.setText(f"Next lesson: {short}")
            self.next_lesson_button.setAccessibleName(f"Next lesson: {label}")
            self.next_lesson_button.setToolTip(f"Open the next lesson: {label}")
        elif opened is not None and opened.in_course:
            text += " This was the last lesson of the course."
        self.next_lesson_button.setVisible(nxt is not None)
        self.end_label.setText(text)
        self.end_label.setAccessibleName(self.end_label.text().replace("<b>", "")
                                         .replace("</b>", ""))
        self.end_box.show()


class _FittedBrowser(QTextBrowser):
    """A QTextBrowser as tall as its text, so what follows it (the checkpoint) comes right after
    the narration instead of being pinned to the bottom of the dock."""

    def __init__(self) -> None:
        super().__init__()
        #: The open lesson's narration images, read and decoded by the worker that read the
        #: lesson (ui.runner.load_narration_images), keyed as the document asks for them.
        self.images: Mapping[str, QImage] = {}
        # Links are opened here, not by Qt: web links go to the browser; file: and anything
        # else would show a local file in the pane or hand it to xdg-open, so they do nothing.
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self.anchorClicked.connect(_open_web_link)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        # The document is laid out at the viewport's width: its height follows every re-wrap.
        self.document().documentLayout().documentSizeChanged.connect(self._fit)

    def _fit(self) -> None:
        height = int(self.document().size().height()) + 2 * self.frameWidth() + 2
        if height != self.height():
            self.setFixedHeight(max(height, 24))

    def show_markdown(self, text: str, images: Mapping[str, QImage]) -> None:
        """Show ``text`` with the images read for it: laying the page out asks loadResource
        for each, which answers from ``images``."""
        self.images = images
        self.setMarkdown(text)

    def loadResource(self, kind: int, url: QUrl):  # noqa: N802 (Qt's name)
        """Answer from the images read with the lesson; never read the disk.

        Qt's own loader reads any path synchronously on the GUI thread: `![x](/dev/zero)` read
        without end and a FIFO froze the window (review D1). An image not read with the lesson
        (another folder, another scheme) is an empty 1x1 image. It must not be None: for a
        null result QTextDocument reads the path itself with QFile.
        """
        if getattr(kind, "value", kind) != QTextDocument.ResourceType.ImageResource.value:
            return ""
        image = self.images.get(url.toString())
        return _blank_image() if image is None or image.isNull() else image


def _blank_image() -> QImage:
    """A transparent 1x1 image: what a refused narration image shows."""
    image = QImage(1, 1, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    return image


def _open_web_link(url: QUrl) -> None:
    """Open http(s) and mailto links outside the app; ignore every other scheme."""
    if url.scheme() in ("http", "https", "mailto"):
        QDesktopServices.openUrl(url)
