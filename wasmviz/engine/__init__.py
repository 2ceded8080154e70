"""The wasmviz engine: drives wasmtime and records a trace. Imports no Qt.

    from wasmviz.engine import Scenario, run
    trace = run(Scenario(exprs=("x * x + 3",), args=(7,)))
"""

from .events import Listener
from .frontend import SourceError, compile_program
from .layout import Layout, Region
from .machine import EngineError, Machine
from .recorder import Recorder
from .scenario import FAULT_DESCRIPTIONS, FAULTS, Scenario, run, with_disassembly
from .trace import (PHASES, Edge, FunctionRecord, MemoryChange, ModuleInfo, Section, Slot, Step,
                    Trace, TrapInfo, VmState)

# The composition root: the machine only emits events (events.Listener); Machine(record=True)
# attaches the recorder wired in here, so machine.py never imports recorder.py or captions.py.
Machine.recorder_factory = Recorder

__all__ = [
    "FAULT_DESCRIPTIONS", "FAULTS", "PHASES", "Edge", "EngineError", "FunctionRecord", "Layout",
    "Listener", "Machine", "MemoryChange", "ModuleInfo", "Recorder", "Region", "Scenario",
    "Section", "Slot", "SourceError", "Step", "Trace", "TrapInfo", "VmState",
    "compile_program", "run", "with_disassembly",
]
