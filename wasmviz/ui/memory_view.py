"""Main memory as a hex dump, with the current step's changes coloured by the module that owns them.

The model keeps the memory image (``player.memory_at``: immutable 64 KiB pages shared between
steps, read like ``bytes``) and computes every cell on demand, so a 256-page memory (a million
rows) costs no more than 8 pages: Qt only asks for the rows on screen.
"""

from __future__ import annotations

import bisect
import re
from typing import Any, NamedTuple

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QFont, QFontDatabase, QGuiApplication, QPalette
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QComboBox, QHBoxLayout, QHeaderView,
                               QLabel, QLineEdit, QTableView, QVBoxLayout, QWidget)

from ..engine.trace import MemoryChange
from . import colors
from .player import MemoryImage, Player

_Index = QModelIndex | QPersistentModelIndex

BYTES_PER_ROW = 16
ASCII_COLUMN = BYTES_PER_ROW
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
    """Rows of 16 bytes over the whole memory after the current step, plus an ASCII column."""

    def __init__(self, player: Player, parent: Any = None) -> None:
        super().__init__(parent)
        self.player = player
        self._memory: bytes | MemoryImage = b""
        self._spans: list[_Span] = []
        self._starts: list[int] = []
        self._dim = QColor()
        player.step_changed.connect(self._on_step_changed)
        player.trace_changed.connect(self._on_trace_changed)
        self.refresh()

    # ------------------------------------------------------------ state
    @property
    def memory(self) -> bytes | MemoryImage:
        return self._memory

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
        self._dim = QGuiApplication.palette().color(QPalette.ColorRole.PlaceholderText)
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
        return self.index(address // BYTES_PER_ROW, address % BYTES_PER_ROW)

    # ------------------------------------------------------------ Qt model
    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self._memory) // BYTES_PER_ROW

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else BYTES_PER_ROW + 1

    def data(self, index: _Index,
             role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        row, col = index.row(), index.column()
        if col == ASCII_COLUMN:
            return self._ascii_data(row, role)
        address = row * BYTES_PER_ROW + col
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
            color = QColor(span.color)
            if not changed:
                color.setAlpha(70)  # rewritten with the same value: part of the change, faintly
            return color
        if role == Qt.ItemDataRole.ForegroundRole:
            if changed:
                return colors.text_on(span.color)  # type: ignore[union-attr]
            if value == 0:
                return self._dim  # zeros recede so the data stands out
            return None
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
        lo = row * BYTES_PER_ROW
        chunk = self._memory[lo:lo + BYTES_PER_ROW]
        if role == Qt.ItemDataRole.DisplayRole:
            return "".join(chr(b) if 0x20 <= b < 0x7F else "·" for b in chunk)
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"0x{lo:05X}..0x{lo + 15:05X} as text (· = not a printable character)"
        spans = (self.span_at(a) for a in range(lo, lo + len(chunk)))
        span = next((s for s in spans if s is not None), None)
        if role == Qt.ItemDataRole.BackgroundRole and span is not None:
            color = QColor(span.color)
            color.setAlpha(70)
            return color
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        horizontal = orientation == Qt.Orientation.Horizontal
        if role == Qt.ItemDataRole.DisplayRole:
            if horizontal:
                return "ASCII" if section == ASCII_COLUMN else f"{section:X}"
            return f"0x{section * BYTES_PER_ROW:05X}"
        if role == Qt.ItemDataRole.ToolTipRole:
            if horizontal:
                return ("The 16 bytes of the row as text" if section == ASCII_COLUMN
                        else f"Byte at row address + 0x{section:X}")
            address = section * BYTES_PER_ROW
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

        self.address_edit = QLineEdit()
        self.address_edit.setPlaceholderText("Go to 0x1000 or 4096")
        self.address_edit.setClearButtonEnabled(True)
        self.address_edit.setMinimumWidth(200)
        self.address_edit.setToolTip("Type an address in hex (0x1000) or decimal (4096), then "
                                     "press Enter to scroll there and select that byte")
        self.region_combo = QComboBox()
        self._fill_region_combo()
        self.region_combo.setToolTip("Scroll to a region of the main module's memory map "
                                     "(docs/abi.md)")
        self.follow_check = QCheckBox("Follow changes")
        self.follow_check.setChecked(True)
        self.follow_check.setToolTip("At each step, scroll to the first byte that step changed")
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setToolTip("What the last go-to did, or why it could not")
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setToolTip("The memory changes of the current step; each coloured byte's "
                                "tooltip says what it is and its old and new value")

        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setFont(mono_font())
        self.table.setShowGrid(False)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectItems)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setToolTip("Linear memory of the main module after this step")
        metrics = self.table.fontMetrics()
        # Fixed sizes everywhere: Qt then never measures a million rows.
        vheader = self.table.verticalHeader()
        vheader.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vheader.setDefaultSectionSize(metrics.height() + 4)
        vheader.setFont(mono_font())
        hheader = self.table.horizontalHeader()
        hheader.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        hheader.setDefaultSectionSize(metrics.horizontalAdvance("00") + 10)
        hheader.setHighlightSections(False)
        self.table.setColumnWidth(ASCII_COLUMN, metrics.horizontalAdvance("W" * 16) + 16)
        hheader.setStretchLastSection(True)

        bar = QHBoxLayout()
        bar.addWidget(self.address_edit)
        bar.addWidget(self.region_combo)
        bar.addStretch(1)
        bar.addWidget(self.follow_check)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(bar)
        layout.addWidget(self.message)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.summary)
        self.message.hide()

        self.address_edit.returnPressed.connect(self._on_address_entered)
        self.region_combo.activated.connect(self._on_region_activated)
        player.step_changed.connect(self._on_step_changed)
        player.trace_changed.connect(self._on_trace_changed)
        self._on_step_changed(player.index, -1)

    # ------------------------------------------------------------ public
    def go_to(self, address: int, top: bool = False, select: bool = True) -> None:
        """Scroll to ``address`` (to the top of the view with ``top``), selecting its byte."""
        index = self.model.index_of(address)
        hint = (QAbstractItemView.ScrollHint.PositionAtTop if top
                else QAbstractItemView.ScrollHint.PositionAtCenter)
        self.table.scrollTo(index, hint)
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

    # ------------------------------------------------------------ handlers
    def _say(self, text: str, error: bool = False) -> None:
        color = colors.TRAP.name() if error else self.palette().color(
            QPalette.ColorRole.PlaceholderText).name()
        self.message.setStyleSheet(f"color: {color};")
        self.message.setText(("⚠ " if error else "") + text)
        self.message.show()

    def _on_address_entered(self) -> None:
        self.go_to_text(self.address_edit.text())

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
