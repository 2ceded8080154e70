"""The compiled main module, cached on disk between runs of the app (issue 11, start-up).

Compiling main.wat with Cranelift took 12-16 ms of every start; wasmtime can serialise a
compiled module and load it back in about a millisecond. The cache lives in the user's cache
directory (``$WASMVIZ_CACHE_DIR``, else the platform's cache directory + ``wasmviz``), one file
per key: the sha256 of main.wat's text, the wasmtime version and build, the engine
configuration and the machine, so a changed main.wat, an upgraded wasmtime or another engine
setting never loads a stale module.

A cache must never make the app worse than no cache: every way it can fail (no directory, an
unwritable one, a truncated, corrupt or foreign file, a wasmtime that refuses the bytes) falls
back to compiling, as before. A file is only handed to wasmtime after its own sha256 (kept in
its header) matches, since ``Module.deserialize`` trusts its input; it is written to a temporary
file and renamed into place, so a crash or a second app never leaves half a file under the name.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import wasmtime

from ..safe_files import read_small_bytes

#: Environment variable naming the cache directory (tests point it at a temporary one).
CACHE_ENV = "WASMVIZ_CACHE_DIR"
#: First bytes of a cache file, then the payload's sha256 in hex and a newline.
MAGIC = b"wasmviz-module-cache 1\n"
#: A larger file is not read (main.wat compiles to well under a megabyte).
MAX_CACHE_BYTES = 64 * 1024 * 1024
#: Compiled modules kept (each main.wat or wasmtime version has its own); the oldest go first.
MAX_ENTRIES = 8


def cache_dir() -> Path:
    """Where cached modules go: ``$WASMVIZ_CACHE_DIR``, else the platform's user cache dir."""
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override)
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / "wasmviz" / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "wasmviz"
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    # The XDG spec: a relative path is invalid and must be ignored.
    return (Path(xdg) if os.path.isabs(xdg) else Path.home() / ".cache") / "wasmviz"


def wasmtime_build() -> str:
    """The installed wasmtime: its distribution's version and its native library's size and
    time (importlib.metadata would cost more than the compile the cache saves)."""
    package = Path(wasmtime.__file__).parent
    versions = sorted(p.name for p in package.parent.glob("wasmtime-*.dist-info"))
    libraries = sorted(package.glob("*/*wasmtime*"))
    stats = [(p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in libraries]
    return f"{versions}{stats}"


def cache_key(wat: str, config: str) -> str:
    """The sha256 naming the cache file for ``wat`` compiled by this wasmtime with ``config``."""
    h = hashlib.sha256()
    for part in (wat, wasmtime_build(), config, sys.platform, os.uname().machine
                 if hasattr(os, "uname") else ""):
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\0")
    return h.hexdigest()


def cache_path(wat: str, config: str) -> Path:
    return cache_dir() / f"main-{cache_key(wat, config)}.cwasm"


def load_module(engine: wasmtime.Engine, wat: str, config: str) -> wasmtime.Module:
    """``wat`` compiled for ``engine`` (whose configuration ``config`` describes): from the
    cache if a sound entry is there, else compiled now and stored for next time."""
    try:
        path = cache_path(wat, config)
    except Exception:  # noqa: BLE001 - no home directory, odd environment: just compile
        return wasmtime.Module(engine, wasmtime.wat2wasm(wat))
    module = _read(engine, path)
    if module is not None:
        return module
    module = wasmtime.Module(engine, wasmtime.wat2wasm(wat))
    _write(module, path)
    return module


def _read(engine: wasmtime.Engine, path: Path) -> wasmtime.Module | None:
    """The module cached at ``path``, or None (missing, unreadable, corrupt or refused)."""
    payload = read_sealed(path, MAGIC, MAX_CACHE_BYTES, "module cache")
    if payload is None:
        return None   # never hand unchecked bytes to wasmtime: deserialize trusts them
    try:
        return wasmtime.Module.deserialize(engine, payload)
    except Exception:  # noqa: BLE001 - another engine build or configuration refuses it
        return None


def _write(module: wasmtime.Module, path: Path) -> None:
    """Store ``module`` at ``path``; any failure only means no cache next time."""
    try:
        payload = module.serialize()
    except Exception:  # noqa: BLE001 - an engine that cannot serialise: compile next time
        return
    write_sealed(path, MAGIC, payload, "main-*.cwasm", MAX_ENTRIES)


# ---------------------------------------------------------------- sealed files
# The two caches (this one and wasm-tools' output, disasm.py) keep their entries the same way:
# a header naming what the file is, the payload's sha256, then the payload.

def read_sealed(path: Path, magic: bytes, limit: int, what: str) -> bytes | None:
    """The payload of the sealed file at ``path``; None if missing, too large, not a regular
    file, of another kind, truncated or corrupt."""
    try:
        data = read_small_bytes(path, limit, what)
    except Exception:  # noqa: BLE001 - missing, not a regular file, too large, unreadable
        return None
    end = len(magic) + 64   # the hex digest, then a newline
    if not data.startswith(magic) or data[end:end + 1] != b"\n":
        return None
    digest, payload = data[len(magic):end], data[end + 1:]
    if hashlib.sha256(payload).hexdigest().encode("ascii") != digest:
        return None
    return payload


def write_sealed(path: Path, magic: bytes, payload: bytes, siblings: str, keep: int,
                 trim_to: int | None = None) -> None:
    """Write ``payload`` sealed at ``path`` atomically (a temporary file renamed into place,
    so a crash or a second app never leaves half a file under the name); when more than
    ``keep`` files matching ``siblings`` are there, the oldest go, down to ``trim_to`` (default
    ``keep``). Any failure (read-only or full disk, no permission) only means no cache."""
    import tempfile  # noqa: PLC0415 - only when writing: it costs more to import than to use
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".sealed-", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as out:
            out.write(magic + hashlib.sha256(payload).hexdigest().encode("ascii") + b"\n")
            out.write(payload)
        os.replace(tmp, path)
        tmp = None
        entries = list(path.parent.glob(siblings))
        if len(entries) > keep:
            entries.sort(key=lambda p: p.stat().st_mtime_ns)
            for old in entries[:len(entries) - (keep if trim_to is None else trim_to)]:
                old.unlink()
    except Exception:  # noqa: BLE001 - no cache next time, that is all
        pass
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
