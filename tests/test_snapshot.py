"""The memory watcher reports exactly what changed, and replaying its reports rebuilds memory."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from wasmviz.engine.snapshot import MemoryWatcher
from wasmviz.engine.trace import MemoryChange


def apply(buf: bytearray, changes: list[MemoryChange]) -> None:
    for c in changes:
        assert buf[c.address:c.address + len(c.old)] == c.old
        buf[c.address:c.address + len(c.new)] = c.new


def test_first_report_is_against_zeros() -> None:
    live = np.zeros(64, dtype=np.uint8)
    live[10:13] = [1, 2, 3]
    changes = MemoryWatcher().changes(live)
    assert changes == [MemoryChange(10, b"\0\0\0", b"\1\2\3")]


def test_no_change_reports_nothing() -> None:
    w = MemoryWatcher()
    live = np.arange(256, dtype=np.uint8)
    w.changes(live)
    assert w.changes(live) == []


def test_labeller_splits_changes() -> None:
    live = np.zeros(32, dtype=np.uint8)
    live[2:10] = 7

    def labeller(lo: int, hi: int) -> list[tuple[int, int, str, bool]]:
        return [(lo, 4, "a", False), (4, 8, "b", True), (8, hi, "c", False)]

    changes = MemoryWatcher().changes(live, labeller)
    assert [(c.address, len(c.new), c.label) for c in changes] == [
        (2, 2, "a"), (4, 4, "b"), (8, 2, "c")]


@settings(max_examples=60)
@given(st.lists(st.lists(st.tuples(st.integers(0, 1023), st.integers(0, 255)), max_size=40),
                min_size=1, max_size=5))
def test_replaying_changes_rebuilds_memory(rounds: list[list[tuple[int, int]]]) -> None:
    w = MemoryWatcher()
    live = np.zeros(1024 + 3, dtype=np.uint8)  # an odd size exercises the non-word tail
    replay = bytearray(len(live))
    for writes in rounds:
        for address, value in writes:
            live[address] = value
        apply(replay, w.changes(live))
        assert bytes(replay) == live.tobytes()


def test_memory_growth_is_reported() -> None:
    w = MemoryWatcher()
    w.changes(np.zeros(16, dtype=np.uint8))
    bigger = np.zeros(32, dtype=np.uint8)
    bigger[20] = 9
    assert w.changes(bigger) == [MemoryChange(20, b"\0", b"\x09")]
