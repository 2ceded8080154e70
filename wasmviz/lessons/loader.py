"""Reading lesson files: TOML text -> a validated Lesson, or a LessonError saying where and what.

Everything here is about the file alone (syntax, fields, types); whether the lesson agrees with
the real run is checker.py's job. Nothing in a lesson file is ever executed.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any, Mapping

from ..engine.options import DEFAULT_FUEL
from ..engine.scenario import MIN_FUEL, Scenario, ScenarioError
from ..engine.trace import PHASES
from .model import KINDS, LEVELS, Lesson, LessonError, LessonStep, Where, type_name
from .parts import StepParts
from .positions import Positions, Problem
from ..safe_files import (MAX_IMAGE_BYTES, FileTooLarge, NotRegularFile, UnsafeFile,
                          is_small_regular_file, read_small_bytes, read_small_text)

#: The shipped lessons: wasmviz/data/lessons, found via importlib.resources (works from a wheel).
from ..data import LESSONS_DIR
#: A lesson is prose plus a few tables; anything larger is a mistake (or an attack on the app).
MAX_BYTES = 256 * 1024
MAX_STEPS = 200
MAX_FUEL = DEFAULT_FUEL
#: Setting up the main module costs fuel too; with less, the run stops before it begins.
MAX_REPEAT = 20
#: Each expression is compiled into its own module (about 20 trace steps and a few ms each).
MAX_EXPRS = 20
SUFFIX = ".toml"

_TOP_KEYS = {"title", "summary", "level", "scenario", "step"}
_STEP_KEYS = {"at", "nth", "where", "title", "narration", "highlight", "expect", "checkpoint"}
#: `![alt](target "title")` and `<img src="target">`: the images a narration asks Qt to load.
_IMAGE = re.compile(r"!\[[^\]]*\]\(\s*<?([^)\s>]*)>?[^)]*\)|<img[^>]*\ssrc\s*=\s*[\"']?([^\"'\s>]*)",
                    re.IGNORECASE)
_TOML_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")
#: tomllib's wording for the two mistakes authors make most, said in their terms.
_TOML_HINTS = {
    "Illegal character '\\n'": " (a \"...\" text is not closed on its line; use \"\"\"...\"\"\" for "
                                "text over several lines)",
    "Cannot overwrite a value": " (a field is given twice)",
}


def narration_images(narration: str) -> list[str]:
    """The targets of the images a narration shows (``![alt](target)``, ``<img src=..>``)."""
    return [m[0] or m[1] for m in _IMAGE.findall(narration)]


def image_file(folder: Path, target: str) -> Path | None:
    """The file a narration image ``target`` names, if it is inside ``folder``; else None.

    Only plain relative or absolute paths: a URL scheme (file:, http:, ...) names nothing.
    """
    if not target or "://" in target or target.startswith("file:") or "\0" in target:
        return None
    try:
        base = folder.resolve()
        path = (base / target).resolve()
    except (OSError, RuntimeError, ValueError):
        return None
    return path if path.is_relative_to(base) and path != base else None


def shipped() -> list[Path]:
    """Return the shipped lesson files in curriculum order (their names start with a number)."""
    return sorted(LESSONS_DIR.glob(f"*{SUFFIX}"))


def find(name_or_path: str, base: Path = LESSONS_DIR) -> Path:
    """Return the lesson file a user named: a path, or a shipped lesson's name or number.

    ``03``, ``03-linking`` and ``linking`` all name ``wasmviz/data/lessons/03-linking.toml``.
    Raises LessonError when nothing (or more than one lesson) matches.
    """
    path = Path(name_or_path).expanduser()
    if path.suffix == SUFFIX or path.exists():
        if not path.is_file():
            # A stat, not a read: a FIFO is named as one here, never opened.
            raise LessonError(Where(str(path)), "not a lesson file (a folder, a device or a "
                                                "pipe)" if path.exists() else
                              "no such lesson file")
        return path
    candidates = sorted(base.glob(f"*{SUFFIX}"))
    key = name_or_path.strip().lower()
    hits = [p for p in candidates if p.stem.lower() == key]
    hits = hits or [p for p in candidates
                    if p.stem.lower().startswith(key + "-") or p.stem.lower().endswith("-" + key)]
    if len(hits) == 1:
        return hits[0]
    if hits:
        raise LessonError(Where(name_or_path), "is ambiguous: it names "
                                               f"{', '.join(p.stem for p in hits)}")
    names = ", ".join(p.stem for p in candidates) or "(none)"
    raise LessonError(Where(name_or_path), f"is not a lesson; the lessons are: {names}")


def load(path: Path) -> Lesson:
    """Read and validate the lesson file at ``path``; raise LessonError if it is malformed."""
    where = Where(str(path))
    try:
        # A device or a pipe reports no size and may never end (/dev/zero): refused unread.
        raw = read_small_bytes(path, MAX_BYTES, "lesson")
    except NotRegularFile:
        raise LessonError(where, "not a lesson file (a folder, a device or a pipe)") from None
    except FileTooLarge as exc:
        raise LessonError(where, f"the file is {exc.size:,} bytes; a lesson may be at most "
                                 f"{MAX_BYTES:,} bytes" if exc.size is not None else
                          f"the file is over {MAX_BYTES:,} bytes; a lesson may be at most "
                          "that") from None
    except OSError as exc:
        raise LessonError(where, f"cannot read the file: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise LessonError(Where(str(path), line),
                          f"not UTF-8 text (byte 0x{raw[exc.start]:02x}); save the file as "
                          "UTF-8") from None
    return loads(text, path)


def loads(text: str, path: Path) -> Lesson:
    """Validate lesson ``text`` read from ``path`` (used for messages and relative files)."""
    # The app may hand over text it did not read through load(): the same limit applies.
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_BYTES:
        raise LessonError(Where(str(path)), f"the text is {size:,} bytes; a lesson may be at "
                                            f"most {MAX_BYTES:,} bytes")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        m = _TOML_POSITION.search(msg)
        line = int(m.group(1)) if m else 0
        detail = _TOML_POSITION.sub("", msg).strip()
        detail += _TOML_HINTS.get(detail, "")
        col = f" (column {m.group(2)})" if m else ""
        raise LessonError(Where(str(path), line), f"not valid TOML{col}: {detail}") from None
    except (RecursionError, ValueError) as exc:
        # tomllib recurses once per nested array or table, and Python refuses to convert an
        # integer of more than 4,300 digits; neither says where. The scan does (review D13).
        scan = Positions(text)
        if scan.problem is None:
            what = "arrays or tables are nested too deeply" if isinstance(exc, RecursionError) \
                else str(exc)
            raise LessonError(Where(str(path)), f"not valid TOML: {what}") from None
        raise _problem(scan.problem, path, scan.step_at(scan.problem.line)) from None
    reader = _Reader(text, path)
    if reader.problem is not None:
        # Parsed, but nested deeper than anything can print or compare (a 10,000-level
        # dotted key in where/detail once ended in "the checker itself failed"), or a number
        # beyond 64 bits: refused here, at its line.
        raise _problem(reader.problem, path, reader.step_at(reader.problem.line))
    try:
        return reader.lesson(data)
    except RecursionError:
        # Defence in depth: the scan bounds nesting, so this should not be reachable.
        raise LessonError(Where(str(path)), "a value is nested too deeply (a dotted key or "
                                            "table many levels deep)") from None


def _problem(problem: Problem, path: Path, step: int = 0) -> LessonError:
    return LessonError(Where(str(path), problem.line, step), problem.message)


class _Reader(StepParts):
    """Validates parsed TOML, knowing the text so messages can name lines."""

    def lesson(self, data: Mapping[str, Any]) -> Lesson:
        unknown = sorted(set(data) - _TOP_KEYS)
        if unknown:
            raise self.fail(f"unknown field {unknown[0]!r}; a lesson has: "
                            f"{', '.join(sorted(_TOP_KEYS))}", self.line_of(unknown[0]))
        title = self.text(data, "title", required=True)
        summary = self.text(data, "summary", required=True)
        level = self.text(data, "level")
        if level and level not in LEVELS:
            raise self.fail(f"level must be one of {', '.join(LEVELS)}; found {level!r}",
                            self.line_of("level"))
        scenario = data.get("scenario")
        if not isinstance(scenario, dict):
            raise self.fail("missing [scenario]: what to run on the engine (exprs and args, "
                            "or source and call)" if scenario is None else
                            f"scenario must be a table ([scenario]), not {type_name(scenario)}",
                            self.line_of("scenario"))
        scenario, lines = self.scenario(scenario)
        steps = data.get("step")
        if steps is None or steps == []:
            raise self.fail("a lesson needs at least one [[step]]; found none",
                            self.line_of("step"))
        if not isinstance(steps, list):
            raise self.fail(f"step must be an array of tables ([[step]]), not {type_name(steps)}",
                            self.line_of("step"))
        # Checked before any step is read, so a huge lesson is refused at once.
        if len(steps) > MAX_STEPS:
            raise self.fail(f"{len(steps):,} steps; a lesson may have at most {MAX_STEPS}",
                            self.step_lines[MAX_STEPS] if len(self.step_lines) > MAX_STEPS
                            else self.line_of("step"))
        parsed = tuple(self.step(i + 1, s) for i, s in enumerate(steps))
        return Lesson(self.path, self.path.stem, title, summary, scenario, parsed, level, lines)

    def scenario(self, table: dict[str, Any]) -> tuple[dict[str, Any], dict[str, int]]:
        """Return the scenario table (source_file read in) and the line of each field."""
        line = self.line_of("[scenario") or self.line_of("scenario")
        end = self.table_end(line) if line else None
        known = (*Scenario.__dataclass_fields__, "source_file")
        unknown = [k for k in table if k not in known]
        if unknown:
            raise self.fail(f"scenario: unknown field {unknown[0]!r}; a scenario has: "
                            f"{', '.join(known)}", self.line_of(unknown[0], line, end) or line)
        lines = {"scenario": line}
        lines.update({k: self.line_of(k, line, end) or line for k in table})
        table = dict(table)
        source_file = table.pop("source_file", None)
        if source_file is not None:
            if "source" in table:
                raise self.fail("scenario: give source or source_file, not both",
                                lines["source_file"])
            table["source"] = self.read_source(source_file, lines["source_file"])
            lines["source"] = lines["source_file"]
        try:
            scenario = Scenario.from_mapping(table)
        except ScenarioError as exc:
            raise self.fail(f"scenario: {exc}", lines.get(exc.field or "", line)) from None
        # Opening a lesson must never keep a learner waiting: bound the work a run may do.
        if not MIN_FUEL <= scenario.fuel <= MAX_FUEL:
            raise self.fail(f"scenario: fuel {scenario.fuel:,} is outside what a lesson may "
                            f"use: {MIN_FUEL:,} to {MAX_FUEL:,}", lines["fuel"])
        if scenario.repeat > MAX_REPEAT:
            raise self.fail(f"scenario: repeat {scenario.repeat} is more than the limit "
                            f"{MAX_REPEAT}", lines["repeat"])
        if len(scenario.exprs) > MAX_EXPRS:
            raise self.fail(f"scenario: {len(scenario.exprs)} expressions; a lesson may run at "
                            f"most {MAX_EXPRS}", lines["exprs"])
        return table, lines

    def read_source(self, name: object, line: int) -> str:
        if not isinstance(name, str) or not name.strip() or "\0" in name:
            raise self.fail(f"scenario: source_file must be the name of a file in the lesson's "
                            f"folder, not {name!r}", line)
        folder = self.path.resolve().parent
        try:
            target = (folder / name).resolve()
        except (OSError, RuntimeError) as exc:  # a symlink loop, a name too long
            raise self.fail(f"scenario: cannot read source_file {name!r}: {exc}", line) from None
        # A lesson may only read files in its own folder: a shared lesson must not be able to
        # show (or probe) files elsewhere on the learner's disk.
        if not target.is_relative_to(folder):
            raise self.fail(f"scenario: source_file {name!r} is outside the lesson's folder "
                            f"{folder}; a lesson may only read files beside it", line)
        try:
            # A regular file under the cap, checked on the open descriptor: a FIFO here blocked
            # `lessons check` and the app's event loop for good (review D2).
            return read_small_text(target, MAX_BYTES, "source_file")
        except NotRegularFile:
            raise self.fail(f"scenario: source_file {name!r} is not a regular file (a "
                            "folder, a device or a pipe)", line) from None
        except FileTooLarge:
            raise self.fail(f"scenario: source_file {name!r} is larger than "
                            f"{MAX_BYTES:,} bytes", line) from None
        except UnsafeFile as exc:
            raise self.fail(f"scenario: source_file {name!r}: {exc}", line) from None
        except OSError as exc:
            raise self.fail(f"scenario: cannot read source_file {name!r}: "
                            f"{exc.strerror or exc}", line) from None

    def check_images(self, narration: str, number: int, line: int) -> None:
        """Narration images must be regular, size-capped files in the lesson's folder.

        The app shows only those (ui.runner.load_narration_images reads them in a worker);
        saying so here lets `lessons check` refuse `![x](/dev/zero)` instead of passing it
        (review D1).
        """
        for target in narration_images(narration):
            path = image_file(self.path.resolve().parent, target)
            if path is None:
                raise self.fail(f"narration image {target!r} is not a file in the lesson's "
                                "folder; a lesson may only show images beside it", line, number)
            if not is_small_regular_file(path, MAX_IMAGE_BYTES):
                raise self.fail(f"narration image {target!r} is missing, not a regular file, "
                                f"or over {MAX_IMAGE_BYTES:,} bytes", line, number)

    # ---------------------------------------------------------------- steps
    def step(self, number: int, data: object) -> LessonStep:
        start = self.step_lines[number - 1] if number <= len(self.step_lines) else 0
        end = self.step_lines[number] if number < len(self.step_lines) else None
        if not isinstance(data, dict):
            raise self.fail(f"a step must be a table, not {type_name(data)}", start, number)
        unknown = sorted(set(data) - _STEP_KEYS)
        if unknown:
            raise self.fail(f"unknown field {unknown[0]!r}; a step has: "
                            f"{', '.join(sorted(_STEP_KEYS))}",
                            self.line_of(unknown[0], start, end) or start, number)
        at = self.text(data, "at", required=True, step=number, start=start)
        at_line = self.line_of("at", start, end) or start
        self.check_at(at, number, at_line)
        narration = self.text(data, "narration", required=True, step=number, start=start)
        self.check_images(narration, number, self.line_of("narration", start, end) or start)
        nth = data.get("nth", 1)
        if not isinstance(nth, int) or isinstance(nth, bool) or nth < 1:
            raise self.fail(f"nth must be a whole number from 1, not {nth!r}",
                            self.line_of("nth", start, end) or start, number)
        where = data.get("where", {})
        if not isinstance(where, dict):
            raise self.fail(f"where must be a table such as {{slot = 6}}, not {type_name(where)}",
                            self.line_of("where", start, end) or start, number)
        return LessonStep(
            number=number, line=start, at=at, narration=narration,
            title=self.text(data, "title", step=number, start=start), nth=nth, where=where,
            highlights=self.highlights(data.get("highlight", []), number, start, end),
            expectations=self.expectations(data.get("expect", []), number, start, end),
            checkpoint=self.checkpoint(data.get("checkpoint"), number, start, end),
            at_line=at_line)

    def check_at(self, at: str, number: int, line: int) -> None:
        """Refuse an ``at`` that can name no step of any run (kinds are checked against the run:
        a new kind the engine records must not need a change here)."""
        if at in ("start", "end"):
            return
        phase, _, kind = at.partition("/")
        if phase not in PHASES:
            raise self.fail(f"unknown phase {phase!r} in at = {at!r}; the phases are: "
                            f"{', '.join(PHASES)} (or at = \"start\" / \"end\")", line, number)
        if "/" in at and not kind:
            raise self.fail(f"at = {at!r} names no kind after the '/'; {phase} kinds are: "
                            f"{', '.join(KINDS.get(phase, ()))}", line, number)
