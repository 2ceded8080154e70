"""JIT code calling back into the interpreter is a step, sent by main from the interpreter entry."""

from __future__ import annotations

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from strategies import program_and_args
from wasmviz.data import PROGRAMS_DIR
from wasmviz.engine import Machine, Scenario, Trace, compile_program, run
from wasmviz.engine.recorder import CALLBACK_STEPS
from wasmviz.engine.reference import wrap_i32

CALLER = "def g(x) = x * 3\ndef f(x) = g(x) + g(x + 1)\n"
TWO = "def h(a, b) = a - b\ndef f(x) = h(x, 2) * 10\n"
FLOOD = "def g(x) = x + 1\ndef f(n) = if n == 0 then 0 else g(n) + f(n - 1)\n"


def recorded(source: str, compiled: list[str], args: list[int]) -> tuple[Machine, Trace]:
    m = Machine(threshold=10**6)
    m.load(source)
    if compiled:
        assert m.jit_now(compiled) == 0
    value, trap = m.call("f", args)
    assert trap is None and value is not None
    assert m.recorder is not None
    return m, m.recorder.trace(value)


def test_jit_code_calling_an_uncompiled_function_is_a_callback_step() -> None:
    m, trace = recorded(CALLER, ["f"], [5])
    steps = trace.find("call", "callback")
    assert [s.detail["args"] for s in steps] == [[5], [6]]
    g = m.info("g")
    for s in steps:
        d = s.detail
        assert (d["function"], d["object"], d["callers"]) == ("g", g.obj, ["m1.f"])
        # The slot came from main (1 + g's parameter count, read from its object in memory)
        # and the table really holds the interpreter entry there at that step.
        params = int.from_bytes(trace.memory_at(s.index, g.obj + 12, 4), "little")
        assert d["slot"] == 1 + params == 2
        assert s.table[d["slot"]].label == d["entry"] == "main.enter1"
        # g is not compiled: its code slot in memory is 0 at that step.
        assert trace.memory_at(s.index, g.obj, 4) == bytes(4) and d["code_slot"] == 0
        # The argument is where the entry put it, on the interpreter's stack.
        assert trace.memory_at(s.index, d["frame"], 4) == d["args"][0].to_bytes(4, "little")
    # Recorded where it happens: inside the call, between its call and result steps.
    call, result = trace.find("call", "call")[-1], trace.find("call", "result")[-1]
    assert call.index < steps[0].index < steps[1].index < result.index
    assert result.detail["callbacks"] == 2 and result.detail["callbacks_shown"] == 2


def test_the_slot_follows_the_callees_arity() -> None:
    _, trace = recorded(TWO, ["f"], [9])
    (step,) = trace.find("call", "callback")
    assert (step.detail["function"], step.detail["args"]) == ("h", [9, 2])
    assert step.detail["slot"] == 3 and step.table[3].label == "main.enter2"


def test_the_callback_is_noted_before_the_interpreter_counts_the_call() -> None:
    m, trace = recorded(CALLER, ["f"], [5])
    first = trace.find("call", "callback")[0]
    calls = m.info("g").obj + 16
    assert int.from_bytes(trace.memory_at(first.index, calls, 4), "little") == \
        first.detail["calls"]
    assert int.from_bytes(trace.memory_at(len(trace) - 1, calls, 4), "little") == \
        first.detail["calls"] + 2


def test_interpreted_calls_and_compiled_callees_send_no_callback() -> None:
    _, trace = recorded(CALLER, [], [5])          # nothing compiled: all interpreted
    assert trace.find("call", "callback") == []
    _, trace = recorded(CALLER, ["f", "g"], [5])  # both compiled: no interpreter entry
    assert trace.find("call", "callback") == []
    assert trace[-1].detail["callbacks"] == 0


def test_callback_steps_are_capped_per_call_and_the_rest_counted() -> None:
    _, trace = recorded(FLOOD, ["f"], [3000])
    steps = trace.find("call", "callback")
    assert len(steps) == CALLBACK_STEPS
    result = trace[-1]
    assert result.detail["callbacks"] == 3000
    assert result.detail["callbacks_shown"] == CALLBACK_STEPS
    assert f"{3000 - CALLBACK_STEPS} not shown" in result.caption
    assert "not shown" in steps[-1].caption and "not shown" not in steps[0].caption
    # main counted every one down from the budget the host wrote for this call.
    budget = trace.layout.state_field("callback_notes")
    left = int.from_bytes(trace.memory_at(result.index, budget, 4), "little", signed=True)
    assert left == CALLBACK_STEPS - 3000


def test_recording_off_never_leaves_wasm_for_callbacks(monkeypatch) -> None:
    notes: list[tuple[int, int, int]] = []
    monkeypatch.setattr(Machine, "_on_note", lambda self, caller, k, a, b: notes.append((k, a, b)))
    m = Machine(record=False, threshold=10**6)
    m.load(FLOOD)
    m.jit_now(["f"])
    notes.clear()
    assert m.call("f", [3000]) == (4504500, None)
    # budget 0: main counted 3000 callbacks without a single host call; the one note is
    # invoke's CALL (kind 8), sent once per top-level call with the code slot it used (6).
    f_obj = m.info("f").obj
    assert notes == [(8, f_obj, 6)]
    assert m.read_i32(m.layout.state_field("callback_notes")) == -3000
    m.call("f", [10])    # the host resets the budget for each call
    assert m.read_i32(m.layout.state_field("callback_notes")) == -10


def test_callback_caption_says_which_function_which_slot_and_that_it_is_interpreted() -> None:
    _, trace = recorded(CALLER, ["f"], [5])
    step = trace.find("call", "callback")[0]
    text = step.caption
    for words in ("JIT code of m1.f", "g(5)", "code slot is 0", "not compiled",
                  "table slot 2", "main.enter1", "interpreter's entry for 1 parameter",
                  "interprets g's bytecode"):
        assert words in text, words
    assert "called back into the interpreter 2 times" in trace[-1].caption


def test_lesson_program_calls_back_from_sum_into_finish() -> None:
    source = (PROGRAMS_DIR / "callback.wv").read_text()
    trace = run(Scenario(source=source, call="sum", args=(10, 0), threshold=10, repeat=12),
                disassemble=False)
    steps = trace.find("call", "callback")
    assert steps and all(s.detail["function"] == "finish" and s.detail["slot"] == 2
                         and s.detail["callers"] == ["m1.sum"] and s.detail["args"] == [55]
                         for s in steps)
    # Edges: the call in progress, then m1.sum → slot 2 → the interpreter.
    kinds = [(e.source, e.target) for e in steps[0].edges if e.kind == "callback"]
    assert kinds == [("m1.sum", "slot 2"), ("slot 2", "main.interpreter")]
    assert Trace.loads(trace.dumps()) == trace


def test_a_queued_callee_is_called_back_while_hot() -> None:
    m = Machine(threshold=3, window=10**6)
    m.load(CALLER)
    m.jit_now(["f"])
    m.call("f", [1])   # g: 2 interpreted calls
    m.call("f", [2])   # g gets hot at its 3rd call; the window keeps it queued
    assert m.recorder is not None
    last = [s for s in m.recorder.steps if s.kind == "callback"][-1]
    assert last.detail["state"] == "hot" and "queued for the JIT" in last.caption


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(program_and_args(), st.data())
def test_every_callback_claim_agrees_with_the_recorded_table_and_memory(case, data) -> None:
    source, name, args = case
    assume(name != "expr")   # a bare expression cannot sit beside a def
    # A compiled caller of the random program's entry (longer than any generated name), so JIT
    # code calls into it; of the program's own functions a random few are compiled too.
    params = ", ".join(f"p{i}" for i in range(len(args)))
    source += f"\ndef jit_caller({params}) = {name}({params}) + {name}({params})\n"
    m = Machine(threshold=10**6)
    m.load(source)
    names = [f.name for f in compile_program(source).functions if f.name != "jit_caller"]
    compiled = ["jit_caller"] + data.draw(st.lists(st.sampled_from(names), unique=True))
    assert m.jit_now(compiled) == 0
    _, trap = m.call("jit_caller", args)
    assert m.recorder is not None
    trace = m.recorder.trace()
    objects = {f.obj: f for f in m.functions.values()}

    def i32(index: int, address: int) -> int:
        return int.from_bytes(trace.memory_at(index, address, 4), "little", signed=True)

    steps = trace.find("call", "callback")
    assert len(steps) <= CALLBACK_STEPS
    if name not in compiled:   # jit_caller's first act is a callback into the entry
        assert steps and steps[0].detail["function"] == name
        assert steps[0].detail["args"] == [wrap_i32(a) for a in args]
    for s in steps:
        d = s.detail
        f = objects[d["object"]]
        assert d["function"] == f.name and f.name not in compiled
        params = i32(s.index, f.obj + 12)
        assert d["slot"] == 1 + params and s.table[d["slot"]].label == d["entry"] == \
            f"main.enter{params}"
        assert i32(s.index, f.obj) == d["code_slot"] == 0
        assert d["args"] == [i32(s.index, d["frame"] + 4 * i) for i in range(params)]
        assert d["calls"] == i32(s.index, f.obj + 16)
        assert d["callers"]   # some compiled function's bytecode calls it
        for label in d["callers"]:
            slot = next(t.index for t in s.table if t.label == label)
            caller = m.info(label.split(".", 1)[1])
            assert i32(s.index, caller.obj) == slot and caller.name in compiled
    end = trace.find("call", "result" if trap is None else "trap")[-1]
    assert end.detail["callbacks_shown"] == len(steps) <= end.detail["callbacks"]
