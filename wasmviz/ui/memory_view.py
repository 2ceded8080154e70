"""Main memory as a hex dump, with the current step's changes coloured by the module that owns them.

This file holds the widget: the table with its go-to-address box, region menu and
follow-the-changes, and the shared fixed-pitch font. The data and colours of every cell come
from MemoryModel (memory_model.py), re-exported here with its constants so callers keep one
import. Rows hold 16, 8 or 4 bytes, whatever fits the dock's width, so the address column and
the ASCII text stay on screen.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QModelIndex, QObject, QRect, QSize, Qt
from PySide6.QtGui import QFont, QFontDatabase, QPalette
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QComboBox, QHBoxLayout, QHeaderView,
                               QLabel, QLineEdit, QPlainTextEdit, QVBoxLayout,
                               QWidget)

from . import colors
from .colors import legible
from .hex_table import HexTable
from .lazy import WhenShown
from .memory_model import BYTES_PER_ROW, CHANGED_ROLE, ROW_CHOICES, MemoryModel, parse_address
from .player import Player

__all__ = ["BYTES_PER_ROW", "CHANGED_ROLE", "ROW_CHOICES", "MemoryModel", "MemoryView",
           "mono_font", "parse_address"]


def read_only_code(name: str, wrap: bool = False) -> QPlainTextEdit:
    """A read-only monospace pane the keyboard can reach, scroll and leave with Tab.

    ``wrap`` wraps long lines at the widget's width (a long WAT line stays readable in a
    narrow dock); without it lines scroll, as a hex dump's columns must.
    """
    edit = QPlainTextEdit()
    edit.setReadOnly(True)
    edit.setFont(mono_font())
    edit.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth if wrap
                         else QPlainTextEdit.LineWrapMode.NoWrap)
    edit.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                 | Qt.TextInteractionFlag.TextSelectableByKeyboard)
    edit.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
    edit.setTabChangesFocus(True)
    edit.setAccessibleName(name)
    return edit


def mono_font() -> QFont:
    """Return the system's fixed-pitch font, shared by all the byte and code views."""
    font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    font.setStyleHint(QFont.StyleHint.Monospace)
    return font


class MemoryView(QWidget):
    """The memory table with a go-to-address box, a region menu and follow-the-changes."""

    def __init__(self, player: Player, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.player = player
        self.model = MemoryModel(player, self)
        self._selected: int | None = None  # the byte the user went to, kept across steps
        self._wide_addresses = False  # addresses past 1 MiB need a wider column
        self._error = False  # whether self.message shows an error (its colour follows the theme)

        self.address_edit = QLineEdit()
        self.address_edit.setPlaceholderText("Go to 0x1000")
        self.address_edit.setClearButtonEnabled(True)
        self.address_edit.setMinimumWidth(self.fontMetrics().horizontalAdvance("0x000000") + 48)
        self.address_edit.setToolTip("Type an address in hex (0x1000) or decimal (4096), then "
                                     "press Enter to scroll there and select that byte")
        self.address_edit.setAccessibleName("Go to address")
        self.region_combo = QComboBox()
        # Sized for "Jump to region…", not for the longest region name: the dock is narrow.
        self.region_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.region_combo.setMinimumContentsLength(12)
        self._fill_region_combo()
        self.region_combo.setToolTip("Scroll to a region of the main module's memory map "
                                     "(docs/abi.md)")
        self.region_combo.setAccessibleName("Jump to memory region")
        self.region_combo.view().setAccessibleName("Memory regions")
        self.follow_check = QCheckBox("Follow changes")
        self.follow_check.setChecked(True)
        self.follow_check.setToolTip("At each step, scroll to the first byte that step changed")
        self.follow_check.setAccessibleName("Follow changes")
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setToolTip("What the last go-to did, or why it could not")
        self.message.setAccessibleName("Go-to result")
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setToolTip("The memory changes of the current step; each coloured byte's "
                                "tooltip says what it is and its old and new value")
        self.summary.setAccessibleName("Memory changes in this step")
        # Two lines, always: see _set_summary.
        self.summary.setFixedHeight(2 * self.summary.fontMetrics().lineSpacing() + 2)
        self.summary.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)

        self.table = HexTable(self.model)
        self.table.setFont(mono_font())
        self.table.setShowGrid(False)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectItems)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        # Tab leaves the table (a million cells would trap it); arrow keys still move by byte.
        self.table.setTabKeyNavigation(False)
        # Always there (memory is thousands of rows): the row width never depends on it.
        self.table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        self.table.setToolTip("Linear memory of the main module after this step")
        self.table.setAccessibleName("Memory bytes")
        self.table.setAccessibleDescription("Hex dump of linear memory: one row per address, "
                                            "the bytes in hex, then the same bytes as text")
        metrics = self.table.fontMetrics()
        # Just room for "00" and the item margins (3 px a side): 8-byte rows then fit a 330 px dock.
        self._cell = metrics.horizontalAdvance("00") + 8
        self._char = metrics.horizontalAdvance("W")
        # Fixed sizes everywhere: Qt then never measures a million rows.
        vheader = self.table.verticalHeader()
        vheader.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vheader.setDefaultSectionSize(metrics.height() + 4)
        vheader.setFont(mono_font())
        vheader.setAccessibleName("Row addresses")
        hheader = self.table.horizontalHeader()
        hheader.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        hheader.setMinimumSectionSize(self._cell)  # the style's minimum is wider than "00"
        hheader.setDefaultSectionSize(self._cell)
        hheader.setHighlightSections(False)
        hheader.setStretchLastSection(True)
        hheader.setAccessibleName("Byte offsets within the row")
        self._ascii_header = hheader.fontMetrics().horizontalAdvance("ASCII") + 20
        self._size_columns()

        bar = QHBoxLayout()
        bar.addWidget(self.address_edit, 1)
        bar.addWidget(self.region_combo)
        # "Follow changes" sits with the summary of those changes: the top bar then fits a
        # 300 px dock, and Tab reaches it after the table, in reading order.
        foot = QHBoxLayout()
        foot.addWidget(self.summary, 1)
        foot.addWidget(self.follow_check, 0, Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(bar)
        layout.addWidget(self.message)
        layout.addWidget(self.table, 1)
        layout.addLayout(foot)
        self.message.hide()

        self.address_edit.returnPressed.connect(self._on_address_entered)
        self.region_combo.activated.connect(self._on_region_activated)
        self.table.selectionModel().currentChanged.connect(self._on_current_changed)
        self.table.installEventFilter(self)
        # The model follows steps through this view: nothing to do while the dock is hidden.
        player.step_changed.disconnect(self.model._on_step_changed)
        self._when_shown = WhenShown(self, player, self.model._on_step_changed,
                                     self._on_step_changed)  # held weakly: see WhenShown
        player.trace_changed.connect(self._on_trace_changed)
        self._on_step_changed(player.index, -1)

    # ------------------------------------------------------------ public
    def go_to(self, address: int, top: bool = False, select: bool = True) -> None:
        """Scroll to ``address`` (to the top of the view with ``top``), selecting its byte."""
        self._when_shown.flush()   # a dock behind its tabs may be steps behind
        index = self.model.index_of(address)
        hint = (QAbstractItemView.ScrollHint.PositionAtTop if top
                else QAbstractItemView.ScrollHint.PositionAtCenter)
        # After a model reset Qt lays the rows out later; until then the scroll range is the
        # old one and the scroll would be clamped (a dock catching up showed address 0).
        # Only then: laying out measures the header, which costs more than a step.
        rows_height = self.model.rowCount() * self.table.verticalHeader().defaultSectionSize()
        if self.table.verticalScrollBar().maximum() == 0 \
                and rows_height > self.table.viewport().height():
            self.table.executeDelayedItemsLayout()
            self.table.updateGeometries()
        # Scroll to the row's first cell: only vertically, so the address column's neighbour,
        # byte 0, never scrolls out of sight (a row read without it is misread). A row already
        # in view stays where it is: scrolling would repaint every cell, a good part of a frame
        # in a wide dock, while an unmoved view repaints only the rows that changed.
        bar = self.table.horizontalScrollBar()
        if top or not self._row_in_view(index.row()) or bar.value() != bar.minimum():
            self.table.scrollTo(index.siblingAtColumn(0), hint)
        if select:
            self.table.setCurrentIndex(index)
            self._selected = address

    def _row_in_view(self, row: int) -> bool:
        """Whether ``row`` is wholly inside the table's viewport now."""
        y = self.table.rowViewportPosition(row)
        return y >= 0 and y + self.table.rowHeight(row) <= self.table.viewport().height()

    def go_to_text(self, text: str) -> bool:
        """Go to the address typed as ``text``; on bad input show why and return False."""
        size = len(self.model.memory)
        try:
            address = parse_address(text)
            if address >= size:
                raise ValueError(f"0x{address:X} is past the end of memory "
                                 f"({size // 65536} pages = 0x{size:X} bytes)")
        except ValueError as exc:
            self._say(str(exc), error=True)
            return False
        region = self.player.trace.layout.region_at(address)
        self._say(f"0x{address:05X}" + (f" is in {region.name}" if region else ""))
        self.go_to(address)
        return True

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        """Wide enough for 16-byte rows: what the view shows when it has the room."""
        hint = super().sizeHint()
        # + the address column (~55 px), the scroll bar, frame and margins, with room to spare.
        hint.setWidth(max(hint.width(), self._row_width(BYTES_PER_ROW) + 120))
        return hint

    # ------------------------------------------------------------ row width
    def _row_width(self, count: int) -> int:
        """Pixels the hex cells and the ASCII column of a ``count``-byte row need."""
        return count * self._cell + max(count * self._char + 12, self._ascii_header)

    def _size_columns(self) -> None:
        # Every column: a reset keeps old section sizes, so the old ASCII column would stay wide.
        n = self.model.bytes_per_row
        for column in range(n):
            self.table.setColumnWidth(column, self._cell)
        self.table.setColumnWidth(n, self._row_width(n) - n * self._cell)

    def _fit_row(self) -> None:
        """Show the widest row (16, 8 or 4 bytes) whose columns fit without scrolling sideways."""
        table = self.table
        if not table.isVisible():
            return  # sized on show: a hidden table's width means nothing yet
        room = (table.width() - 2 * table.frameWidth() - table.verticalHeader().sizeHint().width()
                - table.verticalScrollBar().sizeHint().width())
        count = next((n for n in ROW_CHOICES if self._row_width(n) <= room), ROW_CHOICES[-1])
        old = self.model.bytes_per_row
        if count == old:
            return
        top = max(table.rowAt(0), 0) * old
        self.model.set_bytes_per_row(count)
        self._size_columns()
        self.go_to(top, top=True, select=False)  # the same bytes stay in view
        if self._selected is not None:
            self.table.setCurrentIndex(self.model.index_of(self._selected))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if watched is self.table:
            if event.type() in (QEvent.Type.Resize, QEvent.Type.Show):
                self._fit_row()
                step = self.player.current
                self._set_summary(step.memory_changes if step else ())  # re-fit its two lines
            elif event.type() in (QEvent.Type.PaletteChange,
                                  QEvent.Type.ApplicationPaletteChange):
                # The theme switched: recompute the cached text colours now, not at the next
                # step (Qt repaints the table after this event and reads them again).
                self.model.set_palette(self.table.palette())
                self._style_message()
        return super().eventFilter(watched, event)

    # ------------------------------------------------------------ handlers
    def _say(self, text: str, error: bool = False) -> None:
        self._error = error
        self._style_message()
        self.message.setText(("⚠ " if error else "") + text)
        self.message.show()

    def _style_message(self) -> None:
        # The table's palette: the first of these widgets to hear of a theme switch.
        palette = self.table.palette()
        window = palette.color(QPalette.ColorRole.Window)
        color = colors.TRAP if self._error else palette.color(QPalette.ColorRole.PlaceholderText)
        self.message.setStyleSheet(f"color: {legible(color, window).name()};")

    def _on_address_entered(self) -> None:
        self.go_to_text(self.address_edit.text())

    def _on_current_changed(self, current: QModelIndex, previous: QModelIndex) -> None:
        # Arrow keys and clicks move the byte kept across steps (the ASCII column: its row).
        if current.isValid():
            n = self.model.bytes_per_row
            self._selected = current.row() * n + (current.column() if current.column() < n else 0)

    def _fill_region_combo(self) -> None:
        """List the regions of the map the current trace's main module exported."""
        combo = self.region_combo
        combo.clear()
        combo.addItem("Jump to region…", None)
        for region in self.player.trace.layout.regions():
            combo.addItem(f"{region.name}  0x{region.start:05X}", region.start)
            combo.setItemData(combo.count() - 1, f"0x{region.start:05X}..0x{region.end - 1:05X}: "
                              f"{region.meaning}", Qt.ItemDataRole.ToolTipRole)

    def _on_region_activated(self, row: int) -> None:
        start = self.region_combo.itemData(row)
        if start is not None:
            self.go_to(start, top=True)
            self.message.hide()
        self.region_combo.setCurrentIndex(0)  # a menu, not a state: ready for the same pick

    def _on_step_changed(self, index: int, previous: int) -> None:
        step = self.player.current
        changes = step.memory_changes if step else ()
        self._set_summary(changes)
        wide = len(self.model.memory) > 0x100000
        if wide != self._wide_addresses:
            # The address column widens when memory grows past 1 MiB: re-fit the row then
            # only (measuring the header on every step costs a good part of a frame).
            self._wide_addresses = wide
            self._fit_row()
        changed = self.model.changed_addresses()
        if self.follow_check.isChecked() and (changed or changes):
            # No selection: it would paint over the change colour being followed.
            self._selected = None
            self.go_to(changed[0] if changed else changes[0].address, select=False)
        elif self._selected is not None and self._selected < len(self.model.memory):
            self.table.setCurrentIndex(self.model.index_of(self._selected))  # lost in the reset

    def _set_summary(self, changes: tuple) -> None:  # type: ignore[type-arg]
        """Say what the step changed in at most two lines, the whole list in the tooltip.

        The label's height is fixed: a summary that wrapped onto one line more would resize
        the table under it, and a resized table repaints every cell and measures its headers,
        a good part of a frame, on a step that should repaint only the changed rows.
        """
        if not changes:
            self.summary.setText("No memory changes in this step.")
            self.summary.setToolTip("The current step wrote no byte of main memory")
            return
        labels = [c.label or f"0x{c.address:05X}" for c in changes]
        total = sum(len(c.new) for c in changes)
        head = f"{len(changes)} change(s), {total} B"
        self.summary.setToolTip(head + ":\n" + "\n".join(labels))
        metrics, width = self.summary.fontMetrics(), max(self.summary.width(), 1)
        room = QRect(0, 0, width, self.summary.maximumHeight())
        for shown in range(min(len(labels), 4), -1, -1):
            more = len(labels) - shown
            text = head + (": " + ", ".join(labels[:shown]) if shown else "") + (
                f" and {more} more" if more and shown else " (see the tooltip)" if more else "")
            fits = metrics.boundingRect(room, Qt.TextFlag.TextWordWrap, text).height()
            if fits <= room.height():
                break
        self.summary.setText(text)

    def _on_trace_changed(self) -> None:
        self._selected = None
        self.message.hide()
        self.summary.clear()
        self._fill_region_combo()  # a trace read from a file may have another layout
