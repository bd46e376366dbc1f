"""Event-level YAML parsing with exact character marks.

ruamel's C parser (ruamel.yaml.clib) when installed, its pure-Python parser
otherwise; both report marks as character offsets into the text, which is what
span splicing needs.  Parse errors become one InputError with line and column;
the parser's problem text names constructs, never the offending value.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ruamel.yaml.error import MarkedYAMLError, YAMLError

from sealedcfg.errors import InputError

try:  # ruamel.yaml.clib
    from _ruamel_yaml import CParser as _CParser
except ImportError:  # pragma: no cover - exercised only without the wheel
    _CParser = None


def has_c_parser() -> bool:
    return _CParser is not None


def events(text: str, name: str, *, c_first: bool = True) -> list[Any]:
    """All parser events of `text`; InputError on invalid YAML.

    libyaml follows YAML 1.1 where ruamel's own parser follows 1.2 (a `:` in a
    flow plain scalar, for one), so text the C parser refuses is given to the
    pure-Python parser before it is called invalid.
    """
    if c_first and _CParser is not None:
        try:
            return _collect(_CParser(text))
        except YAMLError:
            pass
    from ruamel.yaml import YAML

    try:
        return list(YAML(typ="rt", pure=True).parse(text))
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = exc.problem or exc.context or "syntax error"
        raise InputError(f"{name}: not valid YAML: {problem}{where}") from None
    except AssertionError:  # ruamel asserts on a %YAML version it does not know
        raise InputError(f"{name}: unsupported %YAML version (1.1 and 1.2 are)") from None
    except YAMLError as exc:  # ReaderError: a control character and the like
        position = getattr(exc, "position", None)
        where = f" (offset {position})" if position is not None else ""
        raise InputError(f"{name}: not valid YAML: unacceptable character{where}") from None


class CParserFailed(Exception):
    """libyaml refused the text (or is not installed): parse it again with ruamel's."""


def c_events(text: str) -> Iterator[Any]:
    """libyaml's events one at a time, so that a large file's events need not all
    be held at once; CParserFailed when it refuses the text (maybe part-way)."""
    if _CParser is None:
        raise CParserFailed
    parser = _CParser(text)
    while True:
        try:
            event = parser.get_event()
        except YAMLError:
            raise CParserFailed from None
        if event is None:
            return
        yield event


def pure_events(text: str, name: str) -> list[Any]:
    """ruamel's YAML 1.2 parser, the judge of what is valid YAML."""
    return events(text, name, c_first=False)


def _collect(parser: Any) -> list[Any]:
    out = []
    while (event := parser.get_event()) is not None:
        out.append(event)
    return out
