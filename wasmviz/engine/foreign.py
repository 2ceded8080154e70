"""Bring your own module (issue 13): link a module written or generated elsewhere into main.

A learner or a language implementer hands the host a ``.wat`` or ``.wasm`` file. The host
(ForeignMachine, a Machine that adds to the host without changing machine.py) loads it where
main's JIT writes its own modules (JIT_BUF), matches its imports to what main offers (by name
first, then by kind and type for toolchain conventions: ``env.memory``,
``env.__indirect_function_table``), refuses an import it cannot satisfy before instantiating,
and links it through the same listeners main's own modules go through, so the ONE recorder
records the link: its notes if it sends any, and in any case what it did to main's table and
memory, read around instantiation and around its link export. docs/foreign-modules.md is the
contract; ``run_foreign`` is the entry point of ``wasmviz trace --module``.

When: the host links the module on its own, right after set-up (the program is loaded, nothing
has been called), in place of the JIT run ``--jit-now`` would do. Substituting it for main's
output inside main's ``host.instantiate`` would throw away the module main had just written and
leave main's bookkeeping (the batch, the slots it took off its free list) describing a module
that never ran; linked by the host, module N of the trace is exactly the user's bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Sequence

from .foreign_captions import captions
from .foreign_files import (MAX_MODULE_BYTES, MAX_WAT_BYTES, WAT_TIMEOUT_S, ForeignFileError,
                            ForeignModule, assemble_wat, module_from_text, read_module,
                            shipped_or_text)
from .foreign_imports import (Binding, ForeignImportError, describe_offers, match_imports,
                              module_sections)
from .foreign_machine import LINK_EXPORTS, MAX_SLOT_ARGS, ForeignLink, ForeignMachine
from .instantiate import OK
from .scenario import Scenario, ScenarioError, call_repeated, with_disassembly
from .trace import Trace

# The parts live in foreign_files.py (reading and assembling the module), foreign_imports.py
# (matching imports, reading sections), foreign_machine.py and foreign_effects.py (the host
# that links it and what each stage changed) and foreign_captions.py; every name stays
# importable from here, where the CLI, the app, scenarios and the tests import it.
__all__ = [
    "LINK_EXPORTS", "MAX_MODULE_BYTES", "MAX_SLOT_ARGS", "MAX_WAT_BYTES", "WAT_TIMEOUT_S",
    "Binding", "ForeignFileError", "ForeignImportError", "ForeignLink", "ForeignMachine",
    "ForeignModule", "ForeignRun", "assemble_wat", "captions", "describe_offers",
    "match_imports", "module_from_text", "module_sections", "read_module", "run_foreign",
    "shipped_or_text", "with_module_sections",
]


@dataclass(frozen=True)
class ForeignRun:
    """A run with a foreign module: the trace and how the link ended."""

    trace: Trace
    link: ForeignLink

    @property
    def message(self) -> str | None:
        """What the CLI prints on stderr: why the module was not linked."""
        if self.link.refused:
            return f"module {self.link.number} not linked: {self.link.refused}"
        if self.link.invalid:
            return f"module {self.link.number} is not a valid module: {self.link.invalid}"
        return None

    @property
    def exit_code(self) -> int:
        """2: the module was refused or invalid (nothing of it ran); 1: it trapped while
        linking, or the call trapped; 0 otherwise."""
        if self.message:
            return 2
        return 1 if self.link.status != OK or self.trace.trap is not None else 0


def run_foreign(scenario: Scenario, module: ForeignModule, *,
                call_slot: tuple[int, Sequence[int]] | None = None, record: bool = True,
                disassemble: bool = True) -> ForeignRun:
    """Run ``scenario`` with ``module`` linked right after set-up, in place of the JIT run;
    then the scenario's calls, then ``call_slot`` (slot, args). Raises ScenarioError for
    combinations that have no meaning here (a fault, jit_now, redefine)."""
    for field, bad in (("fault", scenario.fault), ("jit_now", scenario.jit_now),
                       ("redefine", scenario.redefine)):
        if bad:
            raise ScenarioError(f"{field} cannot be combined with a module of your own: it "
                                "is linked in place of the JIT's output", field)
    try:
        scenario.validate()
    except ScenarioError as exc:
        if not (exc.field == "exprs" and call_slot is not None):
            raise
    machine = ForeignMachine(record=record, fuel=scenario.fuel, threshold=scenario.threshold,
                             window=scenario.window, jit=scenario.jit,
                             direct_calls=scenario.direct_calls, link=scenario.link)
    if scenario.source is not None:
        machine.load(scenario.source)
    names = []
    for i, expr in enumerate(scenario.exprs, start=1):
        names.append(f"expr{i}" if len(scenario.exprs) > 1 else "expr")
        machine.load(expr, expr_name=names[-1])
    link = machine.link_foreign(module)
    result, trap = None, None
    calls = [scenario.call] if scenario.source is not None else names
    for name in calls:
        result, trap = call_repeated(machine, name or "", scenario)
        if trap:
            break
    if call_slot is not None and trap is None:
        result, trap = machine.call_slot(call_slot[0], call_slot[1])
    if machine.recorder is None:
        return ForeignRun(Trace((), result, trap, machine.layout), link)
    measured = machine.measure_instances()
    trace = replace(machine.recorder.trace(result, trap), instances_measured=measured)
    trace = with_module_sections(trace, link.number, tuple(machine.unexported))
    return ForeignRun(with_disassembly(trace) if disassemble else trace, link)


def with_module_sections(trace: Trace, number: int, unexported: tuple[str, ...] = ()
                         ) -> Trace:
    """Give every step's copy of module ``number`` its sections, read from its bytes (the
    recorder takes a module's sections from main's SECTION notes, and this one sent none), and
    count its ``unexported`` functions among its instance's (the recorder knows its exports)."""
    shared: dict[tuple[int, int], Any] = {}   # equal inputs, one object: the JSON stays small

    def instances(step: Any) -> Any:
        key = (id(step.instances), id(step.table))
        if key not in shared:
            held = {s.function for s in step.table if s.module == number and s.function}
            shared[key] = tuple(
                replace(i, functions=(fns := i.functions + tuple(
                    n for n in dict.fromkeys(unexported) if n not in i.functions)),
                        in_table=tuple(f for f in fns if f in held))
                if i.module == number else i for i in step.instances)
        return shared[key]

    # Its functions as the module card and the Module dock name them: those its instance can
    # put in a table slot (its exports, and the unexported ones named after the function
    # object whose code slot reaches them).
    last = instances(trace.steps[-1]) if trace.steps else ()
    names = next((i.functions for i in last if i.module == number), ())

    def fill(step: Any) -> Any:
        m = step.module
        if m is not None and m.number == number and (not m.sections or not m.functions):
            step = replace(step, module=replace(m, sections=m.sections or
                                                module_sections(m.data),
                                                functions=m.functions or names))
        return replace(step, instances=instances(step)) if unexported else step
    return replace(trace, steps=tuple(fill(s) for s in trace.steps))
