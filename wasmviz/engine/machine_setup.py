"""What the wasmtime host is set up with, apart from the Machine that uses it.

The fuel budgets, the store limits, the note kinds the host itself reads, the link styles and
fault modes main understands, the errors and records the machine hands out, and the one engine
and compiled main module every Machine of the process shares. Kept apart from machine.py so
that file holds only the host's behaviour; every name here is still importable from
wasmviz.engine.machine, where the tests, bench, CLI and lessons have always found them. Like
machine.py, this module imports neither the recorder nor the captions.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import wasmtime

from ..data import MAIN_WAT  # wasmviz/data/main.wat, found via importlib.resources

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


@dataclass(frozen=True)
class FunctionInfo:
    """A function the host defined in the main module."""

    name: str
    obj: int
    params: tuple[str, ...]
    code: bytes
    source: str
    name_ptr: int
    code_ptr: int


@functools.lru_cache(maxsize=1)
def _engine_and_main() -> tuple[wasmtime.Engine, wasmtime.Module]:
    # One engine per process: compiling main.wat once keeps every later Machine cheap.
    config = wasmtime.Config()
    config.consume_fuel = True
    engine = wasmtime.Engine(config)
    from .module_cache import load_module  # noqa: PLC0415 - compiled once, cached on disk
    return engine, load_module(engine, MAIN_WAT.read_text(), "consume_fuel=True")


@functools.lru_cache(maxsize=1)
def _probe_module(engine: wasmtime.Engine) -> wasmtime.Module:
    # The smallest module: instantiating it costs an instance and nothing else.
    return wasmtime.Module(engine, b"\0asm\x01\0\0\0")


def count_instances(store: wasmtime.Store, expected: int, table_limit: int) -> int:
    """How many instances ``store`` holds (Machine.measure_instances), searched from
    ``expected``, the host's own count. Each probe sets the store's instance limit and tries one
    more instance; the store's memory and table limits (``table_limit`` elements) are kept, and
    are all that is left set afterwards."""
    probe = _probe_module(store.engine)

    def admits(limit: int) -> bool:
        store.set_limits(memory_size=MAX_MEMORY_PAGES * 65536, table_elements=table_limit,
                         instances=limit)
        try:
            wasmtime.Instance(store, probe, [])
            return True
        except (wasmtime.WasmtimeError, wasmtime.Trap):
            return False

    try:
        extra = 0
        if admits(expected):  # fewer than counted: the probe is one more; count again
            expected, extra = 0, 1
        n = expected
        while not admits(n + 1):  # refused at n: it holds n or more
            n += 1
        return n - extra
    finally:
        store.set_limits(memory_size=MAX_MEMORY_PAGES * 65536, table_elements=table_limit)
