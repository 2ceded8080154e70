"""The diagram is legible at common window sizes, and the window fits the screen.

Text sizes are measured, not computed: the diagram is painted and every font its items drew
with is recorded (diagram.paint.probe), then multiplied by the view's scale.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QRect, QSettings, Qt

from wasmviz.ui.diagram import paint
from wasmviz.ui.main_window import MainWindow
from wasmviz.ui.window_layout import clamp_geometry, initial_geometry

SIZES = [(1280, 720), (1920, 1080)]


def fresh_window(qtbot, tmp_path: Path, size: tuple[int, int]) -> MainWindow:  # type: ignore[no-untyped-def]
    settings = QSettings(str(tmp_path / f"s{size[0]}.ini"), QSettings.Format.IniFormat)
    win = MainWindow(settings=settings, autorun=False)
    win.player.animation_ms = 0
    qtbot.addWidget(win)
    win.setGeometry(QRect(0, 0, *size))
    win.show()
    qtbot.waitExposed(win)
    return win


def run_default(qtbot, win: MainWindow) -> None:  # type: ignore[no-untyped-def]
    with qtbot.waitSignal(win.runner.finished, timeout=30000):
        win.sandbox.request(jit_now=True)


def diagram_share(win: MainWindow) -> float:
    view = win.central.viewport()
    return view.width() * view.height() / (win.width() * win.height())


def go_to_patch(win: MainWindow) -> None:
    win.player.go(win.player.trace.find("patch", "relocation")[0].index)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_first_start_diagram_text_is_at_least_11_px(qtbot, tmp_path: Path,
                                                    size: tuple[int, int]) -> None:
    win = fresh_window(qtbot, tmp_path, size)
    run_default(qtbot, win)
    go_to_patch(win)
    smallest, median = win.central.rendered_text_px()
    assert smallest >= paint.LEGIBLE_PX, (smallest, median, win.central.scale_factor())
    assert diagram_share(win) >= 0.45, diagram_share(win)


def test_with_a_lesson_open_the_diagram_stays_legible(qtbot, tmp_path: Path) -> None:
    win = fresh_window(qtbot, tmp_path, (1280, 720))
    assert win.open_lesson("06")
    qtbot.waitUntil(lambda: len(win.player.trace) > 0, timeout=30000)
    qtbot.waitUntil(lambda: win.docks["Lesson"].isVisible())
    smallest, _ = win.central.rendered_text_px()
    assert smallest >= paint.LEGIBLE_PX
    assert diagram_share(win) >= 0.45, diagram_share(win)


def test_a_tiny_window_scrolls_rather_than_shrinking_text(qtbot, tmp_path: Path) -> None:
    win = fresh_window(qtbot, tmp_path, (800, 500))
    run_default(qtbot, win)
    smallest, _ = win.central.rendered_text_px()
    assert smallest >= paint.LEGIBLE_PX
    bar = win.central.horizontalScrollBar()
    assert bar.maximum() > 0   # the picture is wider than the view: it scrolls


def test_zoom_keys_and_ctrl_0_fits_again(qtbot, tmp_path: Path) -> None:
    win = fresh_window(qtbot, tmp_path, (1280, 720))
    run_default(qtbot, win)
    fit = win.central.scale_factor()
    qtbot.keyClick(win.central, Qt.Key.Key_Equal, Qt.KeyboardModifier.ControlModifier)
    assert win.central.scale_factor() > fit * 1.1
    qtbot.keyClick(win.central, Qt.Key.Key_Minus, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(win.central, Qt.Key.Key_Minus, Qt.KeyboardModifier.ControlModifier)
    assert win.central.scale_factor() < fit
    qtbot.keyClick(win.central, Qt.Key.Key_0, Qt.KeyboardModifier.ControlModifier)
    assert win.central.scale_factor() == pytest.approx(fit)


def test_focus_mode_hides_docks_but_keeps_transport_and_lesson(qtbot, tmp_path: Path) -> None:
    win = fresh_window(qtbot, tmp_path, (1280, 720))
    run_default(qtbot, win)
    before = win.central.viewport().width()
    win.focus_action.trigger()
    assert not any(d.isVisible() for d in win.docks.values())
    assert win.transport.isVisible()
    qtbot.waitUntil(lambda: win.central.viewport().width() > before)
    win.focus_action.trigger()
    assert win.docks["Sandbox"].isVisible() or win.docks["Memory"].isVisible()
    assert win.open_lesson("01")
    qtbot.waitUntil(lambda: len(win.player.trace) > 0, timeout=30000)
    win.focus_action.trigger()
    assert win.docks["Lesson"].isVisible()
    assert not win.docks["Memory"].isVisible()


@pytest.mark.parametrize("available", [QRect(0, 0, 1280, 720), QRect(0, 0, 1200, 800),
                                       QRect(0, 0, 2560, 1440), QRect(100, 30, 1366, 738)])
def test_first_start_geometry_fits_the_screen(available: QRect) -> None:
    rect = initial_geometry(available)
    assert available.contains(rect)
    assert rect.width() >= min(1280, available.width()) * 0.8


def test_restored_geometry_is_clamped_to_the_screen() -> None:
    screen = QRect(0, 0, 1280, 720)
    for saved in (QRect(40, 30, 2800, 1720), QRect(1500, 900, 800, 600), QRect(-300, -50, 900, 600)):
        assert screen.contains(clamp_geometry(saved, screen))


@pytest.mark.parametrize("fault", [None, "bad-signature", "null-slot", "out-of-bounds"])
def test_no_diagram_label_is_cut_short_at_1280x720(qtbot, tmp_path: Path,
                                                   fault: str | None) -> None:
    """Every label of every step is painted whole: none is elided with "…"."""
    win = fresh_window(qtbot, tmp_path, (1280, 720))
    if fault is None:
        run_default(qtbot, win)
    else:
        with qtbot.waitSignal(win.runner.finished, timeout=30000):
            win.run_fault(fault)
    cut = {}
    for i in range(len(win.player.trace)):
        win.player.go(i)
        paint.elided.clear()
        win.central.viewport().grab()
        if paint.elided:
            cut[i + 1] = sorted(paint.elided)
    assert not cut, cut
