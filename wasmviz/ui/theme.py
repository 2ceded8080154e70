"""Light and dark palettes (Fusion style, so both look the same on every platform)."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication


def dark_palette() -> QPalette:
    p = QPalette()
    roles = {
        QPalette.ColorRole.Window: "#1F2328", QPalette.ColorRole.WindowText: "#E6EDF3",
        QPalette.ColorRole.Base: "#161B22", QPalette.ColorRole.AlternateBase: "#22272E",
        QPalette.ColorRole.ToolTipBase: "#2D333B", QPalette.ColorRole.ToolTipText: "#E6EDF3",
        QPalette.ColorRole.Text: "#E6EDF3", QPalette.ColorRole.Button: "#2D333B",
        QPalette.ColorRole.ButtonText: "#E6EDF3", QPalette.ColorRole.Highlight: "#4C6EF5",
        QPalette.ColorRole.HighlightedText: "#FFFFFF", QPalette.ColorRole.Link: "#74C0FC",
        QPalette.ColorRole.PlaceholderText: "#8B949E", QPalette.ColorRole.BrightText: "#FF8787",
    }
    for role, color in roles.items():
        p.setColor(role, QColor(color))
    return p


def apply_theme(dark: bool) -> None:
    """Switch the whole application to the dark or the light palette."""
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        return
    app.setStyle("Fusion")
    app.setPalette(dark_palette() if dark else app.style().standardPalette())
