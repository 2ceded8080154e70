"""The life of generated code (issue 12, item 3): a redefinition frees the old slot, the JIT
reuses free slots before it grows the table, and the store keeps every instance.

Every claim is read from the recorded trace (the table and memory as wasmtime held them) or
measured from wasmtime itself (its store's instance limit, Machine.measure_instances), never
from what main.wat is expected to do.
"""

from __future__ import annotations

import json

import pytest

from wasmviz.engine import EngineError, Machine, Scenario, Step, Trace, run
from wasmviz.engine.frontend import compile_program
from wasmviz.engine.reference import evaluate
from wasmviz.engine.scenario import ScenarioError

STYLES = ("patch", "start", "pic")
FIRST = "def f(x) = x * x + 3\n"
SECOND = "def f(x) = x * 2 - 1\n"
#: g calls f; compiled in one batch, g calls f with a plain `call` (direct calls).
PAIR = "def f(x) = x * x + 3\ndef g(x) = f(x) + 1\n"


def redefined(link: str, source: str = FIRST, later: tuple[str, ...] = (SECOND,),
              call: str = "f", **kw: object) -> Trace:
    return run(Scenario(source=source, call=call, args=(7,), jit_now=True, link=link,
                        redefine=later, **kw), disassemble=False)  # type: ignore[arg-type]


def frees(trace: Trace) -> list[Step]:
    """main's table.set-to-null steps."""
    return [s for s in trace if s.kind == "table.set" and s.detail.get("by") == "main"]


def expected(sources: tuple[str, ...], name: str, arg: int) -> int:
    """The reference evaluator's answer with every later definition replacing the earlier."""
    defs: dict[str, object] = {}
    for source in sources:
        for d in compile_program(source).ast:
            defs[d.name] = d
    return evaluate(list(defs.values()), name, [arg])  # type: ignore[arg-type]


@pytest.mark.parametrize("link", STYLES)
def test_main_sets_the_old_slot_to_null(link: str) -> None:
    trace = redefined(link)
    (free,) = frees(trace)
    before = trace[free.index - 1]
    slot = free.detail["slot"]
    # The slot held f's first code until this very step, and main nulled it.
    assert before.table[slot].label == "m1.f" == free.detail["held"]
    assert free.table[slot].kind == "null" and free.phase == "setup"
    assert free.detail["why"] == "redefined" and free.detail["redefined"] == "f"
    f = free.function("f")
    assert f is not None and f.code_slot == 0 and f.state_name == "cold" and f.calls == 0
    # On main's free list, as its memory holds it.
    assert free.detail["free_list"] == [slot]
    assert free.vm is not None and free.vm.free_len == 1 and free.vm.slots_freed == 1
    free_list = free.detail["free_list"]
    L = trace.layout
    assert trace.memory_at(free.index, L.free_base, 4) == slot.to_bytes(4, "little")
    assert len(free_list) == 1 and "m1.f" in free.caption


@pytest.mark.parametrize("link", STYLES)
def test_the_freed_slot_is_null_until_reused_and_the_table_does_not_grow(link: str) -> None:
    trace = redefined(link)
    (free,) = frees(trace)
    slot = free.detail["slot"]
    (reuse,) = trace.find(kind="reuse")
    assert reuse.detail["slot"] == slot and reuse.detail["function"] == "f"
    assert reuse.phase == ("link" if link == "pic" else "generate")
    assert all(s.table[slot].kind == "null" for s in trace.steps[free.index:reuse.index + 1])
    size = len(free.table)
    assert all(len(s.table) == size for s in trace.steps[free.index:])
    # no table.grow at all in the second batch: every member reused a slot
    assert not [s for s in trace.steps[reuse.index:] if s.kind == "table.grow"]
    last = trace[-1]
    assert last.table[slot].label == "m2.f"
    assert last.vm is not None and last.vm.free_len == 0 and last.vm.slots_reused == 1


@pytest.mark.parametrize("link", STYLES)
def test_a_call_to_the_redefined_function_reaches_the_new_body(link: str) -> None:
    trace = redefined(link)
    calls = trace.find("call", "call")
    first, after_free, last = calls[0], calls[1], calls[-1]
    assert first.detail["holds"] == "m1.f"
    assert trace.find("call", "result")[0].result == expected((FIRST,), "f", 7)
    # Right after the redefinition, and JIT-compiled again, the call runs the new body.
    assert last.detail["holds"] == "m2.f" and last.detail["via"] == "jit"
    assert trace.result == expected((FIRST, SECOND), "f", 7) == 13
    assert after_free is last  # jit_now compiled f again before the call


@pytest.mark.parametrize("link", STYLES)
def test_interpreted_until_it_tiers_up_again(link: str) -> None:
    # Without jit_now the redefined f is interpreted (code slot 0) until it is hot again.
    trace = run(Scenario(source=FIRST, call="f", args=(7,), threshold=2, window=1,
                         repeat=4, link=link, redefine=(SECOND,)), disassemble=False)
    (free,) = frees(trace)
    results = [s for s in trace.find("call", "result") if s.index > free.index]
    assert [s.result for s in results] == [13] * 4
    assert results[0].detail["via"] == "interpreter"
    assert results[-1].detail["holds"] == "m2.f"
    assert trace.find(kind="reuse")[0].detail["slot"] == free.detail["slot"]


@pytest.mark.parametrize("link", STYLES)
def test_batch_mates_that_call_it_directly_are_retired_too(link: str) -> None:
    trace = redefined(link, PAIR, call="g")
    freed = frees(trace)
    assert [(s.detail["function"], s.detail["why"]) for s in freed] == [
        ("f", "redefined"), ("g", "calls-redefined")]
    slots = sorted(s.detail["slot"] for s in freed)
    reused = sorted(s.detail["slot"] for s in trace.find(kind="reuse"))
    assert reused == slots  # both taken back before the table grows
    assert trace.result == expected((PAIR, SECOND), "g", 7) == 14
    if link == "pic":  # one run of two slots in a row: __table_base is its first
        linked = trace.find("link", "linked")[-1]
        assert linked.detail["table_base"] == slots[0]


def test_without_direct_calls_a_caller_keeps_its_code() -> None:
    trace = redefined("patch", PAIR, call="g", direct_calls=False)
    assert [s.detail["function"] for s in frees(trace)] == ["f"]
    assert trace.result == 14  # g's JIT code reads f's code slot at every call


@pytest.mark.parametrize("link", STYLES)
def test_the_store_keeps_every_instance(link: str) -> None:
    trace = redefined(link)
    last = trace[-1]
    assert [(i.name, i.in_table) for i in last.instances] == [
        ("main", ("enter0", "enter1", "enter2", "enter3", "enter4")),
        ("m1", ()), ("m2", ("f",))]
    assert all(i.code_bytes > 0 for i in last.instances)
    # Counted by the host, and measured by wasmtime: they agree.
    assert trace.instances_measured == len(last.instances) == 3
    (free,) = frees(trace)
    assert free.detail["module_alive"] and free.detail["instances"] == 2
    # The run ends with a step saying what the store holds, measured.
    assert (last.phase, last.kind) == ("call", "store")
    assert last.detail["instances"] == 3 and last.detail["unreferenced"] == ["m1"]
    assert last.detail["unreferenced_code_bytes"] == last.instances[1].code_bytes > 0


def test_a_module_whose_start_function_trapped_stays_in_the_store() -> None:
    trace = run(Scenario.for_fault("table-limit", link="start"), disassemble=False)
    last = trace[-1]
    assert [(i.name, i.linked) for i in last.instances] == [("main", True), ("m1, failed", False)]
    assert trace.find("link", "link-error")[0].detail["instance_kept"] is True
    assert trace.instances_measured == 2


def test_instances_survive_a_json_round_trip() -> None:
    trace = redefined("start", PAIR, call="g")
    back = Trace.loads(trace.dumps())
    assert [s.instances for s in back] == [s.instances for s in trace]
    assert back.instances_measured == trace.instances_measured == 3
    data = json.loads(trace.dumps())
    assert data["instances_measured"] == 3
    # written only where they changed
    written = [i for i, s in enumerate(data["steps"]) if "instances" in s]
    assert written[0] == 0 and len(written) < len(trace) // 3


@pytest.mark.parametrize("link", STYLES)
def test_a_run_without_redefinition_frees_and_reuses_nothing(link: str) -> None:
    trace = run(Scenario(source=PAIR, call="g", args=(7,), jit_now=True, link=link),
                disassemble=False)
    assert not frees(trace) and not trace.find(kind="reuse")
    assert trace[-1].vm is not None and trace[-1].vm.slots_freed == 0
    assert "redefined" not in trace.find("setup", "define")[0].detail


def test_a_failed_link_gives_reused_slots_back() -> None:
    # The redefined f is compiled by a module that fails validation: the slot it took off
    # the free list is still null, so main puts it back.
    m = Machine(record=False)
    m.load(FIRST)
    assert m.jit_now() == 0
    m.load(SECOND, redefine=True)
    slot = m.read_i32(m.layout.free_base)
    m._fn["set_fault"](m.store, 4)  # invalid-module, for the next batch only
    assert m.jit_now() == 1
    assert m.read_i32(m.layout.state_field("free_len")) == 1
    assert m.read_i32(m.layout.free_base) == slot
    assert m.call("f", [7]) == (13, None)


def test_pic_grows_when_no_run_is_free() -> None:
    # Only f is freed; a batch of two needs two slots in a row, so main grows the table.
    m = Machine(record=False, link="pic")
    m.load("def f(x) = x + 1\n")
    m.jit_now()
    m.load("def g(x) = x + 2\n")
    m.jit_now()
    m.load("def f(x) = x + 3\ndef h(x) = f(x) * 2\n", redefine=True)
    size = m.table.size(m.store)
    m.jit_now()
    assert m.table.size(m.store) == size + 2
    assert m.read_i32(m.layout.state_field("free_len")) == 1
    assert m.call("h", [1]) == (8, None)


def test_redefining_with_another_arity_is_refused() -> None:
    m = Machine(record=False)
    m.load(FIRST)
    with pytest.raises(EngineError, match="cannot redefine 'f' with 2"):
        m.load("def f(x, y) = x\n", redefine=True)
    with pytest.raises(EngineError, match="already defined"):
        m.load(SECOND)


def test_redefine_needs_a_program() -> None:
    with pytest.raises(ScenarioError, match="redefine needs a program"):
        Scenario(exprs=("x",), args=(1,), redefine=(SECOND,)).validate()
    s = Scenario.from_mapping({"source": FIRST, "call": "f", "args": [7],
                               "redefine": [SECOND]})
    assert s.redefine == (SECOND,)


@pytest.mark.parametrize("link", STYLES)
def test_what_the_table_holds_of_each_instance_is_read_back_from_the_table(link: str) -> None:
    """The JSON writes an instance where it was made; its in_table is derived from each
    step's table when read back (incrementally where slots only gained functions, from the
    whole table where one lost its function): equal to what the recorder saw, every step."""
    many = "".join(f"def f{i}(x) = x + {i}\n" for i in range(6)) + \
        "def g(x) = " + " + ".join(f"f{i}(x)" for i in range(6)) + "\n"
    for trace in (run(Scenario(source=many, call="g", args=(1,), jit_now=True, link=link),
                      disassemble=False),
                  redefined(link, PAIR, call="g")):
        back = Trace.loads(trace.dumps())
        assert [s.instances for s in back] == [s.instances for s in trace]
        assert any(i.in_table for s in trace for i in s.instances if i.module)
