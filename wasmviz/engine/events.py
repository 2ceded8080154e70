"""What a Machine tells whoever observes it: one method per host-visible event.

The machine calls its listeners and knows nothing else about them, so it imports neither the
recorder nor the captions (the recorder imports the machine's types, never the other way):
Ripes' rule that the simulator core knows nothing of who draws it. A listener reads the real
state through the machine and the store or caller it is handed, at the instant of the event.

``Listener`` implements every method as a no-op, so an observer overrides only what it needs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    import wasmtime

    from .machine import FunctionInfo
    from .trace import TrapInfo


class Listener:
    """Receives a Machine's events; every method is a no-op here."""

    #: CALLBACK notes main may send per top-level call for this listener (the machine gives
    #: main the largest budget any listener asks for; 0 keeps callbacks inside wasm).
    callback_budget: int = 0

    def on_started(self, store: wasmtime.Store) -> None:
        """The main module is instantiated and configured."""

    def on_defined(self, store: wasmtime.Store, added: Sequence[FunctionInfo],
                   source: str) -> None:
        """The front end wrote ``added``'s objects, names and bytecode into main memory."""

    def on_jit_trapped(self, store: wasmtime.Store, trap: TrapInfo) -> None:
        """``jit_flush`` itself trapped."""

    def on_note(self, caller: wasmtime.Caller, kind: int, a: int, b: int) -> None:
        """The main module or a generated module's link code (patch, start function,
        __wasm_apply_data_relocs) called ``host.note(kind, a, b)``. While a module is being
        instantiated, ``machine.link_stage`` is ``"start"``; while the host runs its link
        export, ``"export"``."""

    def on_call_begin(self, store: wasmtime.Store, info: FunctionInfo,
                      args: list[int]) -> None:
        """The host is about to call main's invoke for ``info``."""

    def on_call_end(self, store: wasmtime.Store, info: FunctionInfo, args: list[int],
                    value: int | None, trap: TrapInfo | None) -> None:
        """invoke returned ``value`` or trapped with ``trap``."""

    def on_invalid(self, caller: wasmtime.Caller, number: int, ptr: int, data: bytes,
                   exc: Exception) -> None:
        """wasmtime rejected generated module ``number``."""

    def on_compiled(self, caller: wasmtime.Caller, number: int, ptr: int, data: bytes,
                    module: wasmtime.Module) -> None:
        """wasmtime compiled generated module ``number``."""

    def on_link_error(self, caller: wasmtime.Caller, number: int, exc: Exception,
                      providers: tuple[str, ...]) -> None:
        """Instantiating module ``number`` failed (a link error, or a trap in its start
        function: then ``exc`` is a wasmtime.Trap)."""

    def on_linked(self, caller: wasmtime.Caller, number: int,
                  exports: wasmtime.InstanceExports, providers: tuple[str, ...]) -> None:
        """Module ``number`` is instantiated (its start function, if any, has run); its link
        export (patch, __wasm_apply_data_relocs) is about to run, if its link style has one."""

    def on_patch_trapped(self, caller: wasmtime.Caller, number: int, trap: TrapInfo) -> None:
        """Module ``number``'s link export trapped (or is missing)."""

    def on_patched(self, caller: wasmtime.Caller, number: int) -> None:
        """Module ``number``'s link export returned."""
