"""The same scenario under wasmtime and under Node's V8 records the same steps (issue 14).

Each test runs one scenario under both hosts (wasmviz.engine.run and node_engine.run) and
compares the traces step by step through node_engine.parity_view: phases, kinds, tables,
memory changes, modules, edges, records, details, results and trap codes must be identical;
only the fields docs/engines.md lists as the engine's own (fuel, the engine's messages) are
left out. Where the engines differ by design (a runaway call: fuel in wasmtime, a watchdog in
V8) the test says so and checks the difference is exactly the documented one.

Node is optional for users: without `node` these tests skip, saying why; CI installs it.
"""

from __future__ import annotations

import tomllib
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from strategies import program_and_args
from wasmviz.data import PROGRAMS_DIR
from wasmviz.engine import FAULTS, EngineError, Scenario, Trace, run
from wasmviz.engine import node_engine
from wasmviz.engine.node_engine import NodeMachine, node_path, parity_view
from wasmviz.engine.scenario import LINKS

needs_node = pytest.mark.skipif(
    node_path() is None,
    reason="Node.js is not installed (`node` not on PATH): the V8 parity tests need it; "
           "install the Debian package nodejs, as .ci/run does")

#: A runaway call is stopped by this watchdog under V8 (there is no fuel to run out).
WATCHDOG_MS = 300


def program(name: str) -> str:
    return (PROGRAMS_DIR / name).read_text()


def both(scenario: Scenario) -> tuple[Trace, Trace]:
    """(wasmtime's trace, V8's trace) of ``scenario``."""
    return (run(scenario, disassemble=False),
            node_engine.run(scenario, disassemble=False, timeout_ms=WATCHDOG_MS))


def assert_same(wasmtime_trace: Trace, v8_trace: Trace) -> None:
    """Identical step by step, apart from the documented engine fields."""
    a, b = parity_view(wasmtime_trace), parity_view(v8_trace)
    assert [(s["phase"], s["kind"]) for s in b] == [(s["phase"], s["kind"]) for s in a]
    for before, after in zip(a, b):
        # One field at a time, so a failure names the step and the field that differ.
        for key in sorted(set(before) | set(after)):
            assert after.get(key) == before.get(key), (
                f"step {before['index']} {before['phase']}/{before['kind']}: {key} differs")
    assert v8_trace.result == wasmtime_trace.result
    assert (v8_trace.trap and v8_trace.trap.code) == (wasmtime_trace.trap and
                                                      wasmtime_trace.trap.code)


@needs_node
@pytest.mark.parametrize("link", LINKS)
def test_the_issue_expression_gives_the_same_steps(link: str) -> None:
    wt, v8 = both(Scenario(exprs=("(x+1)*(x-1) - 5*x",), args=(13,), link=link))
    assert wt.result == 13 * 13 - 1 - 5 * 13
    assert_same(wt, v8)


@needs_node
def test_several_modules_fill_several_slots_alike() -> None:
    wt, v8 = both(Scenario(exprs=("x * x + 3", "x - 1", "2 * x"), args=(7,)))
    assert len(wt.find("link", "linked")) == 3
    assert_same(wt, v8)


@needs_node
@pytest.mark.parametrize("link", LINKS)
def test_fib_tiers_up_alike(link: str) -> None:
    wt, v8 = both(Scenario(source=program("fib.wv"), call="fib", args=(12,), threshold=20,
                           link=link))
    assert wt.find("call", "tier-up"), "the scenario must tier up to test anything"
    assert_same(wt, v8)


@needs_node
@pytest.mark.parametrize("direct_calls", [True, False])
def test_mutual_recursion_is_one_module_alike(direct_calls: bool) -> None:
    wt, v8 = both(Scenario(source=program("even_odd.wv"), call="even", args=(500,),
                           threshold=50, direct_calls=direct_calls))
    assert len(wt.find("compile", "compiled")) == 1
    assert_same(wt, v8)


@needs_node
def test_callbacks_from_jit_code_into_the_interpreter_alike() -> None:
    wt, v8 = both(Scenario(source=program("callback.wv"), call="sum", args=(10, 0),
                           threshold=10, repeat=12))
    assert wt.find("call", "callback")
    assert_same(wt, v8)


@needs_node
def test_the_interpreter_alone_alike() -> None:
    assert_same(*both(Scenario(source=program("fib.wv"), call="fib", args=(10,), jit=False)))


@needs_node
@pytest.mark.parametrize("link", LINKS)
@pytest.mark.parametrize("fault", [f for f in FAULTS if f != "runaway"])
def test_every_fault_ends_alike(fault: str, link: str) -> None:
    wt, v8 = both(Scenario.for_fault(fault, link=link))
    assert_same(wt, v8)


@needs_node
@pytest.mark.parametrize("link", LINKS)
def test_a_runaway_call_is_stopped_by_fuel_in_wasmtime_and_by_the_watchdog_in_v8(
        link: str) -> None:
    wt, v8 = both(Scenario.for_fault("runaway", link=link))
    assert wt.trap is not None and wt.trap.code == "OUT_OF_FUEL"
    assert v8.trap is not None and v8.trap.code == "INTERRUPT"
    assert f"{WATCHDOG_MS} ms watchdog" in v8.trap.message
    # Up to the stop, and in everything but that trap code, the steps are the same.
    def without_code(t: Trace) -> Trace:
        steps = tuple(replace(s, trap=replace(s.trap, code="STOPPED")) if s.trap else s
                      for s in t.steps)
        return replace(t, steps=steps, trap=replace(t.trap, code="STOPPED"))  # type: ignore[arg-type]
    assert_same(without_code(wt), without_code(v8))


@needs_node
def test_the_comparison_can_fail() -> None:
    """Another argument gives another trace: parity_view does not hide real differences."""
    wt = run(Scenario(exprs=("(x+1)*(x-1) - 5*x",), args=(13,)), disassemble=False)
    v8 = node_engine.run(Scenario(exprs=("(x+1)*(x-1) - 5*x",), args=(14,)),
                         disassemble=False)
    with pytest.raises(AssertionError):
        assert_same(wt, v8)


@needs_node
def test_the_trace_says_which_engine_ran_and_that_fuel_is_absent() -> None:
    trace = node_engine.run(Scenario(exprs=("x * x + 3",), args=(7,)))
    engine = trace[0].detail["engine"]
    assert engine["name"] == "node" and engine["fuel"] is None
    assert engine["node"].startswith("v") and engine["v8"]
    assert "no fuel" in engine["note"]
    assert all(step.fuel_used == 0 for step in trace)
    assert "V8" in trace[0].caption and "wasmtime" not in trace[0].caption
    # The JSON round trip keeps it, as for any trace.
    assert Trace.loads(trace.dumps())[0].detail["engine"] == engine


@needs_node
def test_a_v8_trap_names_v8s_words_and_wasmtimes_code() -> None:
    trace = node_engine.run(Scenario.for_fault("null-slot"), disassemble=False)
    assert trace.trap is not None and trace.trap.code == "INDIRECT_CALL_TO_NULL"
    # V8's message covers null and a wrong type alike; the host told them apart by the slot.
    assert trace.trap.message == "null function or function signature mismatch"
    assert any("main.invoke" in frame for frame in trace.trap.backtrace)


@needs_node
def test_the_node_process_ends_with_its_machine() -> None:
    machine = NodeMachine(record=False)
    machine.load("x + 1")
    assert machine.call("expr", [41]) == (42, None)
    machine.close()
    assert machine._proc.poll() is not None  # noqa: SLF001 - the process is what is tested


def test_a_missing_node_is_an_engine_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WASMVIZ_NODE", "/nonexistent/node")
    with pytest.raises(EngineError, match="cannot start Node.js"):
        NodeMachine()


@needs_node
@pytest.mark.parametrize("fault", ["null-slot", "bad-signature"])
def test_a_bad_slot_reached_from_the_interpreter_gets_wasmtimes_code(fault: str) -> None:
    """g stays interpreted and calls the compiled f through f's code slot: the trap is in
    main's interpreter, not in invoke, where V8's message alone cannot tell null from a
    wrong type; the code slots in memory can."""
    source = "def f(x) = x + 1\ndef g(x) = f(x) + f(x) + f(x)\n"
    wt, v8 = both(Scenario(source=source, call="g", args=(1,), threshold=3, window=0,
                           repeat=4, fault=fault))
    assert v8.trap is not None and any("main.interp" in f for f in v8.trap.backtrace)
    assert_same(wt, v8)


@needs_node
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(program_and_args(), st.sampled_from(LINKS), st.booleans(), st.booleans())
def test_random_programs_record_the_same_steps(case: tuple[str, str, tuple[int, ...]],
                                               link: str, jit_now: bool,
                                               direct_calls: bool) -> None:
    """Random programs (tests/strategies.py), compiled at once or left to tier up over a few
    calls, in any link style: traps included (division by zero, overflow), the same steps."""
    source, name, args = case
    assert_same(*both(Scenario(source=source, call=name, args=args, jit_now=jit_now,
                               threshold=2, window=0, repeat=3, link=link,
                               direct_calls=direct_calls)))


def test_the_js_host_ships_in_the_wheel() -> None:
    """A wheel holds only the package data pyproject.toml declares (tests/test_packaging.py):
    node_host.mjs must be declared for wasmviz.engine, or `--host node` breaks when installed."""
    from importlib.resources import files
    host = files("wasmviz.engine") / "node_host.mjs"
    assert host.is_file() and "new WebAssembly.Instance" in host.read_text()
    pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
    if not pyproject.is_file():
        pytest.skip("no pyproject.toml beside the tests (run from an installed wheel)")
    config = tomllib.loads(pyproject.read_text())["tool"]["setuptools"]["package-data"]
    engine = Path(str(files("wasmviz.engine")))
    declared = {p for pattern in config.get("wasmviz.engine", []) for p in engine.glob(pattern)}
    assert engine / "node_host.mjs" in declared, \
        'pyproject.toml [tool.setuptools.package-data] needs "wasmviz.engine" = ["*.mjs"]'
