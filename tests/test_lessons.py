"""Lessons: the file format, loading, the command line, and every shipped lesson.

A corpus of malformed lessons (tests/lessons_bad/) pins each problem to its own message, line
and step. The checker is tested in test_lesson_checker.py; arbitrary input (property tests) in
test_lesson_properties.py; what they share is in lesson_helpers.py.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from wasmviz.cli import main
from wasmviz.data import LESSONS_DIR
from wasmviz.engine.scenario import _FIELD_TYPES, Scenario
from wasmviz.lessons import (MAX_BYTES, Checkpoint, LessonError, Where, check_file, find, load,
                             loads, resolve, run_lesson, shipped)
from wasmviz.lessons.loader import MAX_STEPS
from wasmviz.lessons.model import EXPECT_KEYS, EXPECT_TYPES

from lesson_helpers import CORPUS, GOOD_TEXT, HEAD, corpus_errors, lesson_of, step


@pytest.fixture
def good(tmp_path: Path) -> Path:
    path = tmp_path / "01-example.toml"
    path.write_text(GOOD_TEXT)
    return path


#: Each malformed lesson -> (a fragment of its message, its line, its lesson step); 0 = none.
#: The trace of the usual scenario (x * x + 3 with x = 7) has 20 steps: generate/begin is
#: step 2, six generate/section steps, patch/table.grow 13, table.set 14, call/result 19.
EXPECTED: dict[str, tuple[str, int, int]] = {
    "toml-syntax": ("not valid TOML (column 18): Illegal character '\\n' (a \"...\" text is "
                    "not closed on its line", 4, 0),
    "duplicate-key": ("not valid TOML (column 24): Cannot overwrite a value (a field is given "
                      "twice)", 4, 0),
    "not-utf8": ("not UTF-8 text (byte 0xe9)", 2, 0),
    "missing-title": ("missing 'title': the lesson's title", 0, 0),
    "empty-summary": ("'summary' is empty; expected one sentence", 3, 0),
    "title-not-text": ("'title' must be text, not a number", 2, 0),
    "unknown-top-field": ("unknown field 'author'; a lesson has: level, scenario, step, "
                          "summary, title", 4, 0),
    "unknown-level": ("level must be one of beginner, intermediate, expert; found 'guru'", 4, 0),
    "missing-scenario": ("missing [scenario]: what to run", 0, 0),
    "scenario-unknown-field": ("scenario: unknown field 'expression'; a scenario has: exprs,",
                               6, 0),
    "scenario-bad-expression": ("scenario: the expression 'x * * 3' does not compile: line 1, "
                                "column 5: expected a number, a name or '(', found '*'", 6, 0),
    "scenario-unknown-fault": ("scenario: unknown fault 'segfault'; one of: null-slot,", 8, 0),
    "scenario-exprs-string": ("scenario: exprs must be a list of texts, not 'x * x + 3'", 6, 0),
    "scenario-fuel-over-limit": ("scenario: fuel 2,000,000,000 is outside what a lesson may "
                                 "use: 1,000 to 1,500,000,000", 8, 0),
    "scenario-repeat-over-limit": ("scenario: repeat 50 is more than the limit 20", 8, 0),
    "scenario-wrong-arg-count": ("scenario: expr takes 1 argument(s), got 2", 5, 0),
    "no-steps": ("a lesson needs at least one [[step]]; found none", 0, 0),
    "step-is-a-table": ("step must be an array of tables ([[step]]), not a table", 9, 0),
    "step-missing-narration": ("missing 'narration': the text shown beside the diagram", 13, 2),
    "step-missing-at": ("missing 'at': which step of the run this step shows", 9, 1),
    "unknown-phase": ("unknown phase 'linking' in at = 'linking/linked'; the phases are: "
                      "setup, generate, compile, link, patch, call", 10, 1),
    "unknown-kind": ("unknown kind 'sections' in at = 'generate/sections'; generate kinds are: "
                     "begin, header, section, complete, reuse, load, trap", 10, 1),
    "nth-beyond-matches": ("nth = 9 asks for match 9 of 'generate/section'; the run has 6",
                           10, 1),
    "steps-backwards": ("at = 'generate/begin' is trace step 2, but the step before shows "
                        "trace step 14: steps must follow the run forward", 14, 2),
    "unknown-highlight-target": ("unknown highlight target 'table' in 'table 6'; one of: slot,",
                                 12, 1),
    "highlight-bad-memory": ("highlight 'memory 0x20000 eight': memory takes an address and "
                             "optional length", 12, 1),
    "slot-highlight-out-of-range": ("highlight 'slot 9': the table has 7 slots (0 to 6) at "
                                    "trace step 13", 12, 1),
    "module-highlight-missing": ("highlight 'module 2': no module 2 at trace step 12 "
                                 "(modules: [1])", 12, 1),
    "field-highlight-never-written": ("highlight 'field fib.code_slot': the run never writes a "
                                      "field 'fib.code_slot'; its fields are: expr.bytecode, "
                                      "expr.code_slot", 12, 1),
    "false-result": ("expected {result = 53} at trace step 19 (call/result); found 52", 12, 1),
    "false-slot": ("expected {slot = 6, holds = 'm1.fib'} at trace step 14 (patch/table.set); "
                   "found slot 6 holds m1.expr", 12, 1),
    "false-trap": ("expected {trap = 'NULL_SLOT'} at trace step 19 (call/trap); found trap "
                   "BAD_SIGNATURE", 14, 1),
    "false-memory": ("expected {memory = 0x20000, bytes = '00 61 73 6d 02'} at trace step 3 "
                     "(generate/header); found bytes 00 61 73 6d 01", 12, 1),
    "false-field-change": ("expected {field = 'expr.code_slot', from = 0, to = 7} at trace "
                           "step 15 (patch/relocation); found expr.code_slot changed from 0 "
                           "to 6", 14, 1),
    "unknown-expectation-key": ("an expectation names one of slot, table_size, field, memory, "
                                "result, trap, modules, detail, caption_contains, "
                                "error_contains, call_fuel_at_most, call_fuel_at_least, "
                                "memory_pages, module, wat_contains, bindings, fuel_ratio; "
                                "found slots", 12, 1),
    "false-memory-pages": ("expected {memory_pages = 16} at trace step 12 (link/linked); found "
                           "8 pages", 12, 1),
    "module-bytes-no-offset": ("expectation on a module's bytes needs offset = 0x4e and bytes",
                               12, 1),
    "false-module-bytes": ("expected {module = 1, offset = 0x4, bytes = '02 00 00 00'} at trace "
                           "step 19 (call/result); found bytes 01 00 00 00", 12, 1),
    "false-wat": ("expected {wat_contains = '(import \"main\" \"flag\" (global'} at trace step "
                  "11 (compile/compiled); found no '(import \"main\" \"flag\" (global' in "
                  "module 1's WAT", 12, 1),
    "bindings-unquoted-import": ("bindings: 'main' holds a table; quote each import name, as in "
                                 "{bindings = {\"main.table\" = \"main.table\"}}", 12, 1),
    "bindings-not-recorded": ("at trace step 13 (patch/table.grow); found no bindings recorded "
                              "at this step (a link step records detail.bindings)", 12, 1),
    "fuel-ratio-no-bound": ("expectation on fuel_ratio needs at_least = 5 or at_most = 0.5", 12,
                            1),
    "fuel-ratio-bad-step": ("fuel_ratio: from must name a step that ends a call, such as "
                            "\"call/result\" or \"call/result#3\"; found 'call-result'", 12, 1),
    "fuel-ratio-later-step": ("found from = 'call/result' is trace step 19, after this one: a "
                              "ratio may only use steps already shown", 12, 1),
    "caption-only": ("caption_contains checks the caption's wording, not the state; add an "
                     "expectation on state", 12, 1),
    "expectation-wrong-type": ("table_size must be a whole number from 0; found 'seven'", 12,
                               1),
    "checkpoint-answer-out-of-range": ("answer must be the number of the right choice, 1 to 3; "
                                       "found 4", 16, 1),
    "checkpoint-typed-no-answer": ("a typed checkpoint needs answer = \"text\" (or a list of "
                                   "accepted texts), and a multiple-choice one needs choices; "
                                   "found no answer", 13, 1),
    "source-file-escapes": ("scenario: source_file '../../something.wv' is outside the "
                            "lesson's folder", 6, 0),
    "source-file-missing": ("scenario: cannot read source_file 'nowhere.wv': No such file or "
                            "directory", 6, 0),
}


# --------------------------------------------------------------------------- the corpus
def test_corpus_lists_every_file_and_is_large_enough() -> None:
    files = {p.stem for p in CORPUS.glob("*.toml")}
    assert files == set(EXPECTED)
    assert len(files) >= 22


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_file_says_what_is_wrong_at_its_line(name: str) -> None:
    path = CORPUS / f"{name}.toml"
    assert path.read_bytes().startswith(b"# "), "each corpus file opens with what is wrong"
    assert path.stat().st_size < 2000
    errors = corpus_errors(name)
    assert len(errors) == 1, [str(e) for e in errors]
    error = errors[0]
    fragment, line, number = EXPECTED[name]
    assert fragment in error.message
    assert (error.where.path, error.where.line, error.where.step) == (str(path), line, number)
    prefix = str(path) + (f":{line}" if line else "") + (f": step {number}" if number else "")
    assert str(error) == f"{prefix}: {error.message}"


def test_corpus_messages_are_pairwise_different() -> None:
    messages = [corpus_errors(name)[0].message for name in sorted(EXPECTED)]
    assert len(set(messages)) == len(messages)


def test_an_enormous_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "enormous.toml"
    with path.open("w") as f:
        f.write(HEAD + step("end"))
        f.write("# padding\n" * (MAX_BYTES // 10 + 1))
    start = time.perf_counter()
    with pytest.raises(LessonError, match=r"bytes; a lesson may be at most 262,144 bytes"):
        load(path)
    with pytest.raises(LessonError, match=r"at most 262,144 bytes"):
        loads(path.read_text(), path)
    assert time.perf_counter() - start < 1
    assert check_file(path)[0].where == Where(str(path))  # no line: the whole file is wrong


def test_a_device_or_folder_is_refused_unread(tmp_path: Path) -> None:
    for path in (Path("/dev/zero"), tmp_path):
        with pytest.raises(LessonError, match="not a lesson file"):
            load(path)


def test_ten_thousand_steps_fail_fast_on_the_step_limit(tmp_path: Path) -> None:
    path = tmp_path / "long.toml"
    path.write_text(HEAD + "\n[[step]]\n" * 10_000)  # about 90 KB: under the byte limit
    start = time.perf_counter()
    with pytest.raises(LessonError) as info:
        load(path)
    assert time.perf_counter() - start < 2
    assert info.value.message == f"10,000 steps; a lesson may have at most {MAX_STEPS}"
    assert info.value.where.line == 7 + 2 * MAX_STEPS + 1  # the first step too many
    inline = HEAD.replace("[scenario]", "step = [" + "{}, " * 10_000 + "]\n\n[scenario]")
    with pytest.raises(LessonError, match="10,000 steps"):
        loads(inline, path)


def test_a_runaway_scenario_comes_back(tmp_path: Path) -> None:
    path = tmp_path / "runaway.toml"
    path.write_text(HEAD + 'jit_now = true\nfault = "runaway"\n'
                    + step("call/trap", 'expect = [{trap = "OUT_OF_FUEL"}]\n'))
    start = time.perf_counter()
    assert check_file(path) == []
    assert time.perf_counter() - start < 15


# --------------------------------------------------------------------------- loading
def test_find_by_number_name_and_path(tmp_path: Path) -> None:
    for name in ("01-tables", "02-linking", "03-patch-linking"):
        (tmp_path / f"{name}.toml").write_text("")
    assert find("01", tmp_path) == tmp_path / "01-tables.toml"
    assert find("tables", tmp_path) == tmp_path / "01-tables.toml"
    assert find("02-Linking", tmp_path) == tmp_path / "02-linking.toml"
    assert find(str(tmp_path / "01-tables.toml")) == tmp_path / "01-tables.toml"
    assert find("03", tmp_path) == tmp_path / "03-patch-linking.toml"
    with pytest.raises(LessonError, match="^linking: is ambiguous: it names 02-linking, "
                                          "03-patch-linking$"):
        find("linking", tmp_path)
    with pytest.raises(LessonError, match="is not a lesson; the lessons are: 01-tables, "):
        find("09", tmp_path)
    with pytest.raises(LessonError, match="no such lesson file"):
        find(str(tmp_path / "missing.toml"))
    for path in shipped():
        assert find(path.stem) == path and find(path.stem.split("-")[0]) == path


def test_checkpoints_accept_the_right_reply() -> None:
    choice = Checkpoint("Who?", ("host", "main module"), 2)
    assert choice.is_right(2) and not choice.is_right(1) and not choice.is_right(3)
    typed = Checkpoint("Which slot?", answer=("6", "Slot Six"))
    assert typed.typed and not choice.typed
    assert typed.is_right(" 6 ") and typed.is_right("slot   six") and typed.is_right(6)
    assert not typed.is_right("7") and not typed.is_right("")


def test_checkpoints_load_from_the_file() -> None:
    lesson = lesson_of(HEAD + step("start", '\n[step.checkpoint]\nquestion = "Slot?"\n'
                                   'answer = ["6", "six"]\n')
                       + step("end", '\n[step.checkpoint]\nquestion = "Q"\nanswer = 7\n'))
    first, second = (s.checkpoint for s in lesson.steps)
    assert first is not None and first.typed and first.is_right("SIX")
    assert second is not None and second.is_right("7")
    with pytest.raises(LessonError, match="an accepted answer is empty"):
        lesson_of(HEAD + step("start", '[step.checkpoint]\nquestion = "Q"\nanswer = " "\n'))
    with pytest.raises(LessonError, match="needs at least two choices; found one"):
        lesson_of(HEAD + step("start", '[step.checkpoint]\nquestion = "Q"\nchoices = ["a"]\n'
                                       'answer = 1\n'))


def test_the_loader_keeps_what_the_file_says(good: Path) -> None:
    lesson = load(good)
    assert lesson.title == "Writing a module into memory" and lesson.level == "beginner"
    assert [s.at for s in lesson.steps] == ["generate/begin", "generate/header",
                                            "generate/section"]
    assert [s.line for s in lesson.steps] == [9, 18, 24]
    assert [s.at_line for s in lesson.steps] == [10, 19, 25]
    assert lesson.steps[0].narration.startswith("The function `expr` is hot")
    assert lesson.steps[1].narration.startswith("First the 8-byte header: the magic bytes `\\0asm`")
    assert lesson.steps[2].checkpoint == Checkpoint(
        "Who wrote these bytes into memory?",
        ("The host (Python)", "The main module, running in wasmtime", "wasmtime's compiler"), 2,
        "Yes: the JIT is WebAssembly code writing into its own linear memory.",
        "Look again: the host did not write these bytes.")
    assert lesson.steps[2].where == {"section": "code"}
    assert lesson.steps[1].highlights[0].target == 0x20000
    assert lesson.steps[1].highlights[0].length == 8
    assert lesson.lines["scenario"] == 5 and lesson.lines["exprs"] == 6


def test_expectations_written_one_per_line_report_their_own_line() -> None:
    lesson = lesson_of(HEAD + step("patch/relocation", 'expect = [\n  {table_size = 7},\n'
                                   '  {modules = 1}, {result = 1},\n]\n'))
    assert [e.line for e in lesson.steps[0].expectations] == [12, 13, 13]


@pytest.mark.parametrize("text, message", [
    ('a = ' + '[' * 2000 + ']' * 2000, "nested too deeply"),
    ('a = ' + '1' * 5000, "not valid TOML: "),  # Python refuses int('1' * 5000)
    (HEAD + step("end", 'highlight = ["slot ²"]\n'), "slot takes a table slot number"),
    (HEAD.replace("args = [7]", 'args = [7]\nsource_file = "a\\u0000b"'),
     "source_file must be the name of a file"),
    (HEAD.replace("args = [7]", "args = [4294967296]"), "args must be 32-bit numbers"),
    (HEAD.replace("args = [7]", "args = [7]\nthreshold = 0"), "threshold must be at least 1"),
    (HEAD.replace("args = [7]", "args = [7]\nwindow = 3_000_000_000"),
     "window must be at most 2,147,483,647, not 3,000,000,000"),
    (HEAD.replace("args = [7]", "args = [7]\nfuel = 10"), "fuel must be at least 1000, not 10"),
    (HEAD.replace("args = [7]", "args = [7]\nfuel = 2_000_000_000"),
     "fuel 2,000,000,000 is outside what a lesson may use: 1,000 to 1,500,000,000"),
    (HEAD.replace("args = [7]", "args = [7]\nfuel = 1.5e9"), "fuel must be a whole number"),
    (HEAD.replace("args = [7]", "args = [7]\nexprs2 = 1"), "unknown field 'exprs2'"),
    (HEAD.replace('exprs = ["x * x + 3"]', "exprs = [" + '"x", ' * 21 + "]"),
     "21 expressions; a lesson may run at most 20"),
    (HEAD + step("end", "expect = [{call_fuel_at_most = \"lots\"}]\n"),
     "call_fuel_at_most must be a whole number from 0; found 'lots'"),
    (HEAD + step("end", "expect = [{memory = 0, bytes = \"zz\"}]\n"),
     "bytes (in the expectation on 'memory') must be hex such as \"00 61 73 6d\"; found 'zz'"),
    (HEAD + step("end", "expect = [{memory = 0, bytes = \"\"}]\n"), "must be hex"),
    (HEAD + step("end", "expect = [{slot = 6, holds = 1}]\n"),
     "holds (in the expectation on 'slot') must be text"),
    (HEAD + step("patch/"), "at = 'patch/' names no kind after the '/'"),
    (HEAD + step("end", "nth = 0\n"), "nth must be a whole number from 1, not 0"),
    (HEAD + step("end", "where = 3\n"), "where must be a table such as {slot = 6}"),
])
def test_more_malformed_lessons_are_refused(text: str, message: str) -> None:
    with pytest.raises(LessonError, match=re.escape(message)):
        lesson_of(text)


def test_readme_documents_every_expectation_key() -> None:
    readme = (LESSONS_DIR / "README.md").read_text()
    table = readme[readme.index("### Expectations"):readme.index("### Checkpoints")]
    assert all(f"{{{key} = " in table for key in EXPECT_KEYS), "a key missing from the README"


def test_scenario_types_cover_every_field() -> None:
    assert set(_FIELD_TYPES) == set(Scenario.__dataclass_fields__)
    assert set(EXPECT_TYPES) == set(EXPECT_KEYS) | {q for qs in EXPECT_KEYS.values() for q in qs}



# --------------------------------------------------------------------------- the command line
def test_cli_check_passes_the_good_lesson(capsys: pytest.CaptureFixture[str],
                                          good: Path) -> None:
    assert main(["lessons", "check", str(good)]) == 0
    out = capsys.readouterr().out
    assert f"ok   {good}" in out and "1 of 1 lessons pass" in out


def test_cli_check_fails_a_broken_lesson(capsys: pytest.CaptureFixture[str],
                                         good: Path) -> None:
    path = CORPUS / "false-result.toml"
    assert main(["lessons", "check", str(good), str(path)]) == 1
    out = capsys.readouterr().out
    assert f"FAIL {path}" in out and "1 of 2 lessons pass" in out
    assert f"  {path}:12: step 1: expected {{result = 53}}" in out


def test_cli_check_takes_a_lesson_name(capsys: pytest.CaptureFixture[str]) -> None:
    first = shipped()[0]
    assert main(["lessons", "check", first.stem.split("-")[0], "no-such-lesson"]) == 1
    out = capsys.readouterr().out
    assert f"ok   {first}" in out and "no-such-lesson: is not a lesson" in out


def test_cli_check_takes_a_folder(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lessons", "check", str(CORPUS)]) == 1
    out = capsys.readouterr().out
    assert f"0 of {len(EXPECTED)} lessons pass" in out
    assert out.count("FAIL ") == len(EXPECTED)


def test_cli_list_names_every_shipped_lesson(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lessons", "list"]) == 0
    out = capsys.readouterr().out
    for path in shipped():
        lesson = load(path)
        assert f"{lesson.title}  ({len(lesson.steps)} steps)" in out


# --------------------------------------------------------------------------- shipped lessons
#: A step's narration must fit the lesson dock without scrolling (issue 10, item 5).
MAX_WORDS = 90


@pytest.mark.parametrize("path", shipped(), ids=lambda p: p.stem)
def test_shipped_lessons_are_short_and_rest_on_state(path: Path) -> None:
    lesson = load(path)
    long = {s.number: len(s.narration.split()) for s in lesson.steps
            if len(s.narration.split()) > MAX_WORDS}
    assert long == {}, f"steps over {MAX_WORDS} words (step: words)"
    # Captions are being rewritten from the state: no shipped claim may rest on their wording.
    assert not any(e.key == "caption_contains" for s in lesson.steps for e in s.expectations)
    assert any(s.checkpoint for s in lesson.steps)


@pytest.mark.parametrize("path", shipped(), ids=lambda p: p.stem)
def test_shipped_lesson_passes_and_ends_with_a_checkpoint(path: Path) -> None:
    assert [str(e) for e in check_file(path)] == []
    # Pressing Next must change the picture at least every third step (issue 10, item 5).
    indices = resolve(load(path), run_lesson(load(path))).indices
    runs = [i for i in range(len(indices) - 2) if indices[i] == indices[i + 1] == indices[i + 2]]
    assert runs == [], f"steps {[i + 1 for i in runs]} begin three steps on one trace step"
    lesson = load(path)
    assert lesson.steps[-1].checkpoint is not None, "every shipped lesson ends with a question"
    assert lesson.level in ("beginner", "intermediate", "expert")

