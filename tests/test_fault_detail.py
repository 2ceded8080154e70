"""Faults explain themselves: the bad signature names both types; every fault has a line."""

from __future__ import annotations

import pytest
import wasmtime

from wasmviz.engine import FAULT_DESCRIPTIONS, FAULTS, Scenario, run
from wasmviz.engine.captions import type_text
from wasmviz.engine.machine import _engine_and_main


def test_bad_signature_names_the_expected_and_the_actual_type() -> None:
    trace = run(Scenario.for_fault("bad-signature"), disassemble=False)
    step = trace[-1]
    assert step.trap is not None and step.trap.code == "BAD_SIGNATURE"
    d = step.detail
    # Expected: what main's call_indirect names for a 1-parameter function, (x, self) -> i32.
    assert d["expected_type"] == "(i32 i32) -> i32"
    # Actual: the type of the function in slot 6 as wasmtime compiled it from the JIT's bytes,
    # read here independently from the module's own export.
    data = trace.find("generate", "complete")[-1].module.data
    module = wasmtime.Module(_engine_and_main()[0], data)
    export = next(e for e in module.exports if e.name == "expr")
    assert isinstance(export.type, wasmtime.FuncType)
    assert d["actual_type"] == type_text(export.type) != d["expected_type"]
    assert (d["mismatch_slot"], d["mismatch_holds"]) == (6, "m1.expr")
    assert step.table[6].label == "m1.expr"
    assert (f"call_indirect expected {d['expected_type']} but slot 6 holds m1.expr of type "
            f"{d['actual_type']}") in step.caption


def test_a_correct_module_has_the_expected_type() -> None:
    trace = run(Scenario(exprs=("x * x + 3",), args=(7,)), disassemble=False)
    module = wasmtime.Module(_engine_and_main()[0],
                             trace.find("generate", "complete")[-1].module.data)
    export = next(e for e in module.exports if e.name == "expr")
    assert type_text(export.type) == "(i32 i32) -> i32"   # type: ignore[arg-type]


@pytest.mark.parametrize("fault", ["null-slot", "out-of-bounds", "runaway"])
def test_other_traps_claim_no_types(fault: str) -> None:
    step = run(Scenario.for_fault(fault), disassemble=False)[-1]
    assert step.trap is not None and "expected_type" not in step.detail


def test_every_fault_has_a_one_line_description() -> None:
    assert set(FAULT_DESCRIPTIONS) == set(FAULTS)
    for fault, text in FAULT_DESCRIPTIONS.items():
        assert text.strip() and "\n" not in text and len(text) < 160, fault
