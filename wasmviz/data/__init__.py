"""The files wasmviz ships beside its code: the main module, the example programs, the lessons.

They live inside the package (pyproject.toml declares them as package data) and are found with
importlib.resources, so a checkout, an editable install and a wheel installed anywhere all see
the same files. Nothing here imports Qt or the engine: every layer may use it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def data_path(*parts: str) -> Path:
    """Return the real path of a shipped data file or folder (``data_path("lessons")``).

    The engine and the lesson loader need real paths (wasmtime reads text, the loader stats
    files and globs folders). A wheel installs unzipped, so the resource always is a folder on
    disk; should wasmviz ever be imported from a zip, say so instead of failing later.
    """
    from importlib.resources import files  # noqa: PLC0415 - see __getattr__
    resource = files("wasmviz") / "data"
    for part in parts:
        resource = resource / part
    path = Path(str(resource))
    if not isinstance(resource, Path) and not path.exists():
        raise RuntimeError(f"wasmviz's data is not on disk ({resource}); install wasmviz unzipped")
    return path


#: MAIN_WAT: the hand-written main module (docs/abi.md is its contract with the host).
#: PROGRAMS_DIR: the example programs (File → Open example program).
#: LESSONS_DIR: the shipped lessons; data/lessons/README.md tells authors how to write one.
_NAMED = {"MAIN_WAT": "main.wat", "PROGRAMS_DIR": "programs", "LESSONS_DIR": "lessons"}


def __getattr__(name: str) -> Any:
    # Made when first asked for (PEP 562): importlib.resources is a few ms the app's window
    # does not spend before its first trace (issue 11).
    if name not in _NAMED:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = globals()[name] = data_path(_NAMED[name])
    return value
