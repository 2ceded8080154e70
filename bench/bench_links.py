"""The three link styles side by side (issue 12): the cost of one generated module in each.

For each style: generate -> compile -> link -> call of one expression's module by the main
module, recording off (a Machine in that style), as a ratio to the floor: bare wasmtime
compiling and instantiating the very same bytes (the module the main module wrote in that
style, taken from a recorded run's trace) and calling the export the host calls after
instantiating, if the style has one (patch; __wasm_apply_data_relocs; in `start` the start
function runs inside the instantiation). Everything is measured in this one run, the styles and
their floors interleaved module by module, so a noisy machine slows them alike.

Run: .venv/bin/python bench/bench_links.py [--quick]   (prints a table for the README)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import wasmtime

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from wasmviz.engine import Machine  # noqa: E402
from wasmviz.engine.machine import _engine_and_main  # noqa: E402
from wasmviz.engine.engine_costs import expr_source  # noqa: E402
from wasmviz.engine.scenario import LINKS  # noqa: E402

#: pic: where the bare host says the module's room is (any base past the interpreter entries
#: with room behind it will do: the floor only has to place the same bytes).
PIC_TABLE_BASE, PIC_MEMORY_BASE, BARE_TABLE = 6, 0x3000, 64


class BareHost:
    """Compile and instantiate given bytes with nothing else, as the style needs: the floor."""

    def __init__(self, link: str) -> None:
        self.link = link
        self.engine, _ = _engine_and_main()
        self.store = wasmtime.Store(self.engine)
        self.store.set_fuel(10**12)
        funcref, i32 = wasmtime.ValType.funcref(), wasmtime.ValType.i32()
        self.table = wasmtime.Table(self.store, wasmtime.TableType(
            funcref, wasmtime.Limits(BARE_TABLE, None)), None)
        self.memory = wasmtime.Memory(self.store, wasmtime.MemoryType(wasmtime.Limits(8, None)))
        self.note = wasmtime.Func(self.store, wasmtime.FuncType([i32, i32, i32], []),
                                  lambda a, b, c: None)
        self.imports: list[wasmtime.AsExtern] = [self.note, self.table, self.memory]
        if link == "pic":
            for value in (PIC_TABLE_BASE, PIC_MEMORY_BASE):
                self.imports.append(wasmtime.Global(
                    self.store, wasmtime.GlobalType(i32, False), wasmtime.Val.i32(value)))

    def bring_to_life(self, data: bytes) -> None:
        module = wasmtime.Module(self.engine, data)
        instance = wasmtime.Instance(self.store, module, self.imports)
        export = Machine.LINK_EXPORTS[self.link]
        if export is not None:
            instance.exports(self.store)[export](self.store)  # type: ignore[operator]


def module_bytes(recorded: Machine) -> bytes:
    """The bytes of the module the main module wrote last, as its trace recorded them."""
    assert recorded.recorder is not None
    module = [s.module for s in recorded.recorder.steps if s.kind == "complete"][-1]
    assert module is not None
    return module.data


def per_module(n: int, per_machine: int = 20) -> dict[str, dict[str, float]]:
    """Median seconds per module for each style (recording off) and for its floor."""
    times = {link: {"style": [], "floor": []} for link in LINKS}   # type: ignore[var-annotated]
    sizes: dict[str, list[int]] = {link: [] for link in LINKS}
    for batch in range(0, n, per_machine):
        # Fresh machines every `per_machine` modules keep the table at a realistic size.
        off = {link: Machine(record=False, link=link) for link in LINKS}
        recorded = {link: Machine(record=True, link=link) for link in LINKS}
        bare = {link: BareHost(link) for link in LINKS}
        names = [f"e{i}" for i in range(batch, min(n, batch + per_machine))]
        for name in names:
            for link in LINKS:
                off[link].load(expr_source(int(name[1:])), expr_name=name)
                recorded[link].load(expr_source(int(name[1:])), expr_name=name)
        for name in names:
            for link in LINKS:   # interleaved: every module in every style, then the next
                recorded[link].jit_now([name])
                data = module_bytes(recorded[link])
                t0 = time.perf_counter()
                off[link].jit_now([name])
                value, trap = off[link].call(name, [5])
                t1 = time.perf_counter()
                bare[link].bring_to_life(data)
                t2 = time.perf_counter()
                assert trap is None and value == recorded[link].call(name, [5])[0], link
                times[link]["style"].append(t1 - t0)
                times[link]["floor"].append(t2 - t1)
                sizes[link].append(len(data))
    return {link: {"style": statistics.median(t["style"]),
                   "floor": statistics.median(t["floor"]),
                   "bytes": statistics.median(sizes[link])} for link, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples (smoke run)")
    args = parser.parse_args()
    n = 10 if args.quick else 90
    results = per_module(n)
    print(f"Cost per generated module by link style (median of {n} modules each, "
          f"interleaved; recording off)")
    print()
    print("| style | module bytes | generate..call (ms) | bare wasmtime (ms) | ratio |")
    print("|---|---:|---:|---:|---:|")
    for link, r in results.items():
        print(f"| {link} | {r['bytes']:.0f} | {r['style'] * 1e3:.3f} | "
              f"{r['floor'] * 1e3:.3f} | {r['style'] / r['floor']:.2f}x |")
    print()
    print("bare wasmtime = compile + instantiate the same bytes (+ call patch / "
          "__wasm_apply_data_relocs where the style's host does)")


if __name__ == "__main__":
    main()
