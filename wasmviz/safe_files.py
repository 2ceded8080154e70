"""Reading a file the user (or a lesson, or a trace) names, without trusting it.

Every file wasmviz reads on someone's say-so goes through here: the path must name a regular
file (not a FIFO, a device like /dev/zero, or a directory) of at most ``limit`` bytes. The file
is opened with O_NONBLOCK and checked with fstat on the open descriptor, so a FIFO cannot block
the open and a file swapped between the check and the read is still the file that was checked.
The read itself stops at ``limit + 1`` bytes, so a file that grows after the check is refused too.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

#: Caps by kind of file: generous for what the app writes, small against what it cannot use.
MAX_SOURCE_BYTES = 256 * 1024          # a sandbox or CLI program (the parser is the limit)
MAX_IMAGE_BYTES = 4 * 1024 * 1024      # an image shown in a lesson's narration
MAX_TRACE_BYTES = 64 * 1024 * 1024     # a saved trace JSON


class UnsafeFile(ValueError):
    """The file is not a regular file, is too big, or is not the text it should be."""


class NotRegularFile(UnsafeFile):
    """A folder, a device (/dev/zero) or a pipe: refused before anything is read."""


class FileTooLarge(UnsafeFile):
    """Over the cap: ``size`` is the size fstat gave, or None if the file grew while read."""

    def __init__(self, message: str, size: int | None) -> None:
        super().__init__(message)
        self.size = size


def read_small_bytes(path: Path | str, limit: int, what: str = "file") -> bytes:
    """Return the bytes of the regular file ``path`` if it has at most ``limit`` bytes.

    Raises UnsafeFile (a ValueError) for anything else, OSError when it cannot be opened.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(os.fspath(path), flags)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotRegularFile(f"{path}: not a regular file")
        if info.st_size > limit:
            raise FileTooLarge(f"{path}: {info.st_size:,} bytes is more than the {limit:,} "
                               f"a {what} may have", info.st_size)
        chunks, total = [], 0
        while total <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    finally:
        os.close(fd)
    if total > limit:
        raise FileTooLarge(f"{path}: more than the {limit:,} bytes a {what} may have", None)
    return b"".join(chunks)


def read_small_text(path: Path | str, limit: int, what: str = "program") -> str:
    """Read a regular UTF-8 text file of at most ``limit`` bytes; raise ValueError otherwise.

    The check comes before the read, so a FIFO or /dev/zero cannot block or exhaust the app.
    """
    data = read_small_bytes(path, limit, what)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnsafeFile(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def is_small_regular_file(path: Path, limit: int) -> bool:
    """True if ``path`` is a regular file of at most ``limit`` bytes (without opening it)."""
    try:
        info = path.stat()
    except (OSError, ValueError):
        return False
    return stat.S_ISREG(info.st_mode) and info.st_size <= limit
