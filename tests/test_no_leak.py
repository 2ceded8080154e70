"""A Machine is freed when its run is over (review D5).

wasmtime-py keeps host callbacks in a process-wide registry until their store is dropped; a
bound method there kept every Machine, its Store and its recorded trace alive for the life of
the process (+0.19 MB per sandbox run). The callbacks now hold the Machine weakly.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import os
import weakref

import pytest

from wasmviz.engine import Scenario, run
from wasmviz.engine.machine import Machine

RUNS = 300
LIMIT_MB = 12.0


def _rss_mb() -> float:
    with open(f"/proc/{os.getpid()}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def _settle() -> None:
    """Collect cycles, then hand freed heap pages back to the OS.

    glibc keeps freed arenas mapped (they count in RSS though nothing lives there); trimming
    makes RSS say what is really held, so the test measures live memory, not the allocator.
    """
    gc.collect()
    name = ctypes.util.find_library("c")
    if name:
        libc = ctypes.CDLL(name)
        if hasattr(libc, "malloc_trim"):
            libc.malloc_trim(0)


def test_a_machine_is_freed_when_nothing_holds_it() -> None:
    machine = Machine(record=True)
    machine.load("def f(x) = x + 1")
    assert machine.call("f", [2])[0] == 3
    ref = weakref.ref(machine)
    del machine
    gc.collect()
    assert ref() is None


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs Linux /proc")
def test_300_scenarios_after_warm_up_grow_resident_memory_by_less_than_12_mb() -> None:
    scenario = Scenario(exprs=("x * x + 3",), args=(7,), jit_now=True)
    gc.collect()
    alive = _machines()  # other tests' fixtures may hold some: none of ours may stay
    for _ in range(30):  # warm-up: caches, the engine, numpy, wasmtime's code memory
        run(scenario, disassemble=False)
    _settle()
    before = _rss_mb()
    for _ in range(RUNS):
        trace = run(scenario, disassemble=False)
    assert trace.result == 52
    del trace
    _settle()
    grown = _rss_mb() - before
    assert grown < LIMIT_MB, f"RSS grew {grown:.1f} MB over {RUNS} runs"
    assert _machines() <= alive


def _machines() -> int:
    return sum(isinstance(o, Machine) for o in gc.get_objects())
