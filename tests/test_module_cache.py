"""The compiled main module cached on disk: loaded when sound, compiled on any failure; and
the disassemblies wasm-tools printed, kept the same way.

Each test points the cache at its own temporary directory (WASMVIZ_CACHE_DIR). A small module
stands in for main.wat where only the cache's own logic is under test; the last test runs the
real main module in fresh processes.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
import wasmtime

from wasmviz.engine import disasm, module_cache
from wasmviz.engine.module_cache import (CACHE_ENV, MAGIC, cache_dir, cache_key, cache_path,
                                         load_module)

WAT = '(module (func (export "answer") (result i32) i32.const 42))'
CONFIG = "consume_fuel=False"


@pytest.fixture
def cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv(CACHE_ENV, str(folder))
    return folder


@pytest.fixture
def compiles(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records each compile the cache falls back to (the real compile still runs)."""
    seen: list[str] = []
    real = wasmtime.wat2wasm

    def counting(wat: str) -> bytes:
        seen.append(wat)
        return real(wat)

    monkeypatch.setattr(module_cache.wasmtime, "wat2wasm", counting)
    return seen


def answer(module: wasmtime.Module, engine: wasmtime.Engine) -> int:
    store = wasmtime.Store(engine)
    instance = wasmtime.Instance(store, module, [])
    return instance.exports(store)["answer"](store)  # type: ignore[operator, no-any-return]


def test_the_cache_directory_follows_the_environment(monkeypatch: pytest.MonkeyPatch,
                                                     tmp_path: Path) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "here"))
    assert cache_dir() == tmp_path / "here"
    monkeypatch.delenv(CACHE_ENV)
    if sys.platform.startswith("linux"):
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
        assert cache_dir() == tmp_path / "xdg" / "wasmviz"
        monkeypatch.setenv("XDG_CACHE_HOME", "relative/path")   # invalid by the XDG spec
        assert cache_dir() == Path.home() / ".cache" / "wasmviz"


def test_a_second_load_comes_from_the_cache(cache: Path, compiles: list[str]) -> None:
    engine = wasmtime.Engine()
    assert answer(load_module(engine, WAT, CONFIG), engine) == 42
    assert len(compiles) == 1 and cache_path(WAT, CONFIG).is_file()
    fresh = wasmtime.Engine()
    assert answer(load_module(fresh, WAT, CONFIG), fresh) == 42
    assert len(compiles) == 1   # deserialised, not compiled
    assert [p.name for p in cache.iterdir()] == [cache_path(WAT, CONFIG).name]  # no temp left


def test_the_key_changes_with_the_source_the_config_and_wasmtime(
        monkeypatch: pytest.MonkeyPatch) -> None:
    key = cache_key(WAT, CONFIG)
    assert key == cache_key(WAT, CONFIG)
    assert cache_key(WAT + " ", CONFIG) != key
    assert cache_key(WAT, "consume_fuel=True") != key
    monkeypatch.setattr(module_cache, "wasmtime_build", lambda: "another wasmtime")
    assert cache_key(WAT, CONFIG) != key


@pytest.mark.parametrize("damage", ["garbage", "truncated", "flipped", "empty", "no header"])
def test_a_damaged_file_is_never_loaded_and_is_replaced(cache: Path, compiles: list[str],
                                                        damage: str) -> None:
    engine = wasmtime.Engine()
    load_module(engine, WAT, CONFIG)
    path = cache_path(WAT, CONFIG)
    good = path.read_bytes()
    payload_at = len(MAGIC) + 65
    damaged = {
        "garbage": b"\x7fELF not a module at all" * 10,
        "truncated": good[:len(good) - 100],
        "flipped": good[:payload_at + 50] + bytes([good[payload_at + 50] ^ 0xFF])
        + good[payload_at + 51:],
        "empty": b"",
        "no header": good[payload_at:],
    }[damage]
    path.write_bytes(damaged)
    assert answer(load_module(engine, WAT, CONFIG), engine) == 42
    assert len(compiles) == 2            # compiled again
    assert path.read_bytes() == good     # and the sound entry written back


def test_bytes_wasmtime_refuses_fall_back_to_compiling(cache: Path, compiles: list[str]) -> None:
    """A sound file whose payload this engine refuses, as after an engine setting changed."""
    other = wasmtime.Config()
    other.consume_fuel = True   # the engine below has fuel off: a different compilation
    payload = wasmtime.Module(wasmtime.Engine(other), WAT).serialize()
    path = cache_path(WAT, CONFIG)
    path.parent.mkdir(parents=True)
    path.write_bytes(MAGIC + hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload)
    engine = wasmtime.Engine()
    assert answer(load_module(engine, WAT, CONFIG), engine) == 42
    assert len(compiles) == 1


def test_an_unwritable_cache_directory_only_means_compiling(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, compiles: list[str]) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv(CACHE_ENV, str(blocker / "cache"))   # mkdir fails (even for root)
    engine = wasmtime.Engine()
    for _ in range(2):
        assert answer(load_module(engine, WAT, CONFIG), engine) == 42
    assert len(compiles) == 2
    assert blocker.read_text() == "not a directory"


def test_something_else_at_the_cache_path_is_left_alone(cache: Path, compiles: list[str]) -> None:
    path = cache_path(WAT, CONFIG)
    path.mkdir(parents=True)   # a directory where the file should be: not read, not replaced
    engine = wasmtime.Engine()
    assert answer(load_module(engine, WAT, CONFIG), engine) == 42
    assert path.is_dir() and len(compiles) == 1
    assert [p.name for p in cache.iterdir()] == [path.name]   # the temporary file was removed


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_at_the_cache_path_does_not_block(cache: Path, compiles: list[str]) -> None:
    path = cache_path(WAT, CONFIG)
    path.parent.mkdir(parents=True)
    os.mkfifo(path)
    engine = wasmtime.Engine()
    assert answer(load_module(engine, WAT, CONFIG), engine) == 42
    assert len(compiles) == 1


def test_the_app_compiles_main_once_then_loads_it(tmp_path: Path) -> None:
    """Two fresh processes run a scenario: the first stores main's compiled module, the second
    uses it (the file is not rewritten) and records the same trace."""
    code = ("import json; from wasmviz.engine import Scenario, run; "
            "t = run(Scenario(exprs=('x * x + 3',), args=(7,)), disassemble=False); "
            "print(json.dumps([t.result, len(t)]))")
    env = {**os.environ, CACHE_ENV: str(tmp_path)}
    first = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                           text=True, check=True, timeout=120)
    (entry,) = tmp_path.iterdir()
    stamp = entry.stat().st_mtime_ns
    second = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                            text=True, check=True, timeout=120)
    assert first.stdout == second.stdout and first.stdout.startswith("[52, ")
    assert entry.stat().st_mtime_ns == stamp and list(tmp_path.iterdir()) == [entry]


# ---------------------------------------------------------------- disassemblies on disk
@pytest.fixture
def module_bytes() -> bytes:
    return bytes(wasmtime.wat2wasm(WAT))


@pytest.fixture
def tool_runs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records each time wasm-tools is started (the real tool still runs)."""
    seen: list[str] = []
    real = disasm._start

    def counting(subcommand: str, *flags: str):  # type: ignore[no-untyped-def]
        seen.append(subcommand)
        return real(subcommand, *flags)

    monkeypatch.setattr(disasm, "_start", counting)
    disasm.describe.cache_clear()
    yield seen
    disasm.describe.cache_clear()


def test_a_disassembly_is_kept_on_disk_and_read_back(cache: Path, tool_runs: list[str],
                                                     module_bytes: bytes) -> None:
    wat, annotated = disasm.describe(module_bytes)
    assert "(module" in wat and "0x0 |" in annotated
    assert sorted(tool_runs) == ["dump", "print"]
    disasm.describe.cache_clear()     # as in a new process
    assert disasm.describe(module_bytes) == (wat, annotated)
    assert len(tool_runs) == 2        # read from disk, the tool not started again
    assert [p.suffix for p in (cache / "disasm").iterdir()] == [".json"]


def test_a_damaged_disassembly_is_printed_again(cache: Path, tool_runs: list[str],
                                                module_bytes: bytes) -> None:
    texts = disasm.describe(module_bytes)
    (entry,) = (cache / "disasm").iterdir()
    good = entry.read_bytes()
    entry.write_bytes(good.replace(b"module", b"mOdule"))   # checksum no longer holds
    disasm.describe.cache_clear()
    assert disasm.describe(module_bytes) == texts
    assert len(tool_runs) == 4 and entry.read_bytes() == good


def test_what_the_tool_cannot_print_is_not_kept(cache: Path, tool_runs: list[str]) -> None:
    wat, annotated = disasm.describe(b"\0asm\1\0\0\0\x01\x05")   # cut short
    assert "could not print" in wat and "could not dump" in annotated
    assert not (cache / "disasm").exists()


def test_the_disassembly_cache_stays_bounded(cache: Path, tool_runs: list[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(disasm, "MAX_CACHED", 4)
    for k in range(6):
        disasm.describe(bytes(wasmtime.wat2wasm(f"(module (func (export \"f{k}\")))")))
    assert len(list((cache / "disasm").iterdir())) <= 4


def test_old_compiled_modules_do_not_pile_up(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(module_cache, "MAX_ENTRIES", 2)
    engine = wasmtime.Engine()
    sources = [WAT.replace("42", str(40 + k)) for k in range(4)]   # main.wat over releases
    for k, source in enumerate(sources):
        load_module(engine, source, CONFIG)
        os.utime(cache_path(source, CONFIG), ns=(k * 10**9, k * 10**9))   # one a second
    kept = {p.name for p in cache.iterdir()}
    assert kept == {cache_path(s, CONFIG).name for s in sources[-2:]}   # the newest two
