"""The engine and the lessons never import Qt (the architecture's one hard rule)."""

import subprocess
import sys

import pytest


@pytest.mark.parametrize("package", ["wasmviz.engine", "wasmviz.cli", "wasmviz.lessons"])
def test_package_loads_no_qt(package: str) -> None:
    code = (f"import sys, {package}; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6')]; "
            "print(bad); sys.exit(1 if bad else 0)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
