"""The pipe to node_host.mjs: its line protocol, and replaying what V8 reported to listeners.

Each command is one JSON line to the Node process and one JSON line back: the events the host
reported while it ran (notes, compiled, linked, ...), each with the state at its instant, and
the state after it. NodePipe sends the command, brings the mirrors (node_mirrors.py) to each
event's state and tells the listeners of it with the arguments instantiate.py passes under
wasmtime, then applies the final state. A mixin of NodeMachine (node_engine.py), which starts
the process and holds the state named below.
"""

from __future__ import annotations

import base64
import json
import subprocess
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import wasmtime

from .events import Listener
from .machine import EngineError
from .node_mirrors import _JS_KINDS, NodeFunc, NodeTrap, _Exports, _functype, _no_patch, _trap

if TYPE_CHECKING:
    from .node_mirrors import _Memory, _Store, _Table


class NodePipe:
    """NodeMachine's side of the protocol (mixed into NodeMachine, which sets the state)."""

    # NodeMachine.__init__ sets these; its comments there say what each holds.
    _proc: subprocess.Popen[str]
    _writes: list[list[Any]]
    _funcs: dict[str, NodeFunc]
    _types: dict[str, wasmtime.FuncType | None]
    _pending: int | None
    _store_id: int
    _globals: dict[str, int]
    store: _Store
    memory: _Memory
    table: _Table
    modules: list[Any]
    listeners: list[Listener]
    link_stage: str | None
    link_bases: tuple[int, int] | None

    # ---------------------------------------------------------------- the process
    def close(self) -> None:
        """End the Node process (a machine is also closed when it is collected)."""
        if self._proc.poll() is None:
            try:
                self._proc.stdin.write('{"op": "quit"}\n')  # type: ignore[union-attr]
                self._proc.stdin.close()  # type: ignore[union-attr]
            except OSError:
                pass
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()

    def __del__(self) -> None:
        if not hasattr(self, "_proc"):
            return  # __init__ failed before node started
        try:
            self.close()
        except Exception:  # noqa: BLE001 - at interpreter exit anything may be gone
            pass

    # ---------------------------------------------------------------- the pipe
    def _command(self, cmd: dict[str, Any]) -> dict[str, Any]:
        if self._writes:
            cmd["writes"], self._writes = self._writes, []
        try:
            self._proc.stdin.write(json.dumps(cmd) + "\n")  # type: ignore[union-attr]
            self._proc.stdin.flush()  # type: ignore[union-attr]
            line = self._proc.stdout.readline()  # type: ignore[union-attr]
        except OSError as exc:
            raise EngineError(f"the node host stopped: {exc}") from None
        if not line:
            raise EngineError(f"the node host exited (status {self._proc.poll()})")
        reply: dict[str, Any] = json.loads(line)
        if "error" in reply:
            raise EngineError(f"the node host failed: {reply['error']}")
        return reply

    def _run(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """Send ``cmd``; replay the events it reported, then the state after it."""
        reply = self._command(cmd)
        self._replay(reply["events"])
        self._apply(reply["sync"])
        return reply

    def _func(self, key: str) -> NodeFunc:
        f = self._funcs.get(key)
        if f is None:
            f = self._funcs[key] = NodeFunc(key, self._types.get(key), self._store_id)
        return f

    def _apply(self, sync: dict[str, Any]) -> None:
        """Bring the mirrors to the state V8 reported (memory runs, table, globals)."""
        if "size" in sync:
            self.memory.resize(sync["size"])
        for at, data in sync.get("mem", ()):
            self.memory.put(at, base64.b64decode(data))
        if "table" in sync:
            self.table.keys = sync["table"]
        self._globals["vsp"] = sync["vsp"]
        self._globals["link"] = sync["link"]

    def _replay(self, events: list[dict[str, Any]]) -> None:
        """Tell the listeners of each event, with the mirrors as they were at its instant."""
        for ev in events:
            self._apply(ev["sync"])
            self.link_stage = ev["stage"]
            self.link_bases = tuple(ev["bases"]) if ev["bases"] is not None else None
            kind, number = ev["e"], ev.get("number", 0)
            if kind == "compiled":
                # Module `number` is being instantiated: a start function's notes may name
                # its exports (_Store.get), as a wasmtime Caller can.
                self._pending = number
                for e in ev["exports"]:
                    if e["kind"] == "function":
                        self._types[f"m{number}:{e['name']}"] = _functype(e["type"])
            elif kind == "linked":
                self.modules.append(number)  # before on_linked, as instantiate.py does
            handler = getattr(self, f"_on_{kind}")
            for listener in self.listeners:
                handler(listener, ev, tuple(ev.get("providers", ())))
        self.link_stage = None

    # Each ``_on_<event>`` tells one listener of one reported event, with the arguments
    # instantiate.py passes for the same event under wasmtime.
    def _on_note(self, li: Listener, ev: dict[str, Any], providers: tuple[str, ...]) -> None:
        li.on_note(self.store, ev["kind"], ev["a"], ev["b"])  # type: ignore[arg-type]

    def _on_invalid(self, li: Listener, ev: dict[str, Any], providers: tuple[str, ...]) -> None:
        data = self.memory.read(self.store, ev["ptr"], ev["ptr"] + ev["len"])
        li.on_invalid(self.store, ev["number"], ev["ptr"], data,  # type: ignore[arg-type]
                      Exception(ev["message"]))

    def _on_compiled(self, li: Listener, ev: dict[str, Any], providers: tuple[str, ...]) -> None:
        module = SimpleNamespace(
            imports=[SimpleNamespace(module=i["module"], name=i["name"],
                                     type=_JS_KINDS.get(i["kind"], lambda: i["kind"])())
                     for i in ev["imports"]],
            exports=[SimpleNamespace(name=e["name"]) for e in ev["exports"]])
        data = self.memory.read(self.store, ev["ptr"], ev["ptr"] + ev["len"])
        li.on_compiled(self.store, ev["number"], ev["ptr"], data, module)  # type: ignore[arg-type]

    def _on_link_error(self, li: Listener, ev: dict[str, Any],
                       providers: tuple[str, ...]) -> None:
        exc = NodeTrap(_trap(ev["trap"])) if ev["trap"] else Exception(ev["message"])
        li.on_link_error(self.store, ev["number"], exc, providers)  # type: ignore[arg-type]

    def _on_linked(self, li: Listener, ev: dict[str, Any], providers: tuple[str, ...]) -> None:
        exports = _Exports({e["name"]: self._func(e["key"]) if e["key"] else None
                            for e in ev["exports"]})
        li.on_linked(self.store, ev["number"], exports, providers)  # type: ignore[arg-type]

    def _on_no_patch(self, li: Listener, ev: dict[str, Any], providers: tuple[str, ...]) -> None:
        li.on_patch_trapped(self.store, ev["number"], _no_patch(ev))  # type: ignore[arg-type]

    def _on_patch_trapped(self, li: Listener, ev: dict[str, Any],
                          providers: tuple[str, ...]) -> None:
        li.on_patch_trapped(self.store, ev["number"], _trap(ev["trap"]))  # type: ignore[arg-type]

    def _on_patched(self, li: Listener, ev: dict[str, Any], providers: tuple[str, ...]) -> None:
        li.on_patched(self.store, ev["number"])  # type: ignore[arg-type]
