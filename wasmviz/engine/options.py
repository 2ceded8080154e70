"""What the host allows and understands, with no wasmtime in sight.

The fuel budgets, the store limits, the note kinds the host reads, the link styles and fault
modes main understands, and the engine's error. Kept apart from machine_setup.py (which
re-exports every name, so wasmviz.engine.machine still has them all) because these are what a
Scenario, the CLI's parser and the app's window need before any run: importing them must not
import wasmtime, which the app's first run imports in a process of its own (issue 11,
engine/child_run.py).
"""

from __future__ import annotations

#: Fuel for one top-level operation: enough for fib(30) interpreted, small enough that a
#: runaway loop in generated code stops in under a second (`make bench`, line 4, measures it).
DEFAULT_FUEL = 1_500_000_000

#: Fuel for the host's own set-up operations, whatever a run's ``fuel`` says: instantiating
#: main, loading a program and a JIT run the host asks for (``jit_now``). A run's ``fuel`` meters
#: its calls (review D15: with ``--fuel 1000`` main could not even write its first module,
#: which takes about 10,000 units for one expression; docs/abi.md, "Fuel", has the figures).
#: Still finite, so a generated module's start function or patch that never returns stops.
SETUP_FUEL = DEFAULT_FUEL

#: Store limits (docs/abi.md): generous, finite bounds on what any code in the store, above all
#: a generated module, may grow main's memory and table to. main starts with 8 pages and 6
#: slots and the JIT adds one slot per compiled function; without a bound one `table.grow` of
#: 10^9 took the host past 6 GB (review D10). A grow beyond them returns -1, as in a browser.
MAX_MEMORY_PAGES = 1024          # 64 MiB
MAX_TABLE_ELEMENTS = 65536

#: Notes a generated module may send while it is patched in: kinds from PATCH_NOTES up (slot
#: installed, code slot written, ...; docs/abi.md), at most MAX_PATCH_NOTES of them (a patch
#: sends three per function it installs).
PATCH_NOTES = 16
MAX_PATCH_NOTES = 4096

#: The note main's invoke sends once it has read the code slot it calls through (docs/abi.md).
NOTE_CALL = 8

#: `set_link` styles: how a generated module gets its functions into main's table
#: (docs/abi.md, "Link styles"). ``patch`` is the default and the oldest.
LINK_STYLES = {"patch": 0, "start": 1, "pic": 2}

#: `set_fault` modes of the template JIT.
FAULT_MODES = {"null-slot": 1, "bad-signature": 2, "out-of-bounds": 3, "invalid-module": 4,
               "runaway": 5, "link-mismatch": 6}


class EngineError(Exception):
    """A request the engine cannot carry out (bad name, too many functions, ...)."""
