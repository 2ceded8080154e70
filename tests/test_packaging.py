"""The data wasmviz needs ships inside the package and is found through importlib.resources.

A wheel holds only what pyproject.toml declares, so these tests hold the declaration against
the files really there. `.ci/run` builds the wheel and runs this file from the unpacked sdist
against the installed wheel, where the files checked are the installed ones.
"""

from __future__ import annotations

import ast
import tomllib
from importlib.resources import files
from pathlib import Path

import pytest

from wasmviz.data import LESSONS_DIR, MAIN_WAT, PROGRAMS_DIR, data_path

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"
PACKAGE = Path(str(files("wasmviz")))


def test_the_data_is_found_through_importlib_resources() -> None:
    data = files("wasmviz") / "data"
    assert (data / "main.wat").is_file()
    assert "(module" in (data / "main.wat").read_text()
    assert {p.name for p in (data / "programs").iterdir()} >= {"fib.wv", "callback.wv"}
    assert (data / "lessons" / "README.md").is_file()
    assert Path(str(data / "main.wat")) == MAIN_WAT == data_path("main.wat")
    assert Path(str(data / "lessons")) == LESSONS_DIR


def test_every_user_of_the_data_reads_the_package_copy() -> None:
    from wasmviz.engine import machine
    from wasmviz.lessons import find, loader, shipped

    assert machine.MAIN_WAT == MAIN_WAT and loader.LESSONS_DIR == LESSONS_DIR
    lessons = shipped()
    assert len(lessons) >= 10 and all(p.parent == LESSONS_DIR for p in lessons)
    assert find("01") == lessons[0]
    assert sorted(PROGRAMS_DIR.glob("*.wv")), "no example programs shipped"


def test_no_module_looks_for_data_beside_the_package() -> None:
    # Paths like Path(__file__).parents[2] / "assets" worked only in a checkout (issue 11).
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute)
                    and node.value.attr == "parents" and "__file__" in ast.unparse(node.value)):
                offenders.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
            if isinstance(node, ast.Constant) and node.value in ("assets", "lessons/README.md"):
                offenders.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert not offenders, offenders


@pytest.mark.skipif(not PYPROJECT.is_file(), reason="no pyproject.toml beside the tests")
def test_pyproject_declares_every_data_file() -> None:
    config = tomllib.loads(PYPROJECT.read_text())["tool"]["setuptools"]
    patterns = config["package-data"]["wasmviz.data"]
    root = data_path()
    # setuptools globs each pattern in the package's folder: do the same and compare.
    declared = {p for pattern in patterns for p in root.glob(pattern) if p.is_file()}
    present = {p for p in root.rglob("*") if p.is_file() and p.suffix not in (".py", ".pyc")}
    assert present - declared == set(), "data files a wheel would leave out"
    assert {MAIN_WAT, LESSONS_DIR / "README.md"} <= declared
    assert set(LESSONS_DIR.glob("*.toml")) <= declared
