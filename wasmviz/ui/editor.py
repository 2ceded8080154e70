"""A small code editor for the sandbox: line numbers, syntax highlighting, error underline.

Lines wrap at the widget's width (a one-line ``def`` stays readable in a narrow dock); the
gutter numbers source lines, so a wrapped line gets one number, on its first visual line.
An error can point just past the end of a line ("unterminated expression" at column 11 of a
10-column line): there is no character to underline, so the editor underlines the line's last
character and draws a red caret where the missing text should go.
"""

from __future__ import annotations

import re

from PySide6.QtCore import QPointF, QRect, QSize, Qt
from PySide6.QtGui import (QColor, QFont, QFontDatabase, QPainter, QPaintEvent, QPen, QPolygonF,
                           QResizeEvent, QSyntaxHighlighter, QTextCharFormat, QTextCursor,
                           QTextDocument)
from PySide6.QtWidgets import QPlainTextEdit, QTextEdit, QWidget

ERROR_COLOR = "#E03131"

_RULES = (
    (re.compile(r"\b(def|if|then|else)\b"), "#7950F2", True),
    (re.compile(r"\b\d+\b"), "#E8590C", False),
    (re.compile(r"[-+*/%<>=!]=?|[(),]"), "#1C7ED6", False),
    (re.compile(r"#.*$"), "#868E96", False),
)


#: (pattern, colour, bold) rules; later rules win where they overlap (comments last).
Rules = tuple[tuple["re.Pattern[str]", str, bool], ...]


class Highlighter(QSyntaxHighlighter):
    """Colours text by regular-expression rules; by default those of the wasmviz language
    (keywords, numbers, operators, comments)."""

    def __init__(self, document: QTextDocument, rules: Rules = _RULES) -> None:
        super().__init__(document)
        self._formats = []
        for pattern, color, bold in rules:
            fmt = QTextCharFormat()
            fmt.setForeground(QColor(color))
            if bold:
                fmt.setFontWeight(QFont.Weight.Bold)
            self._formats.append((pattern, fmt))

    def highlightBlock(self, text: str) -> None:  # noqa: N802 - Qt override
        for pattern, fmt in self._formats:
            for m in pattern.finditer(text):
                self.setFormat(m.start(), m.end() - m.start(), fmt)


class _LineNumbers(QWidget):
    def __init__(self, editor: CodeEditor) -> None:
        super().__init__(editor)
        self.editor = editor

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(self.editor.number_width(), 0)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        self.editor.paint_numbers(event)


class CodeEditor(QPlainTextEdit):
    """A plain-text editor with line numbers and an error marker at a line and column."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        font.setPointSize(max(font.pointSize(), 11))
        self.setFont(font)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.setTabChangesFocus(True)
        self._numbers = _LineNumbers(self)
        self._numbers.setToolTip("Line numbers; a long line wraps but keeps one number")
        self.error: tuple[int, int, str] | None = None
        #: Document position of the caret marker for an error past the end of its line.
        self.error_caret: int | None = None
        self._help_tip = ""
        self.highlighter = Highlighter(self.document())
        self.blockCountChanged.connect(self._on_blocks)
        self.updateRequest.connect(self._on_update_request)
        self.textChanged.connect(self.clear_error)
        self._on_blocks()

    # ---------------------------------------------------------------- line numbers
    def number_width(self) -> int:
        digits = len(str(max(1, self.blockCount())))
        return 12 + self.fontMetrics().horizontalAdvance("9") * max(2, digits)

    def _on_blocks(self, _count: int = 0) -> None:
        self.setViewportMargins(self.number_width(), 0, 0, 0)

    def _on_update_request(self, rect: QRect, dy: int) -> None:
        if dy:
            self._numbers.scroll(0, dy)
        else:
            self._numbers.update(0, rect.y(), self._numbers.width(), rect.height())

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        cr = self.contentsRect()
        self._numbers.setGeometry(QRect(cr.left(), cr.top(), self.number_width(), cr.height()))

    def visible_numbers(self) -> list[tuple[int, int, int]]:
        """(line number, top, height) in viewport pixels of each source line in view.

        One entry per text block: a wrapped line spans several visual lines but has one
        number, drawn at its top, so the numbers below it stay those of the source lines.
        """
        out = []
        block = self.firstVisibleBlock()
        offset = self.contentOffset()
        bottom = self.viewport().height()
        while block.isValid():
            geometry = self.blockBoundingGeometry(block).translated(offset)
            if geometry.top() > bottom:
                break
            if block.isVisible():
                out.append((block.blockNumber() + 1, round(geometry.top()),
                            round(geometry.height())))
            block = block.next()
        return out

    def paint_numbers(self, event: QPaintEvent) -> None:
        painter = QPainter(self._numbers)
        palette = self.palette()
        painter.fillRect(event.rect(), palette.alternateBase())
        error_line = self.error[0] if self.error else -1
        line_height = self.fontMetrics().height()
        for number, top, _height in self.visible_numbers():
            color = QColor(ERROR_COLOR) if number == error_line \
                else palette.placeholderText().color()
            painter.setPen(color)
            # The height of one visual line, not the block's: the number sits on the first.
            painter.drawText(0, top, self._numbers.width() - 6, line_height,
                             Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop, str(number))

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        super().paintEvent(event)
        rect = self.error_marker_rect()
        if rect is None:
            return
        # A caret under the gap where the missing text belongs: a bar and a small triangle.
        painter = QPainter(self.viewport())
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        color = QColor(ERROR_COLOR)
        painter.setPen(QPen(color, 2))
        x = rect.center().x()
        painter.drawLine(x, rect.top() + 1, x, rect.bottom() - 1)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(color)
        w = max(4, rect.width())
        tip = rect.bottom() + 1
        painter.drawPolygon(QPolygonF([QPointF(x, tip - w), QPointF(x - w, tip),
                                       QPointF(x + w, tip)]))

    def error_marker_rect(self) -> QRect | None:
        """Viewport rectangle of the end-of-line caret marker, or None if there is none."""
        if self.error_caret is None:
            return None
        cursor = QTextCursor(self.document())
        cursor.setPosition(min(self.error_caret, self.document().characterCount() - 1))
        rect = self.cursorRect(cursor)
        # Just right of the last character, wide enough to see.
        return QRect(rect.left() + 2, rect.top(), 6, rect.height())

    # ---------------------------------------------------------------- errors
    def show_error(self, line: int, column: int, message: str) -> None:
        """Underline the character at ``line``/``column`` (1-based) and show ``message``.

        A column past the end of the line underlines its last character and draws a caret
        marker after it, where the missing text belongs.
        """
        if self.error is None:  # keep the help tooltip to put back when the error goes
            self._help_tip = self.toolTip()
        self.error = (line, column, message)
        block = self.document().findBlockByNumber(min(max(0, line - 1),
                                                      self.document().blockCount() - 1))
        cursor = QTextCursor(block)
        length = len(block.text())
        self.error_caret = None
        if column - 1 >= length:  # past the end: nothing there to underline
            self.error_caret = block.position() + length
            cursor.setPosition(block.position() + max(0, length - 1))
            cursor.setPosition(block.position() + length, QTextCursor.MoveMode.KeepAnchor)
        else:
            cursor.setPosition(block.position() + max(0, column - 1))
            cursor.movePosition(QTextCursor.MoveOperation.EndOfWord,
                                QTextCursor.MoveMode.KeepAnchor)
            if not cursor.hasSelection():
                cursor.movePosition(QTextCursor.MoveOperation.Right,
                                    QTextCursor.MoveMode.KeepAnchor)
        selection = QTextEdit.ExtraSelection()
        fmt = QTextCharFormat()
        fmt.setUnderlineStyle(QTextCharFormat.UnderlineStyle.WaveUnderline)
        fmt.setUnderlineColor(QColor(ERROR_COLOR))
        fmt.setToolTip(message)
        selection.format = fmt
        selection.cursor = cursor
        self.setExtraSelections([selection])
        self.setToolTip(f"line {line}, column {column}: {message}")
        self._numbers.update()
        self.viewport().update()

    def clear_error(self) -> None:
        if self.error is not None:
            self.error = None
            self.error_caret = None
            self.setExtraSelections([])
            self.setToolTip(self._help_tip)  # the help again, not an empty tooltip
            self._numbers.update()
            self.viewport().update()

    def error_selection(self) -> tuple[int, int] | None:
        """Return the (start, end) document positions underlined as an error, if any."""
        sel = self.extraSelections()
        if not sel:
            return None
        return sel[0].cursor.selectionStart(), sel[0].cursor.selectionEnd()
