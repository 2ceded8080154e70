"""Holding a lesson against the real run: which trace step each lesson step shows, what its
highlights point at, and whether every expectation is true.

The app uses `resolve` to play a lesson; `wasmviz lessons check` uses `check`, which adds the
expectations. Both take a trace recorded by the engine: a lesson can never claim what wasmtime
did not do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..engine.frontend import SourceError, compile_program
from ..engine.options import EngineError
from ..engine.scenario import Scenario, ScenarioError, run
from ..engine.layout import FUNC_FIELDS, STATE_FIELDS
from ..engine.trace import PHASES, Trace
from . import evidence
from .evidence import call_fuel
from .loader import load
from .model import KINDS, Expectation, Highlight, Lesson, LessonError, LessonStep, Where


@dataclass(frozen=True)
class Resolved:
    """A lesson bound to a run: the trace, and for each lesson step its trace index and targets."""

    lesson: Lesson
    trace: Trace
    indices: tuple[int, ...]
    highlights: tuple[tuple[Highlight, ...], ...]
    errors: tuple[LessonError, ...] = field(default=())
    #: Numbers of the lesson steps whose ``at`` names no step of the run (or an earlier one
    #: than the step before): they are shown at the previous step's place.
    lost: frozenset[int] = frozenset()


def run_lesson(lesson: Lesson) -> Trace:
    """Run the lesson's scenario in wasmtime; LessonError if the scenario cannot run."""
    # Here, not with the module: the app reads lessons at start-up, the run comes later.
    import wasmtime  # noqa: PLC0415
    def at(field_name: str) -> Where:
        lines = lesson.lines
        return lesson.where(line=lines.get(field_name) or lines.get("scenario", 0))
    try:
        return run(Scenario.from_mapping(lesson.scenario))
    except SourceError as exc:
        name, what = _broken_source(lesson)
        raise LessonError(at(name), f"scenario: {what} does not compile: {exc}") from None
    except ScenarioError as exc:
        raise LessonError(at(exc.field or "scenario"), f"scenario: {exc}") from None
    except EngineError as exc:
        # Running out of fuel is the one engine error that a field (fuel) plainly causes.
        raise LessonError(at("fuel" if "OUT_OF_FUEL" in str(exc) else "scenario"),
                          f"scenario: {exc}") from None
    except (wasmtime.Trap, wasmtime.WasmtimeError) as exc:
        # The engine turns traps in calls into trace steps; one while it sets up (too little
        # fuel to instantiate or load) reaches here instead.
        message = str(exc).strip().splitlines()[-1].strip()
        raise LessonError(at("fuel"), f"scenario: the run stopped while setting up: {message}") \
            from None


def _broken_source(lesson: Lesson) -> tuple[str, str]:
    """Return (field, description) of the scenario text that does not compile."""
    source = lesson.scenario.get("source")
    if source is not None:
        try:
            compile_program(str(source))
        except SourceError:
            name = "source_file" if "source_file" in lesson.lines else "source"
            return name, ("the program in source_file" if name == "source_file" else
                          "the program in source")
    exprs = lesson.scenario.get("exprs", ())
    for i, expr in enumerate(exprs, start=1):
        try:
            compile_program(str(expr))
        except SourceError:
            return "exprs", f"expression {i} of exprs ({str(expr)!r})" if len(exprs) > 1 \
                else f"the expression {str(expr)!r}"
    return "scenario", "the scenario's source"


def resolve(lesson: Lesson, trace: Trace) -> Resolved:
    """Find each lesson step's trace step and resolve its highlights; collect every error."""
    indices: list[int] = []
    highlights: list[tuple[Highlight, ...]] = []
    errors: list[LessonError] = []
    lost: set[int] = set()
    last = 0
    for step in lesson.steps:
        try:
            index = locate(lesson, step, trace)
            if index < last:
                raise LessonError(lesson.where(step, step.at_line),
                                  f"at = {step.at!r} is trace step {index}, but the step "
                                  f"before shows trace step {last}: steps must follow the run "
                                  "forward")
        except LessonError as exc:
            errors.append(exc)
            lost.add(step.number)
            index = last
        last = index
        indices.append(index)
        resolved = []
        # A lost step's highlights would be checked against another step's state: skip them.
        for h in () if step.number in lost else step.highlights:
            try:
                resolved.append(resolve_highlight(lesson, step, h, trace, index))
            except LessonError as exc:
                errors.append(exc)
        highlights.append(tuple(resolved))
    return Resolved(lesson, trace, tuple(indices), tuple(highlights), tuple(errors),
                    frozenset(lost))


def locate(lesson: Lesson, step: LessonStep, trace: Trace) -> int:
    """Return the index of the trace step ``step.at`` names; LessonError if there is none."""
    where = lesson.where(step, step.at_line)
    if not len(trace):
        raise LessonError(where, "the run recorded no steps")
    if step.at in ("start", "end"):
        return 0 if step.at == "start" else len(trace) - 1
    phase, _, kind = step.at.partition("/")
    if phase not in PHASES:
        raise LessonError(where, f"unknown phase {phase!r} in at = {step.at!r}; one of: "
                          f"{', '.join(PHASES)} (or start, end)")
    in_phase = [s for s in trace if s.phase == phase]
    if kind and not any(s.kind == kind for s in in_phase):
        kinds = sorted({s.kind for s in in_phase}) or ["none"]
        if kind not in KINDS.get(phase, ()):
            raise LessonError(where, f"unknown kind {kind!r} in at = {step.at!r}; "
                              f"{phase} kinds are: {', '.join(KINDS.get(phase, ()))}")
        raise LessonError(where, f"no {step.at!r} step in this run; its {phase} "
                          f"steps are: {', '.join(kinds)}")
    matches = [s.index for s in in_phase if (not kind or s.kind == kind)
               and all(s.detail.get(k) == v for k, v in step.where.items())]
    if len(matches) < step.nth:
        what = step.at + (f" where {dict(step.where)}" if step.where else "")
        raise LessonError(where, f"nth = {step.nth} asks for match {step.nth} of "
                          f"{what!r}; the run has {len(matches)}")
    return matches[step.nth - 1]


def resolve_highlight(lesson: Lesson, step: LessonStep, h: Highlight, trace: Trace,
                      index: int) -> Highlight:
    """Check ``h`` names something that exists at trace step ``index``; fields become memory."""
    s = trace[index]
    where = lesson.where(step, h.line)
    if h.kind == "slot" and h.target >= len(s.table):
        raise LessonError(where, f"highlight {h.text!r}: the table has {len(s.table)} slots "
                          f"(0 to {len(s.table) - 1}) at trace step {index}")
    if h.kind == "module" and h.target not in modules_so_far(trace, index):
        have = sorted(modules_so_far(trace, index)) or "none yet"
        raise LessonError(where, f"highlight {h.text!r}: no module {h.target} at trace step "
                          f"{index} (modules: {have})")
    if h.kind == "memory" and h.target + h.length > s.memory_pages * 65536:
        raise LessonError(where, f"highlight {h.text!r}: memory is {s.memory_pages} pages "
                          f"(0x{s.memory_pages * 65536:x} bytes)")
    if h.kind == "field":
        address, length = field_address(trace, h.target)
        if address is None:
            raise LessonError(where, f"highlight {h.text!r}: the run never writes a field "
                              f"{h.target!r}; its fields are: {known_fields(trace)}")
        return Highlight("memory", address, length, h.text, h.line)
    if h.kind == "section":
        names = [sec.name for st in trace.steps[: index + 1] if st.module for sec in
                 st.module.sections] + [st.detail.get("section") for st in
                                        trace.steps[: index + 1]]
        if h.target not in names:
            raise LessonError(where, f"highlight {h.text!r}: no {h.target} section has been "
                              f"written by trace step {index}")
    return h


def modules_so_far(trace: Trace, index: int) -> set[int]:
    return {s.module.number for s in trace.steps[: index + 1] if s.module is not None}


def field_address(trace: Trace, name: str) -> tuple[int | None, int]:
    """Return (address, length) of the memory change labelled ``name`` anywhere in the run.

    A field keeps its address for the whole run, so a lesson may point at it before it first
    changes (the code slot a relocation is about to fill).
    """
    address, length = _layout_field(trace, name)
    if address is not None:
        return address, length
    for s in trace.steps:
        for c in s.memory_changes:
            if c.label == name:
                return c.address, len(c.new)
    return None, 0


def _layout_field(trace: Trace, name: str) -> tuple[int | None, int]:
    """Find a state or function-object field from the layout, written or not (a code slot
    that is still zero has no change to carry its label).

    Function objects are allocated in definition order, which the define steps record.
    """
    owner, _, field_name = name.partition(".")
    layout = trace.layout
    if owner == "state" and field_name in STATE_FIELDS:
        return layout.state_field(field_name), 4
    if field_name not in FUNC_FIELDS or not trace.steps:
        return None, 0
    # The engine's records say where each function object is (the last step has them all).
    record = trace[-1].function(owner)
    if record is None:
        return None, 0
    return record.address + 4 * FUNC_FIELDS.index(field_name), 4


def record_value(trace: Trace, index: int, name: str) -> tuple[bool, int]:
    """(True, value) of the state or function-object field ``name`` at step ``index``, from
    the step's records; (False, 0) for any other field (read from memory instead).

    A function not defined yet at ``index`` has no object: its fields read 0, as memory does.
    """
    owner, _, field_name = name.partition(".")
    step = trace[index]
    if step.vm is None:
        return False, 0  # a hand-made step without records
    if owner == "state" and field_name in STATE_FIELDS:
        return True, step.vm.field(field_name)
    if field_name in FUNC_FIELDS and trace[-1].function(owner) is not None:
        record = step.function(owner)
        return True, record.field(field_name) if record is not None else 0
    return False, 0


def known_fields(trace: Trace, limit: int = 8) -> str:
    names = sorted({c.label for s in trace.steps for c in s.memory_changes
                    if c.label and "." in c.label})
    return ", ".join(names[:limit]) + (", ..." if len(names) > limit else "") or "none"


# --------------------------------------------------------------------------- expectations
def check(lesson: Lesson, trace: Trace | None = None) -> list[LessonError]:
    """Return every way ``lesson`` disagrees with its run (empty when it is all true)."""
    try:
        trace = run_lesson(lesson) if trace is None else trace
    except LessonError as exc:
        return [exc]
    return verify(lesson, trace)[1]


def verify(lesson: Lesson, trace: Trace) -> tuple[Resolved, list[LessonError]]:
    """Bind ``lesson`` to ``trace`` and check every expectation: (resolved, all errors)."""
    resolved = resolve(lesson, trace)
    errors = list(resolved.errors)
    for step, index in zip(lesson.steps, resolved.indices):
        if step.number in resolved.lost:
            continue  # its place is already reported; checking another step's facts misleads
        for e in step.expectations:
            found = _found(e, trace, index)
            if found is not None:
                errors.append(LessonError(lesson.where(step, e.line),
                                          f"expected {e.describe()} at trace step {index} "
                                          f"({trace[index].phase}/{trace[index].kind}); "
                                          f"found {found}"))
    return resolved, errors


def check_file(path: Path) -> list[LessonError]:
    """Load and check the lesson at ``path``."""
    try:
        lesson = load(path)
    except LessonError as exc:
        return [exc]
    return check(lesson)


def _found(e: Expectation, trace: Trace, index: int) -> str | None:
    """Return what the run shows instead of ``e``, or None when ``e`` holds."""
    s = trace[index]
    q = e.qualifiers
    if e.key == "slot":
        if not isinstance(e.value, int) or e.value >= len(s.table) or e.value < 0:
            return f"no slot {e.value!r}: the table has {len(s.table)} slots"
        label = s.table[e.value].label
        return None if label == q["holds"] else f"slot {e.value} holds {label}"
    if e.key == "table_size":
        return None if len(s.table) == e.value else f"{len(s.table)} slots"
    if e.key == "result":
        return None if s.result == e.value else _maybe(s.result, "no result at this step")
    if e.key == "trap":
        code = s.trap.code if s.trap else "NONE"
        return None if code == str(e.value).upper() else \
            f"trap {code}" if s.trap else "no trap"
    if e.key == "modules":
        n = len(modules_so_far(trace, index))
        return None if n == e.value else f"{n} modules"
    if e.key == "detail":
        if not isinstance(e.value, dict):
            return "detail must be a table such as {via = \"jit\"}"
        wrong = {k: s.detail.get(k) for k, v in e.value.items() if s.detail.get(k) != v}
        return None if not wrong else f"detail {wrong}"
    if e.key in ("caption_contains", "error_contains"):
        text = s.caption if e.key == "caption_contains" else (s.error or "")
        return None if str(e.value).lower() in text.lower() else repr(_short(text))
    if e.key.startswith("call_fuel"):
        fuel = call_fuel(trace, index)
        if fuel is None:
            return "this step does not end a call"
        ok = fuel <= e.value if e.key.endswith("most") else fuel >= e.value
        return None if ok else f"{fuel:,} fuel"
    if e.key == "field":
        return _field(e, trace, index)
    if e.key == "memory":
        return _memory(e, trace, index)
    return evidence.found(e, trace, index)


def _field(e: Expectation, trace: Trace, index: int) -> str | None:
    q = e.qualifiers
    address, length = field_address(trace, str(e.value))
    if address is None:
        return f"the run never writes a field {e.value!r}; its fields are: {known_fields(trace)}"
    known, now = record_value(trace, index, str(e.value))
    if known:
        if "equals" in q and now != q["equals"]:
            return f"{e.value} = {now}"
        if "from" in q or "to" in q:
            old = record_value(trace, index - 1, str(e.value))[1] if index > 0 else 0
            if old == now:
                return f"{e.value} did not change in this step"
            if ("from" in q and old != q["from"]) or ("to" in q and now != q["to"]):
                return f"{e.value} changed from {old} to {now}"
        return None
    if "equals" in q:
        now = _int(trace.memory_at(index, address, length))
        if now != q["equals"]:
            return f"{e.value} = {now}"
    if "from" in q or "to" in q:
        # The same address field_address found: one way of naming a field, not two.
        change = next((c for c in trace[index].memory_changes
                       if c.address == address and len(c.new) == length), None)
        if change is None:
            return f"{e.value} did not change in this step"
        old, new = _int(change.old), _int(change.new)
        if ("from" in q and old != q["from"]) or ("to" in q and new != q["to"]):
            return f"{e.value} changed from {old} to {new}"
    return None


def _memory(e: Expectation, trace: Trace, index: int) -> str | None:
    try:
        want = bytes.fromhex(str(e.qualifiers["bytes"]))
    except ValueError:
        return f"bytes {e.qualifiers['bytes']!r} is not hex such as \"00 61 73 6d\""
    if not isinstance(e.value, int):
        return "memory needs an address"
    # Range-checked like a memory highlight: bytes beyond the recorded memory do not exist,
    # they must not read as zeros and pass (review D13).
    size = trace[index].memory_pages * 65536
    if not 0 <= e.value <= size - len(want):
        return (f"no such bytes: {e.value:#x}..{e.value + len(want):#x} is beyond the memory, "
                f"which is {trace[index].memory_pages} pages ({size:#x} bytes) at this step")
    got = trace.memory_at(index, e.value, len(want))
    return None if got == want else f"bytes {got.hex(' ')}"


def _int(data: bytes) -> int:
    return int.from_bytes(data, "little", signed=True)


def _maybe(value: Any, none: str) -> str:
    return none if value is None else repr(value)


def _short(text: str, n: int = 80) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"
