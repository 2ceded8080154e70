"""Each step's function records and VM state, decoded once by the engine, are the memory's truth.

Checked against the step's memory rebuilt from the recorded changes and decoded here
independently, at every step of several runs and every fault; unchanged records are shared
between steps (identity), survive JSON, and an older trace without them still loads. The
machine only emits events: it does not import the recorder or the captions.
"""

from __future__ import annotations

import ast
import json
import struct
from pathlib import Path

import pytest

from wasmviz.data import PROGRAMS_DIR
from wasmviz.engine import (FAULTS, FunctionRecord, Listener, Machine, Scenario, Step, Trace,
                            VmState, run)
from wasmviz.engine.layout import FUNC_FIELDS, STATE_FIELDS

ENGINE = Path(__file__).resolve().parents[1] / "wasmviz" / "engine"
UI = Path(__file__).resolve().parents[1] / "wasmviz" / "ui"
FIB = (PROGRAMS_DIR / "fib.wv").read_text()

SCENARIOS = {
    **{f"fault-{f}": Scenario.for_fault(f) for f in FAULTS},
    "fib-tiers-up": Scenario(source=FIB, call="fib", args=(8,), threshold=3, window=2, repeat=3),
    "pending-batch": Scenario(source="def f(x) = x + 1\n", call="f", args=(5,), threshold=2,
                              repeat=3),
    "callbacks": Scenario(source="def finish(t) = t * 2 + 1\ndef sum(n, acc) = if n <= 0 then "
                                 "finish(acc) else sum(n - 1, acc + n)\n",
                          call="sum", args=(9, 0), threshold=2, window=0, repeat=3),
    "three-modules": Scenario(exprs=("x * x + 3", "x - 1", "x / 2 + x"), args=(7,)),
    "jit-off": Scenario(source=FIB, call="fib", args=(6,), jit=False, threshold=2),
}


@pytest.fixture(scope="module", params=sorted(SCENARIOS))
def trace(request: pytest.FixtureRequest) -> Trace:
    return run(SCENARIOS[request.param], disassemble=False)


def decoded(trace: Trace) -> list[tuple[tuple[FunctionRecord, ...], VmState]]:
    """Each step's records, decoded here from its replayed memory (not with the engine's code)."""
    L, memory, out = trace.layout, bytearray(), []
    for step in trace:
        memory.extend(bytes(max(0, step.memory_pages * 65536 - len(memory))))
        for c in step.memory_changes:
            memory[c.address:c.address + len(c.new)] = c.new
        vm = VmState(*struct.unpack_from(f"<{len(STATE_FIELDS)}i", memory, L.state_base))
        functions = []
        for i in range(vm.functions):
            at = L.funcs_base + i * L.func_size
            f = dict(zip(FUNC_FIELDS, struct.unpack_from(f"<{len(FUNC_FIELDS)}i", memory, at)))
            name = bytes(memory[f["name"]:f["name"] + f["name_len"]]).decode()
            code = bytes(memory[f["bytecode"]:f["bytecode"] + f["length"]])
            functions.append(FunctionRecord(at, name, f["code_slot"], f["bytecode"], f["length"],
                                            f["params"], f["calls"], f["state"], f["name"],
                                            f["name_len"], code))
        out.append((tuple(functions), vm))
    return out


def test_records_agree_with_memory_at_every_step(trace: Trace) -> None:
    for step, (functions, vm) in zip(trace, decoded(trace)):
        where = f"step {step.index} {step.phase}/{step.kind}"
        assert step.vm == vm, where
        assert step.functions == functions, where
        for f in step.functions:
            assert f.field("name") == f.name_ptr and f.state_name in ("cold", "hot", "compiled",
                                                                      "failed"), where
    # The run defined something and the records saw it.
    assert trace[-1].functions and trace[-1].vm is not None
    assert trace[-1].vm.functions == len(trace[-1].functions)


def test_unchanged_records_are_shared_by_identity(trace: Trace) -> None:
    shared = 0
    for prev, step in zip(trace, trace.steps[1:]):
        if step.functions == prev.functions:
            assert step.functions is prev.functions, step.index
            shared += 1
        if step.vm == prev.vm:
            assert step.vm is prev.vm, step.index
        old = {f.address: f for f in prev.functions}
        for f in step.functions:
            if old.get(f.address) == f:
                assert old[f.address] is f, (step.index, f.name)
    assert shared > 0  # a generate step writes only the JIT buffer: nothing to re-decode


def test_records_round_trip_through_json_and_stay_shared(trace: Trace) -> None:
    text = trace.dumps()
    back = Trace.loads(text)
    assert [s.functions for s in back] == [s.functions for s in trace]
    assert [s.vm for s in back] == [s.vm for s in trace]
    for prev, step in zip(back, back.steps[1:]):
        assert (step.functions is prev.functions) == (step.functions == prev.functions)
        assert (step.vm is prev.vm) == (step.vm == prev.vm)
    # Unchanged records are written once, not per step.
    raw = json.loads(text)["steps"]
    written = sum("functions" in s for s in raw)
    assert written == 1 + sum(a.functions != b.functions for a, b in zip(trace, trace.steps[1:]))
    assert written < len(raw)


def test_a_trace_saved_without_records_decodes_them_from_its_memory(trace: Trace) -> None:
    data = trace.to_json()
    for s in data["steps"]:
        s.pop("functions", None)
        s.pop("vm", None)
    old = Trace.from_json(data)
    assert [s.functions for s in old] == [s.functions for s in trace]
    assert [s.vm for s in old] == [s.vm for s in trace]
    for prev, step in zip(old, old.steps[1:]):
        if step.functions == prev.functions:
            assert step.functions is prev.functions


def test_a_hand_made_step_has_no_records_and_round_trips() -> None:
    step = Step(0, "setup", "synthetic", "", (), 1)
    assert step.functions == () and step.vm is None
    assert Step.from_json(json.loads(json.dumps(step.to_json()))) == step


def test_step_function_finds_a_record_by_address_or_name() -> None:
    trace = run(Scenario(exprs=("x + 1",), args=(2,)), disassemble=False)
    (f,) = trace[-1].functions
    assert trace[-1].function(f.address) is f and trace[-1].function("expr") is f
    assert trace[-1].function("nothing") is None and trace[0].function(f.address) is None


# --------------------------------------------------------------------------- events, layers
def _engine_imports(path: Path) -> set[str]:
    """The wasmviz.engine modules ``path`` imports (relative or absolute), anywhere in it."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1 and node.module:
                out.add(node.module.split(".")[0])
            elif node.level == 1:
                out.update(a.name for a in node.names)
            elif (node.module or "").startswith("wasmviz.engine."):
                out.add(node.module.split(".")[2])
        elif isinstance(node, ast.Import):
            out.update(a.name.split(".")[2] for a in node.names
                       if a.name.startswith("wasmviz.engine."))
    return out


def test_the_machine_imports_neither_the_recorder_nor_the_captions() -> None:
    # Everything machine.py reaches through its imports, TYPE_CHECKING ones included.
    seen, todo = set(), ["machine"]
    while todo:
        name = todo.pop()
        if name in seen or not (ENGINE / f"{name}.py").exists():
            continue
        seen.add(name)
        todo.extend(_engine_imports(ENGINE / f"{name}.py"))
    assert "recorder" not in seen and "captions" not in seen and "slots" not in seen, seen
    assert "events" in seen  # the machine talks to listeners, and only through events


def test_a_listener_hears_every_event_of_a_run_without_a_recorder() -> None:
    heard: list[str] = []

    class Ear(Listener):
        def on_note(self, caller, kind, a, b):  # type: ignore[no-untyped-def]
            heard.append(f"note {kind}")

        def on_defined(self, store, added, source):  # type: ignore[no-untyped-def]
            heard.append("defined " + ",".join(f.name for f in added))

        def on_compiled(self, caller, number, ptr, data, module):  # type: ignore[no-untyped-def]
            heard.append(f"compiled {number}")

        def on_linked(self, caller, number, exports, providers):  # type: ignore[no-untyped-def]
            heard.append(f"linked {number}")

        def on_patched(self, caller, number):  # type: ignore[no-untyped-def]
            heard.append(f"patched {number}")

        def on_call_end(self, store, info, args, value, trap):  # type: ignore[no-untyped-def]
            heard.append(f"result {value}")

    m = Machine(record=False, listeners=[Ear()])
    assert m.recorder is None
    m.load("def f(x) = x * 2\n")
    m.jit_now()
    assert m.call("f", [21]) == (42, None)
    assert heard[0] == "defined f" and heard[-1] == "result 42"
    assert heard.index("compiled 1") < heard.index("linked 1") < heard.index("patched 1")
    assert "note 8" in heard  # main's CALL note reaches a listener like any other


def test_recording_off_has_no_listeners() -> None:
    m = Machine(record=False)
    assert m.listeners == [] and m.recorder is None
    recording = Machine()
    assert recording.recorder is not None and recording.listeners == [recording.recorder]


def test_the_ui_decodes_no_main_memory() -> None:
    # The hex view shows bytes and the diagram's memory strip shows a changed field's old and
    # new value (draw_memory._i32): both show memory changes, not main's structures.
    allowed = {"diagram/draw_memory.py"}
    for path in UI.rglob("*.py"):
        rel = path.relative_to(UI).as_posix()
        if rel in allowed:
            continue
        text = path.read_text()
        for word in ("import struct", "unpack", "from_bytes", "state_field("):
            assert word not in text, f"{rel} decodes memory ({word})"


def test_the_lesson_checker_reads_fields_from_the_records(trace: Trace) -> None:
    from wasmviz.lessons.checker import field_address, record_value
    names = [f"state.{f}" for f in STATE_FIELDS] + [
        f"{fn.name}.{f}" for fn in trace[-1].functions for f in FUNC_FIELDS]
    for name in names:
        address, length = field_address(trace, name)
        assert address is not None and length == 4, name
        for step in trace:
            known, value = record_value(trace, step.index, name)
            raw = trace.memory_at(step.index, address, 4)
            assert known and value == int.from_bytes(raw, "little", signed=True), \
                (name, step.index)
