"""The menu bar: every command the window has, with its shortcut shown where people look.

Menus follow desktop conventions: File (programs, traces, exports), Go (the transport, with
debugger keys), Run (the sandbox and the faults), View (zoom, focus, docks, palette) and Help
(lessons on F1, the keyboard reference, About).
"""

from __future__ import annotations

from types import ModuleType
from typing import TYPE_CHECKING, Callable

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu

from ..engine import FAULT_DESCRIPTIONS, FAULTS

if TYPE_CHECKING:
    from .main_window import MainWindow


def add(window: MainWindow, menu: QMenu, text: str, slot: Callable[..., object],
        keys: str | tuple[str, ...] | None = None, tip: str = "") -> QAction:
    action = QAction(text, window)
    if keys:
        keys = (keys,) if isinstance(keys, str) else keys
        action.setShortcuts([QKeySequence(k) for k in keys])
    action.setToolTip(tip or text.replace("&", "").rstrip("…"))
    action.setStatusTip(tip)
    action.triggered.connect(slot)
    menu.addAction(action)
    return action


def build_menus(w: MainWindow) -> None:
    bar = w.menuBar()
    file = bar.addMenu("&File")
    examples = file.addMenu("Open &example program")
    examples.setToolTipsVisible(True)
    for path in w.example_programs():
        add(w, examples, path.name, lambda _=False, p=path: w.open_program(str(p)),
            tip=f"Load {path.name} into the sandbox (nothing runs until you press Run)")
    add(w, file, "&Open program…", lambda: w.open_program(None), "Ctrl+Shift+O",
        "Load a program file (.wv) into the sandbox")
    add(w, file, "&Save program…", lambda: w.save_program(None), "Ctrl+Shift+S",
        "Save the sandbox's text as a program file")
    add(w, file, "Open &module…", lambda: w.open_module(None), "Ctrl+M",
        "Open a .wat or .wasm module of your own; Link and run links it in place of the JIT's "
        "output (docs/foreign-modules.md)")
    file.addSeparator()
    add(w, file, "Open &trace JSON…", lambda: w.open_trace(None), "Ctrl+O",
        "Open a trace saved earlier")
    add(w, file, "Export t&race as JSON…", lambda: w.export_trace(None), "Ctrl+S",
        "Save the trace on screen as JSON")
    add(w, file, "Export diagram as &PNG…", lambda: w.export_diagram("png"), "Ctrl+E")
    add(w, file, "Export diagram as S&VG…", lambda: w.export_diagram("svg"), "Ctrl+Shift+E")
    file.addSeparator()
    add(w, file, "Open &lesson file…", lambda: w.open_lesson(None), "Ctrl+L",
        "Open a lesson file from disk; it reloads when you save it")
    file.addSeparator()
    add(w, file, "&Quit", w.close, "Ctrl+Q")

    go = bar.addMenu("&Go")
    for action in w.transport.actions_in_order:
        go.addAction(action)
    go.addSeparator()
    go.addAction(w.transport.trap_action)

    run = bar.addMenu("&Run")
    add(w, run, "&Run (interpret, tier up)", lambda: w.sandbox.request(False),
        ("Ctrl+Return", "Ctrl+Enter"), "Run the sandbox input in the interpreter; hot code "
        "tiers up")
    add(w, run, "&JIT now", lambda: w.sandbox.request(True), "Ctrl+J",
        "Compile the sandbox input at once and call it through the table")
    add(w, run, "&Compare link styles…", w.sandbox.open_comparison, "Ctrl+Shift+K",
        "Run the sandbox input in the three link styles (patch, start, pic) and compare them "
        "side by side")
    faults = run.addMenu("&Faults")
    faults.setToolTipsVisible(True)
    for name in FAULTS:
        line = FAULT_DESCRIPTIONS[name]
        short = line.split(" (")[0]   # the menu line; the tooltip keeps what the trap is
        add(w, faults, f"{name} — {short}", lambda _=False, n=name: w.run_fault(n),
            tip=f"Run a scenario that ends in the {name} fault: {line}")

    view = bar.addMenu("&View")
    d = w.central
    add(w, view, "Zoom &in", d.zoom_in, ("Ctrl+=", "Ctrl++"), "Make the diagram larger")
    add(w, view, "Zoom &out", d.zoom_out, "Ctrl+-", "Make the diagram smaller")
    add(w, view, "&Fit diagram", d.zoom_to_fit, "Ctrl+0",
        "Show the whole diagram, as large as the window allows")
    w.focus_action = add(w, view, "Focus on the &diagram", w.toggle_focus_mode, "Ctrl+Shift+F",
                         "Hide the docks (the lesson stays); the transport and the caption stay")
    w.focus_action.setCheckable(True)
    view.addSeparator()
    # Alt+N shows a dock, brings its tab to the front and puts keyboard focus in it: with the
    # docks tabbed, that is how the keyboard reaches every one of them.
    for n, title in enumerate(w.docks, 1):
        add(w, view, f"Go to {title}", lambda _=False, t=title: w.focus_dock(t),
            f"Alt+{n}" if n < 10 else None, f"Show the {title} dock and move focus into it")
    shown = view.addMenu("Show or hide docks")
    for dock in w.docks.values():
        shown.addAction(dock.toggleViewAction())
    add(w, view, "&Reset layout", w.reset_layout, tip="Put every dock back where it started")
    view.addSeparator()
    w.dark_action = add(w, view, "&Dark palette", w.on_dark_toggled, "Ctrl+D")
    w.dark_action.setCheckable(True)

    help_menu = bar.addMenu("&Help")
    add(w, help_menu, "&Lessons", w.show_lessons, "F1",
        "The guided lessons, from first contact to expert (F1 focuses the list)")
    add(w, help_menu, "&Keyboard shortcuts", lambda: _about().show_shortcuts(w), "Ctrl+/",
        "Every shortcut of the window")
    add(w, help_menu, "&Costs: wasmtime and V8…", lambda: _costs(w),
        tip="Measure, on this machine, what late linking costs under wasmtime and Node's V8")
    help_menu.addSeparator()
    add(w, help_menu, "&About wasmviz", lambda: _about().show_about(w))
    add(w, help_menu, "About &Qt", lambda: _about().show_about_qt(w))


def _costs(window: MainWindow) -> None:
    """Help > Costs: one dialog per window, made (and its module imported) when first asked."""
    dialog = getattr(window, "costs_dialog", None)
    if dialog is None:
        from .costs_dialog import CostsDialog  # noqa: PLC0415 - start-up, issue 11
        dialog = window.costs_dialog = CostsDialog(window)
    dialog.show()
    dialog.raise_()


def _about() -> ModuleType:
    """The Help dialogs' module, imported when one is first opened (start-up, issue 11)."""
    from . import about  # noqa: PLC0415
    return about
