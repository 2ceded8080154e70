"""One colour per module, carried into its table slots, memory ranges and arrows.

Colours are chosen for legibility on both light and dark palettes (mid lightness, distinct
hues, readable with dark or light text); the main module is always the same slate blue.
"""

from __future__ import annotations

from PySide6.QtGui import QColor

MAIN = QColor("#4C6EF5")        # the main module, its memory regions, its interpreter entries
HOST = QColor("#868E96")        # the host (Python + wasmtime)
NULL = QColor("#ADB5BD")        # a null table slot
TRAP = QColor("#E03131")        # where a trap happened
CHANGE = QColor("#F08C00")      # a memory change not owned by a generated module
CALL = QColor("#2F9E44")        # the call path highlight

# Each colour has one meaning. Module hues therefore avoid the main module's blue, the host's
# grey, the change orange, the call-path green and the trap red; the pill "mN" tells modules
# apart when the hues cycle.
_MODULE_HUES = ("#F06595", "#1098AD", "#AE3EC9", "#A0672D", "#5F3DC4")


def module_color(number: int | None) -> QColor:
    """Return the colour of generated module ``number`` (1-based); MAIN for None/0."""
    if not number:
        return QColor(MAIN)
    return QColor(_MODULE_HUES[(number - 1) % len(_MODULE_HUES)])


def text_on(background: QColor) -> QColor:
    """Return black or white, whichever reads better on ``background``."""
    r, g, b = background.redF(), background.greenF(), background.blueF()
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return QColor("#111111") if luminance > 0.55 else QColor("#FFFFFF")
