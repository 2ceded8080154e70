"""Where things are in a lesson file's text, so a message can name the line to fix.

tomllib gives values, not positions. This module reads the text again with a small TOML-aware
scanner: strings (all four kinds, multi-line ones included), comments, table headers, keys and
the brackets of arrays and inline tables. A ``[[step]]`` written inside a narration string is
text, not a header, so it never shifts the line numbers of the steps after it (review D13:
a regex over raw lines said line 13 for line 20).

The same pass finds what tomllib (or Python after it) cannot say where it is: values nested
too deeply (a 10,000-level dotted key, 2,000 nested arrays) and whole numbers beyond TOML's
64 bits (a 5,000-digit integer). Any text, broken or not, is scanned in linear time: it is
scanned again when tomllib gives up without saying where.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass

#: Levels of tables, arrays and dotted keys a value may be nested in. A lesson needs about six
#: (step -> expect -> item -> fuel_ratio -> from); Python's own recursion gives up near 1,000.
MAX_DEPTH = 32

#: An unclosed string runs to the end of its line (or of the text): every pattern matches
#: wherever it starts, so no text, however broken, makes the scan retry and go quadratic.
_TOKEN = re.compile(
    r'"""(?:[^"\\]|\\.?|""?(?!"))*(?:"{3,5}|\Z)'   # multi-line basic string
    r"|'''(?:[^']|''?(?!'))*(?:'{3,5}|\Z)"        # multi-line literal string
    r'|"(?:[^"\\\n]|\\[^\n])*"?'                  # basic string
    r"|'[^'\n]*'?"                                # literal string
    r"|#[^\n]*"                               # comment
    r"|[A-Za-z0-9_+\-.:]+"                    # bare key (dotted), number, boolean, date
    r"|\n|[ \t\r]+|.", re.S)
_INTEGER = re.compile(r"[+-]?(0x[0-9A-Fa-f_]+|0o[0-7_]+|0b[01_]+|[0-9_]+)")
_I64 = range(-(2**63), 2**63)


@dataclass(frozen=True)
class Problem:
    """Something in the text no lesson can mean, with its place (1-based line and column)."""

    line: int
    column: int
    #: Whole: "nested too deeply: ..." or "not valid TOML: ..." (beyond 64 bits).
    message: str


class Positions:
    """Lines of a lesson's text (1-based): each ``[[step]]`` header, and where keys are set."""

    def __init__(self, text: str) -> None:
        self.step_lines: list[int] = []
        #: The first too-deep value or too-large number, if any (the scan stops there).
        self.problem: Problem | None = None
        self._headers: list[tuple[int, str]] = []     # (line, dotted name) of [x] and [[x]]
        self._keys: dict[str, list[int]] = {}         # first key part -> lines setting it
        self._elements: dict[int, list[int]] = {}     # line of `key = [` -> line of each item
        _Scan(self).run(text)

    def line_of(self, key: str, start: int = 0, end: int | None = None) -> int:
        """Return the first line in [start, end) setting ``key`` (0 if not found).

        ``key`` is a top-level key or table name ("narration", "scenario"); "[name" asks for
        the header of table ``name`` (or of a table inside it) only.
        """
        if key.startswith("["):
            name = key.lstrip("[").strip()
            hits = [ln for ln, h in self._headers if h == name or h.startswith(name + ".")]
        else:
            hits = self._keys.get(key, [])
        i = bisect_left(hits, start)
        return hits[i] if i < len(hits) and (end is None or hits[i] < end) else 0

    def item_lines(self, count: int, line: int) -> list[int]:
        """Return the line of each of ``count`` items of the array set on ``line``.

        Items written one per line each get their own line, items sharing a line share it;
        anything this cannot tell falls back to ``line``.
        """
        found = self._elements.get(line, [])[:count]
        return found + [line] * (count - len(found))

    def table_end(self, line: int) -> int | None:
        """Return the line of the first table header after ``line`` (None: end of file)."""
        lines = [ln for ln, _ in self._headers]
        i = bisect_right(lines, line)
        return lines[i] if i < len(lines) else None

    def step_at(self, line: int) -> int:
        """Return the (1-based) number of the ``[[step]]`` that ``line`` is in, or 0."""
        return bisect_right(self.step_lines, line)


def _key_parts(tokens: list[str]) -> tuple[str, int]:
    """(first part, number of parts) of a key written as ``tokens`` (bare and quoted)."""
    first = tokens[0]
    first = first[1:-1] if first[:1] in "\"'" else first.split(".")[0]
    dots = sum(t.count(".") for t in tokens if t[:1] not in "\"'")
    return first, dots + 1


class _Scan:
    """One pass over the tokens, keeping what Positions needs; stops at the first problem."""

    def __init__(self, into: Positions) -> None:
        self.into = into
        self.mode = "start"        # start | header | key | value | after | rest
        #: Open arrays and inline tables: (bracket, depth of what is inside, line of its key).
        self.stack: list[tuple[str, int, int]] = []
        self.tokens: list[str] = []
        self.header_array = False
        self.table_depth = 0       # depth of the table the last header opened
        self.depth = 0             # depth of the value being read
        self.key_line = 0

    def run(self, text: str) -> None:
        line, line_start = 1, 0
        for m in _TOKEN.finditer(text):
            tok = m.group()
            if tok[0] not in " \t\r#":
                self.token(tok, line, m.start() - line_start + 1)
                if self.into.problem is not None:
                    return
            newlines = tok.count("\n")
            if newlines:
                line += newlines
                line_start = m.start() + tok.rindex("\n") + 1

    def fail(self, line: int, column: int, message: str) -> None:
        self.into.problem = Problem(line, column, message)

    def token(self, tok: str, line: int, column: int) -> None:
        mode, stack = self.mode, self.stack
        if tok == "\n":
            if not stack:
                self.mode = "start"   # a new line at top level: a new key or header
            return
        if mode == "start":
            if tok == "[":
                self.mode, self.tokens, self.header_array = "header", [], False
                self.key_line = line
            else:
                self.mode, self.tokens, self.key_line = "key", [tok], line
        elif mode == "header":
            if tok == "[" and not self.tokens:
                self.header_array = True
            elif tok == "]":
                self.header(line, column)
            else:
                self.tokens.append(tok)
        elif mode == "key":
            if tok == "=":
                self.key(line)
            elif tok == "}" and stack and not self.tokens:   # {} or a last ","
                self.close()
            else:
                self.tokens.append(tok)
        elif mode == "value":
            self.value(tok, line, column)
        elif mode == "after":
            if tok == "," and stack:
                self.mode = "value" if stack[-1][0] == "[" else "key"
                self.tokens = []
            elif tok in "]}" and stack:
                self.close()
            elif not stack:
                self.mode = "rest"

    def close(self) -> None:
        """A ``]`` or ``}``: back to the container around it (or the top level)."""
        self.stack.pop()
        self.mode = "after"
        if self.stack:
            self.depth = self.stack[-1][1]

    def header(self, line: int, column: int) -> None:
        if not self.tokens:
            self.mode = "rest"
            return
        name = "".join(self.tokens)
        first, parts = _key_parts(self.tokens)
        self.into._headers.append((self.key_line, name))
        self.into._keys.setdefault(first, []).append(self.key_line)
        if self.header_array and name == "step":
            self.into.step_lines.append(self.key_line)
        # [[x]] is a list holding tables: one level more than [x].
        self.table_depth = parts + (1 if self.header_array else 0)
        if self.table_depth > MAX_DEPTH:
            self.fail(line, column, f"nested too deeply: the table [{name[:40]}…] is more "
                                    f"than {MAX_DEPTH} levels deep")
        self.mode = "rest"

    def key(self, line: int) -> None:
        if not self.tokens:
            self.mode = "rest"
            return
        first, parts = _key_parts(self.tokens)
        base = self.stack[-1][1] if self.stack else self.table_depth
        if not self.stack:
            self.into._keys.setdefault(first, []).append(self.key_line)
        self.depth = base + parts
        if parts > MAX_DEPTH:
            self.fail(line, 1, f"nested too deeply: the key {first!r} has {parts:,} dotted "
                               f"parts (a lesson may nest tables at most {MAX_DEPTH} levels)")
        elif self.depth > MAX_DEPTH:
            self.fail(line, 1, f"nested too deeply: {first!r} is inside more than {MAX_DEPTH} "
                               "levels of arrays and tables")
        self.mode = "value"

    def value(self, tok: str, line: int, column: int) -> None:
        stack = self.stack
        if tok == "]" and stack and stack[-1][0] == "[":   # an empty array, or a last ","
            self.close()
            return
        if len(stack) == 1 and stack[0][0] == "[":
            # An item of the array a top-level key is set to: remember where it begins.
            self.into._elements.setdefault(stack[0][2], []).append(line)
        if tok in "[{":
            depth = self.depth + 1 if tok == "[" else self.depth
            if depth > MAX_DEPTH or len(stack) >= MAX_DEPTH:
                self.fail(line, column, f"nested too deeply: arrays or tables more than "
                                        f"{MAX_DEPTH} levels deep, from column {column}")
                return
            stack.append((tok, depth, self.key_line if not stack else stack[0][2]))
            self.depth = depth
            self.mode, self.tokens = ("value", []) if tok == "[" else ("key", [])
            return
        number = _INTEGER.fullmatch(tok)
        if number and not _fits_i64(tok):
            digits = len(number.group(1).replace("_", ""))
            self.fail(line, column, f"not valid TOML: the whole number at column {column} "
                                    f"has {digits:,} digits; TOML whole numbers must fit in "
                                    "64 bits")
            return
        self.mode = "after"
        if stack:
            self.depth = stack[-1][1]


def _fits_i64(tok: str) -> bool:
    digits = tok.lstrip("+-").replace("_", "")
    # 20 decimal digits are beyond 2**63 already: said before int() (which refuses 4,300+).
    # Hex, octal and binary convert in linear time whatever their length.
    if digits[1:2] not in ("x", "o", "b") and len(digits) > 20:
        return False
    try:
        return int(tok.replace("_", ""), 0) in _I64
    except ValueError:
        return True   # not a number tomllib takes: its own message says so
