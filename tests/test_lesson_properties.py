"""Arbitrary input to the lesson loader and checker: it is only ever refused with a
LessonError, never a crash (property tests), and every documented step kind is known."""

from __future__ import annotations

import copy
import json
import random
import re
import time
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wasmviz.engine.scenario import FAULTS, Scenario
from wasmviz.lessons import LessonError, check, loads, resolve
from wasmviz.lessons.model import EXPECT_KEYS, KINDS

from lesson_helpers import fault_trace, usual_trace


# --------------------------------------------------------------------------- arbitrary input
def toml(value: Any) -> str:
    """Write ``value`` as a TOML value (inline tables and arrays)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "nan" if value != value else {float("inf"): "inf", float("-inf"): "-inf"}.get(
            value, repr(value))
    if isinstance(value, (int, str)):
        return string(value) if isinstance(value, str) else str(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml(v) for v in value) + "]"
    return "{" + ", ".join(f"{key(k)} = {toml(v)}" for k, v in value.items()) + "}"


def key(k: str) -> str:
    return k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else string(k)


def string(text: str) -> str:
    # JSON's escapes are TOML's, except that TOML wants no surrogate pairs and escapes DEL.
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def document(data: dict[str, Any]) -> str:
    """Write a lesson-shaped dict as TOML, with [scenario] and [[step]] tables where it can."""
    lines = [f"{key(k)} = {toml(v)}" for k, v in data.items()
             if not (k == "scenario" and isinstance(v, dict))
             and not (k == "step" and isinstance(v, list) and v and
                      all(isinstance(s, dict) for s in v))]
    if isinstance(data.get("scenario"), dict):
        lines += ["", "[scenario]"] + [f"{key(k)} = {toml(v)}" for k, v in data["scenario"].items()]
    steps = data.get("step")
    if isinstance(steps, list) and steps and all(isinstance(s, dict) for s in steps):
        for s in steps:
            lines += ["", "[[step]]"] + [f"{key(k)} = {toml(v)}" for k, v in s.items()]
    return "\n".join(lines) + "\n"


SCALARS = (st.booleans() | st.integers(-(2**70), 2**70) | st.integers(-3, 30)
           | st.floats(allow_nan=True) | st.text(max_size=12))
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=8)

TEXT = st.sampled_from(["T", "Some words"]) | st.text(min_size=1, max_size=8)
HIGHLIGHTS = st.sampled_from(["slot 6", "slot 99", "module 1", "module 7", "memory 0x20000 8",
                              "memory 99999999", "field expr.code_slot", "field nope",
                              "region jit", "arrow call", "host", "section code",
                              "section nope", "slot -1", "memory", "host 1"]) | st.text(max_size=8)
EXPECTS = st.dictionaries(
    st.sampled_from([*EXPECT_KEYS, "holds", "from", "to", "equals", "bytes", "offset",
                     "at_least", "at_most", "x"]),
    st.integers(-2, 2**33) | st.sampled_from(["m1.expr", "null", "00 61", "expr.code_slot",
                                              "none", "grow"]), min_size=1, max_size=3)
STEPS = st.fixed_dictionaries({
    "at": st.sampled_from(["start", "end", "generate/section", "patch", "call/result",
                           "patch/trap", "call/x", "setup/define"]),
    "narration": TEXT,
}, optional={
    "title": TEXT,
    "nth": st.integers(1, 8),
    "where": st.dictionaries(st.sampled_from(["section", "slot", "via"]),
                             st.sampled_from(["code", 6, "jit"]), max_size=2),
    "highlight": st.lists(HIGHLIGHTS, max_size=3),
    "expect": st.lists(EXPECTS, max_size=3),
    "checkpoint": st.fixed_dictionaries({"question": TEXT}, optional={
        "choices": st.lists(st.text(max_size=3), max_size=4),
        "answer": st.integers(-1, 4) | st.text(max_size=3) | st.lists(st.text(max_size=2)),
        "right": TEXT}),
})
# Copied: corrupt() changes what it is given, and sampled_from gives the same objects again.
SCENARIOS = st.sampled_from([{"exprs": ["x * x + 3"], "args": [7]},
                             {"source": "def f(n) = n", "call": "f", "args": [1], "repeat": 3},
                             {"exprs": ["x"], "args": [1], "fault": "runaway", "fuel": 99},
                             ]).map(copy.deepcopy)
ANY_SCENARIO = st.fixed_dictionaries({}, optional={
    "exprs": st.lists(st.sampled_from(["x * x + 3", "x +", "x"]), max_size=2),
    "args": st.lists(st.integers(-(2**33), 2**33), max_size=2),
    "fault": st.sampled_from(FAULTS), "fuel": st.integers(-1, 2**62),
    "repeat": st.integers(-1, 40), "jit_now": st.booleans(),
    "source_file": st.sampled_from(["../x.wv", "", "nowhere.wv", "a\0b", "."]),
    "source": st.sampled_from(["def f(n) = n", "def f("]), "call": st.sampled_from(["f", "g"]),
})
#: Lesson-shaped documents: their problems are mostly of content, not of shape...
LESSONS = st.fixed_dictionaries({
    "title": TEXT, "summary": TEXT, "scenario": SCENARIOS,
    "step": st.lists(STEPS, min_size=1, max_size=4),
}, optional={"level": st.sampled_from(["beginner", "expert"])})
#: ...so a few values anywhere in them are replaced by anything at all (where: at random).
CORRUPTIONS = st.tuples(st.randoms(use_true_random=True), st.lists(VALUES, max_size=2))


def corrupt(data: Any, corruptions: tuple[random.Random, list[Any]]) -> None:
    """Replace values inside ``data`` (dicts and lists, nested) by ``corruptions``' junk."""
    rng, junks = corruptions
    for junk in junks:
        places: list[tuple[Any, Any]] = []
        todo = [data]
        while todo:
            container = todo.pop()
            keys = container if isinstance(container, dict) else range(len(container))
            for k in keys:
                places.append((container, k))
                if isinstance(container[k], (dict, list)):
                    todo.append(container[k])
        container, k = rng.choice(places)
        container[k] = junk


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300))
def test_arbitrary_text_is_only_ever_refused_with_a_lesson_error(text: str) -> None:
    try:
        loads(text, Path("/nonexistent/fuzz.toml"))
    except LessonError as exc:
        assert str(exc).startswith("/nonexistent/fuzz.toml")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(LESSONS, CORRUPTIONS)
def test_arbitrary_lessons_load_and_check_without_crashing(
        data: dict[str, Any], corruptions: tuple[random.Random, list[Any]]) -> None:
    corrupt(data, corruptions)
    text = document(data)
    start = time.perf_counter()
    try:
        lesson = loads(text, Path("/nonexistent/fuzz.toml"))
    except LessonError:
        return
    finally:
        assert time.perf_counter() - start < 1
    # Held against a recorded run (the run itself is not what is being tested here).
    for error in check(lesson, usual_trace()):
        assert isinstance(error, LessonError) and error.message
    resolve(lesson, usual_trace())


@settings(max_examples=100, deadline=None)
@given(ANY_SCENARIO, CORRUPTIONS)
def test_arbitrary_scenarios_are_only_ever_refused_with_a_lesson_error(
        scenario: dict[str, Any], corruptions: tuple[random.Random, list[Any]]) -> None:
    data = {"title": "T", "summary": "S", "scenario": scenario,
            "step": [{"at": "end", "narration": "n"}]}
    corrupt(data["scenario"] if scenario else data, corruptions)
    try:
        lesson = loads(document(data), Path("/nonexistent/fuzz.toml"))
    except LessonError:
        return
    Scenario.from_mapping(lesson.scenario)  # what the loader accepts, the engine accepts


def test_every_documented_kind_is_known() -> None:
    recorded = {(s.phase, s.kind) for s in usual_trace()}
    for fault in ("invalid-module", "link-mismatch", "null-slot"):
        recorded |= {(s.phase, s.kind) for s in fault_trace(fault)}
    assert all(kind in KINDS[phase] for phase, kind in recorded)
