"""What a lesson is, once its file has been read: plain immutable data, no Qt, no wasmtime.

A lesson file is TOML (see wasmviz/data/lessons/README.md for the format and why); `loader.py` turns the
text into these objects and `checker.py` holds them against a real run.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

#: Highlight kinds a step may ask for, with what their argument is (for messages and docs).
HIGHLIGHT_KINDS: Mapping[str, str] = {
    "slot": "a table slot number, e.g. 'slot 6'",
    "module": "a generated module's number, e.g. 'module 1'",
    "memory": "an address and optional length, e.g. 'memory 0x1000 4'",
    "field": "a labelled memory field, e.g. 'field expr.code_slot'",
    "region": "a region of main memory: state, args, queue, functions, heap, stack, jit",
    "section": "a section of the module being generated, e.g. 'section code'",
    "arrow": "'arrow import' (the module's imports) or 'arrow call' (the call path)",
    "host": "the host (no argument)",
}
REGION_NAMES = ("state", "args", "queue", "free", "module_of", "functions", "heap", "stack",
                "jit")
#: The step kinds the engine records in each phase (data/lessons/README.md lists them for authors).
#: Only for messages: a kind the run actually has is always accepted.
KINDS: Mapping[str, tuple[str, ...]] = {
    "setup": ("instantiate", "define", "table.set"),
    "generate": ("begin", "header", "section", "complete", "reuse", "load", "trap"),
    "compile": ("compiled", "invalid"),
    # table.grow .. relocation: a start function's work, or main's reservation (pic).
    "link": ("linked", "link-error", "table.grow", "table.init", "relocation", "no-room",
             "reuse", "reserve", "effect"),
    "patch": ("table.grow", "table.set", "relocation", "patched", "trap", "jit-done", "effect"),
    "call": ("call", "callback", "tier-up", "note", "result", "trap", "store", "truncated",
             "slot-call", "slot-result", "slot-trap"),
}
LEVELS = ("beginner", "intermediate", "expert")
ARROW_NAMES = ("import", "call", "callback", "compile", "patch")

#: Expectation keys: each expectation is a table naming exactly one subject key below, plus
#: the qualifiers that key allows (checked against the real run by checker.py).
EXPECT_KEYS: Mapping[str, tuple[str, ...]] = {
    "slot": ("holds",),                 # {slot = 6, holds = "m1.expr"}  ("null" for empty)
    "table_size": (),                   # {table_size = 7}
    "field": ("from", "to", "equals"),  # {field = "expr.code_slot", from = 0, to = 6}
    "memory": ("bytes",),               # {memory = 0x20000, bytes = "00 61 73 6d"}
    "result": (),                       # {result = 52}
    "trap": (),                         # {trap = "BAD_SIGNATURE"} or {trap = "none"}
    "modules": (),                      # {modules = 2}: generated modules compiled so far
    "detail": (),                       # {detail = {via = "jit"}}: the step's recorded facts
    "caption_contains": (),             # {caption_contains = "table.grow"}
    "error_contains": (),               # {error_contains = "failed to compile"}
    "call_fuel_at_most": (),            # fuel of the top-level call this step ends
    "call_fuel_at_least": (),
    "memory_pages": (),                 # {memory_pages = 8}: main memory's size in pages
    "module": ("offset", "bytes"),      # {module = 1, offset = 0x4e, bytes = "04 6d"}
    "wat_contains": ("module",),        # {wat_contains = "table.grow"} (the latest module)
    "bindings": (),                     # {bindings = {"main.table" = "main.table"}}
    "fuel_ratio": ("at_least", "at_most"),  # {fuel_ratio = {from = .., to = ..}, at_least = 5}
}
#: Expectations that check wording, not state: a step may not rest on these alone.
WORDING_KEYS = ("caption_contains",)
#: The two fields of a fuel_ratio table: steps named like ``at``, optionally ``#n`` (nth).
FUEL_RATIO_FIELDS = ("from", "to")

#: What a required field is for, to say so when it is missing.
REQUIRED = {"title": "the lesson's title, e.g. title = \"Linking a module\"",
            "summary": "one sentence saying what the lesson shows",
            "at": "which step of the run this step shows, e.g. at = \"patch/table.set\"",
            "narration": "the text shown beside the diagram",
            "question": "the question the checkpoint asks"}

#: What each expectation key and qualifier holds (TYPE_NAMES says it in words).
EXPECT_TYPES: Mapping[str, str] = {
    "slot": "index", "holds": "text", "table_size": "index", "field": "text", "from": "int",
    "to": "int", "equals": "int", "memory": "index", "bytes": "text", "result": "int",
    "trap": "text", "modules": "index", "detail": "table", "caption_contains": "text",
    "error_contains": "text", "call_fuel_at_most": "index", "call_fuel_at_least": "index",
    "memory_pages": "index", "module": "index", "offset": "index", "wat_contains": "text",
    "bindings": "table", "fuel_ratio": "table", "at_least": "number", "at_most": "number"}
TYPE_NAMES = {"int": "a whole number", "index": "a whole number from 0", "text": "text",
              "table": "a table such as {via = \"jit\"}",
              "number": "a number above 0, such as 5 or 1.5"}


def is_a(value: object, kind: str) -> bool:
    """Return whether ``value`` is what TYPE_NAMES[kind] says (true/false is not a number)."""
    if kind in ("int", "index"):
        return isinstance(value, int) and not isinstance(value, bool) and \
            (kind == "int" or value >= 0)
    if kind == "number":  # a ratio: finite and positive (nan and inf compare to nothing)
        return isinstance(value, (int, float)) and not isinstance(value, bool) and \
            0 < value < float("inf")
    return isinstance(value, str if kind == "text" else dict)


def type_name(value: object) -> str:
    """Return what ``value`` is, in a lesson author's words ('a list', 'true/false')."""
    if isinstance(value, (datetime.date, datetime.time)):  # TOML has dates and times
        return "a date or time"
    return {bool: "true/false", int: "a number", float: "a number", list: "a list",
            dict: "a table", str: "text"}.get(type(value), type(value).__name__)


@dataclass(frozen=True)
class Where:
    """A place in a lesson file, for messages: file, line (0 if unknown), lesson step (1-based)."""

    path: str
    line: int = 0
    step: int = 0

    def __str__(self) -> str:
        text = self.path + (f":{self.line}" if self.line else "")
        return text + (f": step {self.step}" if self.step else "")


class LessonError(Exception):
    """A lesson file is malformed or contradicts the run. ``str()`` says where and what."""

    def __init__(self, where: Where, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where
        self.message = message


@dataclass(frozen=True)
class Highlight:
    """Something the diagram and views should point at during a step."""

    kind: str
    #: The argument as written (a slot or module number, a name, an address) already parsed.
    target: Any = None
    length: int = 0
    text: str = ""
    #: The line of the ``highlight`` field, for messages (0 if unknown).
    line: int = 0


@dataclass(frozen=True)
class Expectation:
    """A fact the lesson claims about its step, checked against the run."""

    key: str
    value: Any
    qualifiers: Mapping[str, Any] = field(default_factory=dict)
    line: int = 0

    def describe(self) -> str:
        """Return the expectation as the author wrote it, e.g. ``slot = 6, holds = "m1.f"``."""
        # Addresses read best in hex, as authors write them.
        value = hex(self.value) if self.key == "memory" and isinstance(self.value, int) \
            else _written(self.value)
        parts = [f"{self.key} = {value}"]
        parts += [f"{k} = {hex(v) if k == 'offset' and isinstance(v, int) else _written(v)}"
                  for k, v in self.qualifiers.items()]
        return "{" + ", ".join(parts) + "}"


def _written(value: Any) -> str:
    """Return ``value`` much as a lesson writes it: tables as {key = value}, names with dots
    quoted ("main.table"), everything else as Python shows it."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k if str(k).isidentifier() else repr(k)} = {_written(v)}"
                               for k, v in value.items()) + "}"
    return repr(value)


@dataclass(frozen=True)
class Checkpoint:
    """A question answered in place: multiple choice (``choices``) or a typed answer."""

    question: str
    choices: tuple[str, ...] = ()
    #: For choices: the 1-based number of the right choice. For a typed answer: accepted texts.
    answer: int | tuple[str, ...] = 0
    right: str = ""
    wrong: str = ""

    @property
    def typed(self) -> bool:
        return not self.choices

    def is_right(self, reply: int | str) -> bool:
        """Return whether ``reply`` (a 1-based choice or typed text) is right."""
        if self.typed:
            return _normalise(str(reply)) in {_normalise(a) for a in self.answer}  # type: ignore[union-attr]
        return reply == self.answer


def _normalise(text: str) -> str:
    return " ".join(text.strip().lower().split())


@dataclass(frozen=True)
class LessonStep:
    """One screen of a lesson: narration shown beside one step of the trace."""

    number: int
    line: int
    #: "phase" or "phase/kind" (or "start" / "end") naming the trace step shown.
    at: str
    narration: str
    title: str = ""
    #: Which match of ``at`` in the run (1-based), counting only steps whose detail has ``where``.
    nth: int = 1
    where: Mapping[str, Any] = field(default_factory=dict)
    highlights: tuple[Highlight, ...] = ()
    expectations: tuple[Expectation, ...] = ()
    checkpoint: Checkpoint | None = None
    #: The line of the ``at`` field (0 if unknown), where a step the run lacks is reported.
    at_line: int = 0


@dataclass(frozen=True)
class Lesson:
    """A whole lesson file."""

    path: Path
    name: str
    title: str
    summary: str
    #: The scenario table as written (engine.scenario.Scenario.from_mapping builds it).
    scenario: Mapping[str, Any]
    steps: tuple[LessonStep, ...]
    level: str = ""
    #: Lines of the scenario's fields ("scenario" is its header), so a scenario that fails
    #: only when run can still be reported at the line to fix.
    lines: Mapping[str, int] = field(default_factory=dict)

    def where(self, step: LessonStep | None = None, line: int = 0) -> Where:
        if step is None:
            return Where(str(self.path), line)
        return Where(str(self.path), line or step.line, step.number)
