"""What the wasmtime host is set up with, apart from the Machine that uses it.

The records the machine hands out and the one engine and compiled main module every Machine of
the process shares; the fuel budgets, store limits, note kinds, link styles, fault modes and
the engine's error are in options.py (no wasmtime) and re-exported here. Kept apart from machine.py so
that file holds only the host's behaviour; every name here is still importable from
wasmviz.engine.machine, where the tests, bench, CLI and lessons have always found them. Like
machine.py, this module imports neither the recorder nor the captions.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import wasmtime

from ..data import MAIN_WAT  # wasmviz/data/main.wat, found via importlib.resources
from .options import (DEFAULT_FUEL, FAULT_MODES, LINK_STYLES,  # noqa: F401 - re-exported
                      MAX_MEMORY_PAGES, MAX_PATCH_NOTES, MAX_TABLE_ELEMENTS, NOTE_CALL,
                      PATCH_NOTES, SETUP_FUEL, EngineError)


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
