"""V8's objects as the recorder reads wasmtime's: the mirrors NodeMachine hands its listeners.

The recorder and Machine's own code read a store, a memory, a table, globals, functions and
traps through wasmtime's API. Under Node each of these is a mirror of V8's, brought up to date
from the host's reports (node_protocol.py) before every event is replayed, so the ONE recorder
reads the same state it would read from wasmtime. Kept apart from node_engine.py, which holds
the NodeMachine and its run.
"""

from __future__ import annotations

import base64
import ctypes
import itertools
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import wasmtime

from .instantiate import no_link_export
from .machine import EngineError
from .trace import TrapInfo

if TYPE_CHECKING:
    from .node_engine import NodeMachine

_ids = itertools.count(1)


#: An import's kind as the JS API names it -> a wasmtime type of that kind: the recorder names
#: an import's kind by the class of its type (instantiate.extern_kind). Only the kind is read.
_JS_KINDS = {"function": lambda: wasmtime.FuncType([], []),
             "table": lambda: wasmtime.TableType(wasmtime.ValType.funcref(),
                                                 wasmtime.Limits(0, None)),
             "memory": lambda: wasmtime.MemoryType(wasmtime.Limits(0, None)),
             "global": lambda: wasmtime.GlobalType(wasmtime.ValType.i32(), False)}


def _valtype(name: str) -> wasmtime.ValType:
    return getattr(wasmtime.ValType, name)()  # i32, i64, f32, f64, funcref, externref


def _functype(t: dict[str, list[str]] | None) -> wasmtime.FuncType | None:
    """The type the JS host read from a module's binary (None: unknown to it or to us)."""
    if t is None:
        return None
    try:
        return wasmtime.FuncType([_valtype(v) for v in t["params"]],
                                 [_valtype(v) for v in t["results"]])
    except (AttributeError, TypeError):  # a value type wasmtime-py has no constructor for
        return None


class NodeTrap(wasmtime.Trap):
    """A V8 trap as the recorder reads a wasmtime.Trap: ``trap_code.name`` and ``message``."""

    def __init__(self, info: TrapInfo) -> None:  # noqa: D107 - no C trap behind it
        Exception.__init__(self, info.message)
        self.info = info

    @property
    def message(self) -> str:  # type: ignore[override]
        return self.info.message

    @property
    def trap_code(self) -> Any:  # type: ignore[override]
        return None if self.info.code == "UNKNOWN" else SimpleNamespace(name=self.info.code)

    def __del__(self) -> None:  # nothing to free
        pass


class NodeFunc(wasmtime.Func):
    """A function in V8, named by its key (``main:enter0``, ``m2:f``); equal keys are the
    same function, as wasmtime's func_key says for its own functions."""

    def __init__(self, key: str, ty: wasmtime.FuncType | None, store_id: int) -> None:
        self.key, self._type = key, ty
        self._func = SimpleNamespace(store_id=store_id)  # type: ignore[assignment]
        setattr(self._func, "__private", next(_ids))

    def type(self, store: Any) -> wasmtime.FuncType:
        if self._type is None:
            raise EngineError(f"V8 does not say the type of {self.key}")
        return self._type


class NodeGlobal(wasmtime.Global):
    """One of main's exported globals, as V8 reported it last."""

    def __init__(self, machine: NodeMachine, name: str) -> None:
        self._m, self._name = machine, name

    def value(self, store: Any) -> Any:
        return self._m._globals[self._name]


class _Memory:
    """Main memory as V8 reported it last: a ctypes buffer, so snapshot.live_memory reads it
    in place exactly as it reads wasmtime's; writes also go to V8 with the next command."""

    def __init__(self, machine: NodeMachine) -> None:
        self._m = machine
        self.buf = (ctypes.c_ubyte * 0)()

    def resize(self, size: int) -> None:
        old = bytes(self.buf)[:size]
        self.buf = (ctypes.c_ubyte * size)()
        ctypes.memmove(self.buf, old, len(old))

    def data_len(self, store: Any) -> int:
        return len(self.buf)

    def data_ptr(self, store: Any) -> Any:
        return ctypes.cast(self.buf, ctypes.POINTER(ctypes.c_ubyte))

    def read(self, store: Any, start: int, stop: int) -> bytes:
        if not 0 <= start <= stop <= len(self.buf):
            raise IndexError(f"out of bounds memory read [{start}, {stop})")
        return bytes(memoryview(self.buf).cast("B")[start:stop])

    def put(self, at: int, data: bytes) -> None:
        memoryview(self.buf).cast("B")[at:at + len(data)] = data

    def write(self, store: Any, data: bytes, at: int) -> None:
        self.put(at, bytes(data))
        self._m._writes.append([at, base64.b64encode(bytes(data)).decode()])


class _Table:
    """Main's funcref table as V8 reported it last (a key per slot, None for null)."""

    def __init__(self, machine: NodeMachine) -> None:
        self._m = machine
        self.keys: list[str | None] = []

    def size(self, store: Any) -> int:
        return len(self.keys)

    def get(self, store: Any, i: int) -> NodeFunc | None:
        key = self.keys[i]
        return None if key is None else self._m._func(key)


class _Store:
    """The store (or caller) handed to listeners: ``get`` answers as a wasmtime Caller does
    inside a start function, with the exports of the module being instantiated."""

    def __init__(self, machine: NodeMachine) -> None:
        self._m = machine

    def get(self, name: str) -> NodeFunc | None:
        key = f"m{self._m._pending}:{name}"
        return self._m._func(key) if key in self._m._types else None

    def set_fuel(self, fuel: int) -> None:
        """Machine.load gives set-up fuel; V8 has none to give."""


class _Exports(dict):  # type: ignore[type-arg]
    """An instance's exports: ``.get``, ``[name]`` and ``.items()``, as wasmtime gives them."""


class _Instance:
    def __init__(self, exports: _Exports) -> None:
        self._exports = exports

    def exports(self, store: Any) -> _Exports:
        return self._exports


class _Export:
    """One of main's exported functions, called in V8 as ``fn(store, *args)``."""

    def __init__(self, machine: NodeMachine, name: str) -> None:
        self._m, self._name = machine, name

    def __call__(self, store: Any, *args: int) -> int | None:
        m = self._m
        reply = m._run({"op": "call", "name": self._name, "args": [int(a) for a in args],
                        "guard": m._guard})
        m.last_elapsed_ms = float(reply["elapsed_ms"])
        m.elapsed_ms += m.last_elapsed_ms
        m.instantiate_ms += float(reply["instantiate_ms"])
        if reply["trap"] is not None:
            raise NodeTrap(m._resolve(_trap(reply["trap"])))
        value = reply["value"]
        return None if value is None else int(value)


def _trap(t: dict[str, Any]) -> TrapInfo:
    return TrapInfo(t["code"], t["message"], tuple(t.get("frames", ())))


def _no_patch(ev: dict[str, Any]) -> TrapInfo:
    """The trap instantiate.py reports for a missing or ill-typed link export."""
    what = ev["what"]
    found = "" if what == "missing" else what if isinstance(what, str) else \
        f"({' '.join(what['params'])}) -> ({' '.join(what['results'])})"
    return no_link_export(ev["number"], ev["name"], found)
