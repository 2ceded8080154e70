"""The files wasmviz ships beside its code: the main module, the example programs, the lessons.

They live inside the package (pyproject.toml declares them as package data) and are found with
importlib.resources, so a checkout, an editable install and a wheel installed anywhere all see
the same files. Nothing here imports Qt or the engine: every layer may use it.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def data_path(*parts: str) -> Path:
    """Return the real path of a shipped data file or folder (``data_path("lessons")``).

    The engine and the lesson loader need real paths (wasmtime reads text, the loader stats
    files and globs folders). A wheel installs unzipped, so the resource always is a folder on
    disk; should wasmviz ever be imported from a zip, say so instead of failing later.
    """
    resource = files("wasmviz") / "data"
    for part in parts:
        resource = resource / part
    path = Path(str(resource))
    if not isinstance(resource, Path) and not path.exists():
        raise RuntimeError(f"wasmviz's data is not on disk ({resource}); install wasmviz unzipped")
    return path


#: The hand-written main module (docs/abi.md is its contract with the host).
MAIN_WAT = data_path("main.wat")
#: The example programs (File → Open example program).
PROGRAMS_DIR = data_path("programs")
#: The shipped lessons; data/lessons/README.md tells authors how to write one.
LESSONS_DIR = data_path("lessons")
