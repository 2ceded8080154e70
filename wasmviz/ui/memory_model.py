"""The table model behind the memory view: main memory as rows of hex bytes plus their text.

It lives apart from the widget (memory_view.py) because it is the part with the logic worth
testing on its own: which bytes the current step changed, which module owns them (their
colour), and what each cell's tooltip says. The model keeps the memory image
(``player.memory_at``: immutable 64 KiB pages shared between steps, read like ``bytes``) and
computes every cell on demand, so a 256-page memory (a million rows) costs no more than 8
pages: Qt only asks for the rows on screen.
"""

from __future__ import annotations

import bisect
import itertools
import re
from typing import Any, NamedTuple

from PySide6.QtCore import (QAbstractTableModel, QModelIndex, QModelRoleDataSpan,
                            QPersistentModelIndex, Qt)
from PySide6.QtGui import QColor, QGuiApplication, QPalette

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


# Plain ints: QModelRoleData.role() is an int, and comparing ints is what a cell can afford.
_DISPLAY, _ALIGN = Qt.ItemDataRole.DisplayRole.value, Qt.ItemDataRole.TextAlignmentRole.value
_FOREGROUND = Qt.ItemDataRole.ForegroundRole.value
_BACKGROUND = Qt.ItemDataRole.BackgroundRole.value
#: The roles this model answers; every other role is None at once.
_SERVED_ROLES = frozenset(int(r) for r in (
    Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.TextAlignmentRole, CHANGED_ROLE,
    Qt.ItemDataRole.BackgroundRole, Qt.ItemDataRole.ForegroundRole, Qt.ItemDataRole.ToolTipRole))
_HEX = tuple(f"{v:02X}" for v in range(256))
_ASCII = tuple(chr(v) if 0x20 <= v < 0x7F else "·" for v in range(256))


def as_text(chunk: bytes) -> str:
    """``chunk`` as the ASCII column shows it: a middle dot for each byte not printable."""
    return "".join(_ASCII[b] for b in chunk)


class MemoryModel(QAbstractTableModel):
    """Rows of 16 (or 8, 4) bytes over the memory after the current step, plus an ASCII column."""

    def __init__(self, player: Player, parent: Any = None) -> None:
        super().__init__(parent)
        self.player = player
        self._memory: bytes | MemoryImage = b""
        self._spans: list[_Span] = []
        self._shown: int | None = None   # the step whose memory is shown
        self._starts: list[int] = []
        self._max_ends: list[int] = []   # the furthest end among spans[0..i]
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
    def dim_color(self) -> QColor:
        """The colour of a zero byte no change touched (it recedes, at AA contrast)."""
        return self._dim

    def ascii_text(self, row: int) -> str:
        """Row ``row``'s bytes as text, a middle dot for each byte that is not printable."""
        lo = row * self._per_row
        return as_text(self._memory[lo:lo + self._per_row])

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
        spans = [_Span(c.address, c.address + len(c.new), c, self.owner_color(c))
                 for c in changes]
        index = step.index if step else None
        # One step forward or back changes only the bytes of the old and the new step's
        # changes: repaint just those rows. Any other move (or a new size) resets the model,
        # which repaints every visible cell, a good part of a frame in a wide dock.
        # (PySide6 6.12.0 leaked a reference per emit; the pin below 6.12 keeps that away.)
        adjacent = (index is not None and self._shown is not None and abs(index - self._shown) == 1
                    and len(memory) == len(self._memory))
        old = self._spans
        if not adjacent:
            self.beginResetModel()
        self._memory, self._spans, self._shown = memory, spans, index
        self._starts = [s.start for s in self._spans]
        self._max_ends = list(itertools.accumulate((s.end for s in self._spans), max))
        if not adjacent:
            self.endResetModel()
            return
        n, rows = self._per_row, self.rowCount()
        ranges = sorted((s.start // n, min((s.end - 1) // n, rows - 1)) for s in old + spans)
        merged: list[list[int]] = []
        for lo, hi in ranges:
            if merged and lo <= merged[-1][1] + 1:
                merged[-1][1] = max(merged[-1][1], hi)
            else:
                merged.append([lo, hi])
        if len(merged) > 32:   # many scattered changes: one signal is cheaper than many
            merged = [[merged[0][0], merged[-1][1]]]
        # One range per group of rows: a single range from the lowest to the highest change
        # would repaint every visible row in between.
        for lo, hi in merged:
            self.dataChanged.emit(self.index(lo, 0), self.index(hi, n))

    def owner_color(self, change: MemoryChange) -> QColor:
        """Colour of whoever owns the changed bytes: a generated module's, else CHANGE."""
        m = _MODULE_LABEL.search(change.label)
        if m:
            return colors.module_color(int(m.group(1)))
        layout = self.player.trace.layout
        if layout.jit_buf <= change.address < layout.jit_buf_end:
            # Unlabelled JIT-buffer bytes belong to the module being written: one past the
            # count of modules in the step's state record.
            vm = self.player.current.vm if self.player.current else None
            return colors.module_color((vm.modules if vm is not None else 0) + 1)
        return QColor(colors.CHANGE)

    def touches(self, lo: int, hi: int) -> bool:
        """Whether any change of this step covers a byte in ``lo``..``hi - 1``."""
        j = bisect.bisect_left(self._starts, hi)
        return j > 0 and self._max_ends[j - 1] > lo

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

    def multiData(self, index: _Index, roles: QModelRoleDataSpan) -> None:  # noqa: N802
        """Every role a delegate asks of a cell, in one call (Qt 6's multiData).

        A scrolled dock repaints every visible cell: answering each cell's roles from one look
        at its byte (instead of one call into Python per role) keeps that within a frame.
        """
        n = self._per_row
        address = index.row() * n + index.column()
        if index.column() == n or address >= len(self._memory):
            for slot in roles:   # the ASCII column, or past the end: the general path
                role = slot.role()
                value = self.data(index, role) if role in _SERVED_ROLES else None
                slot.setData(value) if value is not None else slot.clearData()
            return
        value = self._memory[address]
        span = self.span_at(address) if self._spans else None
        for slot in roles:
            role = slot.role()
            if role == _DISPLAY:
                slot.setData(_HEX[value])
            elif role == _ALIGN:
                slot.setData(Qt.AlignmentFlag.AlignCenter)
            elif role == _FOREGROUND and span is None:
                slot.setData(self._dim) if value == 0 else slot.clearData()
            elif role == _BACKGROUND and span is None or role not in _SERVED_ROLES:
                slot.clearData()
            else:   # a changed byte's colours, its tooltip: rare, the general path
                answer = self.data(index, role)
                slot.setData(answer) if answer is not None else slot.clearData()

    def data(self, index: _Index,
             role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        # The delegate asks every visible cell for about ten roles on each repaint; answering
        # the ones this model never serves first keeps a step's repaint within a frame.
        if role not in _SERVED_ROLES:
            return None
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
            return self.ascii_text(row)
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
        self._shown = None   # another run: nothing of the old one may be kept
        self.refresh()  # empty until the player moves to the new trace's first step
