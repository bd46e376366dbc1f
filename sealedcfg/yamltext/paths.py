"""Dotted paths: `database.password`, `servers.0.token`, `a\\.b` for a key with a dot.

In a multi-document stream a path starts with the document index: `1:spec.password`.
"""

from __future__ import annotations

import difflib
import itertools
import re

from sealedcfg.base.encoding import KeyPath
from sealedcfg.errors import InputError
from sealedcfg.yamltext.document import Body, Node, format_path


def split(dotted: str) -> tuple[int | None, list[str]]:
    """('1:a\\.b.c') -> (1, ['a.b', 'c']).

    `\\` escapes `.`, `\\`, `"` and `:`; a segment written `""` is the empty key.
    """
    doc = None
    match = re.match(r"(\d+):", dotted)
    if match:
        doc, dotted = int(match.group(1)), dotted[match.end() :]
    parts: list[str] = []
    current: list[str] = []
    quoted_empty = False
    i = 0
    while i < len(dotted):
        ch = dotted[i]
        if ch == "\\" and i + 1 < len(dotted) and dotted[i + 1] in '.\\":':
            current.append(dotted[i + 1])
            i += 2
            continue
        if ch == ".":
            parts.append("" if quoted_empty else _segment(current, dotted))
            current, quoted_empty = [], False
        elif (
            ch == '"'
            and not current
            and dotted.startswith('""', i)
            and (i + 2 == len(dotted) or dotted[i + 2] == ".")
        ):
            quoted_empty = True
            i += 1
        else:
            current.append(ch)
        i += 1
    parts.append("" if quoted_empty else _segment(current, dotted))
    return doc, parts


def _segment(chars: list[str], dotted: str) -> str:
    if not chars:
        raise InputError(
            f"bad path {dotted!r}: empty segment", hints=('write the empty key as ""',)
        )
    return "".join(chars)


def walk(body: Body, dotted: str) -> tuple[Node | None, KeyPath, list[str]]:
    """Follow `dotted` as far as it exists: (node reached, its path, segments left).

    The one path walker: `get`, `set`, `unset` and every command that takes a
    path address nodes through it, matching keys as written (`true`, `0x10`,
    `""`) whatever their type.  A list takes only an index in range.
    """
    doc, parts = split(dotted)
    if doc is None:
        if body.documents > 1:
            raise InputError(
                f"bad path {dotted!r}: this file holds {body.documents} "
                "documents; prefix the path with its index, e.g. 0:"
            )
        doc = 0
    index = {n.path: n for n in body.nodes}
    path: KeyPath = (doc,)
    for i, seg in enumerate(parts):
        parent = index.get(path)
        if parent is not None and parent.kind == "seq":
            where = format_path(path, body.documents)
            if not seg.isdigit():
                raise InputError(f"bad path {dotted!r}: {where!r} is a list; use an index")
            if (*path, int(seg)) not in index:
                size = sum(1 for p in index if len(p) == len(path) + 1 and p[:-1] == path)
                raise InputError(
                    f"bad path {dotted!r}: list index {seg} is out of range "
                    f"({where!r} has {size} items)"
                )
            path = (*path, int(seg))
        elif (*path, seg) in index:
            path = (*path, seg)
        else:
            return parent, path, parts[i:]
    return index.get(path), path, []


def not_a_mapping(body: Body, dotted: str, path: KeyPath) -> InputError:
    return InputError(
        f"bad path {dotted!r}: {format_path(path, body.documents)!r} is a value, not a mapping"
    )


def resolve(body: Body, dotted: str) -> Node:
    """The node at `dotted`; InputError naming the nearest existing paths if absent."""
    node, path, rest = walk(body, dotted)
    if rest and node is not None and node.kind in ("scalar", "alias"):
        raise not_a_mapping(body, dotted, path)
    if rest or node is None:
        near = difflib.get_close_matches(dotted, _candidates(body, path), n=3, cutoff=0.5)
        hints = (f"did you mean: {', '.join(near)}",) if near else ()
        raise InputError(f"no such path {dotted!r}", hints=hints)
    return node


#: Paths `resolve` compares with a missing one for its "did you mean" hint:
#: difflib costs microseconds per path, and a hostile file holds 250,000.
MAX_SUGGESTIONS = 5_000


def _candidates(body: Body, reached: KeyPath) -> list[str]:
    """Paths to suggest: those under the deepest node that exists first, then the rest."""
    size = len(reached)
    under = [n.path for n in body.nodes if len(n.path) > 1 and n.path[:size] == reached]
    chosen = under[:MAX_SUGGESTIONS]
    if len(chosen) < MAX_SUGGESTIONS:
        others = (n.path for n in body.nodes if len(n.path) > 1 and n.path[:size] != reached)
        chosen += itertools.islice(others, MAX_SUGGESTIONS - len(chosen))
    return [format_path(p, body.documents) for p in chosen]
