"""Imported values as YAML text that reads back as exactly those values.

Block style for new files and new keys (one line per value, so each becomes
one token and one diff line), flow style where a value goes into an existing
flow collection.  Scalars keep their types: strings are quoted whenever YAML
1.2 or 1.1 would read them as something else (`yes`, `0755`, `null`).
Comments carried from a sops file go before the entry they preceded.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from typing import Any

from sealedcfg.errors import InputError
from sealedcfg.yamltext import scalars

Path = tuple[Any, ...]
Comments = dict[Path, list[str]]
TAIL = None  # a comments key ending in TAIL: the comments after a collection's last entry


def scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return scalars.render(repr(value), "float")
    if isinstance(value, str):
        return scalars.render(value, "str")
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    raise InputError(f"a {type(value).__name__} value cannot be imported")


def key_text(key: str) -> str:
    return scalars.render(key, "str")


def _comment_lines(comments: Comments, path: Path, pad: str) -> list[str]:
    return [f"{pad}#{comment_text(text)}" for text in comments.get(path, [])]


def comment_text(text: str) -> str:
    """One comment line's text.  A sops comment is outside its MAC, and a dotenv line
    ends only at LF: a CR, U+0085, U+2028 or a control character in it would end the
    comment early for some YAML reader, or make the profile unreadable."""
    if len(("#" + text).splitlines()) != 1 or any(
        (unicodedata.category(c) == "Cc" and c != "\t") or c in "\ufffe\uffff" for c in text
    ):
        raise InputError("a comment holds a line break or a control character")
    return text


def block_entries(data: dict[str, Any], indent: int, comments: Comments, path: Path) -> list[str]:
    """Lines (no line ends) of a block mapping's entries at `indent`."""
    lines: list[str] = []
    for key, value in data.items():
        lines += entry(key, value, indent, comments, (*path, key))
    lines += _comment_lines(comments, (*path, TAIL), " " * indent)
    return lines


def entry(key: str, value: Any, indent: int, comments: Comments, path: Path) -> list[str]:
    """`key: value` at `indent`, preceded by its comments."""
    pad = " " * indent
    lines = _comment_lines(comments, path, pad)
    head = f"{pad}{key_text(key)}:"
    if isinstance(value, dict) and value:
        return [*lines, head, *block_entries(value, indent + 2, comments, path)]
    if isinstance(value, list) and value:
        return [*lines, head, *_sequence(value, indent + 2, comments, path)]
    return [*lines, f"{head} {flow(value)}"]


def _sequence(items: list[Any], indent: int, comments: Comments, path: Path) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    for i, item in enumerate(items):
        lines += _comment_lines(comments, (*path, i), pad)
        if isinstance(item, dict) and item:
            first = next(iter(item))
            # the first key's comments go above the dash: `- # c` would end the item
            lines += _comment_lines(comments, (*path, i, first), pad)
            inner = {k: v for k, v in comments.items() if k != (*path, i, first)}
            sub = block_entries(item, indent + 2, inner, (*path, i))
            lines += [pad + "- " + sub[0][indent + 2 :], *sub[1:]]
        elif isinstance(item, list) and item:
            lines += [pad + "-", *_sequence(item, indent + 2, comments, (*path, i))]
        else:
            lines.append(f"{pad}- {flow(item)}")
    lines += _comment_lines(comments, (*path, TAIL), pad)
    return lines


def flow(value: Any) -> str:
    """A value on one line: `{a: 1, b: [x, y]}`."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key_text(k)}: {flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(flow(v) for v in value) + "]"
    return scalar(value)


def document(data: dict[str, Any], comments: Comments) -> str:
    """A whole new profile."""
    lines = block_entries(data, 0, comments, ())
    return "\n".join(lines) + "\n" if lines else "{}\n"
