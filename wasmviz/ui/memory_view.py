"""Main memory as a hex dump, with the current step's changes coloured by the module that owns them.

The model keeps the memory image (``player.memory_at``: immutable 64 KiB pages shared between
steps, read like ``bytes``) and computes every cell on demand, so a 256-page memory (a million
rows) costs no more than 8 pages: Qt only asks for the rows on screen. Rows hold 16, 8 or 4
bytes, whatever fits the dock's width, so the address column and the ASCII text stay on screen.
"""

from __future__ import annotations

import bisect
import re
from typing import Any, NamedTuple

from PySide6.QtCore import (QAbstractTableModel, QEvent, QModelIndex, QObject,
                            QPersistentModelIndex, QSize, Qt)
from PySide6.QtGui import QColor, QFont, QFontDatabase, QGuiApplication, QPalette
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QComboBox, QHBoxLayout, QHeaderView,
                               QLabel, QLineEdit, QTableView, QVBoxLayout, QWidget)

from ..engine.trace import MemoryChange
from . import colors
from .colors import legible, over
from .player import MemoryImage, Player

_Index = QModelIndex | QPersistentModelIndex

#: Bytes per row, widest first: the view shows the widest that fits (16 keeps addresses round).
ROW_CHOICES = (16, 8, 4)
BYTES_PER_ROW = ROW_CHOICES[0]
#: Item data role: True for a byte whose value differs from the previous step.
CHANGED_ROLE = Qt.ItemDataRole.UserRole + 1
_MODULE_LABEL = re.compile(r"module (\d+) bytes")


def mono_font() -> QFont:
    """Return the system's fixed-pitch font, shared by all the byte and code views."""
    font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    font.setStyleHint(QFont.StyleHint.Monospace)
    return font


def parse_address(text: str) -> int:
    """Parse ``0x1000`` or ``4096``; raise ValueError with a message meant for the user."""
    s = text.strip().lower().replace("_", "")
    if not s:
        raise ValueError("type an address, e.g. 0x1000 or 4096")
    if s.startswith("0x"):
        if not re.fullmatch(r"[0-9a-f]+", s[2:]):
            raise ValueError(f"{text.strip()!r} is not a hex number (digits 0-9, a-f after 0x)")
        return int(s[2:], 16)
    if s.isdigit():
        return int(s, 10)
    if re.fullmatch(r"[0-9a-f]+", s):
        raise ValueError(f"{text.strip()!r}: write hex with a 0x prefix (0x{s})")
    raise ValueError(f"{text.strip()!r} is not an address: use hex like 0x1000 or decimal")


class _Span(NamedTuple):
    start: int
    end: int
    change: MemoryChange
    color: QColor


class MemoryModel(QAbstractTableModel):
    """Rows of 16 (or 8, 4) bytes over the memory after the current step, plus an ASCII column."""

    def __init__(self, player: Player, parent: Any = None) -> None:
        super().__init__(parent)
        self.player = player
        self._memory: bytes | MemoryImage = b""
        self._spans: list[_Span] = []
        self._starts: list[int] = []
        self._per_row = BYTES_PER_ROW
        self._base = QColor()
        self._text = QColor()
        self._dim = QColor()
        self._inks: dict[tuple[int, int], QColor] = {}
        self.set_palette(QGuiApplication.palette())
        player.step_changed.connect(self._on_step_changed)
        player.trace_changed.connect(self._on_trace_changed)
        self.refresh()

    # ------------------------------------------------------------ state
    @property
    def memory(self) -> bytes | MemoryImage:
        return self._memory

    @property
    def bytes_per_row(self) -> int:
        return self._per_row

    @property
    def ascii_column(self) -> int:
        return self._per_row

    def set_bytes_per_row(self, count: int) -> None:
        if count != self._per_row:
            self.beginResetModel()
            self._per_row = count
            self.endResetModel()

    def set_palette(self, palette: QPalette) -> None:
        """Take the colours cells are drawn on; call it whenever the view's palette changes."""
        self._base = QColor(palette.color(QPalette.ColorRole.Base))
        self._text = QColor(palette.color(QPalette.ColorRole.Text))
        # The placeholder colour recedes, but Qt's light one is 4.0:1 on white: push it to AA.
        self._dim = legible(palette.color(QPalette.ColorRole.PlaceholderText), self._base)
        self._inks.clear()

    def refresh(self) -> None:
        """Re-read memory and the current step's changes from the player."""
        memory = self.player.memory_at() if self.player.current else b""
        step = self.player.current
        changes = sorted(step.memory_changes if step else (), key=lambda c: c.address)
        # A reset, not dataChanged: emitting a signal from Python leaks a reference to True in
        # PySide6 6.12.0 (Python < 3.12), which aborts the process after ~600 emits. Qt keeps
        # the scroll position across a reset; the view restores its selection.
        self.beginResetModel()
        self._memory = memory
        self._spans = [_Span(c.address, c.address + len(c.new), c, self.owner_color(c))
                       for c in changes]
        self._starts = [s.start for s in self._spans]
        self.endResetModel()

    def owner_color(self, change: MemoryChange) -> QColor:
        """Colour of whoever owns the changed bytes: a generated module's, else CHANGE."""
        m = _MODULE_LABEL.search(change.label)
        if m:
            return colors.module_color(int(m.group(1)))
        layout = self.player.trace.layout
        if layout.jit_buf <= change.address < layout.jit_buf_end:
            # Unlabelled JIT-buffer bytes belong to the module being written: one past the count.
            at = layout.state_field("modules")
            return colors.module_color(int.from_bytes(self._memory[at:at + 4], "little") + 1)
        return QColor(colors.CHANGE)

    def span_at(self, address: int) -> _Span | None:
        i = bisect.bisect_right(self._starts, address) - 1
        if i >= 0 and address < self._spans[i].end:
            return self._spans[i]
        return None

    def is_changed(self, address: int) -> bool:
        """True if the byte at ``address`` has a new value in this step."""
        span = self.span_at(address)
        k = address - span.start if span else 0
        return span is not None and span.change.old[k] != span.change.new[k]

    def changed_addresses(self) -> list[int]:
        """Every address whose byte differs from the previous step, ascending."""
        return [a for s in self._spans for a in range(s.start, s.end) if self.is_changed(a)]

    def index_of(self, address: int) -> QModelIndex:
        return self.index(address // self._per_row, address % self._per_row)

    def address_of(self, index: _Index) -> int | None:
        """The address of a byte cell (None for the ASCII column or an invalid index)."""
        if not index.isValid() or index.column() >= self._per_row:
            return None
        return index.row() * self._per_row + index.column()

    def _ink(self, color: QColor, background: QColor) -> QColor:
        # Few distinct pairs (module colours x palette): cache them, data() runs per cell.
        key = (color.rgba(), background.rgba())
        if key not in self._inks:
            self._inks[key] = legible(color, background)
        return self._inks[key]

    def _tint(self, color: QColor) -> QColor:
        """The faint, opaque version of a change colour (so text contrast can be computed)."""
        tint = QColor(color)
        tint.setAlpha(70)
        return over(tint, self._base)

    # ------------------------------------------------------------ Qt model
    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self._memory) // self._per_row

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else self._per_row + 1

    def data(self, index: _Index,
             role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        row, col = index.row(), index.column()
        if col == self._per_row:
            return self._ascii_data(row, role)
        address = row * self._per_row + col
        if address >= len(self._memory):
            return None
        value = self._memory[address]
        if role == Qt.ItemDataRole.DisplayRole:
            return f"{value:02X}"
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return Qt.AlignmentFlag.AlignCenter
        span = self.span_at(address)
        changed = span is not None and self.is_changed(address)
        if role == CHANGED_ROLE:
            return changed
        if role == Qt.ItemDataRole.BackgroundRole and span is not None:
            # Rewritten with the same value: part of the change, faintly.
            return QColor(span.color) if changed else self._tint(span.color)
        if role == Qt.ItemDataRole.ForegroundRole:
            if span is None:
                return self._dim if value == 0 else None  # zeros recede so the data stands out
            if changed:  # black or white on the full colour, the same in both themes
                return self._ink(QColor(0, 0, 0, 0), span.color)
            return self._ink(self._dim if value == 0 else self._text, self._tint(span.color))
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(address, value, span)
        return None

    def _tooltip(self, address: int, value: int, span: _Span | None) -> str:
        region = self.player.trace.layout.region_at(address)
        where = f"0x{address:05X} ({region.name})" if region else f"0x{address:05X}"
        if span is None:
            return f"{where}\nbyte 0x{value:02X} = {value}, unchanged in this step"
        c, k = span.change, address - span.start
        what = c.label or "memory change"
        old, new = c.old.hex(" "), c.new.hex(" ")
        if len(c.new) > 16:
            old, new = c.old[:16].hex(" ") + " ...", c.new[:16].hex(" ") + " ..."
        verb = "changed" if c.old[k] != c.new[k] else "rewritten with the same value"
        return (f"{what}: {len(c.new)} B at 0x{c.address:05X}\n{old}  →  {new}\n"
                f"this byte {where}: {c.old[k]:02X} → {c.new[k]:02X} ({verb})")

    def _ascii_data(self, row: int, role: int) -> Any:
        n = self._per_row
        lo = row * n
        chunk = self._memory[lo:lo + n]
        if role == Qt.ItemDataRole.DisplayRole:
            return "".join(chr(b) if 0x20 <= b < 0x7F else "·" for b in chunk)
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"0x{lo:05X}..0x{lo + n - 1:05X} as text (· = not a printable character)"
        if role not in (Qt.ItemDataRole.BackgroundRole, Qt.ItemDataRole.ForegroundRole):
            return None
        spans = (self.span_at(a) for a in range(lo, lo + len(chunk)))
        span = next((s for s in spans if s is not None), None)
        if span is None:
            return None
        tint = self._tint(span.color)
        return tint if role == Qt.ItemDataRole.BackgroundRole else self._ink(self._text, tint)

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        horizontal, n = orientation == Qt.Orientation.Horizontal, self._per_row
        if role == Qt.ItemDataRole.DisplayRole:
            if horizontal:
                return "ASCII" if section == n else f"{section:X}"
            return f"0x{section * n:05X}"
        if role == Qt.ItemDataRole.ToolTipRole:
            if horizontal:
                return (f"The {n} bytes of the row as text" if section == n
                        else f"Byte at row address + 0x{section:X}")
            address = section * n
            region = self.player.trace.layout.region_at(address)
            return f"Address 0x{address:05X}" + (f": {region.name} ({region.meaning})"
                                                if region else "")
        return None

    def _on_step_changed(self, index: int, previous: int) -> None:
        self.refresh()

    def _on_trace_changed(self) -> None:
        self.refresh()  # empty until the player moves to the new trace's first step


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

        self.table = QTableView()
        self.table.setModel(self.model)
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
        player.step_changed.connect(self._on_step_changed)
        player.trace_changed.connect(self._on_trace_changed)
        self._on_step_changed(player.index, -1)

    # ------------------------------------------------------------ public
    def go_to(self, address: int, top: bool = False, select: bool = True) -> None:
        """Scroll to ``address`` (to the top of the view with ``top``), selecting its byte."""
        index = self.model.index_of(address)
        hint = (QAbstractItemView.ScrollHint.PositionAtTop if top
                else QAbstractItemView.ScrollHint.PositionAtCenter)
        # Scroll to the row's first cell: only vertically, so the address column's neighbour,
        # byte 0, never scrolls out of sight (a row read without it is misread).
        self.table.scrollTo(index.siblingAtColumn(0), hint)
        if select:
            self.table.setCurrentIndex(index)
            self._selected = address

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
        if not changes:
            self.summary.setText("No memory changes in this step.")
        else:
            labels = [c.label or f"0x{c.address:05X}" for c in changes]
            more = f" and {len(labels) - 4} more" if len(labels) > 4 else ""
            total = sum(len(c.new) for c in changes)
            self.summary.setText(f"{len(changes)} change(s), {total} B: "
                                 + ", ".join(labels[:4]) + more)
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

    def _on_trace_changed(self) -> None:
        self._selected = None
        self.message.hide()
        self.summary.clear()
        self._fill_region_combo()  # a trace read from a file may have another layout
