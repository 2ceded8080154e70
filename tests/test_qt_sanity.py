"""Guards against a PySide6 build that corrupts CPython's reference counts.

PySide6-Essentials 6.12.0 on CPython 3.11 takes a reference from None on every call returning
nothing, so any app aborts with "Fatal Python error: none_dealloc" after ~12,000 calls. The
project pins <6.12; this test fails loudly if a broken build comes back.
"""

import subprocess
import sys

CODE = """
from PySide6.QtWidgets import QApplication, QLabel
from PySide6.QtCore import QObject, Signal
app = QApplication([])
label = QLabel()
for _ in range(30000):
    label.setText("x")
class Emitter(QObject):
    fired = Signal(bool)
e = Emitter()
for _ in range(3000):
    e.fired.emit(True)
print("ok")
"""


def test_many_qt_calls_do_not_corrupt_refcounts() -> None:
    proc = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True,
                          timeout=120, env={**__import__("os").environ,
                                            "QT_QPA_PLATFORM": "offscreen"})
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-2000:]
