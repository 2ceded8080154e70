"""Every fault ends as a step with wasmtime's own error, and the engine stays usable."""

import pytest

from wasmviz.engine import FAULTS, Machine, Scenario, run

TRAPS = {"null-slot": "INDIRECT_CALL_TO_NULL", "bad-signature": "BAD_SIGNATURE",
         "out-of-bounds": "TABLE_OUT_OF_BOUNDS", "runaway": "OUT_OF_FUEL"}


@pytest.mark.parametrize("fault", sorted(TRAPS))
def test_call_faults_trap_with_their_code(fault: str) -> None:
    trace = run(Scenario.for_fault(fault), disassemble=False)
    last = trace[-1]
    assert last.phase == "call" and last.kind == "trap"
    assert last.trap is not None and last.trap.code == TRAPS[fault]
    assert trace.trap == last.trap and trace.result is None
    assert TRAPS[fault] in last.caption


def test_null_slot_points_at_a_grown_but_empty_slot() -> None:
    trace = run(Scenario.for_fault("null-slot"), disassemble=False)
    assert not trace.find("patch", "table.set")
    (reloc,) = trace.find("patch", "relocation")
    assert trace[-1].table[reloc.detail["value"]].kind == "null"


def test_out_of_bounds_slot_is_past_the_table_end() -> None:
    trace = run(Scenario.for_fault("out-of-bounds"), disassemble=False)
    assert trace[-1].detail["slot"] >= len(trace[-1].table)


@pytest.mark.parametrize("fault, phase, kind, words", [
    ("invalid-module", "compile", "invalid", "type mismatch"),
    ("link-mismatch", "link", "link-error", "memory"),
    ("table-limit", "patch", "trap", "table limit"),
])
def test_failed_jit_keeps_interpreting(fault: str, phase: str, kind: str, words: str) -> None:
    trace = run(Scenario.for_fault(fault), disassemble=False)
    (failed,) = trace.find(phase, kind)
    assert words in (failed.error or failed.caption)
    (done,) = trace.find("patch", "jit-done")
    assert done.detail["status"] != 0
    assert trace.result == 52 and trace.trap is None
    assert trace[-1].detail["via"] == "interpreter"


def test_every_fault_is_covered() -> None:
    assert set(FAULTS) == set(TRAPS) | {"invalid-module", "link-mismatch", "table-limit"}


def test_engine_is_usable_after_each_fault() -> None:
    for fault in FAULTS:
        run(Scenario.for_fault(fault), disassemble=False)
        assert run(Scenario(exprs=("x + 1",), args=(1,)), disassemble=False).result == 2


@pytest.mark.parametrize("jit", [False, True])
def test_division_by_zero_traps_in_both_tiers(jit: bool) -> None:
    m = Machine(record=False)
    m.load("100 / x")
    if jit:
        m.jit_now()
    value, trap = m.call("expr", [0])
    assert value is None and trap is not None and trap.code == "INTEGER_DIVISION_BY_ZERO"
    assert m.call("expr", [7]) == (14, None)


def test_runaway_is_stopped_and_the_machine_runs_again() -> None:
    m = Machine(record=False, fault="runaway", fuel=5_000_000)
    m.load("x + 1")
    m.jit_now()
    assert m.call("expr", [1])[1].code == "OUT_OF_FUEL"  # type: ignore[union-attr]
    m.load("x + 2", expr_name="other")
    assert m.call("other", [1]) == (3, None)
