"""Event-level YAML parsing with exact character marks.

ruamel's C parser (ruamel.yaml.clib) when installed, its pure-Python parser
otherwise; both report marks as character offsets into the text, which is what
span splicing needs.  Parse errors become one InputError with line and column;
the parser's problem text names constructs, never the offending value.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import (
    AliasEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
)

from sealedcfg.base import limits
from sealedcfg.errors import InputError

try:  # ruamel.yaml.clib
    from _ruamel_yaml import CParser as _CParser
except ImportError:  # pragma: no cover - exercised only without the wheel
    _CParser = None


def has_c_parser() -> bool:
    return _CParser is not None


_DIRECTIVE = re.compile(r"^%YAML[ \t]+([0-9]+)\.([0-9]+)(?=[ \t]|\r?$)", re.MULTILINE)
_warned: set[tuple[str, int]] = set()
_SURROGATE = re.compile("[\ud800-\udfff]")


def yaml_versions(text: str, name: str) -> str:
    """`text` as the parsers can read it: `%YAML 1.x` with x > 2 becomes 1.2.

    YAML 1.2 (§6.8.1): a later minor version is processed as 1.2 with a
    warning; another major version is an error.  Both parsers here accept only
    1.1 and 1.2 (ruamel's pure one fails an assertion on 1.3), so the directive
    is rewritten in the text they see, keeping its length, so that every mark
    still points into the original.  1.0 (and 0.x) predate the core schema
    and are refused.
    """
    if "%YAML" not in text:
        return text
    out = text
    for match in _DIRECTIVE.finditer(text):
        major, minor = int(match.group(1)[:6]), int(match.group(2)[:6])
        line = text.count("\n", 0, match.start()) + 1
        if major == 1 and minor > 2:
            if (name, line) not in _warned:
                _warned.add((name, line))
                print(
                    f"sealedcfg: warning: {name}: %YAML {match.group(1)}.{match.group(2)} "
                    f"(line {line}) is read as YAML 1.2",
                    file=sys.stderr,
                )
            start, end = match.span()
            out = out[:start] + "%YAML 1.2".ljust(end - start) + out[end:]
        elif major != 1 or minor < 1:
            raise InputError(
                f"{name}: unsupported YAML version {match.group(1)}.{match.group(2)} "
                f"(line {line}); sealedcfg reads YAML 1.1 and 1.2"
            )
    return out


def events(text: str, name: str, *, c_first: bool = True, line_offset: int = 0) -> list[Any]:
    """All parser events of `text`; InputError on invalid YAML.

    libyaml follows YAML 1.1 where ruamel's own parser follows 1.2 (a `:` in a
    flow plain scalar, for one), so text the C parser refuses is given to the
    pure-Python parser before it is called invalid.
    """
    text = yaml_versions(text, name)
    if c_first and _CParser is not None:
        try:
            return list(limited(_collect(_CParser(text)), name, line_offset))
        except YAMLError:
            pass
    from ruamel.yaml import YAML

    try:
        return list(limited(YAML(typ="rt", pure=True).parse(text), name, line_offset))
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" (line {mark.line + 1 + line_offset}, column {mark.column + 1})" if mark else ""
        problem = exc.problem or exc.context or "syntax error"
        raise InputError(f"{name}: not valid YAML: {problem}{where}") from None
    except AssertionError:  # ruamel asserts on a %YAML version it does not know
        raise InputError(f"{name}: unsupported %YAML version (1.1 and 1.2 are)") from None
    except YAMLError as exc:  # ReaderError: a control character and the like
        position = getattr(exc, "position", None)
        where = f" (offset {position})" if position is not None else ""
        raise InputError(f"{name}: not valid YAML: unacceptable character{where}") from None


def c_next_event(text: str | bytes) -> Callable[[], Any] | None:
    """libyaml's next-event function over `text` (None without the C parser):
    each call returns one event, None at the end; it raises YAMLError when
    libyaml refuses the text (maybe part-way)."""
    return None if _CParser is None else _CParser(text).get_event


def pure_events(text: str, name: str) -> list[Any]:
    """ruamel's YAML 1.2 parser, the judge of what is valid YAML."""
    return events(text, name, c_first=False)


def _collect(parser: Any) -> Iterator[Any]:
    while (event := parser.get_event()) is not None:
        yield event


def limited(stream: Iterable[Any], name: str, line_offset: int = 0) -> Iterator[Any]:
    """The events of `stream`, refused as soon as the structure passes a limit
    (limits.py): nesting depth, number of nodes, characters in a scalar.
    Checked while parsing, so a hostile file costs no more than the limit."""
    depth = nodes = 0
    max_depth, max_nodes, max_chars = limits.MAX_DEPTH, limits.MAX_NODES, limits.MAX_SCALAR_CHARS
    for ev in stream:
        cls = type(ev)
        if cls is ScalarEvent:
            nodes += 1
            if len(ev.value) > max_chars:
                line = ev.start_mark.line + 1 + line_offset
                raise limits.exceeded(name, "a scalar's length in characters", max_chars, line)
            if ev.style == '"' and _SURROGATE.search(ev.value):  # only escapes make one
                raise InputError(
                    f"{name}: a lone surrogate escape (\\ud800-\\udfff) at line "
                    f"{ev.start_mark.line + 1 + line_offset} is not a Unicode character"
                )
        elif cls is MappingStartEvent or cls is SequenceStartEvent:
            nodes += 1
            depth += 1
            if depth > max_depth:
                line = ev.start_mark.line + 1 + line_offset
                raise limits.exceeded(name, "the nesting depth", max_depth, line)
        elif cls is MappingEndEvent or cls is SequenceEndEvent:
            depth -= 1
        elif cls is AliasEvent:
            nodes += 1
        if nodes > max_nodes:
            line = ev.start_mark.line + 1 + line_offset
            raise limits.exceeded(name, "the number of YAML nodes", max_nodes, line)
        yield ev
