"""The three link styles (patch, start, pic): same results, each linked its own way.

Every style runs for real in wasmtime; each test reads what happened from the recorded trace
(steps, their table snapshots and memory changes) or from the module bytes main wrote, as
wasm-tools prints them. Nothing here is told what a style does: it checks that it did it.
"""

from __future__ import annotations

import json
import struct
from typing import Any

import pytest
import wasmtime
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from strategies import program_and_args
from wasmviz.cli import main as cli_main
from wasmviz.data import PROGRAMS_DIR
from wasmviz.engine import FAULTS, Listener, Machine, Scenario, Trace, compile_program, run
from wasmviz.engine.disasm import dump, print_wat
from wasmviz.engine.instantiate import read_dylink
from wasmviz.engine.reference import ReferenceTrap, evaluate
from wasmviz.engine.scenario import LINKS, MIN_FUEL, ScenarioError

STYLES = ("patch", "start", "pic")
EXPR = Scenario(exprs=("x * x + 3",), args=(7,))
EVEN_ODD = (PROGRAMS_DIR / "even_odd.wv").read_text()
#: (program, function, args, settings): a batch of one recursive function, a batch of two
#: mutually recursive ones, and JIT code calling back into the interpreter.
PROGRAMS = {
    "fib": ((PROGRAMS_DIR / "fib.wv").read_text(), "fib", (20,),
            {"threshold": 50, "window": 50}),
    "even_odd": (EVEN_ODD, "even", (500,), {"threshold": 50}),
    "even_odd_jit_now": (EVEN_ODD, "odd", (41,), {"jit_now": True, "direct_calls": False}),
    "callback": ((PROGRAMS_DIR / "callback.wv").read_text(), "sum", (10, 0),
                 {"threshold": 10, "repeat": 12}),
}


def styled(scenario: Scenario, link: str) -> Trace:
    return run(Scenario(**{**scenario.__dict__, "link": link}), disassemble=False)


def outcome(trace: Trace) -> Any:
    return trace.trap.code if trace.trap else trace.result


def kinds(trace: Trace, phase: str | None = None) -> list[str]:
    return [s.kind for s in trace.steps if phase is None or s.phase == phase]


def module_bytes(trace: Trace, n: int = 1) -> bytes:
    step = next(s for s in trace.steps if s.kind == "compiled" and s.detail["module"] == n)
    assert step.module is not None
    return step.module.data


def index(trace: Trace, phase: str, kind: str) -> int:
    return next(s.index for s in trace.steps if s.phase == phase and s.kind == kind)


# --------------------------------------------------------------------------- results agree
@pytest.mark.parametrize("link", STYLES)
def test_expression_runs_through_a_generated_slot(link: str) -> None:
    trace = styled(EXPR, link)
    assert trace.result == 52 and trace.trap is None
    result = trace.steps[-1]
    assert result.detail["tier"] == "jit" and result.detail["holds"] == "m1.expr"
    slot = result.detail["slot"]
    # The code slot in memory was written by a relocation step, with the slot the call used.
    reloc = next(s for s in trace.steps if s.kind == "relocation")
    change = next(c for c in reloc.memory_changes if c.label == "expr.code_slot")
    assert struct.unpack("<i", change.new)[0] == slot == reloc.detail["value"]
    assert reloc.table[slot].label == "m1.expr"


@pytest.mark.parametrize("name", PROGRAMS)
def test_programs_give_the_same_result_in_every_style(name: str) -> None:
    source, call, args, options = PROGRAMS[name]
    scenario = Scenario(source=source, call=call, args=args, **options)
    traces = {link: styled(scenario, link) for link in STYLES}
    want = evaluate(compile_program(source), call, args)
    for link, trace in traces.items():
        assert trace.result == want and trace.trap is None, link
        assert trace.steps[-1].detail["tier"] in ("jit", "tiered-up"), link
        batches = [s.detail["functions"] for s in trace.steps if s.kind == "begin"]
        assert batches == [s.detail["functions"] for s in traces["patch"].steps
                           if s.kind == "begin"], link
    if name.startswith("even_odd"):  # both in ONE module, both installed by its link
        for link, trace in traces.items():
            done = next(s for s in trace.steps if s.kind == "jit-done")
            assert sorted(done.detail["installed"]) == ["even", "odd"], link
    if name == "callback":  # JIT code called back into the interpreter, in every style
        for link, trace in traces.items():
            assert any(s.detail.get("entry") == "main.enter1" for s in trace.steps
                       if s.kind == "callback"), link


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(program_and_args())
def test_random_programs_agree_with_the_reference_in_every_style(
        case: tuple[str, str, tuple[int, ...]]) -> None:
    source, name, args = case
    try:
        want: Any = evaluate(compile_program(source), name, args)
    except ReferenceTrap as trap:
        want = trap.code
    for link in STYLES:
        m = Machine(record=False, link=link)
        m.load(source)
        assert m.jit_now() == 0, link
        value, trap = m.call(name, args)
        assert (trap.code if trap else value) == want, link


@pytest.mark.parametrize("fault", FAULTS)
def test_every_fault_ends_the_same_way_in_every_style(fault: str) -> None:
    traces = {link: run(Scenario.for_fault(fault, link=link), disassemble=False)
              for link in STYLES}
    outcomes = {link: outcome(t) for link, t in traces.items()}
    assert len(set(outcomes.values())) == 1, outcomes
    statuses = {link: next(s.detail["status"] for s in t.steps if s.kind == "jit-done")
                for link, t in traces.items()}
    if fault == "table-limit":
        # patch traps after instantiation (3); a start function traps inside it (2); main
        # itself finds no room and never instantiates (4).
        assert statuses == {"patch": 3, "start": 2, "pic": 4}
        assert "compiled" not in kinds(traces["pic"])
        assert "no-room" in kinds(traces["pic"], "link")
    elif fault in ("invalid-module",):
        assert set(statuses.values()) == {1}
    elif fault == "link-mismatch":
        assert set(statuses.values()) == {2}
    else:
        assert set(statuses.values()) == {0}
    if fault == "null-slot":  # nothing placed in the slot, in each style's own way
        assert "table.set" not in kinds(traces["patch"])
        assert "table.init" not in kinds(traces["start"])
        linked = traces["pic"].steps[index(traces["pic"], "link", "linked")]
        assert linked.detail["placed"] == []
        for trace in traces.values():
            slot = trace.steps[-1].detail["slot"]
            assert trace.steps[-1].table[slot].kind == "null"


@pytest.mark.parametrize("link", STYLES)
def test_every_claim_holds_against_the_recorded_state(
        link: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """tests/test_captions_truth.py's checks (each step's claims against its own table and
    memory), over every program and fault, in each style."""
    from test_captions_truth import check_trace  # noqa: PLC0415 - a test module's helper

    cases: list[tuple[Scenario, str | None]] = [(EXPR, None)]
    cases += [(Scenario(source=src, call=call, args=args, **options), None)
              for src, call, args, options in PROGRAMS.values()]
    cases += [(Scenario.for_fault(fault), fault) for fault in FAULTS]
    traces = [(styled(scenario, link), fault) for scenario, fault in cases]
    # The checker knows the providers of patch and start; pic's bases are two more.
    monkeypatch.setattr(Machine, "PROVIDERS", Machine.PIC_PROVIDERS)
    for trace, fault in traces:
        check_trace(trace, fault)


@pytest.mark.parametrize("link", ("start", "pic"))
def test_link_steps_survive_a_json_round_trip(link: str) -> None:
    trace = run(Scenario(source=EVEN_ODD, call="even", args=(10,), jit_now=True, link=link))
    again = Trace.from_json(json.loads(trace.dumps()))
    assert [(s.phase, s.kind, s.detail) for s in again.steps] == \
        [(s.phase, s.kind, s.detail) for s in trace.steps]


# --------------------------------------------------------------------------- how each links
def test_patch_links_after_instantiation() -> None:
    trace = styled(EXPR, "patch")
    linked = index(trace, "link", "linked")
    assert kinds(trace, "patch")[:4] == ["table.grow", "table.set", "relocation", "patched"]
    assert all(s.index > linked for s in trace.steps if s.phase == "patch")


def test_start_function_links_inside_the_instantiation() -> None:
    trace = styled(Scenario(source=EVEN_ODD, call="even", args=(10,), jit_now=True), "start")
    compiled, linked = index(trace, "compile", "compiled"), index(trace, "link", "linked")
    inside = [s for s in trace.steps if compiled < s.index < linked]
    assert [s.kind for s in inside] == ["table.grow", "table.init", "relocation", "relocation"]
    assert {s.phase for s in inside} == {"link"}
    grow, init = inside[0], inside[1]
    base = grow.detail["base"]
    assert [slot.label for slot in grow.table[base:]] == ["null", "null"]
    # ONE table.init filled both new slots at once, in batch order.
    assert init.detail == {"base": base, "count": 2, "labels": ["m1.even", "m1.odd"]}
    assert [slot.label for slot in init.table[base:]] == ["m1.even", "m1.odd"]
    assert "table.set" not in kinds(trace) and "patched" not in kinds(trace)
    assert trace.steps[linked].detail["installed"] == ["even", "odd"]


def test_pic_reserves_first_and_relocates_after_instantiation() -> None:
    trace = styled(Scenario(source=EVEN_ODD, call="even", args=(10,), jit_now=True), "pic")
    reserve = trace.steps[index(trace, "link", "table.grow")]
    compiled, linked = index(trace, "compile", "compiled"), index(trace, "link", "linked")
    assert reserve.index < compiled < linked
    base = reserve.detail["base"]
    assert reserve.detail["by"] == "main" and reserve.detail["delta"] == 2
    assert [s.label for s in reserve.table[base:]] == ["null", "null"]
    # Instantiation itself placed the active segment at the base main passed in...
    step = trace.steps[linked]
    assert step.detail["table_base"] == base
    assert step.detail["placed"] == [{"slot": base, "label": "m1.even"},
                                     {"slot": base + 1, "label": "m1.odd"}]
    assert step.detail["installed"] == []  # ...but no code slot points there yet
    # ...and __wasm_apply_data_relocs, called by the host afterwards, relocates.
    relocs = [s for s in trace.steps if s.kind == "relocation"]
    assert [s.phase for s in relocs] == ["patch", "patch"]
    assert all(s.index > linked for s in relocs)
    assert [s.detail["value"] for s in relocs] == [base, base + 1]
    assert next(s for s in trace.steps if s.kind == "jit-done").detail["installed"] == \
        ["even", "odd"]


def test_the_generated_modules_imports_and_exports_per_style() -> None:
    want = {
        "patch": (["host.note", "main.table", "main.memory"], ["patch", "expr"]),
        "start": (["host.note", "main.table", "main.memory"], ["expr"]),
        "pic": (["host.note", "main.table", "main.memory", "env.__table_base",
                 "env.__memory_base"], ["__wasm_apply_data_relocs", "expr"]),
    }
    for link in STYLES:
        trace = styled(EXPR, link)
        compiled = trace.steps[index(trace, "compile", "compiled")]
        assert (compiled.detail["imports"], compiled.detail["exports"]) == want[link], link
        wat = print_wat(module_bytes(trace))
        assert ("(start " in wat) == (link == "start"), link
    start_wat = print_wat(module_bytes(styled(EXPR, "start")))
    assert "table.init 0" in start_wat and "(elem (;0;) func 1)" in start_wat  # passive
    assert "(elem (;0;) declare func 1)" in print_wat(module_bytes(styled(EXPR, "patch")))
    pic_wat = print_wat(module_bytes(styled(EXPR, "pic")))
    assert '(import "env" "__table_base" (global (;0;) i32))' in pic_wat
    assert '(import "env" "__memory_base" (global (;1;) i32))' in pic_wat
    assert "(elem (;0;) (global.get 0) func 1)" in pic_wat  # active, at __table_base


def test_pic_dylink_section_is_first_and_read_by_wasm_tools() -> None:
    trace = styled(Scenario(source=EVEN_ODD, call="even", args=(3,), jit_now=True), "pic")
    data = module_bytes(trace)
    assert trace.steps[index(trace, "compile", "compiled")].module.sections[1].name == \
        "custom"
    # What the bytes say is what main reserved: two slots, no memory.
    info = read_dylink(data)
    reserved = trace.steps[index(trace, "link", "table.grow")].detail
    assert info == {"memorysize": 0, "memoryalignment": 0, "tablesize": 2,
                    "tablealignment": 0} == reserved["dylink"]
    assert reserved["delta"] == info["tablesize"]
    wat = print_wat(data)
    assert wat.index("(@dylink.0") < wat.index("(type")
    assert "(mem-info (table 2 0))" in wat
    annotated = dump(data)
    first = annotated.index("custom section")
    assert first < annotated.index("type section")
    assert 'name: "dylink.0"' in annotated
    assert "MemInfo { memory_size: 0, memory_alignment: 0, table_size: 2, " \
           "table_alignment: 0 }" in annotated
    for link in ("patch", "start"):
        assert read_dylink(module_bytes(styled(EXPR, link))) is None
        assert "dylink" not in print_wat(module_bytes(styled(EXPR, link)))


# --------------------------------------------------------------------------- start traps
class Refuse(Listener):
    """The host refuses one kind of note from a start function: the machine turns that into
    a trap of the start function (a real one), after its table.grow and table.init ran."""

    def __init__(self, kind: int) -> None:
        self.kind = kind

    def on_note(self, caller: wasmtime.Caller, kind: int, a: int, b: int) -> None:
        if kind == self.kind:
            raise ValueError(f"note {kind} refused")


def failed_start(refused: int) -> tuple[Machine, Trace, int]:
    m = Machine(link="start", listeners=[Refuse(refused)])
    m.load("x * x + 3")
    size_before = m.table.size(m.store)
    assert m.jit_now() == 2                       # link error: no instance
    assert m.modules == []
    assert m.call("expr", [7])[0] == 52
    return m, m.recorder.trace(), size_before  # type: ignore[union-attr]


def test_a_trap_in_the_start_function_fails_instantiation_but_the_table_keeps_its_slots() -> None:
    m, trace, size_before = failed_start(19)      # trap at INIT: after table.init
    assert m.table.size(m.store) == size_before + 1
    error = trace.steps[index(trace, "link", "link-error")]
    assert error.detail["table_before"] == size_before
    assert error.detail["table_after"] == size_before + 1
    assert error.detail["kept"] == ["m1.expr"]    # table.init had run before the trap
    assert error.table[size_before].label == "m1.expr"
    assert "kept" in error.caption and "start function trapped" in error.caption
    # No relocation ran: the code slot is 0, so the function stays interpreted.
    assert "relocation" not in kinds(trace)
    assert m.read_i32(m.info("expr").obj) == 0
    assert trace.steps[-1].detail["tier"] == "interpreted"


def test_code_a_failed_instantiation_placed_is_still_callable_through_the_table() -> None:
    m, trace, size_before = failed_start(18)      # trap at RELOC: after the i32.store
    # The relocation's store ran before its note trapped: the code slot points at the kept
    # slot, so the call reaches JIT code of a module wasmtime never finished instantiating.
    assert m.read_i32(m.info("expr").obj) == size_before
    done = trace.steps[index(trace, "patch", "jit-done")]
    assert done.detail["status"] == 2 and done.detail["failed"] == ["expr"]
    assert done.detail["installed"] == ["expr"]
    assert "no instance" in done.caption
    assert trace.steps[-1].detail["tier"] == "jit"
    assert trace.steps[-1].detail["holds"] == "m1.expr"


def test_a_start_function_that_cannot_grow_traps_during_instantiation() -> None:
    trace = run(Scenario.for_fault("table-limit", link="start"), disassemble=False)
    error = trace.steps[index(trace, "link", "link-error")]
    assert error.detail["trap"] == "UNREACHABLE"
    assert "table_after" not in error.detail      # nothing grew, nothing kept
    assert "table limit" in error.caption


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(("start", "pic")), st.data())
def test_mutated_modules_of_each_style_end_in_a_status(link: str, data: st.DataObject) -> None:
    """The host's instantiate path in styles start and pic: whatever the bytes, a status."""
    original = bytearray(module_bytes(styled(EXPR, link)))
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(original) - 1))
        original[at] = data.draw(st.integers(0, 255))
    m = Machine(fuel=20_000_000, link=link)
    m.load("x * x + 3", expr_name="expr")
    assert m.instantiate_bytes(bytes(original)) in (0, 1, 2, 3)


# --------------------------------------------------------------------------- names, CLI, fuel
@pytest.mark.parametrize("link", STYLES)
def test_a_function_named_like_the_link_export_still_compiles(link: str) -> None:
    source = ("def patch(x) = x + 1\ndef __wasm_apply_data_relocs(x) = patch(x) * 2\n")
    trace = styled(Scenario(source=source, call="__wasm_apply_data_relocs", args=(4,),
                            jit_now=True), link)
    assert trace.result == 10
    exports = trace.steps[index(trace, "compile", "compiled")].detail["exports"]
    renamed = {"patch": "$patch", "start": "patch", "pic": "patch"}[link]
    assert renamed in exports
    done = next(s for s in trace.steps if s.kind == "jit-done")
    assert sorted(done.detail["installed"]) == ["__wasm_apply_data_relocs", "patch"]
    labels = {s.label for s in trace.steps[-1].table}
    assert {"m1.patch", "m1.__wasm_apply_data_relocs"} <= labels


@pytest.mark.parametrize("link", STYLES)
def test_cli_link_option(link: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli_main(["trace", "--link", link, "--expr", "x*x+3", "--arg", "7", "--no-disasm"])
    out = capsys.readouterr().out
    assert code == 0 and out.rstrip().endswith("result: 52")
    assert "(JIT code via table slot 6 -> m1.expr)" in out


def test_cli_refuses_an_unknown_link_style(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli_main(["trace", "--link", "dlopen", "--expr", "x"])
    assert exc.value.code == 2
    assert "invalid choice: 'dlopen'" in capsys.readouterr().err


def test_scenario_link_field() -> None:
    assert LINKS == STYLES
    assert Scenario.from_mapping({"exprs": ["x"], "args": [1], "link": "pic"}).link == "pic"
    with pytest.raises(ScenarioError) as exc:
        Scenario.from_mapping({"exprs": ["x"], "link": "static"})
    assert exc.value.field == "link"
    with pytest.raises(ScenarioError):
        Scenario.from_mapping({"exprs": ["x"], "link": 2})


@pytest.mark.parametrize("link", STYLES)
def test_the_minimum_fuel_gets_through_the_first_jit_run(link: str) -> None:
    """Review D15: at --fuel 1000 main could not write its first module. The JIT run the host
    asks for is set-up, with its own budget; the run's fuel meters the call."""
    trace = run(Scenario(exprs=("x * x + 3",), args=(7,), fuel=MIN_FUEL, link=link),
                disassemble=False)
    assert trace.result == 52 and trace.steps[-1].detail["tier"] == "jit"
    # The set-up really needs more than the minimum: measured from the trace.
    define = next(s for s in trace.steps if s.kind == "define")
    done = next(s for s in trace.steps if s.kind == "jit-done")
    assert done.fuel_used - define.fuel_used > MIN_FUEL
    assert trace.steps[-1].detail["fuel_spent"] < MIN_FUEL


def test_the_minimum_fuel_still_meters_calls() -> None:
    source, call, args, _ = PROGRAMS["fib"]
    trace = run(Scenario(source=source, call=call, args=args, fuel=MIN_FUEL),
                disassemble=False)
    assert trace.trap is not None and trace.trap.code == "OUT_OF_FUEL"
    assert trace.steps[-1].detail["fuel_budget"] == MIN_FUEL
