"""Precise lesson errors (review D13): every malformed lesson is refused with its line (and
step), never a RecursionError, "the checker itself failed" or a line shifted by text that
only looks like TOML; and a claim about bytes beyond the recorded memory fails."""

from __future__ import annotations

from pathlib import Path

import pytest

from wasmviz.lessons import LessonError, check, load, loads
from wasmviz.lessons.cli import cmd_lessons
from wasmviz.lessons.positions import MAX_DEPTH, Positions

from lesson_helpers import HEAD as BASE
from lesson_helpers import step, usual_trace

#: A lesson of one step (lesson_helpers' HEAD and step, as the other lesson tests write them).
HEAD = BASE + step("setup/instantiate")
#: The line HEAD's step ends on: whatever is added to it starts on the next line.
LAST = HEAD.count("\n")


def refused(text: str, tmp_path: Path) -> LessonError:
    path = tmp_path / "lesson.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(LessonError) as info:
        load(path)
    return info.value


def checked_by_cli(text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """What `wasmviz lessons check FILE` prints for ``text``."""
    import argparse

    path = tmp_path / "cli.toml"
    path.write_text(text, encoding="utf-8")
    assert cmd_lessons(argparse.Namespace(lessons_command="check", files=[path])) == 1
    return capsys.readouterr().out


# ---------------------------------------------------------------- deep dotted keys
@pytest.mark.parametrize("extra", [
    "where." + ".".join(["a"] * 10_000) + " = 1\n",
    'expect = [{result = 52}, {detail.' + ".".join(["a"] * 10_000) + ' = 1}]\n',
], ids=["where", "detail"])
def test_a_ten_thousand_level_dotted_key_is_refused_at_its_line(
        extra: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    error = refused(HEAD + extra, tmp_path)
    assert (error.where.line, error.where.step) == (LAST + 1, 1)
    assert "nested too deeply" in error.message and "10,001 dotted parts" in error.message
    out = checked_by_cli(HEAD + extra, tmp_path, capsys)
    assert f"cli.toml:{LAST + 1}: step 1: nested too deeply" in out
    assert "checker itself failed" not in out and "RecursionError" not in out


def test_dotted_keys_up_to_the_limit_still_load(tmp_path: Path) -> None:
    # Deep enough for any lesson (where = {a.b.c...}), shallow enough to print and compare.
    key = ".".join(["a"] * (MAX_DEPTH - 4))
    lesson = loads(HEAD + f"where.{key} = 1\n", tmp_path / "ok.toml")
    assert lesson.steps[0].where


# ---------------------------------------------------------------- deep arrays and tables
@pytest.mark.parametrize("value", [
    "[" * 2_000 + "]" * 2_000,                       # tomllib itself gives up (recursion)
    "[" * (MAX_DEPTH + 2) + "]" * (MAX_DEPTH + 2),   # parses, but deeper than the limit
    "{a = " * 3_000 + "1" + "}" * 3_000,
], ids=["arrays-2000", "arrays-34", "inline-tables-3000"])
def test_deep_arrays_and_inline_tables_name_their_line(value: str, tmp_path: Path) -> None:
    text = HEAD + "\n# a comment, then the deep value\nhighlight = " + value + "\n"
    error = refused(text, tmp_path)
    assert (error.where.line, error.where.step) == (LAST + 3, 1)
    assert "nested too deeply" in error.message


def test_deep_nesting_outside_any_step_names_its_line(tmp_path: Path) -> None:
    text = HEAD.replace("args = [7]", "args = [7]\nexprs2 = " + "[" * 500 + "]" * 500)
    error = refused(text, tmp_path)
    assert (error.where.line, error.where.step) == (7, 0)


# ---------------------------------------------------------------- huge numbers
def test_a_five_thousand_digit_integer_names_its_line_and_column(tmp_path: Path) -> None:
    error = refused(HEAD + "nth = " + "9" * 5_000 + "\n", tmp_path)
    assert (error.where.line, error.where.step) == (LAST + 1, 1)
    assert error.message == ("not valid TOML: the whole number at column 7 has 5,000 digits; "
                             "TOML whole numbers must fit in 64 bits")


@pytest.mark.parametrize("number, fits", [
    ("9223372036854775807", True), ("-9223372036854775808", True),
    ("9223372036854775808", False), ("0x7fff_ffff_ffff_ffff", True),
    ("0x8000000000000000", False), ("0b" + "1" * 63, True), ("1" * 25, False),
])
def test_whole_numbers_must_fit_in_64_bits_as_toml_says(number: str, fits: bool) -> None:
    scan = Positions(f"a = {number}\n")
    assert (scan.problem is None) == fits
    if not fits:
        assert (scan.problem.line, scan.problem.column) == (1, 5)


# ---------------------------------------------------------------- text that looks like TOML
def test_a_step_header_inside_a_narration_does_not_shift_lines(tmp_path: Path) -> None:
    text = HEAD.replace('narration = "n"', 'narration = """\nBefore.\n[[step]]\nat = "x"\n'
                        "nth = 0\n\"\"\"") + \
        "\n[[step]]\nat = \"setup/instantiate\"\nnarration = '''\n[[step]]\n[scenario]\n'''\n" \
        'nth = "x"\n'
    lines = text.splitlines()
    error = refused(text, tmp_path)
    # The second real step, at its real line (the review saw 13 where it was 20).
    assert error.where.step == 2
    assert lines[error.where.line - 1] == 'nth = "x"'
    lesson = loads(text.replace('nth = "x"', "nth = 1"), tmp_path / "ok.toml")
    assert [lines[s.line - 1] for s in lesson.steps] == ["[[step]]", "[[step]]"]
    assert [s.line for s in lesson.steps] == [8, 17]
    assert lesson.steps[0].narration.splitlines()[1] == "[[step]]"


def test_a_key_inside_a_string_is_not_taken_for_that_key(tmp_path: Path) -> None:
    # "at = ..." and "expect = ..." at the start of narration lines are prose.
    text = HEAD.replace('narration = "n"', 'narration = """\nat = "x"\nexpect = 1\n"""') + \
        'expect = [\n  {table_size = "seven"},\n]\n'
    error = refused(text, tmp_path)
    assert text.splitlines()[error.where.line - 1] == "expect = ["
    assert "table_size must be a whole number" in error.message


def test_each_expectation_written_on_its_own_line_is_named(tmp_path: Path) -> None:
    text = HEAD + 'expect = [\n  {result = 52},\n  # why\n  {table_size = "seven"},\n]\n'
    error = refused(text, tmp_path)
    assert text.splitlines()[error.where.line - 1] == '  {table_size = "seven"},'


# ---------------------------------------------------------------- memory beyond the run's
def test_memory_far_beyond_any_memory_is_refused_when_loaded(tmp_path: Path) -> None:
    error = refused(HEAD + 'expect = [{memory = 0x7fffffffffffffff, bytes = "00"}]\n',
                    tmp_path)
    assert (error.where.line, error.where.step) == (LAST + 1, 1)
    assert "lies beyond the main module's memory" in error.message


def test_memory_beyond_the_recorded_memory_fails_against_the_run(tmp_path: Path) -> None:
    trace = usual_trace()
    pages = trace[0].memory_pages
    end = pages * 65536
    # Allowed by the loader (the host may grow memory), but this run's memory ends at `end`:
    # the zeros beyond it were never there.
    lesson = loads(HEAD + f'expect = [{{memory = {end:#x}, bytes = "00"}}]\n',
                   tmp_path / "l.toml")
    [error] = check(lesson, trace)
    assert error.where.line == LAST + 1
    assert f"is beyond the memory, which is {pages} pages ({end:#x} bytes)" in error.message
    straddling = loads(HEAD + f'expect = [{{memory = {end - 1:#x}, bytes = "00 00"}}]\n',
                       tmp_path / "l.toml")
    assert "is beyond the memory" in check(straddling, trace)[0].message
    # The last real byte is still readable, and what it holds is compared as before.
    last = trace.memory_at(0, end - 1, 1).hex()
    inside = loads(HEAD + f'expect = [{{memory = {end - 1:#x}, bytes = "{last}"}}]\n',
                   tmp_path / "l.toml")
    assert check(inside, trace) == []
