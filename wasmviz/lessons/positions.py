"""Where things are in a lesson file's text, so a message can name the line to fix.

tomllib gives values, not positions; these helpers find the line that assigns a key by looking
at the text, which is good enough for the way lessons are written (one field per line) and
falls back to the enclosing table's line when it cannot tell.
"""

from __future__ import annotations

import re
from bisect import bisect_left

_STEP_HEADER = re.compile(r"^\s*\[\[\s*step\s*\]\]")
_TABLE_HEADER = re.compile(r"^\s*\[\[?\s*[A-Za-z_\"']")


class Positions:
    """Lines of a lesson's text (1-based): each ``[[step]]`` header, and where keys are set."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.step_lines = [i + 1 for i, ln in enumerate(self.lines) if _STEP_HEADER.match(ln)]
        self._hits: dict[str, list[int]] = {}

    def line_of(self, key: str, start: int = 0, end: int | None = None) -> int:
        """Return the first line in [start, end) assigning ``key`` (0 if not found)."""
        # Each key's lines are found once: a file of 200 inline steps (no [[step]] lines to
        # bound the search) would otherwise rescan the whole file several times per step.
        hits = self._hits.get(key)
        if hits is None:
            pat = re.compile(rf"^\s*(\[+\s*)?{re.escape(key)}\b")
            hits = self._hits[key] = [i + 1 for i, ln in enumerate(self.lines) if pat.match(ln)]
        i = bisect_left(hits, start)
        return hits[i] if i < len(hits) and (end is None or hits[i] < end) else 0

    def item_lines(self, keys: list[str], count: int, start: int,
                   end: int | None) -> list[int]:
        """Return the line of each of ``count`` list items naming one of ``keys``, from ``start``.

        Items written one per line each get their own line, items sharing a line share it, and
        items this cannot find (or cannot find cheaply) fall back to ``start``.
        """
        if not start or end is None and len(self.lines) - start > 500:
            return [start] * count  # no [[step]] lines to bound the search: keep it cheap
        names = "|".join(re.escape(k) for k in keys if k) or "(?!)"
        pat = re.compile(rf"(^|[{{,\s])({names})\s*=")
        stop = len(self.lines) if end is None else end - 1
        found: list[int] = []
        for i in range(max(start - 1, 0), stop):
            found += [i + 1] * len(pat.findall(self.lines[i]))
            if len(found) >= count:
                return found[:count]
        return found + [start] * (count - len(found))

    def table_end(self, line: int) -> int | None:
        """Return the line of the first table header after ``line`` (None: end of file)."""
        for i in range(line, len(self.lines)):
            if _TABLE_HEADER.match(self.lines[i]):
                return i + 1
        return None
