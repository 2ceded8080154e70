"""Scenarios: a declarative description of a run, and running one into a Trace.

The CLI, the app's sandbox and the lessons all describe what to run as a Scenario, so the same
run gives the same trace wherever it is asked for. A scenario always runs in a fresh Machine:
a fault in one run can never leak into the next.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Mapping

from . import disasm
from .machine import DEFAULT_FUEL, FAULT_MODES, EngineError, Machine
from .trace import ModuleInfo, Step, Trace, TrapInfo

#: Faults a scenario may ask for: the JIT's own bugs, plus one the host causes.
FAULTS = tuple(FAULT_MODES) + ("table-limit",)


@dataclass(frozen=True)
class Scenario:
    """What to run.

    ``exprs``: bare expressions over ``x``; each becomes its own function, is JIT-compiled into
    its own module (so several fill several slots) and is called with ``args``.
    ``source`` with ``call``: a program, and the function and arguments to call; it tiers up
    by call counts unless ``jit_now``. ``repeat`` calls it that many times.
    """

    exprs: tuple[str, ...] = ()
    args: tuple[int, ...] = ()
    source: str | None = None
    call: str | None = None
    jit_now: bool = False
    jit: bool = True
    fault: str | None = None
    threshold: int = 100
    window: int = 100
    fuel: int = DEFAULT_FUEL
    repeat: int = 1
    direct_calls: bool = True

    def validate(self) -> None:
        """Raise EngineError if the scenario is not runnable as described."""
        if not self.exprs and self.source is None:
            raise EngineError("nothing to run: give an expression or a program")
        if self.source is not None and self.call is None:
            raise EngineError("a program needs a function to call")
        if self.fault is not None and self.fault not in FAULTS:
            raise EngineError(f"unknown fault {self.fault!r}; one of: {', '.join(FAULTS)}")
        if self.threshold < 1 or self.window < 0 or self.fuel < 1 or self.repeat < 1:
            raise EngineError("threshold, fuel and repeat must be positive, window >= 0")

    @staticmethod
    def for_fault(fault: str, expr: str = "x * x + 3", arg: int = 7) -> Scenario:
        """Return the standard scenario that ends in ``fault``."""
        # A runaway loop gets a small budget so it stops well within a second.
        fuel = 20_000_000 if fault == "runaway" else DEFAULT_FUEL
        return Scenario(exprs=(expr,), args=(arg,), jit_now=True, fault=fault, fuel=fuel)

    @staticmethod
    def from_mapping(data: Mapping[str, Any]) -> Scenario:
        """Build a scenario from plain data (a lesson file's table); EngineError if malformed."""
        known = set(Scenario.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            raise EngineError(f"unknown scenario field(s): {', '.join(sorted(unknown))}")
        values = dict(data)
        for key in ("exprs", "args"):
            if key in values:
                values[key] = tuple(values[key])
        try:
            scenario = replace(Scenario(), **values)
        except TypeError as exc:
            raise EngineError(f"bad scenario: {exc}") from None
        scenario.validate()
        return scenario


def run(scenario: Scenario, *, record: bool = True, disassemble: bool = True) -> Trace:
    """Run ``scenario`` in a fresh Machine and return its trace.

    Raises ``frontend.SourceError`` for bad source and EngineError for bad requests; traps and
    faults are not errors, they end the trace as steps.
    """
    scenario.validate()
    machine = Machine(record=record, fuel=scenario.fuel, threshold=scenario.threshold,
                      window=scenario.window, jit=scenario.jit,
                      fault=scenario.fault if scenario.fault in FAULT_MODES else None,
                      direct_calls=scenario.direct_calls)
    result, trap = None, None
    if scenario.source is not None:
        machine.load(scenario.source)
        if scenario.fault == "table-limit":
            machine.freeze_table()
        if scenario.jit_now and scenario.jit:
            machine.jit_now()
        result, trap = _call(machine, scenario.call or "", scenario)
    many = len(scenario.exprs) > 1
    for i, expr in enumerate(scenario.exprs, start=1):
        name = f"expr{i}" if many else "expr"
        machine.load(expr, expr_name=name)
        if scenario.fault == "table-limit":
            machine.freeze_table()
        if scenario.jit:
            machine.jit_now([name])
        result, trap = _call(machine, name, scenario)
        if trap:
            break
    if machine.recorder is None:
        return Trace((), result, trap)
    trace = machine.recorder.trace(result, trap)
    return with_disassembly(trace) if disassemble else trace


def _call(machine: Machine, name: str, scenario: Scenario) -> tuple[int | None, TrapInfo | None]:
    """Call ``name`` ``scenario.repeat`` times, stopping at the first trap; return the last."""
    result, trap = None, None
    for _ in range(scenario.repeat):
        result, trap = machine.call(name, scenario.args)
        if trap:
            break
    return result, trap


def with_disassembly(trace: Trace) -> Trace:
    """Return ``trace`` with each generated module's WAT and annotated binary filled in."""
    def fill(step: Step) -> Step:
        if step.module is None or step.module.wat is not None:
            return step
        wat, dump = disasm.describe(step.module.data)
        module: ModuleInfo = replace(step.module, wat=wat, dump=dump)
        return replace(step, module=module)
    return replace(trace, steps=tuple(fill(s) for s in trace.steps))
