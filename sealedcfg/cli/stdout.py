"""Our stdout, whose write errors are told apart from every other OSError.

Writing stdout can fail anywhere in a command (a full disk, a reader that went
away: `| head`); an OSError from anything else is a bug.  Every byte written to
`sys.stdout` (print, click, `sys.stdout.buffer`) reaches `_Raw.write`, which
raises `OutputError` for its own failures.  No typer here: the entry point
installs it before answering --version.
"""

from __future__ import annotations

import io
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer


class OutputError(Exception):
    """Writing stdout failed; `cause` is the OSError.  Not an OSError itself, so
    that no handler of other OSErrors takes it (click turns EPIPE into exit 1)."""

    def __init__(self, cause: OSError) -> None:
        super().__init__(cause.strerror or type(cause).__name__)
        self.cause = cause


class _Raw(io.FileIO):
    def write(self, data: ReadableBuffer) -> int:
        # All of it: a plain FileIO (stdout under PYTHONUNBUFFERED=1) returns a short
        # count on a pipe whose reader left, and the text layer drops the rest unseen.
        view = memoryview(data).cast("B")
        done = 0
        try:
            while done < len(view):
                n = super().write(view[done:])
                if n is None:  # a non-blocking descriptor shared with another process
                    import select

                    select.select([], [self], [])
                done += n or 0
        except OSError as exc:
            raise OutputError(exc) from None
        return done


class _Text(io.TextIOWrapper):
    """sys.stdout once installed (the class marks it)."""

    wrapped: object = None  # the stream it replaced, which owns the descriptor


def install() -> None:
    """Put sys.stdout on its descriptor through `_Raw`, buffered as it was (once).
    A stream without a descriptor (a test runner's) is left as it is."""
    old = sys.stdout
    if isinstance(old, _Text):
        return
    try:
        fd = old.fileno()
        old.flush()
    except (AttributeError, ValueError, OSError):  # io.UnsupportedOperation is both
        return
    raw = _Raw(fd, "w", closefd=False)
    unbuffered = bool(getattr(old, "write_through", False))
    new = _Text(
        raw if unbuffered else io.BufferedWriter(raw),
        encoding=getattr(old, "encoding", None) or "utf-8",
        errors="backslashreplace",  # a lone surrogate in a YAML key is printed escaped
        newline="\n",
        line_buffering=bool(getattr(old, "line_buffering", False)),
        write_through=unbuffered,
    )
    new.wrapped = old  # kept open: the entry point's /dev/null for a closed stdout
    sys.stdout = new
