"""`wasmviz lessons check|list`: the checker on the command line (no Qt)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .checker import check_file
from .loader import find, load, shipped
from .model import LessonError


def cmd_lessons(args: argparse.Namespace) -> int:
    if args.lessons_command == "list":
        return _list()
    files: list[Path] = []
    for arg in args.files:
        # A folder stands for the lessons in it (e.g. a course someone shared).
        files += sorted(arg.glob("*.toml")) if arg.is_dir() else [arg]
    return _check(files if args.files else shipped())


def _check(files: list[Path]) -> int:
    """Print one line per lesson (and one per problem); return 0 only if all pass."""
    if not files:
        print("wasmviz: no lesson files to check", file=sys.stderr)
        return 1
    failed = 0
    for arg in files:
        path, errors = _errors(arg)
        if errors:
            failed += 1
            print(f"FAIL {path}")
            for e in errors:
                print(f"  {e}")
        else:
            print(f"ok   {path}")
    print(f"\n{len(files) - failed} of {len(files)} lessons pass")
    return 1 if failed else 0


def _errors(arg: Path) -> tuple[Path, list[LessonError | str]]:
    """Return the lesson file ``arg`` names and its problems."""
    path = arg
    try:
        # A shipped lesson may be named as in `wasmviz --lesson`: 03, linking, 03-linking.
        path = arg if arg.exists() else find(str(arg))
        return path, list(check_file(path))
    except LessonError as exc:
        return path, [exc]
    except Exception as exc:  # noqa: BLE001 - one lesson must not stop the others being checked
        return path, [f"{path}: the checker itself failed (a bug in wasmviz): {exc!r}"]


def _list() -> int:
    for path in shipped():
        try:
            lesson = load(path)
            print(f"{path.stem:28} {lesson.title}  ({len(lesson.steps)} steps)")
        except LessonError as exc:
            print(f"{path.stem:28} BROKEN: {exc.message}")
    return 0
