"""Structural text edits on a parsed body: insert a key, delete a node.

Like sealing, these splice text at spans the parser located, so everything
around the edit (comments, layout, other values) keeps its bytes.
"""

from __future__ import annotations

import re

from sealedcfg.base.encoding import KeyPath
from sealedcfg.errors import InputError
from sealedcfg.yamltext.document import Body, Node
from sealedcfg.yamltext.scalars import render

# A list item's line up to its content: the dash, then any tag or anchor.
_DASH = re.compile(r"[ \t]*-(?:[ \t]+[!&][^ \t]*)*[ \t]*")


def _line_start(text: str, pos: int) -> int:
    return text.rfind("\n", 0, pos) + 1


def _line_after(text: str, pos: int) -> int:
    """The start of the line after the one holding `pos`."""
    newline = text.find("\n", pos)
    return len(text) if newline == -1 else newline + 1


def _next_line(text: str, pos: int) -> int:
    """The start of the line after the one holding `pos` (len(text) at the end).

    A position inside a line's leading blanks counts as that line's start: the
    parser ends block scalars part-way into the next line's indentation.
    """
    start = _line_start(text, pos)
    if text[start:pos].strip(" \t") == "":
        return start
    newline = text.find("\n", pos)
    return len(text) if newline == -1 else newline + 1


def subtree_end(body: Body, node: Node) -> int:
    """Where the node and everything below it ends in the text."""
    end = max(node.raw_end, node.end)
    size = len(node.path)
    for other in body.nodes:
        if len(other.path) > size and other.path[:size] == node.path:
            end = max(end, other.raw_end, other.end)
    return end


def _children(body: Body, parent: Node) -> list[Node]:
    size = len(parent.path) + 1
    return [n for n in body.nodes if len(n.path) == size and n.path[:-1] == parent.path]


def _key_text(key: str) -> str:
    return render(key, "str")


def _nested_block(keys: list[str], value: str, indent: int, newline: str) -> str:
    lines = []
    for depth, key in enumerate(keys):
        pad = " " * (indent + 2 * depth)
        tail = f" {value}" if depth == len(keys) - 1 else ""
        lines.append(f"{pad}{_key_text(key)}:{tail}{newline}")
    return "".join(lines)


def _nested_flow(keys: list[str], value: str) -> str:
    out = value
    for key in reversed(keys[1:]):
        out = f"{{{_key_text(key)}: {out}}}"
    return f"{_key_text(keys[0])}: {out}"


def insert(body: Body, parent: Node | None, keys: list[str], value: str, newline: str) -> str:
    """Text with `keys[0]: ...: value` added under `parent` (None: a new root mapping)."""
    text = body.text
    if parent is None:
        prefix = "" if not text or text.endswith("\n") else newline
        return text + prefix + _nested_block(keys, value, 0, newline)
    if parent.kind == "scalar":  # an empty value (`key:`) becomes a mapping
        if not (
            parent.plain and parent.value == "" and parent.tag is None and parent.key_start >= 0
        ):
            raise InputError("cannot add a key under a value")
        col = parent.key_start - _line_start(text, parent.key_start)
        pos = _line_after(text, parent.key_start)
        block = _nested_block(keys, value, col + 2, newline)
        if pos == len(text) and text and not text.endswith("\n"):
            block = newline + block
        return text[:pos] + block + text[pos:]
    if parent.kind != "map":
        raise InputError("cannot add a key to a list; add items with an index path")
    children = _children(body, parent)
    if parent.flow:
        pos = subtree_end(body, children[-1]) if children else parent.start + 1
        sep = ", " if children else ""
        return text[:pos] + sep + _nested_flow(keys, value) + text[pos:]
    first = children[0]
    col = first.key_start - _line_start(text, first.key_start)
    pos = _next_line(text, subtree_end(body, parent))
    block = _nested_block(keys, value, col, newline)
    if pos == len(text) and not text.endswith("\n"):
        block = newline + block
    return text[:pos] + block + text[pos:]


def delete(body: Body, node: Node, parent: Node) -> str:
    """Text with `node` (and its key, or its list dash) removed."""
    text = body.text
    start = node.key_start if parent.kind == "map" else node.start
    end = subtree_end(body, node)
    if parent.flow:
        before = text[:start].rstrip(" \t\r\n")
        if before.endswith(","):
            start = len(before) - 1
        else:
            after = re.match(r"[ \t\r\n]*,[ \t\r\n]*", text[end:])
            if after:
                end += after.end()
        return text[:start] + text[end:]
    line = _line_start(text, start)
    if parent.kind == "seq" and not _DASH.fullmatch(text[line:start]):
        raise InputError("cannot remove this list item: it does not start its own line")
    if parent.kind == "map" and text[line:start].strip(" \t-") != "":
        raise InputError("cannot remove this key: it does not start its own line")
    if parent.kind == "map" and "-" in text[line:start]:
        # first key of a mapping inside a list item (`- k:`, `- - k:`): keep the
        # dashes for its siblings
        siblings = _children(body, parent)
        if len(siblings) == 1:  # the item stays, as an empty mapping
            rest = _next_line(text, end)
            ending = text[_line_start(text, rest - 1) : rest] if rest else ""
            newline = "\r\n" if ending.endswith("\r\n") else "\n" if ending.endswith("\n") else ""
            return text[:start] + "{}" + newline + text[rest:]
        return text[:start] + text[siblings[1].key_start :]
    return text[:line] + text[_next_line(text, end) :]


def find_parent(body: Body, path: KeyPath) -> Node | None:
    return next((n for n in body.nodes if n.path == path[:-1]), None)
