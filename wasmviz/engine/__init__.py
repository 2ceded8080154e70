"""The wasmviz engine: drives wasmtime and records a trace. Imports no Qt.

    from wasmviz.engine import Scenario, run
    trace = run(Scenario(exprs=("x * x + 3",), args=(7,)))
"""

from typing import Any

from .events import Listener
from .frontend import SourceError, compile_program
from .layout import Layout, Region
from .machine import EngineError, Machine
from .scenario import FAULT_DESCRIPTIONS, FAULTS, Scenario, run, with_disassembly
from .trace import (PHASES, Edge, FunctionRecord, MemoryChange, ModuleInfo, Section, Slot, Step,
                    Trace, TrapInfo, VmState)


def _recorder(machine: Machine) -> Listener:
    # The recorder and what it reads with (captions, records, snapshots) are imported by the
    # first recording run, not by whoever imports the engine: the app's window imports it at
    # start-up, and its first run happens in a worker thread, alongside Qt (issue 11).
    from .recorder import Recorder  # noqa: PLC0415
    return Recorder(machine)


# The composition root: the machine only emits events (events.Listener); Machine(record=True)
# attaches the recorder wired in here, so machine.py never imports recorder.py or captions.py.
Machine.recorder_factory = _recorder


def __getattr__(name: str) -> Any:
    if name == "Recorder":
        from .recorder import Recorder  # noqa: PLC0415
        return Recorder
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "FAULT_DESCRIPTIONS", "FAULTS", "PHASES", "Edge", "EngineError", "FunctionRecord", "Layout",
    "Listener", "Machine", "MemoryChange", "ModuleInfo", "Recorder", "Region", "Scenario",
    "Section", "Slot", "SourceError", "Step", "Trace", "TrapInfo", "VmState",
    "compile_program", "run", "with_disassembly",
]
