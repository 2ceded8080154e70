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


#: WCAG 2 AA contrast for normal-size text.
MIN_CONTRAST = 4.5


def text_on(background: QColor) -> QColor:
    """Return near-black or white, whichever has the higher WCAG contrast on ``background``."""
    dark, light = QColor("#111111"), QColor("#FFFFFF")
    return dark if contrast(dark, background) >= contrast(light, background) else light


def luminance(color: QColor) -> float:
    """WCAG 2 relative luminance of an opaque colour."""
    def linear(v: float) -> float:
        return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4
    return (0.2126 * linear(color.redF()) + 0.7152 * linear(color.greenF())
            + 0.0722 * linear(color.blueF()))


def contrast(a: QColor, b: QColor) -> float:
    """WCAG 2 contrast ratio of two opaque colours (1 to 21)."""
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def over(color: QColor, background: QColor) -> QColor:
    """``color`` painted with its alpha over opaque ``background``: the opaque colour one sees."""
    a = color.alphaF()
    return QColor.fromRgbF(*(a * f + (1 - a) * g for f, g in
                             zip(color.getRgbF()[:3], background.getRgbF()[:3])))


def legible(color: QColor, background: QColor, minimum: float = MIN_CONTRAST) -> QColor:
    """``color`` made opaque and moved toward black or white just far enough to reach ``minimum``.

    A dim colour stays as dim as the contrast rule allows, so zeros still recede. A fully
    transparent ``color`` asks for plain black or white, whichever reads better.
    """
    black, white = QColor(0, 0, 0), QColor(255, 255, 255)
    target = black if contrast(black, background) >= contrast(white, background) else white
    if color.alpha() == 0:
        return target  # "no preference": the best of black and white (at least 4.58:1)
    color = over(color, background)
    for k in range(21):
        mixed = over(QColor.fromRgbF(target.redF(), target.greenF(), target.blueF(), k / 20),
                     color)
        if contrast(mixed, background) >= minimum:
            return mixed
    return target

