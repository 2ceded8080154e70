"""The memory dock's table: a QTableView over MemoryModel that paints its cells itself.

Why its own paint: when the dock follows a change far away it repaints every visible cell, and
at 1920x1080 that is about 400 of them. The item delegate asks the model (Python) for each
cell's roles and lays out each text on its own: about 11 ms a repaint, most of a 60 Hz frame.
Here the common cell (a byte no change touched) costs one look at its byte and one
pre-laid-out text (QStaticText, one per byte value), so the same repaint takes about 2 ms.
Everything else stays QTableView's: scrolling, the headers, the current cell and the arrow
keys, selection, tooltips and accessibility (they read the model's roles, which are unchanged:
the model still answers every role of every cell, and changed cells are painted from them).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QPointF, QRect, Qt
from PySide6.QtGui import QPainter, QPaintEvent, QPalette, QStaticText
from PySide6.QtWidgets import QStyle, QStyleOptionFocusRect, QTableView, QWidget

from .memory_model import MemoryModel, as_text

_BACKGROUND = Qt.ItemDataRole.BackgroundRole
_FOREGROUND = Qt.ItemDataRole.ForegroundRole
_ASCII_PAD = 4   # the ASCII text's left margin, as the item delegate's


class HexTable(QTableView):
    """Paints the byte and ASCII cells of a MemoryModel; behaves as a QTableView otherwise."""

    def __init__(self, model: MemoryModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._memory_model = model
        self._texts: list[QStaticText] = []   # "00".."FF", laid out in the current font
        self.setModel(model)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.FontChange:
            self._texts = []   # laid out again in the new font at the next paint
        super().changeEvent(event)

    def _static_texts(self) -> list[QStaticText]:
        if not self._texts:
            for value in range(256):
                # Laid out at its first draw, in the painter's font (the table's).
                text = QStaticText(f"{value:02X}")
                text.setTextFormat(Qt.TextFormat.PlainText)
                self._texts.append(text)
        return self._texts

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        model = self._memory_model
        rows = model.rowCount()
        if rows == 0:
            return
        area = event.rect()
        first = self.rowAt(area.top())
        last = self.rowAt(area.bottom())
        if first < 0:
            return
        last = rows - 1 if last < 0 else last
        n = model.bytes_per_row
        memory, size = model.memory, len(model.memory)
        palette = self.palette()
        text_color = palette.color(QPalette.ColorRole.Text)
        dim = model.dim_color
        texts = self._static_texts()
        half_width = texts[0].size().width() / 2
        half_height = texts[0].size().height() / 2
        current = self.currentIndex()
        selected = {(i.row(), i.column()) for i in self.selectionModel().selectedIndexes()}
        columns = [(c, self.columnViewportPosition(c), self.columnWidth(c)) for c in range(n + 1)]
        columns = [(c, x, w) for c, x, w in columns
                   if x + w > area.left() and x <= area.right() and w > 0]
        painter = QPainter(self.viewport())
        painter.setFont(self.font())
        pen = None
        for row in range(first, last + 1):
            y, height = self.rowViewportPosition(row), self.rowHeight(row)
            lo = row * n
            chunk = bytes(memory[lo:min(lo + n, size)])   # one read per row, not per byte
            # Only a row a change touches asks the model for colours (most rows: none).
            changed_row = model.touches(lo, lo + n)
            for column, x, width in columns:
                cell = QRect(x, y, width, height)
                if (row, column) in selected:
                    painter.fillRect(cell, palette.color(QPalette.ColorRole.Highlight))
                    color = palette.color(QPalette.ColorRole.HighlightedText)
                else:
                    color = None
                    if changed_row and (column == n or model.span_at(lo + column) is not None):
                        index = model.index(row, column)
                        background = model.data(index, _BACKGROUND)
                        if background is not None:
                            painter.fillRect(cell, background)
                        color = model.data(index, _FOREGROUND)
                    if color is None:
                        color = (dim if column < len(chunk) and chunk[column] == 0
                                 else text_color)
                if color != pen:
                    painter.setPen(color)
                    pen = color
                if column == n:
                    painter.drawText(cell.adjusted(_ASCII_PAD, 0, 0, 0),
                                     Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                                     as_text(chunk))
                elif column < len(chunk):
                    painter.drawStaticText(QPointF(x + width / 2 - half_width,
                                                   y + height / 2 - half_height),
                                           texts[chunk[column]])
        if current.isValid() and self.hasFocus():
            option = QStyleOptionFocusRect()
            option.initFrom(self)
            option.rect = self.visualRect(current)
            option.backgroundColor = palette.color(QPalette.ColorRole.Base)
            self.style().drawPrimitive(QStyle.PrimitiveElement.PE_FrameFocusRect, option,
                                       painter, self)
        painter.end()

