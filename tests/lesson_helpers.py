"""What the lesson tests share: the pinned example lesson, the usual run, small builders."""

from __future__ import annotations

import functools
from pathlib import Path

from wasmviz.engine.scenario import Scenario, run
from wasmviz.engine.trace import Trace
from wasmviz.lessons import Lesson, LessonError, check_file, loads

CORPUS = Path(__file__).parent / "lessons_bad"
#: The example of wasmviz/data/lessons/README.md (the shipped lessons change; this one is pinned).
GOOD_TEXT = """\
title = "Writing a module into memory"
summary = "The JIT writes a whole module, section by section, into linear memory."
level = "beginner"

[scenario]
exprs = ["x * x + 3"]
args = [7]

[[step]]
at = "generate/begin"
title = "A batch begins"
narration = \"\"\"
The function `expr` is hot, so the main module's **template JIT** starts a batch.
\"\"\"
highlight = ["region jit"]
expect = [{detail = {address = 0x20000}}]

[[step]]
at = "generate/header"
narration = "First the 8-byte header: the magic bytes `\\\\0asm` and version 1."
highlight = ["memory 0x20000 8"]
expect = [{memory = 0x20000, bytes = "00 61 73 6d 01 00 00 00"}]

[[step]]
at = "generate/section"
where = {section = "code"}
narration = "The code section holds each function's body."
highlight = ["section code"]

[step.checkpoint]
question = "Who wrote these bytes into memory?"
choices = ["The host (Python)", "The main module, running in wasmtime", "wasmtime's compiler"]
answer = 2
right = "Yes: the JIT is WebAssembly code writing into its own linear memory."
wrong = "Look again: the host did not write these bytes."
"""

HEAD = 'title = "T"\nsummary = "S"\n\n[scenario]\nexprs = ["x * x + 3"]\nargs = [7]\n'


@functools.cache
def corpus_errors(name: str) -> tuple[LessonError, ...]:
    return tuple(check_file(CORPUS / f"{name}.toml"))


@functools.cache
def usual_trace() -> Trace:
    """The run most tests hold lessons against: x * x + 3 with x = 7 (result 52)."""
    return run(Scenario(exprs=("x * x + 3",), args=(7,)))


@functools.cache
def fault_trace(fault: str) -> Trace:
    return run(Scenario.for_fault(fault), disassemble=False)


def lesson_of(text: str, tmp: Path | None = None) -> Lesson:
    return loads(text, (tmp or Path("/nonexistent")) / "lesson.toml")


def step(at: str, extra: str = "") -> str:
    return f'\n[[step]]\nat = "{at}"\nnarration = "n"\n{extra}'

