"""The player's memory images: exact after any step, in any order, and cheap per step.

``Player.memory_at`` keeps paged, copy-on-write images (``MemoryImage``). Whatever the order of
steps (forward, Back, jumps), the image after step ``i`` must equal a naive replay of the
recorded changes of steps ``0..i`` into a flat buffer, including when memory grows.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wasmviz.data import PROGRAMS_DIR
from wasmviz.engine import Scenario, run
from wasmviz.engine.trace import MemoryChange, Slot, Step, Trace
from wasmviz.ui.player import (CHECKPOINT_EVERY, EMPTY_IMAGE, PAGE_SIZE, MemoryImage, Player,
                               _PageWriter)
from wasmviz.engine.records import RecordReader

FIB = (PROGRAMS_DIR / "fib.wv").read_text()
# Hypothesis shares one player across examples (function-scoped fixtures are not reset
# between them), and the examples build their own traces: nothing leaks from one to the next.
PLAYER_SETTINGS = settings(max_examples=40, deadline=None,
                           suppress_health_check=[HealthCheck.function_scoped_fixture])


def naive_memory(trace: Trace, index: int) -> bytes:
    """The memory after step ``index``: every change of steps 0..index into one flat buffer."""
    buf = bytearray()
    for step in trace.steps[: index + 1]:
        size = step.memory_pages * PAGE_SIZE
        del buf[size:]
        buf.extend(bytes(size - len(buf)))
        for c in step.memory_changes:
            end = min(c.address + len(c.new), size)
            if c.address < end:
                buf[c.address:end] = c.new[: end - c.address]
    return bytes(buf)


def digest(data: bytes | MemoryImage) -> str:
    return hashlib.sha256(bytes(data)).hexdigest()


@pytest.fixture
def player(qapp) -> Player:  # type: ignore[no-untyped-def]
    p = Player()
    p.animation_ms = 0
    return p


# ---------------------------------------------------------------- the image itself
def test_an_image_reads_like_bytes() -> None:
    data = bytes(range(256)) * (3 * PAGE_SIZE // 256)
    pages = tuple(data[k:k + PAGE_SIZE] for k in range(0, len(data), PAGE_SIZE))
    image = MemoryImage(pages)
    assert len(image) == len(data) == 3 * PAGE_SIZE
    for i in (0, 1, PAGE_SIZE - 1, PAGE_SIZE, 2 * PAGE_SIZE + 5, len(data) - 1, -1, -PAGE_SIZE):
        assert image[i] == data[i]
    for bad in (len(data), -len(data) - 1):
        with pytest.raises(IndexError):
            image[bad]
    cuts = [slice(0, 4), slice(PAGE_SIZE - 3, PAGE_SIZE + 3), slice(10, 2 * PAGE_SIZE + 10),
            slice(None), slice(-5, None), slice(len(data) - 2, len(data) + 100), slice(50, 20),
            slice(3, 40, 3), slice(None, None, -1), slice(PAGE_SIZE, 2 * PAGE_SIZE)]
    for cut in cuts:
        assert image[cut] == data[cut]
        assert type(image[cut]) is bytes
    assert image.read(PAGE_SIZE - 2, 4) == data[PAGE_SIZE - 2:PAGE_SIZE + 2]
    assert image.read(len(data) - 1, 10) == data[-1:]
    assert image.read(len(data) + 5, 10) == b""
    with pytest.raises(ValueError):
        image.read(-1, 2)
    assert bytes(image) == data and list(image)[-3:] == list(data[-3:])
    assert image == data and image == bytearray(data) and image == memoryview(data)
    assert image != data[:-1] and image != data[:-1] + b"x" and image != "text"
    assert image == MemoryImage(tuple(bytes(p) for p in pages))
    assert EMPTY_IMAGE == b"" and not EMPTY_IMAGE and len(EMPTY_IMAGE) == 0
    with pytest.raises(TypeError):
        hash(image)
    with pytest.raises(ValueError):
        MemoryImage((b"short",))


def test_a_step_copies_only_the_pages_it_writes() -> None:
    image = EMPTY_IMAGE.apply(256, [MemoryChange(0x100, bytes(4), b"\1\2\3\4")])
    # Untouched pages are the one shared zero page: 256 pages cost one page and a tuple.
    assert len(image) == 256 * PAGE_SIZE
    assert len({id(p) for p in image.pages}) == 2
    across = MemoryChange(3 * PAGE_SIZE - 2, bytes(4), b"abcd")  # straddles pages 2 and 3
    after = image.apply(256, [across])
    fresh = [k for k, (a, b) in enumerate(zip(image.pages, after.pages)) if a is not b]
    assert fresh == [2, 3]
    assert after[3 * PAGE_SIZE - 2:3 * PAGE_SIZE + 2] == b"abcd"
    assert image[3 * PAGE_SIZE - 2:3 * PAGE_SIZE + 2] == bytes(4)  # the old image is untouched
    assert after[0x100:0x104] == b"\1\2\3\4"


def test_a_writer_copies_a_page_once_across_steps_until_frozen() -> None:
    writer = _PageWriter(EMPTY_IMAGE)
    writer.step(2, [MemoryChange(5, b"\0", b"\1")])
    writer.step(2, [MemoryChange(6, b"\0", b"\2"), MemoryChange(PAGE_SIZE, b"\0", b"\3")])
    frozen = writer.freeze()
    assert frozen[5:7] == b"\1\2" and frozen[PAGE_SIZE] == 3
    assert all(type(page) is bytes for page in frozen.pages)  # immutable, whoever holds them
    writer.step(2, [MemoryChange(5, b"\1", b"\x09")])
    assert frozen[5] == 1  # a frozen image never changes afterwards
    assert writer.freeze()[5] == 9


# ---------------------------------------------------------------- synthetic traces
@st.composite
def traces(draw: st.DrawFn) -> Trace:
    """Valid traces: memory grows now and then; writes land anywhere, often across pages."""
    n = draw(st.integers(1, 2 * CHECKPOINT_EVERY + 6))
    pages = draw(st.integers(0, 2))
    steps, memory = [], bytearray()
    for i in range(n):
        if draw(st.integers(0, 4)) == 0:
            pages += draw(st.integers(1, 2))
        memory.extend(bytes(pages * PAGE_SIZE - len(memory)))
        changes = []
        for _ in range(draw(st.integers(0, 4)) if pages else 0):
            size = pages * PAGE_SIZE
            near = draw(st.sampled_from([0, PAGE_SIZE, 2 * PAGE_SIZE, size]))
            address = draw(st.integers(max(0, min(near, size) - 8), size - 1))
            length = draw(st.integers(1, min(16, size - address)))
            new = draw(st.binary(min_size=length, max_size=length))
            changes.append(MemoryChange(address, bytes(memory[address:address + length]), new))
            memory[address:address + length] = new
        steps.append(Step(i, "setup", "synthetic", "", (Slot(0, "null"),), pages,
                          tuple(changes)))
    return Trace(tuple(steps))


moves = st.lists(st.one_of(
    st.sampled_from(["forward", "back", "to_end", "reset"]),
    st.integers(0, 60),  # jump there (clamped by go)
), max_size=25)


def check_moves(player: Player, trace: Trace, ops: list[str | int],
                expected: list[str], probes: list[int]) -> None:
    player.set_trace(trace)
    for op in ops:
        if isinstance(op, int):
            player.go(op)
        else:
            getattr(player, op)()
        i = player.index
        image = player.memory_at()
        assert len(image) == trace[i].memory_pages * PAGE_SIZE
        assert digest(image) == expected[i], f"memory after step {i}"
        assert player.memory_at(i) is image  # the views of one update share one image
    for i in probes:  # any step, asked for out of order
        i %= len(trace)
        assert digest(player.memory_at(i)) == expected[i], f"memory after step {i}"


@PLAYER_SETTINGS
@given(traces(), moves, st.lists(st.integers(0, 100), max_size=5))
def test_synthetic_traces_replay_exactly(player: Player, trace: Trace, ops: list[str | int],
                                         probes: list[int]) -> None:
    expected = [digest(naive_memory(trace, i)) for i in range(len(trace))]
    # The naive replay agrees with the engine's own (Trace.memory_at) on these valid traces.
    last = len(trace) - 1
    assert naive_memory(trace, last) == trace.memory_at(
        last, 0, trace[last].memory_pages * PAGE_SIZE)
    check_moves(player, trace, ops, expected, probes)


# ---------------------------------------------------------------- real traces
RealTraces = list[tuple[Trace, list[str]]]  # each trace with the digest of every step's memory


@pytest.fixture(scope="module")
def real_traces() -> RealTraces:
    fib = run(Scenario(source=FIB, call="fib", args=(20,), threshold=50, window=50))
    exprs = run(Scenario(exprs=("x*x+3", "x+1"), args=(7,), jit_now=True))
    # The real steps with memory growing by a page every few steps, each new page written.
    grown = []
    for s in exprs.steps:
        pages = s.memory_pages + s.index // 5
        extra = MemoryChange(pages * PAGE_SIZE - 4 - s.index, bytes(3), bytes([s.index, 1, 2]))
        grown.append(replace(s, memory_pages=pages, memory_changes=s.memory_changes + (extra,)))
    out = []
    for trace in (fib, exprs, replace(exprs, steps=tuple(grown))):
        assert len(trace) > CHECKPOINT_EVERY
        out.append((trace, [digest(naive_memory(trace, i)) for i in range(len(trace))]))
    return out


@PLAYER_SETTINGS
@given(st.integers(0, 2), moves, st.lists(st.integers(0, 100), max_size=5))
def test_real_traces_replay_exactly(player: Player, real_traces: RealTraces, which: int,
                                    ops: list[str | int], probes: list[int]) -> None:
    trace, expected = real_traces[which]
    check_moves(player, trace, ops, expected, probes)


def test_every_step_of_a_real_trace_forward_then_back(player: Player,
                                                      real_traces: RealTraces) -> None:
    for trace, expected in real_traces:
        player.set_trace(trace)
        order = list(range(len(trace))) + list(range(len(trace) - 1, -1, -1))
        for i in order:
            player.go(i)
            assert digest(player.memory_at()) == expected[i]
            assert player.memory_at() == trace.memory_at(i, 0, len(player.memory_at()))
        # The engine's decoder reads the paged image exactly as flat bytes.
        player.to_end()
        image = player.memory_at()
        decoded = RecordReader(trace.layout).update(image)
        assert decoded == RecordReader(trace.layout).update(bytes(image))
        assert decoded == (trace[-1].functions, trace[-1].vm) and decoded[0] != ()


def test_stepping_forward_shares_every_page_the_step_did_not_write(
        player: Player, real_traces: RealTraces) -> None:
    trace, _ = real_traces[2]
    player.set_trace(trace)
    before = player.memory_at()
    for i in range(1, len(trace)):
        player.go(i)
        after = player.memory_at()
        written = {a // PAGE_SIZE for c in trace[i].memory_changes
                   for a in (c.address, c.address + len(c.new) - 1)}
        fresh = {k for k, page in enumerate(after.pages)
                 if k >= len(before.pages) or page is not before.pages[k]}
        assert fresh <= written | set(range(len(before.pages), len(after.pages)))
        before = after


def test_no_trace_has_no_memory(player: Player) -> None:
    assert player.memory_at() == b"" and player.memory_at(3) == b""
    player.set_trace(Trace(()))
    assert len(player.memory_at()) == 0
