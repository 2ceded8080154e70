"""Shared fixtures. Qt must run headless: set the platform before anything imports Qt."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import tempfile  # noqa: E402

# The compiled main module and wasm-tools' output are cached on disk (engine/module_cache.py):
# the suite keeps its own cache, so it never writes to the user's ~/.cache/wasmviz.
os.environ["WASMVIZ_CACHE_DIR"] = tempfile.mkdtemp(prefix="wasmviz-test-cache-")

import pytest  # noqa: E402


@pytest.fixture
def window(qtbot, tmp_path):  # type: ignore[no-untyped-def]
    """The main window as a new user first meets it at 1280x720: fresh settings, no autorun,
    animations off so every step is at rest when a test looks."""
    from PySide6.QtCore import QSettings

    from wasmviz.ui.main_window import MainWindow

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    win = MainWindow(settings=settings, autorun=False)
    win.player.animation_ms = 0
    qtbot.addWidget(win)
    win.resize(1280, 720)
    win.show()
    qtbot.waitExposed(win)
    return win


@pytest.fixture
def view(qtbot):  # type: ignore[no-untyped-def]
    """A diagram view on its own player, animations off."""
    from wasmviz.ui.diagram.view import DiagramView
    from wasmviz.ui.player import Player

    player = Player()
    player.animation_ms = 0
    v = DiagramView(player)
    qtbot.addWidget(v)
    v.resize(1200, 700)
    return v


@pytest.fixture(scope="session")
def fib_trace():  # type: ignore[no-untyped-def]
    """fib(20) interpreted until hot, then batched into JIT code (a real run, recorded once)."""
    from wasmviz.data import PROGRAMS_DIR
    from wasmviz.engine import Scenario, run

    source = (PROGRAMS_DIR / "fib.wv").read_text()
    return run(Scenario(source=source, call="fib", args=(20,), threshold=50, window=50))
