"""The wasmviz engine: drives wasmtime and records a trace. Imports no Qt.

    from wasmviz.engine import Scenario, run
    trace = run(Scenario(exprs=("x * x + 3",), args=(7,)))
"""

from .frontend import SourceError, compile_program
from .layout import Layout, Region
from .machine import EngineError, Machine
from .scenario import FAULT_DESCRIPTIONS, FAULTS, Scenario, run, with_disassembly
from .trace import PHASES, Edge, MemoryChange, ModuleInfo, Section, Slot, Step, Trace, TrapInfo

__all__ = [
    "FAULT_DESCRIPTIONS", "FAULTS", "PHASES", "Edge", "EngineError", "Layout", "Machine", "MemoryChange", "ModuleInfo",
    "Region", "Scenario", "Section", "Slot", "SourceError", "Step", "Trace", "TrapInfo",
    "compile_program", "run", "with_disassembly",
]
