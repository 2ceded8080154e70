"""Render the README's screenshots of the main window, one per phase, into docs/.

Run: make screenshots   (offscreen; the pictures are real traces drawn by the real app, in a
1280x800 window with first-start settings, so they show what a new user sees at that size)
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PySide6.QtCore import QSettings  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from wasmviz.data import data_path  # noqa: E402
from wasmviz.engine import Scenario  # noqa: E402
from wasmviz.ui.main_window import MainWindow  # noqa: E402

OUT = Path(__file__).resolve().parent
REDEFINE = ("def f(x) = x * x + 3\n", "def f(x) = x * 2 - 1\n")
SQUARE = "def square(x) = x * x\n"
#: (file name, scenario, which step to show: (phase, kind) of the first match, or "last")
SHOTS = (
    ("01-generate.png", Scenario(exprs=("x * x + 3",), args=(7,)), ("generate", "section", 3)),
    ("02-compile.png", Scenario(exprs=("x * x + 3",), args=(7,)), ("compile", "compiled", 0)),
    ("03-link.png", Scenario(exprs=("x * x + 3",), args=(7,)), ("link", "linked", 0)),
    ("04-patch-relocation.png", Scenario(exprs=("x * x + 3",), args=(7,)),
     ("patch", "relocation", 0)),
    ("05-call.png", Scenario(exprs=("x * x + 3",), args=(7,)), ("call", "result", -1)),
    ("06-fault-bad-signature.png", Scenario.for_fault("bad-signature"), ("call", "trap", -1)),
    ("09-link-start.png", Scenario(exprs=("x * x + 3",), args=(7,), link="start"),
     ("link", "table.init", 0)),
    ("10-link-pic.png", Scenario(exprs=("x * x + 3",), args=(7,), link="pic"),
     ("link", "linked", 0)),
    ("11-redefine-store.png", Scenario(source=REDEFINE[0], call="f", args=(7,), jit_now=True,
                                       redefine=(REDEFINE[1],)), ("call", "store", -1)),
    ("12-your-module.png", Scenario(source=SQUARE, call="square", args=(7,),
                                    module="handwritten_patch.wat"), ("patch", "relocation", 0)),
)

#: The dock brought forward for a shot (the sandbox otherwise), so the README shows them too.
DOCK_FOR = {"04-patch-relocation.png": "Memory", "05-call.png": "Functions",
            "06-fault-bad-signature.png": "Table", "09-link-start.png": "Table",
            "10-link-pic.png": "Module"}

#: (file name, lesson, lesson step shown, 0-based)
LESSON_SHOTS = (("07-lesson-patch.png", "06", 3), ("08-lesson-checkpoint.png", "01", 7))


def settle(app: QApplication) -> None:
    for _ in range(15):
        app.processEvents()
        time.sleep(0.02)


def main() -> None:
    app = QApplication.instance() or QApplication(sys.argv)
    settings = QSettings(str(OUT / ".screenshot-settings.ini"), QSettings.Format.IniFormat)
    settings.clear()
    window = MainWindow(settings=settings, autorun=False)
    window.player.animation_ms = 0
    window.setGeometry(0, 0, 1280, 800)
    window.show()
    settle(app)
    window.reset_layout()   # the first-start layout for this size
    for name, scenario, (phase, kind, nth) in SHOTS:
        window.sandbox.editor.setPlainText(scenario.exprs[0] if scenario.exprs else
                                           (scenario.redefine or (scenario.source,))[-1] or "")
        window.run_scenario(scenario)
        window.runner.wait()
        settle(app)
        steps = window.player.trace.find(phase, kind)
        window.player.go(steps[nth].index)
        window.docks[DOCK_FOR.get(name, "Sandbox")].raise_()
        if scenario.module is not None:   # the module's text in the Sandbox's WAT page
            window.open_module(str(data_path() / "modules" / scenario.module))
            for _ in range(100):
                settle(app)
                if "valid" in window.wat_editor.status.text():
                    break
        settle(app)
        window.statusBar().clearMessage()   # a 5-second notice from the previous run
        window.grab().save(str(OUT / name))
        print(f"wrote docs/{name}: step {steps[nth].index} {phase}/{kind}")
    # A lesson in the Lesson dock: narration, highlights ringed on the diagram, a checkpoint.
    for name, lesson, position in LESSON_SHOTS:
        window.open_lesson(lesson)
        window.session.runner.wait()
        settle(app)
        window.session.go(position)
        settle(app)
        window.statusBar().clearMessage()   # a 5-second notice from the previous run
        window.grab().save(str(OUT / name))
        print(f"wrote docs/{name}: lesson {lesson}, step {position + 1}")
    # Run > Compare link styles: the three styles side by side, measured in its worker.
    window.sandbox.editor.setPlainText("x * x + 3")
    window.sandbox.open_comparison()
    dialog = window.sandbox.comparison
    for _ in range(300):   # each settle is about 0.3 s: the three runs take a few seconds
        settle(app)
        if dialog.runs:
            break
    settle(app)
    dialog.grab().save(str(OUT / "13-compare-link-styles.png"))
    print("wrote docs/13-compare-link-styles.png")
    dialog.close()
    window.close()
    (OUT / ".screenshot-settings.ini").unlink(missing_ok=True)


if __name__ == "__main__":
    main()
