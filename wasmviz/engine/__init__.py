"""The wasmviz engine: drives wasmtime and records a trace. Imports no Qt.

    from wasmviz.engine import Scenario, run
    trace = run(Scenario(exprs=("x * x + 3",), args=(7,)))

Every name below is imported when first asked for (PEP 562), not with the package: the app's
window describes scenarios and shows traces (scenario.py, trace.py) without importing wasmtime,
which its first run imports in a process of its own (issue 11, child_run.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy_names import lazy_exports

if TYPE_CHECKING:  # what a type checker and an editor see: the names, where they live
    from .events import Listener
    from .frontend import SourceError, compile_program
    from .layout import Layout, Region
    from .machine import Machine
    from .options import EngineError
    from .recorder import Recorder
    from .scenario import FAULT_DESCRIPTIONS, FAULTS, Scenario, run, with_disassembly
    from .trace import (PHASES, Edge, FunctionRecord, MemoryChange, ModuleInfo, Section, Slot,
                        Step, Trace, TrapInfo, VmState)

#: Where each public name lives.
_HOMES = {
    "Listener": "events", "SourceError": "frontend", "compile_program": "frontend",
    "Layout": "layout", "Region": "layout", "EngineError": "options", "Machine": "machine",
    "Recorder": "recorder",
    **dict.fromkeys(("FAULT_DESCRIPTIONS", "FAULTS", "Scenario", "run", "with_disassembly"),
                    "scenario"),
    **dict.fromkeys(("PHASES", "Edge", "FunctionRecord", "MemoryChange", "ModuleInfo",
                     "Section", "Slot", "Step", "Trace", "TrapInfo", "VmState"), "trace"),
}


def recorder_for(machine: Machine) -> Listener:
    """The composition root: the listener Machine(record=True) attaches. The machine only
    emits events (events.Listener); it asks the package for its recorder on the first
    recording run, so machine.py never imports recorder.py or captions.py."""
    from .recorder import Recorder  # noqa: PLC0415
    return Recorder(machine)


__getattr__ = lazy_exports(__name__, _HOMES, globals())

__all__ = sorted(_HOMES)
