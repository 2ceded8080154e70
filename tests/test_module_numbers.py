"""Module numbers are main's own: the k-th module main hands to the host is module k.

The host used to number a module by the instances it had made, so a module wasmtime rejected
and the next one shared a number (and the later one's functions could show under the failed
instance). Now the number is read from main's memory (state.modules + 1, Machine.
next_module_number), under wasmtime and under V8 alike.
"""

from __future__ import annotations

import shutil

import pytest

from wasmviz.engine import Scenario, run
from wasmviz.engine.scenario import FAULTS, LINKS

PHASES_OF_A_MODULE = ("generate", "compile", "link", "patch")


def numbered(trace) -> list[tuple[int, int]]:  # type: ignore[no-untyped-def]
    """(module number, main's state.modules) for every step of a module's making."""
    return [(s.module.number, s.vm.modules) for s in trace.steps
            if s.module is not None and s.phase in PHASES_OF_A_MODULE and s.vm is not None]


@pytest.mark.parametrize("link", LINKS)
@pytest.mark.parametrize("fault", FAULTS)
def test_every_module_is_numbered_as_main_counts_it(fault: str, link: str) -> None:
    scenario = Scenario.for_fault(fault, expr="x + 1", link=link)
    scenario = Scenario(exprs=scenario.exprs + ("x * 2",), args=scenario.args,
                        fault=scenario.fault, fuel=scenario.fuel, link=link)
    pairs = numbered(run(scenario, disassemble=False))
    assert pairs
    assert all(number == modules + 1 for number, modules in pairs), pairs


def test_two_rejected_modules_have_two_numbers() -> None:
    trace = run(Scenario(exprs=("x + 1", "x * 2"), args=(3,), fault="invalid-module"),
                disassemble=False)
    rejected = [s.module.number for s in trace.steps if s.kind == "invalid"]
    assert rejected == [1, 2]
    labels = {c.label for s in trace.steps if s.phase == "generate" for c in s.memory_changes}
    assert {"module 1 bytes", "module 2 bytes"} <= labels


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_v8_numbers_them_as_wasmtime_does() -> None:
    from wasmviz.engine import node_engine

    scenario = Scenario(exprs=("x + 1", "x * 2"), args=(3,), fault="invalid-module")
    assert numbered(node_engine.run(scenario, disassemble=False)) == \
        numbered(run(scenario, disassemble=False))


def test_a_module_of_your_own_then_mains_own_have_two_numbers() -> None:
    """The host links yours first (module 1, it installs square); twice, interpreted, is
    called often enough to tier up, and main's JIT makes module 2."""
    from wasmviz.data import data_path
    from wasmviz.engine.foreign import read_module, run_foreign

    modules = data_path("modules")
    source = (modules / "square.wv").read_text() + "\ndef twice(x) = square(x) + square(x)\n"
    scenario = Scenario(source=source, call="twice", args=(7,), threshold=2, window=1,
                        repeat=5)
    trace = run_foreign(scenario, read_module(str(modules / "handwritten_patch.wat")),
                        disassemble=False).trace
    made = sorted({s.module.number for s in trace.steps if s.module is not None})
    assert made == [1, 2], made
    assert any(s.phase == "generate" and s.module is not None and s.module.number == 2
               for s in trace.steps)
