"""Every step of the trace as a list: the current one selected, a click jumps there.

A filter by phase lets a learner see, say, only the patch steps of every module in a long run.
"""

from __future__ import annotations

import textwrap
from typing import Any

from PySide6.QtCore import (QAbstractTableModel, QModelIndex, QPersistentModelIndex, QRectF,
                            QSortFilterProxyModel, Qt)
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QHBoxLayout, QHeaderView, QLabel,
                               QStyle, QStyledItemDelegate, QStyleOptionViewItem, QTableView,
                               QVBoxLayout, QWidget)

from ..engine.trace import PHASES, Step
from . import colors
from .player import Player

_Index = QModelIndex | QPersistentModelIndex

# One hue per phase of late linking (colors.py has none yet). Mid lightness, as colors.py does,
# so a badge reads on light and dark palettes with colors.text_on.
PHASE_COLORS = {
    "setup": QColor(colors.HOST),
    "generate": QColor("#1C7ED6"),
    "compile": QColor("#7950F2"),
    "link": QColor("#0CA678"),
    "patch": QColor("#F08C00"),
    "call": QColor("#2F9E44"),
}
PHASE_TIPS = {
    "setup": "setup: the host instantiates the main module and writes the program into it",
    "generate": "generate: the main module's JIT writes a new module's bytes into its memory",
    "compile": "compile: the host hands those bytes to wasmtime, which validates and compiles",
    "link": "link: the new module is instantiated, importing main's table and memory",
    "patch": "patch: the new module grows the table, sets slots, relocates code slots",
    "call": "call: functions run, interpreted or through call_indirect into JIT code",
}
COLUMNS = ("#", "Phase", "Kind", "What happened")
PHASE_COLUMN = 1


def short_caption(step: Step, width: int = 110) -> str:
    """First sentence of the caption, cut to ``width`` characters."""
    first = step.caption.split(". ")[0].rstrip(".")
    return first if len(first) <= width else first[: width - 1] + "…"


class StepListModel(QAbstractTableModel):
    """One row per step of the player's trace."""

    def __init__(self, player: Player, parent: Any = None) -> None:
        super().__init__(parent)
        self.player = player
        player.trace_changed.connect(self._on_trace_changed)

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.player.trace)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: _Index,
             role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self.player.trace):
            return None
        step, col = self.player.trace[index.row()], index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return (str(step.index), step.phase, step.kind, short_caption(step))[col]
        if role == Qt.ItemDataRole.ToolTipRole:
            text = textwrap.fill(step.caption, 80)
            if col == PHASE_COLUMN:
                return PHASE_TIPS.get(step.phase, step.phase) + "\n\n" + text
            return f"Step {step.index} · {step.phase}/{step.kind}\n\n{text}\n\nClick to go there"
        if role == Qt.ItemDataRole.ForegroundRole and col == 2 and (step.trap or step.error):
            return QColor(colors.TRAP)
        if role == Qt.ItemDataRole.TextAlignmentRole and col == 0:
            return Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        if role == Qt.ItemDataRole.ToolTipRole:
            return ("Step number", "Phase of late linking", "What kind of event",
                    "The step's caption (hover for all of it)")[section]
        return None

    def _on_trace_changed(self) -> None:
        self.beginResetModel()
        self.endResetModel()


class PhaseBadgeDelegate(QStyledItemDelegate):
    """Draws the phase as a rounded, coloured pill."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: _Index) -> None:
        # Let the style draw the row background and selection first, then the pill on top.
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        phase = opt.text
        opt.text = ""
        style = opt.widget.style() if opt.widget else None
        if style is not None:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
        color = PHASE_COLORS.get(phase, QColor(colors.HOST))
        metrics = option.fontMetrics
        width = metrics.horizontalAdvance(phase) + 14
        rect = QRectF(option.rect.left() + 4, option.rect.center().y() - metrics.height() / 2,
                      width, metrics.height()).adjusted(0, -1, 0, 1)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(color)
        painter.drawRoundedRect(rect, rect.height() / 2, rect.height() / 2)
        painter.setPen(colors.text_on(color))
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, phase)
        painter.restore()


class EventLog(QWidget):
    """The list of steps, following the player; a click moves the player."""

    def __init__(self, player: Player, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.player = player
        self.model = StepListModel(player, self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setFilterKeyColumn(PHASE_COLUMN)

        self.phase_combo = QComboBox()
        self.phase_combo.addItem("All phases", "")
        for phase in PHASES:
            self.phase_combo.addItem(phase, phase)
            self.phase_combo.setItemData(self.phase_combo.count() - 1, PHASE_TIPS[phase],
                                         Qt.ItemDataRole.ToolTipRole)
            self.phase_combo.setItemData(self.phase_combo.count() - 1, PHASE_COLORS[phase],
                                         Qt.ItemDataRole.DecorationRole)
        self.phase_combo.setToolTip("Show only the steps of one phase")
        self.count = QLabel()
        self.count.setToolTip("Steps shown / steps in the trace")

        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setItemDelegateForColumn(PHASE_COLUMN, PhaseBadgeDelegate(self.table))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        self.table.setColumnWidth(0, self.fontMetrics().horizontalAdvance("0000") + 12)
        self.table.setColumnWidth(PHASE_COLUMN, self.fontMetrics().horizontalAdvance("generate")
                                  + 26)
        self.table.setColumnWidth(2, self.fontMetrics().horizontalAdvance("relocation") + 16)
        self.table.setToolTip("Every recorded step; click one to go there")

        bar = QHBoxLayout()
        bar.addWidget(self.phase_combo)
        bar.addStretch(1)
        bar.addWidget(self.count)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(bar)
        layout.addWidget(self.table, 1)

        self._syncing = False
        self.phase_combo.currentIndexChanged.connect(self._on_phase_filter_changed)
        self.table.clicked.connect(self._on_row_clicked)
        self.table.selectionModel().currentRowChanged.connect(self._on_current_row_changed)
        player.step_changed.connect(self._on_step_changed)
        player.trace_changed.connect(self._on_trace_changed)
        self._on_trace_changed()

    # ------------------------------------------------------------ public
    def set_phase_filter(self, phase: str) -> None:
        """Show only ``phase``'s steps ("" for all)."""
        self.phase_combo.setCurrentIndex(max(self.phase_combo.findData(phase), 0))

    def step_at(self, row: int) -> int:
        """The step index shown on (filtered) row ``row``."""
        return self.proxy.mapToSource(self.proxy.index(row, 0)).row()

    def row_of(self, step: int) -> int:
        """The visible row showing step ``step``, or -1 if the filter hides it."""
        return self.proxy.mapFromSource(self.model.index(step, 0)).row()

    # ------------------------------------------------------------ handlers
    def _on_row_clicked(self, index: QModelIndex) -> None:
        self.player.go(self.proxy.mapToSource(index).row())

    def _on_current_row_changed(self, current: QModelIndex, previous: QModelIndex) -> None:
        # Keyboard navigation moves the player too; our own re-selection must not.
        if not self._syncing and current.isValid():
            self.player.go(self.proxy.mapToSource(current).row())

    def _on_step_changed(self, index: int, previous: int) -> None:
        row = self.row_of(index)
        self._syncing = True
        try:
            if row < 0:
                self.table.clearSelection()
            else:
                proxy_index = self.proxy.index(row, 0)
                self.table.setCurrentIndex(proxy_index)
                self.table.scrollTo(proxy_index, QAbstractItemView.ScrollHint.EnsureVisible)
        finally:
            self._syncing = False

    def _on_phase_filter_changed(self, combo_row: int) -> None:
        phase = self.phase_combo.itemData(combo_row) or ""
        self.proxy.setFilterRegularExpression(f"^{phase}$" if phase else "")
        self._update_count()
        self._on_step_changed(self.player.index, -1)

    def _on_trace_changed(self) -> None:
        self._update_count()
        if self.player.current is not None:
            self._on_step_changed(self.player.index, -1)

    def _update_count(self) -> None:
        self.count.setText(f"{self.proxy.rowCount()} / {self.model.rowCount()} steps")
