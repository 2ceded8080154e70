"""A small code editor for the sandbox: line numbers, syntax highlighting, error underline."""

from __future__ import annotations

import re

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import (QColor, QFont, QFontDatabase, QPainter, QPaintEvent, QResizeEvent,
                           QSyntaxHighlighter, QTextCharFormat, QTextCursor, QTextDocument)
from PySide6.QtWidgets import QPlainTextEdit, QTextEdit, QWidget

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
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.setTabChangesFocus(True)
        self._numbers = _LineNumbers(self)
        self.highlighter = Highlighter(self.document())
        self.blockCountChanged.connect(self._on_blocks)
        self.updateRequest.connect(self._on_update_request)
        self.textChanged.connect(self.clear_error)
        self._on_blocks()
        self.error: tuple[int, int, str] | None = None

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

    def paint_numbers(self, event: QPaintEvent) -> None:
        painter = QPainter(self._numbers)
        palette = self.palette()
        painter.fillRect(event.rect(), palette.alternateBase())
        block = self.firstVisibleBlock()
        top = round(self.blockBoundingGeometry(block).translated(self.contentOffset()).top())
        error_line = self.error[0] if self.error else -1
        while block.isValid() and top <= event.rect().bottom():
            height = round(self.blockBoundingRect(block).height())
            number = block.blockNumber() + 1
            color = QColor("#E03131") if number == error_line else palette.placeholderText().color()
            painter.setPen(color)
            painter.drawText(0, top, self._numbers.width() - 6, height,
                             Qt.AlignmentFlag.AlignRight, str(number))
            block = block.next()
            top += height

    # ---------------------------------------------------------------- errors
    def show_error(self, line: int, column: int, message: str) -> None:
        """Underline the character at ``line``/``column`` (1-based) and show ``message``."""
        self.error = (line, column, message)
        block = self.document().findBlockByNumber(max(0, line - 1))
        cursor = QTextCursor(block)
        cursor.movePosition(QTextCursor.MoveOperation.Right, n=max(0, column - 1))
        cursor.movePosition(QTextCursor.MoveOperation.EndOfWord, QTextCursor.MoveMode.KeepAnchor)
        if not cursor.hasSelection():
            cursor.movePosition(QTextCursor.MoveOperation.Right, QTextCursor.MoveMode.KeepAnchor)
        selection = QTextEdit.ExtraSelection()
        fmt = QTextCharFormat()
        fmt.setUnderlineStyle(QTextCharFormat.UnderlineStyle.WaveUnderline)
        fmt.setUnderlineColor(QColor("#E03131"))
        fmt.setToolTip(message)
        selection.format = fmt
        selection.cursor = cursor
        self.setExtraSelections([selection])
        self.setToolTip(f"line {line}, column {column}: {message}")
        self._numbers.update()

    def clear_error(self) -> None:
        if self.error is not None:
            self.error = None
            self.setExtraSelections([])
            self.setToolTip("")
            self._numbers.update()

    def error_selection(self) -> tuple[int, int] | None:
        """Return the (start, end) document positions underlined as an error, if any."""
        sel = self.extraSelections()
        if not sel:
            return None
        return sel[0].cursor.selectionStart(), sel[0].cursor.selectionEnd()
