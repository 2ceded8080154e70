"""The parts of a lesson step: highlights, expectations and a checkpoint, read from TOML values.

Like loader.py (which uses this for each ``[[step]]``), only the file is judged here: whether a
highlight's target exists or an expectation holds is for checker.py, against the run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from ..engine.options import MAX_MEMORY_PAGES
from ..engine.trace import PHASES
from .model import (ARROW_NAMES, EXPECT_KEYS, EXPECT_TYPES, FUEL_RATIO_FIELDS,
                    HIGHLIGHT_KINDS, REGION_NAMES, REQUIRED, TYPE_NAMES, WORDING_KEYS,
                    Checkpoint, Expectation, Highlight, LessonError, Where, is_a, type_name)
from .positions import Positions

_CHECKPOINT_KEYS = {"question", "choices", "answer", "right", "wrong"}


class StepParts(Positions):
    """Reads the parts of steps; ``fail`` builds the error naming this file and a line."""

    def __init__(self, text: str, path: Path) -> None:
        super().__init__(text)
        self.path = path

    def fail(self, message: str, line: int = 0, step: int = 0) -> LessonError:
        return LessonError(Where(str(self.path), line, step), message)

    def text(self, data: Mapping[str, Any], key: str, required: bool = False,
             step: int = 0, start: int = 0) -> str:
        value = data.get(key)
        if value is None:
            if required:
                raise self.fail(f"missing {key!r}: {REQUIRED[key]}", start, step)
            return ""
        if not isinstance(value, str):
            raise self.fail(f"{key!r} must be text, not {type_name(value)}",
                            self.line_of(key, start) or start, step)
        if required and not value.strip():
            raise self.fail(f"{key!r} is empty; expected {REQUIRED[key]}",
                            self.line_of(key, start) or start, step)
        return value.strip()

    def highlights(self, items: object, number: int, start: int,
                   end: int | None) -> tuple[Highlight, ...]:
        line = self.line_of("highlight", start, end) or start
        if isinstance(items, str):
            items = [items]
        if not isinstance(items, list):
            raise self.fail(f"highlight must be a list of texts such as [\"slot 6\"], not "
                            f"{type_name(items)}", line, number)
        return tuple(self.highlight(item, number, line) for item in items)

    def highlight(self, item: object, number: int, line: int) -> Highlight:
        if not isinstance(item, str) or not item.split():
            raise self.fail(f"highlight {item!r}: write it as text such as \"slot 6\"", line,
                            number)
        kind, *args = item.split()
        if kind not in HIGHLIGHT_KINDS:
            raise self.fail(f"unknown highlight target {kind!r} in {item!r}; one of: "
                            f"{', '.join(HIGHLIGHT_KINDS)}", line, number)
        bad = self.fail(f"highlight {item!r}: {kind} takes {HIGHLIGHT_KINDS[kind]}", line, number)
        if kind == "host":
            if args:
                raise bad
            return Highlight("host", None, 0, item, line)
        if kind in ("slot", "module"):
            # isascii: "²".isdigit() is true, but int() refuses it.
            if len(args) != 1 or not (args[0].isascii() and args[0].isdigit()):
                raise bad
            return Highlight(kind, int(args[0]), 0, item, line)
        if kind == "memory":
            try:
                address = int(args[0], 0)
                length = int(args[1], 0) if len(args) > 1 else 4
            except (IndexError, ValueError):
                raise bad from None
            if len(args) > 2 or address < 0 or not 0 < length <= 65536:
                raise bad
            return Highlight("memory", address, length, item, line)
        if len(args) != 1:
            raise bad
        name = args[0]
        if kind == "region" and name not in REGION_NAMES:
            raise bad
        if kind == "arrow" and name not in ARROW_NAMES:
            raise bad
        return Highlight(kind, name, 0, item, line)

    def expectations(self, items: object, number: int, start: int,
                     end: int | None) -> tuple[Expectation, ...]:
        line = self.line_of("expect", start, end) or start
        if isinstance(items, dict):
            items = [items]
        if not isinstance(items, list):
            raise self.fail(f"expect must be a list of tables such as [{{result = 52}}], not "
                            f"{type_name(items)}", line, number)
        # Name each expectation's own line when they are written one per line.
        lines = iter(self.item_lines(len(items), line) if len(items) > 1 else [line])
        parsed = tuple(self.expectation(item, number, next(lines)) for item in items)
        # A caption is prose written by the host: matching its words proves nothing about
        # the table or memory, so it may accompany evidence of state but never replace it.
        if parsed and all(e.key in WORDING_KEYS for e in parsed):
            raise self.fail(f"{parsed[0].key} checks the caption's wording, not the state; "
                            "add an expectation on state (slot, field, memory, detail, ...) "
                            "to this step", parsed[0].line, number)
        return parsed

    def expectation(self, item: object, number: int, line: int) -> Expectation:
        if not isinstance(item, dict):
            raise self.fail(f"expectation {item!r} must be a table such as {{result = 52}}",
                            line, number)
        # A key that is also a qualifier of another key present (module, in wat_contains)
        # is that qualifier, not a second subject.
        subjects = [k for k in item if k in EXPECT_KEYS and not any(
            k in EXPECT_KEYS[o] for o in item if o != k and o in EXPECT_KEYS)]
        if len(subjects) != 1:
            found = ", ".join(sorted(item)) or "nothing"
            raise self.fail(f"an expectation names one of {', '.join(EXPECT_KEYS)}; found "
                            f"{found}", line, number)
        key = subjects[0]
        extra = sorted(set(item) - {key} - set(EXPECT_KEYS[key]))
        if extra:
            allowed = ", ".join(EXPECT_KEYS[key]) or "nothing else"
            raise self.fail(f"expectation on {key!r} does not take {extra[0]!r} (it takes "
                            f"{allowed})", line, number)
        if key == "slot" and "holds" not in item:
            raise self.fail("expectation on a slot needs holds = \"m1.f\" (or \"null\")", line,
                            number)
        if key == "field" and not {"from", "to", "equals"} & set(item):
            raise self.fail("expectation on a field needs from/to or equals", line, number)
        if key == "memory" and "bytes" not in item:
            raise self.fail("expectation on memory needs bytes = \"00 61 73 6d\"", line, number)
        if key == "module" and not {"offset", "bytes"} <= set(item):
            raise self.fail("expectation on a module's bytes needs offset = 0x4e and bytes = "
                            "\"04 6d\" (offset counts from the module's first byte)", line,
                            number)
        if key == "fuel_ratio" and not {"at_least", "at_most"} & set(item):
            raise self.fail("expectation on fuel_ratio needs at_least = 5 or at_most = 0.5 "
                            "(the fuel of 'from' divided by the fuel of 'to')", line, number)
        # Wrong types are refused here, with the line, rather than failing (or crashing) when
        # compared with the run.
        for name, value in item.items():
            want = EXPECT_TYPES[name]
            if not is_a(value, want):
                what = key if name == key else f"{name} (in the expectation on {key!r})"
                raise self.fail(f"{what} must be {TYPE_NAMES[want]}; found {value!r}", line,
                                number)
        if key in ("memory", "module"):
            try:
                if not bytes.fromhex(item["bytes"]):
                    raise ValueError
            except ValueError:
                raise self.fail(f"bytes (in the expectation on {key!r}) must be hex such "
                                f"as \"00 61 73 6d\"; found {item['bytes']!r}", line,
                                number) from None
            # Bytes beyond any memory the host allows read as zeros in no run: refuse the
            # address here, as highlights are (review D13: 0x7fffffffffffffff passed).
            end, size = MAX_MEMORY_PAGES * 65536, len(bytes.fromhex(item["bytes"]))
            if key == "memory" and not 0 <= item[key] <= end - size:
                raise self.fail(f"memory address {item[key]:#x} with {size} byte(s) lies "
                                f"beyond the main module's memory (at most {end:#x} bytes)",
                                line, number)
        if key == "wat_contains" and not item[key].strip():
            raise self.fail("wat_contains is empty; give the text the module's WAT must "
                            "include, such as \"table.grow\"", line, number)
        if key == "bindings":
            self.check_bindings(item[key], number, line)
        if key == "fuel_ratio":
            self.check_fuel_ratio(item[key], number, line)
        return Expectation(key, item[key], {k: item[k] for k in item if k != key}, line)

    def check_bindings(self, table: dict[str, Any], number: int, line: int) -> None:
        """Refuse a bindings table that is not import name -> provider name, both texts."""
        example = '{bindings = {"main.table" = "main.table"}}'
        if not table:
            raise self.fail(f"bindings is empty; name each import and what it is bound to, "
                            f"such as {example}", line, number)
        for name, provider in table.items():
            if isinstance(provider, dict):
                # TOML reads an unquoted main.table as a nested table {main = {table = ..}}.
                raise self.fail(f"bindings: {name!r} holds a table; quote each import name, "
                                f"as in {example}", line, number)
            if not isinstance(provider, str) or not provider.strip():
                raise self.fail(f"bindings: the provider of {name!r} must be text such as "
                                f"\"main.table\"; found {provider!r}", line, number)

    def check_fuel_ratio(self, table: dict[str, Any], number: int, line: int) -> None:
        """Refuse a fuel_ratio table that does not name two steps as from and to."""
        fields = ", ".join(FUEL_RATIO_FIELDS)
        if set(table) != set(FUEL_RATIO_FIELDS):
            raise self.fail(f"fuel_ratio takes exactly {fields}, each a step named like at "
                            f"(\"call/result\", or \"call/result#3\" for the third); found "
                            f"{', '.join(sorted(table)) or 'nothing'}", line, number)
        for name in FUEL_RATIO_FIELDS:
            value = table[name]
            at, _, nth = value.partition("#") if isinstance(value, str) else ("", "", "")
            phase, _, kind = at.partition("/")
            if not (phase in PHASES and kind and (not nth or (nth.isascii() and nth.isdigit()
                                                              and int(nth) >= 1))):
                raise self.fail(f"fuel_ratio: {name} must name a step that ends a call, such "
                                f"as \"call/result\" or \"call/result#3\"; found {value!r}",
                                line, number)

    def checkpoint(self, data: object, number: int, start: int,
                   end: int | None) -> Checkpoint | None:
        if data is None:
            return None
        line = self.line_of("[step.checkpoint", start, end) or self.line_of(
            "checkpoint", start, end) or start
        if not isinstance(data, dict):
            raise self.fail("checkpoint must be a table ([step.checkpoint])", line, number)
        unknown = sorted(set(data) - _CHECKPOINT_KEYS)
        if unknown:
            raise self.fail(f"unknown checkpoint field {unknown[0]!r}; a checkpoint has: "
                            f"{', '.join(sorted(_CHECKPOINT_KEYS))}", line, number)
        question = self.text(data, "question", required=True, step=number, start=line)
        right = self.text(data, "right", step=number, start=line)
        wrong = self.text(data, "wrong", step=number, start=line)
        choices = data.get("choices", [])
        answer = data.get("answer")
        answer_line = self.line_of("answer", line, end) or line
        if not isinstance(choices, list) or not all(isinstance(c, str) for c in choices):
            raise self.fail(f"choices must be a list of texts; found {choices!r}",
                            self.line_of("choices", line, end) or line, number)
        found = "no answer" if answer is None else repr(answer)
        if choices:
            if len(choices) < 2:
                raise self.fail("a multiple-choice checkpoint needs at least two choices; "
                                "found one", self.line_of("choices", line, end) or line, number)
            if not isinstance(answer, int) or isinstance(answer, bool) or \
                    not 1 <= answer <= len(choices):
                raise self.fail(f"answer must be the number of the right choice, 1 to "
                                f"{len(choices)}; found {found}", answer_line, number)
            return Checkpoint(question, tuple(choices), answer, right, wrong)
        accepted = [answer] if isinstance(answer, (str, int)) and not isinstance(answer, bool) \
            else answer
        if not isinstance(accepted, list) or not accepted or \
                not all(isinstance(a, (str, int)) and not isinstance(a, bool) for a in accepted):
            raise self.fail(f"a typed checkpoint needs answer = \"text\" (or a list of accepted "
                            f"texts), and a multiple-choice one needs choices; found {found}",
                            answer_line, number)
        # An empty accepted answer would count an empty reply as right.
        if any(not str(a).strip() for a in accepted):
            raise self.fail("an accepted answer is empty", answer_line, number)
        return Checkpoint(question, (), tuple(str(a) for a in accepted), right, wrong)
