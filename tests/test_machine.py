"""The engine runs the real thing: bytes from main memory, real slots, real relocations."""

import wasmtime

from wasmviz.engine import Machine, Scenario, Trace, run
from wasmviz.engine.snapshot import func_key, live_memory

FIB = "def fib(n) = if n < 2 then 1 else fib(n - 1) + fib(n - 2)\n"


def simple_trace() -> Trace:
    return run(Scenario(exprs=("x * x + 3",), args=(7,)), disassemble=False)


def test_generated_bytes_are_a_valid_module_written_in_main_memory() -> None:
    trace = simple_trace()
    (complete,) = trace.find("generate", "complete")
    module = complete.module
    assert module is not None
    assert module.data[:8] == b"\0asm\x01\0\0\0"
    engine, _ = wasmtime.Engine(), None
    wasmtime.Module.validate(engine, module.data)  # raises if invalid
    # The bytes were written by the main module: replaying the recorded memory changes up to
    # this step gives exactly these bytes at the buffer's address.
    assert trace.memory_at(complete.index, module.address, len(module.data)) == module.data
    # ...and they arrived section by section, each step adding its section's bytes.
    names = [s.detail["section"] for s in trace.find("generate") if "section" in s.detail]
    assert names == ["header", "type", "import", "function", "export", "element", "code"]


def test_slot_is_null_before_patch_and_holds_the_function_after() -> None:
    trace = simple_trace()
    (grow,) = trace.find("patch", "table.grow")
    (tset,) = trace.find("patch", "table.set")
    before = trace[grow.index - 1]
    base = grow.detail["base"]
    assert len(before.table) == base == 6
    assert grow.table[base].kind == "null"
    assert tset.table[base].label == "m1.expr"
    assert [s.label for s in tset.table[:2]] == ["null", "main.enter0"]


def test_relocation_shows_in_memory_changes() -> None:
    trace = simple_trace()
    (reloc,) = trace.find("patch", "relocation")
    slot = reloc.detail["value"]
    (change,) = [c for c in reloc.memory_changes if c.address == reloc.detail["address"]]
    assert change.old == b"\0\0\0\0"
    assert change.new == slot.to_bytes(4, "little")
    assert change.label == "expr.code_slot"


def test_call_goes_through_the_table_and_returns_the_result() -> None:
    trace = simple_trace()
    call, result = trace.find("call", "call")[-1], trace.find("call", "result")[-1]
    assert call.detail["via"] == "jit" and call.detail["slot"] == 6
    assert result.result == 52 and trace.result == 52
    assert [(e.source, e.target) for e in result.edges if e.kind == "call"] == [
        ("main", "slot 6"), ("slot 6", "m1.expr")]
    (linked,) = trace.find("link", "linked")
    assert {(e.target, e.kind) for e in linked.edges} == {
        ("host.note", "import"), ("main.table", "import"), ("main.memory", "import"),
        ("m1.patch", "export"), ("m1.expr", "export"), ("m1.patch", "call")}


def test_several_expressions_make_several_modules_and_slots() -> None:
    trace = run(Scenario(exprs=("x + 1", "x * 2", "x - 3"), args=(10,)), disassemble=False)
    final = trace[-1]
    assert [s.label for s in final.table[6:]] == ["m1.expr1", "m2.expr2", "m3.expr3"]
    assert [s.result for s in trace.find("call", "result")] == [11, 20, 7]


def test_recorded_state_is_what_wasmtime_holds() -> None:
    m = Machine()
    m.load(FIB)
    m.jit_now()
    assert m.call("fib", [10]) == (89, None)
    assert m.recorder is not None
    trace = m.recorder.trace()
    last = trace[-1]
    # Table: every slot, compared with the functions wasmtime really holds.
    exports = m.modules[0].exports(m.store)
    fib_func = exports["fib"]
    assert isinstance(fib_func, wasmtime.Func)
    assert m.table.size(m.store) == len(last.table) == 7
    held = m.table.get(m.store, 6)
    assert isinstance(held, wasmtime.Func) and func_key(held) == func_key(fib_func)
    assert last.table[6].label == "m1.fib"
    assert m.table.get(m.store, 0).value is None and last.table[0].kind == "null"
    # Memory: replaying the trace's changes gives the live memory, byte for byte.
    live = live_memory(m.memory, m.store).tobytes()
    assert trace.memory_at(last.index, 0, len(live)) == live


def test_tier_up_interprets_then_compiles_a_batch_mid_run() -> None:
    source = FIB
    trace = run(Scenario(source=source, call="fib", args=(20,), threshold=50, window=50),
                disassemble=False)
    kinds = [s.kind for s in trace]
    assert trace.result == 10946
    first_call = kinds.index("call")
    hot = kinds.index("tier-up")
    begin = kinds.index("begin")
    reloc = kinds.index("relocation")
    assert first_call < hot < begin < reloc < kinds.index("result")
    assert trace[first_call].detail["via"] == "interpreter"
    assert trace[hot].detail == {"function": "fib", "calls": 50, "object": trace[hot].detail["object"]}
    assert trace[-1].table[6].label == "m1.fib"


def test_hot_functions_are_batched_into_one_module() -> None:
    source = ("def a(x) = x + 1\n def b(x) = x * 2\n def c(x) = x - 1\n"
              "def loop(n) = if n == 0 then 0 else a(n) + b(n) + c(n) + loop(n - 1)\n")
    trace = run(Scenario(source=source, call="loop", args=(300,), threshold=20, window=30),
                disassemble=False)
    modules = [s.module for s in trace.find("compile", "compiled")]
    assert modules and modules[0] is not None
    assert set(modules[0].functions) >= {"a", "b", "c"}
    assert len(trace.find("patch", "table.set")) == sum(len(m.functions) for m in modules if m)
    expected = sum((n + 1) + 2 * n + (n - 1) for n in range(1, 301))
    assert trace.result == expected


def test_generated_code_calls_the_interpreter_through_the_table() -> None:
    m = Machine(threshold=10_000)
    m.load("def g(x) = x * 3\n def f(x) = g(x) + g(x + 1)\n")
    m.jit_now(["f"])
    calls = m.read_i32(m.info("g").obj + 16)
    assert m.call("f", [5]) == (33, None)
    # g stayed interpreted: the JIT code of f reached it through slot 1 + 1 (enter1) and the
    # interpreter counted both calls.
    assert m.read_i32(m.info("g").obj) == 0
    assert m.read_i32(m.info("g").obj + 16) == calls + 2
    assert m.read_i32(m.info("f").obj) == 6


def test_traces_are_deterministic_and_round_trip_through_json() -> None:
    a = run(Scenario(source=FIB, call="fib", args=(12,), threshold=20, window=5))
    b = run(Scenario(source=FIB, call="fib", args=(12,), threshold=20, window=5))
    assert a.dumps() == b.dumps()
    assert Trace.loads(a.dumps()) == a


def test_disassembly_comes_from_wasm_tools() -> None:
    trace = run(Scenario(exprs=("x * x + 3",), args=(7,)))
    (complete,) = trace.find("generate", "complete")
    assert complete.module is not None and complete.module.wat is not None
    assert '(import "main" "table"' in complete.module.wat
    assert "table.grow" in complete.module.wat and "i32.mul" in complete.module.wat
    assert complete.module.dump is not None and "0x0 | 00 61 73 6d" in complete.module.dump


def test_calls_within_a_batch_are_direct_unless_switched_off() -> None:
    direct = run(Scenario(source=FIB, call="fib", args=(10,), jit_now=True))
    slotted = run(Scenario(source=FIB, call="fib", args=(10,), jit_now=True,
                           direct_calls=False))
    wat_direct = direct.find("generate", "complete")[0].module.wat  # type: ignore[union-attr]
    wat_slotted = slotted.find("generate", "complete")[0].module.wat  # type: ignore[union-attr]
    assert wat_direct is not None and wat_slotted is not None
    assert "call_indirect" not in wat_direct and "call 1" in wat_direct
    assert wat_slotted.count("call_indirect (type 1)") == 2 and "select" in wat_slotted
    assert direct.result == slotted.result == 89


def test_code_compiled_earlier_picks_up_a_callee_compiled_later() -> None:
    m = Machine(threshold=10_000)
    m.load("def g(x) = x * 3\n def f(x) = g(x) + 1\n")
    m.jit_now(["f"])
    assert m.call("f", [2]) == (7, None)
    g_calls = m.read_i32(m.info("g").obj + 16)
    m.jit_now(["g"])  # a second module; f's code is not touched
    assert m.call("f", [2]) == (7, None)
    assert m.read_i32(m.info("g").obj + 16) == g_calls  # no longer interpreted
    assert len(m.modules) == 2 and m.read_i32(m.info("g").obj) == 7


def test_the_first_trap_ends_the_run() -> None:
    """A program's call that traps ends the scenario: its expressions are not loaded after."""
    trace = run(Scenario(source="def f(x) = 10 / x", call="f", args=(0,), exprs=("x + 1",)),
                disassemble=False)
    assert trace.trap is not None and trace.trap.code == "INTEGER_DIVISION_BY_ZERO"
    assert trace.steps[-1].trap is not None
    defined = [f.name for s in trace.steps for f in s.functions]
    assert "f" in defined and "expr" not in defined
