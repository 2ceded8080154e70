"""The lesson checker: each expectation held against the real run, faults, bindings, the
phases a lesson follows, and what it says when a step is lost or a scenario cannot run."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from wasmviz.engine.scenario import Scenario, run
from wasmviz.engine.trace import Trace
from wasmviz.lessons import LessonError, check, resolve

from lesson_helpers import HEAD, fault_trace, lesson_of, step, usual_trace


# --------------------------------------------------------------------------- the checker
@pytest.mark.parametrize("at, expect, holds", [
    ("patch/table.set", '{slot = 6, holds = "m1.expr"}', True),
    ("patch/table.grow", '{slot = 6, holds = "null"}', True),
    ("patch/table.grow", '{slot = 6, holds = "m1.expr"}', False),
    ("patch/table.grow", "{table_size = 7}", True),
    ("start", "{table_size = 7}", False),
    ("patch/relocation", '{field = "expr.code_slot", from = 0, to = 6}', True),
    ("patch/relocation", '{field = "expr.code_slot", to = 5}', False),
    ("end", '{field = "expr.code_slot", equals = 6}', True),
    ("patch/table.set", '{field = "expr.code_slot", from = 0}', False),  # not changed here
    ("patch/table.set", '{field = "expr.code_slot", equals = 0}', True),  # not yet written
    ("end", '{field = "fib.code_slot", equals = 0}', False),  # no such field
    ("generate/header", '{memory = 0x20000, bytes = "00 61 73 6d"}', True),
    ("start", '{memory = 0x20000, bytes = "00 61 73 6d"}', False),
    ("call/result", "{result = 52}", True),
    ("call/call", "{result = 52}", False),
    ("call/result", '{trap = "none"}', True),
    ("call/result", '{trap = "OUT_OF_FUEL"}', False),
    ("link/linked", "{modules = 1}", True),
    ("generate/begin", "{modules = 1}", False),
    ("generate/begin", "{detail = {address = 0x20000}}", True),
    ("generate/begin", "{detail = {address = 0x30000}}", False),
    # Wording may accompany evidence of state, never stand alone (tests/lessons_bad/caption-only).
    ("patch/table.grow", '{table_size = 7}, {caption_contains = "TABLE.GROW"}', True),
    ("patch/table.grow", '{table_size = 7}, {caption_contains = "table.set"}', False),
    ("call/result", '{error_contains = "failed"}', False),
    ("call/result", "{call_fuel_at_most = 100000}", True),
    ("call/result", "{call_fuel_at_least = 1}", True),
    ("call/result", "{call_fuel_at_most = 1}", False),
    ("call/call", "{call_fuel_at_least = 0}", False),  # the call has not ended yet
    ("link/linked", "{memory_pages = 8}", True),
    ("start", "{memory_pages = 7}", False),
    # A module's own bytes, wherever the run is: before the JIT writes them, and after.
    ("generate/begin", '{module = 1, offset = 0, bytes = "00 61 73 6d 01"}', True),
    ("end", '{module = 1, offset = 0x14, bytes = "60 02 7f 7f 01 7f"}', True),
    ("end", '{module = 1, offset = 0x14, bytes = "60 01"}', False),
    ("end", '{module = 1, offset = 250, bytes = "0b 0b"}', False),  # past its 251 bytes
    ("end", '{module = 2, offset = 0, bytes = "00"}', False),  # no module 2
    ("compile/compiled", '{wat_contains = "(export  \\"patch\\"   (func 2))"}', True),
    ("compile/compiled", '{wat_contains = "table.grow", module = 1}', True),
    ("compile/compiled", '{wat_contains = "call_indirect"}', False),
    ("generate/begin", '{wat_contains = "module"}', False),  # no module generated yet
    ("end", '{fuel_ratio = {from = "call/result", to = "call/result#1"}, at_least = 1, '
            'at_most = 1}', True),
    ("end", '{fuel_ratio = {from = "call/result", to = "call/result"}, at_least = 1.5}', False),
    ("end", '{fuel_ratio = {from = "call/result#2", to = "call/result"}, at_least = 1}', False),
    ("end", '{fuel_ratio = {from = "patch/table.grow", to = "call/result"}, at_most = 9}',
     False),  # a grow ends no call
])
def test_each_expectation_is_held_against_the_run(at: str, expect: str, holds: bool) -> None:
    lesson = lesson_of(HEAD + step(at, f"expect = [{expect}]\n"))
    errors = check(lesson, usual_trace())
    assert errors == [] if holds else len(errors) == 1, [str(e) for e in errors]
    if not holds:
        assert errors[0].message.startswith("expected {") and "; found " in errors[0].message
        assert errors[0].where.line == 11 and errors[0].where.step == 1


@pytest.mark.parametrize("fault, at, true, false", [
    ("invalid-module", "compile/invalid", '{error_contains = "failed to compile"}',
     '{error_contains = "linked"}'),
    ("link-mismatch", "link/link-error", '{error_contains = "incompatible import"}',
     '{trap = "LINK_ERROR"}'),  # a link error is not a trap
    ("null-slot", "call/trap", '{trap = "indirect_call_to_null"}', '{trap = "none"}'),
])
def test_expectations_about_faults(fault: str, at: str, true: str, false: str) -> None:
    trace = fault_trace(fault)
    assert check(lesson_of(HEAD + step(at, f"expect = [{true}]\n")), trace) == []
    assert len(check(lesson_of(HEAD + step(at, f"expect = [{false}]\n")), trace)) == 1


def bound(trace: Trace) -> Trace:
    """``trace`` with its link step carrying detail["bindings"] in the shape the engine
    documents (the engine records it from the instance's imports; this pins the checker)."""
    bindings = [{"import": "host.note", "kind": "func", "provider": "host.note"},
                {"import": "main.table", "kind": "table", "provider": "main.table"},
                {"import": "main.memory", "kind": "memory", "provider": "main.memory"}]
    steps = tuple(dataclasses.replace(s, detail={**s.detail, "bindings": bindings})
                  if s.kind == "linked" else s for s in trace.steps)
    return dataclasses.replace(trace, steps=steps)


@pytest.mark.parametrize("expect, found", [
    ('{bindings = {"main.table" = "main.table", "main.memory" = "main.memory"}}', None),
    ('{bindings = {"main.table" = "other.table"}}', "no binding main.table -> other.table; "
                                                     "bound: host.note -> host.note, "),
    ('{bindings = {"main.global" = "main.global"}}', "no binding main.global -> main.global"),
])
def test_bindings_are_held_against_the_link_step(expect: str, found: str | None) -> None:
    lesson = lesson_of(HEAD + step("link/linked", f"expect = [{expect}]\n"))
    errors = check(lesson, bound(usual_trace()))
    if found is None:
        assert errors == []
    else:
        [error] = errors
        assert "(link/linked); found " + found in error.message


@pytest.mark.parametrize("expect, message", [
    ("{bindings = {}}", "bindings is empty"),
    ('{bindings = {"main.table" = 6}}', "the provider of 'main.table' must be text"),
    ("{wat_contains = \" \"}", "wat_contains is empty"),
    ('{module = 1, offset = 0, bytes = "zz"}', "bytes (in the expectation on 'module') must be "
                                               "hex"),
    ('{module = 1, offset = -1, bytes = "00"}', "offset (in the expectation on 'module') must "
                                                "be a whole number from 0"),
    ('{fuel_ratio = {from = "call/result"}, at_least = 2}', "fuel_ratio takes exactly from, to"),
    ('{fuel_ratio = {from = "call/result#0", to = "call/result"}, at_least = 2}',
     "from must name a step that ends a call"),
    ('{fuel_ratio = {from = "call/result", to = "call/result"}, at_least = 0}',
     "at_least (in the expectation on 'fuel_ratio') must be a number above 0"),
    ('{fuel_ratio = {from = "call/result", to = "call/result"}, at_most = nan}',
     "at_most (in the expectation on 'fuel_ratio') must be a number above 0"),
    ('{memory_pages = "8"}', "memory_pages must be a whole number from 0"),
])
def test_new_expectation_kinds_are_validated(expect: str, message: str) -> None:
    with pytest.raises(LessonError, match=re.escape(message)):
        lesson_of(HEAD + step("end", f"expect = [{expect}]\n"))


def test_a_module_claim_survives_the_next_module() -> None:
    """Module 1's bytes, checked after module 2 overwrote the JIT buffer: memory disagrees,
    the module's own recorded bytes do not."""
    trace = run(Scenario(exprs=("x * x + 3", "x + 1"), args=(7,)), disassemble=False)
    assert trace.memory_at(len(trace) - 1, 0x20085, 5) == b"expr2"  # module 1's "expr1"
    lesson = lesson_of(HEAD + step("end", 'expect = [{module = 1, offset = 0x85, '
                                          'bytes = "65 78 70 72 31"}, {modules = 2}]\n'))
    assert check(lesson, trace) == []


def test_resolve_follows_the_phases() -> None:
    lesson = lesson_of(HEAD + step("start", 'highlight = ["field expr.code_slot"]\n')
                       + step("generate") + step("generate/section", "nth = 2\n")
                       + step("generate/section", 'where = {section = "code"}\n')
                       + step("patch") + step("patch/table.set")
                       + step("call/result", 'highlight = ["field expr.code_slot", "slot 6"]\n')
                       + step("end"))
    trace = usual_trace()
    resolved = resolve(lesson, trace)
    assert resolved.errors == () and resolved.lost == frozenset()
    assert list(resolved.indices) == sorted(resolved.indices)
    assert resolved.indices[0] == 0 and resolved.indices[-1] == len(trace) - 1
    for s, i in zip(lesson.steps[1:-1], resolved.indices[1:-1]):
        phase, _, kind = s.at.partition("/")
        assert trace[i].phase == phase and (not kind or trace[i].kind == kind)
        assert all(trace[i].detail.get(k) == v for k, v in s.where.items())
    assert resolved.indices[2] == resolved.indices[1] + 3  # begin, header, two sections
    assert trace[resolved.indices[3]].detail["section"] == "code"
    field, slot = resolved.highlights[6]
    assert (field.kind, field.target, field.length) == ("memory", 0x1000, 4)  # expr.code_slot
    [early] = resolved.highlights[0]  # a field can be pointed at before it first changes
    assert (early.kind, early.target, early.length) == ("memory", 0x1000, 4)
    assert (slot.kind, slot.target) == ("slot", 6)


def test_a_lost_step_is_reported_once_and_skipped() -> None:
    lesson = lesson_of(HEAD + step("patch/trap", 'highlight = ["slot 99"]\n'
                                   'expect = [{result = 1}]\n') + step("end"))
    resolved = resolve(lesson, usual_trace())
    assert resolved.lost == {1} and len(resolved.errors) == 1
    assert "no 'patch/trap' step in this run; its patch steps are: jit-done, patched, " \
           "relocation, table.grow, table.set" in resolved.errors[0].message
    assert len(check(lesson, usual_trace())) == 1


def test_the_minimum_fuel_runs_a_lesson_through_its_first_jit_run() -> None:
    # Review D15: fuel 1,000 used to stop main while it wrote its first module ("the JIT
    # trapped: OUT_OF_FUEL", reported at this line). Set-up now has its own budget and the
    # lesson's fuel meters its calls, so the documented minimum runs this lesson through.
    lesson = lesson_of(HEAD.replace("args = [7]", "args = [7]\nfuel = 1_000") + step("end"))
    assert check(lesson) == []


def test_a_scenario_that_cannot_run_is_reported_at_its_line(tmp_path: Path) -> None:
    (tmp_path / "prog.wv").write_text("def f(n) =\n  n +\n")
    lesson = lesson_of(HEAD.replace('exprs = ["x * x + 3"]', 'source_file = "prog.wv"\ncall = "f"')
                       + step("end"), tmp_path)
    [error] = check(lesson)
    assert error.where.line == 5
    assert error.message == ("scenario: the program in source_file does not compile: line 2, "
                             "column 6: unterminated expression: expected a value after '+'")

