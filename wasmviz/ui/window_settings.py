"""What the window remembers between runs: restoring it at start, saving it on close.

Kept apart from main_window.py because reading settings is its own careful job: any saved
value may be missing, of the wrong type, huge or corrupt (a corrupt settings file once stopped
the app on every start, review D3), and each such value must fall back to its default and be
named to the learner once. MainWindow inherits WindowSettings; it reads the sandbox's inputs
first (``_read_inputs``: its first run starts while the window is built), calls ``_restore`` at
the end of building and ``_save_settings`` from closeEvent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QRect, QSettings
from PySide6.QtGui import QGuiApplication

from ..engine import Scenario, SourceError
from ..engine.sandbox_request import SandboxInputs, build
from ..engine.scenario import LINKS
from .sandbox import SYNC_PARSE_CHARS
from .theme import apply_theme
from .window_files import MAX_PROGRAM_BYTES
from .window_layout import arrange_docks, clamp_geometry, initial_geometry

if TYPE_CHECKING:
    from PySide6.QtGui import QAction
    from PySide6.QtWidgets import QDockWidget

    from .diagram.view import DiagramView
    from .player import Player
    from .sandbox import SandboxPanel
    from .transport import TransportBar

DEFAULT_SOURCE = "x * x + 3"


def saved_text(settings: QSettings, key: str, default: str, limit: int) -> str | None:
    """The text remembered under ``key`` (``default`` if none); None if what is saved there
    is not a text of at most ``limit`` characters."""
    value = settings.value(key, default)
    return value if isinstance(value, str) and len(value) <= limit else None


def saved_inputs(settings: QSettings) -> tuple[SandboxInputs, list[str]]:
    """The sandbox's remembered inputs (program, arguments, link style), and the keys whose
    saved value could not be used and gave way to the default. Read by the window, and by
    run_app before the window exists, to start the first run early (issue 11)."""
    unusable: list[str] = []

    def text(key: str, default: str, limit: int) -> str:
        value = saved_text(settings, key, default, limit)
        if value is None:
            unusable.append(key)
        return default if value is None else value

    source = text("sandbox/source", DEFAULT_SOURCE, MAX_PROGRAM_BYTES)
    args = text("sandbox/args", "7", 4096)
    link = text("sandbox/link", "patch", 16)
    if link not in LINKS:
        unusable.append("sandbox/link")
        link = "patch"
    return SandboxInputs(source, args, link=link), unusable


def first_scenario(settings: QSettings) -> Scenario | None:
    """The run the window asks for at start (the saved inputs, JIT now), or None if they
    cannot run (the window then underlines what is wrong) or are too long to parse here: the
    sandbox parses those in its worker (review D6), and so the window records that run itself."""
    inputs = saved_inputs(settings)[0]
    if len(inputs.source) > SYNC_PARSE_CHARS:
        return None
    try:
        return build(inputs, jit_now=True).scenario
    except (SourceError, ValueError):
        return None


class WindowSettings:
    """Settings restore/save mixed into MainWindow.

    The window provides the attributes annotated below, ``notify``, ``name_dock_tabs`` and
    QMainWindow's own methods.
    """

    if TYPE_CHECKING:
        settings: QSettings
        sandbox: SandboxPanel
        player: Player
        central: DiagramView
        transport: TransportBar
        docks: dict[str, QDockWidget]
        dark_action: QAction
        _first_layout: bool

    def _restore(self) -> None:
        geometry = self._blob("window/geometry")
        if geometry is None or not self.restoreGeometry(geometry):
            self._note_reset("window/geometry", geometry)
            self.setGeometry(initial_geometry(self._available()))
        else:
            # The screen may be smaller now (another monitor, another scale factor).
            self.setGeometry(clamp_geometry(self.geometry(), self._available()))
        state = self._blob("window/state")
        restored = state is not None and self.restoreState(state)
        if not restored:
            self._note_reset("window/state", state)
        self.name_dock_tabs()
        if not restored:
            # Tab the docks now, so their stacked minimum heights never enlarge the window;
            # they are sized when first shown.
            arrange_docks(self, self.docks)
            self._first_layout = True
        self.transport.set_speed(self._number("player/speed", 2.0))
        self.central.set_zoom(self._number("view/zoom", 1.0))
        dark = self._text("view/dark", "false", 16).lower()
        if dark not in ("true", "false"):
            self._note_reset("view/dark", dark)
        self.dark_action.setChecked(dark == "true")
        apply_theme(dark == "true")
        if self._reset_settings:
            # A corrupt settings file once stopped the app on every start (review D3): now each
            # bad value is replaced by its default, and the learner is told which.
            self.notify("Some saved settings could not be read and were reset to their "
                        f"defaults: {', '.join(self._reset_settings)}", error=True,
                        bring_forward=False)

    def _read_inputs(self) -> None:
        """The sandbox's remembered inputs: its program, arguments and link style."""
        inputs, unusable = saved_inputs(self.settings)
        for key in unusable:
            self._note_reset(key, key)
        self.sandbox.editor.setPlainText(inputs.source)
        self.sandbox.args_edit.setText(inputs.args)
        self.sandbox.set_link_style(inputs.link)

    def _available(self) -> QRect:
        screen = self.screen() or QGuiApplication.primaryScreen()
        return screen.availableGeometry()

    def _note_reset(self, key: str, value: object) -> None:
        if value is not None and key not in self._reset_settings:
            self._reset_settings.append(key)

    def _blob(self, key: str) -> QByteArray | None:
        """A remembered window geometry/state blob; None if missing or of the wrong type."""
        value = self.settings.value(key)
        if value is None or isinstance(value, QByteArray):
            return value
        if isinstance(value, bytes):
            return QByteArray(value)
        self._note_reset(key, value)
        return None

    def _text(self, key: str, default: str, limit: int) -> str:
        """A remembered text of at most ``limit`` characters; else ``default``."""
        value = saved_text(self.settings, key, default, limit)
        if value is None:
            self._note_reset(key, key)
            return default
        return value

    def _number(self, key: str, default: float) -> float:
        """A remembered number; a missing or corrupt value gives ``default`` (never a crash)."""
        raw = self.settings.value(key, default)
        try:
            value = float(raw)
        except (TypeError, ValueError, OverflowError):
            value = float("nan")
        if value == value and abs(value) < 1e6:   # not NaN or huge
            return value
        self._note_reset(key, raw)
        return default

    def _save_inputs(self) -> None:
        self.settings.setValue("sandbox/source", self.sandbox.editor.toPlainText())
        self.settings.setValue("sandbox/args", self.sandbox.args_edit.text())
        self.settings.setValue("sandbox/link", self.sandbox.link_style())

    def _save_settings(self) -> None:
        """Remember the window, the speed, the zoom, the palette and the sandbox's inputs."""
        s = self.settings
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState())
        s.setValue("player/speed", self.player.speed)
        s.setValue("view/zoom", self.central.zoom)
        s.setValue("view/dark", self.dark_action.isChecked())
        self._save_inputs()
        s.sync()
