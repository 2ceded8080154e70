"""Opening a saved trace without trusting it: limits, then a precise message or a Trace.

A trace file is data from anywhere. Before this check, a 55 KB file claiming 10^9 memory pages
made the player allocate 6 GB (review D4), and addresses or lengths no run can produce made
views raise (D12). ``load_trace_file`` is what the CLI and the app call instead of
``Trace.loads``: it reads a regular file under a size cap, checks the raw JSON against the
limits below before anything is built from it, decodes it, checks the decoded steps again (a
change-encoded table is only whole after decoding), and turns every failure into
``TraceRejected`` with the step and field at fault.

The limits are those of a run this host can record (machine.MAX_MEMORY_PAGES and
MAX_TABLE_ELEMENTS, the store limits), so every trace wasmviz wrote passes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..safe_files import MAX_TRACE_BYTES, read_small_text
from .machine import MAX_MEMORY_PAGES, MAX_TABLE_ELEMENTS
from .trace import Trace

PAGE_SIZE = 65536
MAX_STEPS = 200_000
#: Bytes a single memory change or generated module may hold.
MAX_CHANGE_BYTES = 16 * 1024 * 1024
MAX_FUNCTIONS = 4096
MAX_TEXT = 1024 * 1024


class TraceRejected(ValueError):
    """The file is not a trace this app can show; the message says where and why."""


def load_trace_file(path: Path | str) -> Trace:
    """Read, check and decode the trace at ``path``; raise TraceRejected or OSError."""
    text = read_small_text(path, MAX_TRACE_BYTES, "trace")
    return load_trace_text(text)


def load_trace_text(text: str) -> Trace:
    """Check and decode trace JSON ``text``; raise TraceRejected with a precise message."""
    try:
        data = json.loads(text)
    except RecursionError:
        raise TraceRejected("not a wasmviz trace: JSON nested too deeply") from None
    except ValueError as exc:
        raise TraceRejected(f"not JSON: {exc}") from None
    check_trace_json(data)
    try:
        trace = Trace.from_json(data)
    except TraceRejected:
        raise
    except Exception as exc:  # noqa: BLE001 - any malformed field: say so, never crash a view
        raise TraceRejected(f"not a wasmviz trace: {type(exc).__name__}: {exc}") from None
    check_trace(trace)
    return trace


def _int(value: Any, where: str, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise TraceRejected(f"{where} is {_show(value)}; it must be a whole number from "
                            f"{low:,} to {high:,}")
    return value


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _hex_len(value: Any, where: str) -> int:
    if not isinstance(value, str) or len(value) % 2 or len(value) > 2 * MAX_CHANGE_BYTES:
        raise TraceRejected(f"{where} must be hex text of at most {MAX_CHANGE_BYTES:,} bytes")
    return len(value) // 2


def check_trace_json(data: Any) -> None:
    """Check the raw JSON of a trace against the limits, before anything is allocated."""
    if not isinstance(data, dict) or not isinstance(data.get("steps"), list):
        raise TraceRejected("not a wasmviz trace: no list of steps")
    steps = data["steps"]
    if not steps:
        raise TraceRejected("the trace has no steps")
    if len(steps) > MAX_STEPS:
        raise TraceRejected(f"{len(steps):,} steps; a trace may have at most {MAX_STEPS:,}")
    layout = data.get("layout") or {}
    if not isinstance(layout, dict):
        raise TraceRejected("layout must be an object")
    for key, value in layout.items():
        low = 1 if key in ("func_size", "max_funcs") else 0
        _int(value, f"layout.{key}", low, MAX_MEMORY_PAGES * PAGE_SIZE)
    for n, step in enumerate(steps, start=1):
        if not isinstance(step, dict):
            raise TraceRejected(f"step {n} is not an object")
        where = f"step {n}"
        pages = _int(step.get("memory_pages"), f"{where}: memory_pages", 0, MAX_MEMORY_PAGES)
        table = step.get("table")
        if isinstance(table, list) and len(table) > MAX_TABLE_ELEMENTS:
            raise TraceRejected(f"{where}: {len(table):,} table slots; at most "
                                f"{MAX_TABLE_ELEMENTS:,}")
        if isinstance(table, dict):
            _int(table.get("n"), f"{where}: table.n", 0, MAX_TABLE_ELEMENTS)
        changes = step.get("memory_changes")
        if not isinstance(changes, list):
            raise TraceRejected(f"{where}: memory_changes must be a list")
        for c in changes:
            if not isinstance(c, dict):
                raise TraceRejected(f"{where}: a memory change is not an object")
            old = _hex_len(c.get("old"), f"{where}: memory change old")
            new = _hex_len(c.get("new"), f"{where}: memory change new")
            if old != new:
                raise TraceRejected(f"{where}: a memory change has {old} old and {new} new "
                                    "bytes; they must be as many")
            address = _int(c.get("address"), f"{where}: memory change address", 0,
                           pages * PAGE_SIZE)
            if address + new > pages * PAGE_SIZE:
                raise TraceRejected(f"{where}: a memory change at {address:#x} of {new} bytes "
                                    f"ends beyond the step's {pages} page(s) of memory")
        module = step.get("module")
        if module:
            if not isinstance(module, dict):
                raise TraceRejected(f"{where}: module must be an object")
            if "bytes" in module:  # else a reference to an earlier step's module
                _hex_len(module["bytes"], f"{where}: module bytes")
        functions = step.get("functions")
        if isinstance(functions, list) and len(functions) > MAX_FUNCTIONS:
            raise TraceRejected(f"{where}: {len(functions):,} functions; at most "
                                f"{MAX_FUNCTIONS:,}")
        for key in ("caption", "error"):
            if isinstance(step.get(key), str) and len(step[key]) > MAX_TEXT:
                raise TraceRejected(f"{where}: {key} is longer than {MAX_TEXT:,} characters")


def check_trace(trace: Trace) -> None:
    """Check the decoded steps: whole tables, memory changes and records within limits."""
    for n, step in enumerate(trace.steps, start=1):
        where = f"step {n}"
        if not isinstance(step.memory_pages, int) or not 0 <= step.memory_pages <= \
                MAX_MEMORY_PAGES:
            raise TraceRejected(f"{where}: memory_pages out of range")
        if len(step.table) > MAX_TABLE_ELEMENTS:
            raise TraceRejected(f"{where}: {len(step.table):,} table slots; at most "
                                f"{MAX_TABLE_ELEMENTS:,}")
        for slot in step.table:
            if not isinstance(slot.index, int) or not isinstance(slot.kind, str):
                raise TraceRejected(f"{where}: a table slot has a bad index or kind")
        for c in step.memory_changes:
            if not isinstance(c.address, int) or len(c.old) != len(c.new) or \
                    c.address + len(c.new) > step.memory_pages * PAGE_SIZE:
                raise TraceRejected(f"{where}: a memory change lies outside memory")
        if len(step.functions) > MAX_FUNCTIONS:
            raise TraceRejected(f"{where}: too many function records")
        for f in step.functions:
            if not isinstance(f.address, int) or not isinstance(f.name, str) or \
                    not 0 <= f.address < step.memory_pages * PAGE_SIZE:
                raise TraceRejected(f"{where}: function record {_show(f.name)} lies outside "
                                    "memory")
        if not isinstance(step.detail, dict) or not isinstance(step.caption, str):
            raise TraceRejected(f"{where}: caption or detail of the wrong type")
