"""`.env` files read the way python-dotenv reads them (its parser.py grammar).

`KEY=value`, `export KEY=value`, `'quoted key'=…`, single-quoted values
(only `\\\\` and `\\'` escapes), double-quoted values (C escapes, newlines
inside), unquoted values up to ` #`, a key without `=` (None, as python-dotenv
gives it), a later duplicate winning in the first one's place.  Differences,
on purpose: no `${VAR}` expansion (the importing machine's environment must
not leak into sealed values: python-dotenv's `interpolate=False`), and a line
python-dotenv would skip with a warning is refused here, naming its line.
"""

from __future__ import annotations

import codecs
import re

from sealedcfg.errors import InputError

_MULTILINE_WHITESPACE = re.compile(r"\s*", re.MULTILINE)
_WHITESPACE = re.compile(r"[^\S\r\n]*")
_EXPORT = re.compile(r"(?:export[^\S\r\n]+)?")
_SINGLE_QUOTED_KEY = re.compile(r"'([^']+)'")
_UNQUOTED_KEY = re.compile(r"([^=\#\s]+)")
_EQUAL_SIGN = re.compile(r"(=[^\S\r\n]*)")
# A backslash escapes whatever follows it, so `\\` never ends a value early.
_SINGLE_QUOTED_VALUE = re.compile(r"'((?:\\.|[^'\\])*)'", re.DOTALL)
_DOUBLE_QUOTED_VALUE = re.compile(r'"((?:\\.|[^"\\])*)"', re.DOTALL)
_UNQUOTED_VALUE = re.compile(r"([^\r\n]*)")
_COMMENT = re.compile(r"(?:[^\S\r\n]*#[^\r\n]*)?")
_END_OF_LINE = re.compile(r"[^\S\r\n]*(?:\r\n|\n|\r|$)")
_INLINE_COMMENT = re.compile(r"\s+#.*")
_DOUBLE_ESCAPES = re.compile(r"\\[\\'\"abfnrtv]")
_SINGLE_ESCAPES = re.compile(r"\\[\\']")


class _Stop(Exception):
    pass


class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def peek(self) -> str:
        return self.text[self.pos : self.pos + 1]

    def read(self, regex: re.Pattern[str]) -> tuple[str, ...]:
        match = regex.match(self.text, self.pos)
        if match is None:
            raise _Stop
        self.pos = match.end()
        return match.groups()


def _unescape(regex: re.Pattern[str], text: str) -> str:
    return regex.sub(lambda m: codecs.decode(m.group(0), "unicode-escape"), text)


def _value(reader: _Reader) -> str:
    char = reader.peek()
    if char == "'":
        return _unescape(_SINGLE_ESCAPES, reader.read(_SINGLE_QUOTED_VALUE)[0])
    if char == '"':
        return _unescape(_DOUBLE_ESCAPES, reader.read(_DOUBLE_QUOTED_VALUE)[0])
    if char in ("", "\n", "\r"):
        return ""
    return _INLINE_COMMENT.sub("", reader.read(_UNQUOTED_VALUE)[0]).rstrip()


def _binding(reader: _Reader) -> tuple[str | None, str | None]:
    reader.read(_MULTILINE_WHITESPACE)
    if reader.pos >= len(reader.text):
        return None, None
    reader.read(_EXPORT)
    key: str | None
    if reader.peek() == "#":
        key = None
    elif reader.peek() == "'":
        key = reader.read(_SINGLE_QUOTED_KEY)[0]
    else:
        key = reader.read(_UNQUOTED_KEY)[0]
    reader.read(_WHITESPACE)
    value: str | None = None
    if reader.peek() == "=":
        (equal_sign,) = reader.read(_EQUAL_SIGN)
        # `KEY= # note` is empty with a comment; `KEY=#x` is the value `#x`
        value = "" if len(equal_sign) > 1 and reader.peek() == "#" else _value(reader)
    reader.read(_COMMENT)
    reader.read(_END_OF_LINE)
    return key, value


def universal_newlines(text: str) -> str:
    """What Python's text mode (python-dotenv opens files so) makes of line ends."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def parse(text: str, name: str) -> dict[str, str | None]:
    """The key/value pairs of a `.env` text; InputError naming the first bad line."""
    reader = _Reader(universal_newlines(text.removeprefix("\ufeff")))
    out: dict[str, str | None] = {}
    while reader.pos < len(reader.text):
        start = reader.pos
        try:
            key, value = _binding(reader)
        except _Stop:
            first = _MULTILINE_WHITESPACE.match(reader.text, start)
            line = reader.text.count("\n", 0, first.end() if first else start) + 1
            raise InputError(
                f"{name}: line {line}: not a .env assignment (KEY=value)",
                hints=("python-dotenv would skip this line; fix it or remove it",),
            ) from None
        if key is not None:
            out[key] = value
    return out
