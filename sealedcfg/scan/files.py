"""Bytes and files in, findings out, and never an exception for a file's content.

Decoding: UTF-8 with errors="replace".  A stray Latin-1 byte becomes U+FFFD, which
splits the token it sits in but keeps every other byte, line and column where it was,
so one bad byte in a large file cannot hide a key written later in it.  A UTF-16 file
announces itself with a BOM (and would otherwise look binary because of its NUL bytes).
"""

from __future__ import annotations

import os
import stat

from .assign import MAX_MATCHES
from .custom import ScanConfig
from .engine import scan_text
from .model import Finding, Skipped

_BINARY_PROBE = 8192


def _size_label(max_bytes: int) -> str:
    if max_bytes % (1 << 20) == 0:
        return f"{max_bytes >> 20} MiB"
    if max_bytes % (1 << 10) == 0:
        return f"{max_bytes >> 10} KiB"
    return f"{max_bytes} bytes"


def decode(data: bytes) -> str | None:
    """Text for scanning, or None for binary content."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    if b"\0" in data[:_BINARY_PROBE]:
        return None
    return data.decode("utf-8-sig", errors="replace")


# What every match of each pattern the name rules read at most MAX_MATCHES of holds (one
# occurrence at least; matches do not overlap), so a line holding fewer of each than the
# bound was read whole: `=`/`:` (assignments, connection strings, `var x =`), `-` (flags,
# argv lists, CLI passwords), `,` (CSV pairs), `<` (XML elements), `(` (calls, setters),
# quotes (SQL), and the words of the header, AWS and netrc rules (on the lower-cased line).
_CAPPED_BYTES = (b"-", b",", b"<", b"(")
_CAPPED_WORDS = (b"authorization", b"secret", b"passw")


def _crowded(line: bytes, max_matches: int) -> bool:
    if len(line) <= 2 * max_matches:  # every such match is two characters or more
        return False
    if line.count(b"=") + line.count(b":") > max_matches:
        return True
    if line.count(b"'") + line.count(b'"') > max_matches:
        return True
    if any(line.count(b) > max_matches for b in _CAPPED_BYTES):
        return True
    low = line.lower()
    return any(low.count(w) > max_matches for w in _CAPPED_WORDS)


def notes(data: bytes, max_matches: int = MAX_MATCHES) -> list[str]:
    """What a scan of `data` read in part, one note each: never silent.

    Invalid UTF-8 bytes become U+FFFD and split the token they sit in; on a line with more
    matches of one name-rule pattern than the per-line bound (assignments, flags, CSV
    pairs, XML elements, calls) the name rules read only the first ones (provider, URL and
    key rules read the whole line).  Cheap: a file whose longest line is within twice the
    bound cannot hold one, and most files are valid UTF-8.
    """
    out = []
    if not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            out.append("not UTF-8: invalid bytes read as U+FFFD, a token holding one is missed")
    if _crowded(data, max_matches):  # what no line can hold more of than the whole file
        crowded = [n for n, line in enumerate(data.split(b"\n"), 1) if _crowded(line, max_matches)]
        if crowded:
            shown = ", ".join(map(str, crowded[:5])) + (" ..." if len(crowded) > 5 else "")
            lines = "lines" if len(crowded) > 1 else "line"
            verb = "hold" if len(crowded) > 1 else "holds"
            out.append(
                f"in part: {lines} {shown} {verb} over {max_matches} assignments; the name rules"
                f" read the first {max_matches} (provider, URL and key rules read all of it)"
            )
    return out


def scan_bytes(
    data: bytes, path: str, *, max_bytes: int = 1 << 20, config: ScanConfig | None = None
) -> list[Finding] | Skipped:
    """Scan an in-memory blob (e.g. a staged file from the git index)."""
    if len(data) > max_bytes:
        return Skipped(path, f"larger than {_size_label(max_bytes)}")
    text = decode(data)
    if text is None:
        return Skipped(path, "binary file")
    return scan_text(text, path, config)


def scan_file(
    path: str | os.PathLike[str],
    *,
    max_bytes: int = 1 << 20,
    display_path: str | None = None,
) -> list[Finding] | Skipped:
    """Scan a file on disk; `display_path` (default: `path`) names it in findings."""
    shown = display_path if display_path is not None else os.fspath(path)
    try:
        with open(path, "rb") as fh:
            st = os.fstat(fh.fileno())
            if st.st_size > max_bytes:
                return Skipped(shown, f"larger than {_size_label(max_bytes)}")
            # A regular file is read up to the size seen (+1: one that grew meanwhile still
            # reads as too large once past the limit); read(max_bytes + 1) would allocate a
            # 1 MiB buffer for every small file.  A pipe or device reports no size.
            limit = st.st_size if stat.S_ISREG(st.st_mode) else max_bytes
            data = fh.read(limit + 1)
    except OSError as exc:
        return Skipped(shown, f"unreadable: {exc.strerror or type(exc).__name__}")
    return scan_bytes(data, shown, max_bytes=max_bytes)
