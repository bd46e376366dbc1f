"""Imported values merged into the plaintext of an existing sealed profile.

Mappings merge key by key; anything else (a value, a list) at a key the
profile already has is a change: refused unless the caller overwrites.  The
result is the profile's opened text with text spliced in at spans the parser
located (like `set`): new keys after the last entry of their mapping, changed
entries rewritten in place; every other byte (comments, layout, other values)
stays, so the re-seal keeps every other token.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from sealedcfg.errors import InputError
from sealedcfg.ops.importing import render
from sealedcfg.yamltext import document
from sealedcfg.yamltext.document import Body, Node
from sealedcfg.yamltext.textops import subtree_end

NodePath = tuple[Any, ...]


@dataclass
class Plan:
    added: list[NodePath] = field(default_factory=list)
    changed: list[NodePath] = field(default_factory=list)
    unchanged: int = 0
    # (start, end, text, order): order breaks ties at one position (deeper first)
    edits: list[tuple[int, int, str, int]] = field(default_factory=list)


def same(a: Any, b: Any) -> bool:
    """Equal value *and* type (1, 1.0 and True differ; a NaN equals a NaN)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return bool(a == b)


def _line_start(text: str, pos: int) -> int:
    return text.rfind("\n", 0, pos) + 1


def _next_line(text: str, pos: int) -> int:
    """The start of the line after `pos` (a position in leading blanks is its line's start)."""
    start = _line_start(text, pos)
    if text[start:pos].strip(" \t") == "":
        return start
    newline = text.find("\n", pos)
    return len(text) if newline == -1 else newline + 1


class Merger:
    def __init__(
        self,
        body: Body,
        values: dict[bytes, Any],
        comments: render.Comments,
        newline: str,
    ) -> None:
        self.body = body
        self.text = body.text
        self.values = values  # epath -> typed value of the target (text keys)
        self.comments = comments
        self.newline = newline
        self.index = {n.path: n for n in body.nodes}
        self.children: dict[NodePath, list[Node]] = {}
        for node in body.nodes:
            if len(node.path) > 1:
                self.children.setdefault(node.path[:-1], []).append(node)
        self.plan = Plan()

    def run(self, data: dict[str, Any]) -> Plan:
        if self.body.documents > 1:
            raise InputError("the target holds several documents; import into a one-document file")
        root = self.index.get((0,))
        if root is None or (root.kind == "scalar" and root.plain and root.value == ""):
            lines = render.block_entries(data, 0, self.comments, ())
            self._insert_at(len(self.text), lines, 0)
            self.plan.added += [(0, k) for k in data]
            return self.plan
        if root.kind != "map":
            raise InputError("the target's top level is not a mapping")
        self._merge(root, data)
        return self.plan

    def _merge(self, mapping: Node, data: dict[str, Any]) -> None:
        new: dict[str, Any] = {}
        for key, value in data.items():
            path = (*mapping.path, key)
            node = self.index.get(path)
            if node is None:
                new[key] = value
                self.plan.added.append(path)
            elif node.kind == "map" and isinstance(value, dict) and value:
                self._merge(node, value)
            elif same(self.values.get(node.epath, _MISSING), value):
                self.plan.unchanged += 1
            else:
                self.plan.changed.append(path)
                self._replace(mapping, node, key, value)
        if new:
            self._add(mapping, new)

    def _src_path(self, path: NodePath) -> NodePath:
        return path[1:]  # the comments' paths have no document index

    def _add(self, mapping: Node, new: dict[str, Any]) -> None:
        if mapping.flow:
            children = self.children.get(mapping.path, [])
            parts = [f"{render.key_text(k)}: {render.flow(v)}" for k, v in new.items()]
            text = (", " if children else "") + ", ".join(parts)
            self.plan.edits.append((mapping.close, mapping.close, text, -len(mapping.path)))
            return
        first = self.children[mapping.path][0]
        col = first.key_start - _line_start(self.text, first.key_start)
        lines: list[str] = []
        src = self._src_path(mapping.path)
        for key, value in new.items():
            lines += render.entry(key, value, col, self.comments, (*src, key))
        pos = _next_line(self.text, subtree_end(self.body, mapping))
        self._insert_at(pos, lines, -len(mapping.path))

    def _insert_at(self, pos: int, lines: list[str], order: int) -> None:
        nl = self.newline
        block = "".join(line + nl for line in lines)
        if pos == len(self.text) and self.text and not self.text.endswith("\n"):
            block = nl + block
        self.plan.edits.append((pos, pos, block, order))

    def _replace(self, mapping: Node, node: Node, key: str, value: Any) -> None:
        self._no_alias_into(node)
        text = self.text
        if mapping.flow:
            end = node.close + 1 if node.flow else node.end
            self.plan.edits.append((node.start, end, render.flow(value), 1))
            return
        simple = (
            node.kind == "scalar"
            and not isinstance(value, dict | list)
            and node.tag is None
            and node.anchor is None
            and node.style not in ("|", ">")
            and "\n" not in text[node.start : node.end]
        )
        if simple:
            source = render.scalar(value)
            if node.start == node.end and not text[node.start - 1 : node.start].isspace():
                source = " " + source  # an empty value sits right after `key:`
            self.plan.edits.append((node.start, node.end, source, 1))
            return
        line = _line_start(text, node.key_start)
        if text[line : node.key_start].strip(" \t-") != "":
            raise InputError(f"cannot replace the value at line {node.line}: its key shares a line")
        col = node.key_start - line
        lines = render.entry(key, value, col, self.comments, self._src_path(node.path))
        while lines and lines[0].lstrip().startswith("#"):
            lines.pop(0)  # comments stay where the key was (a `- ` may precede it)
        block = lines[0][col:] + self.newline + "".join(ln + self.newline for ln in lines[1:])
        end = _next_line(text, subtree_end(self.body, node))
        if end == len(text) and not text.endswith("\n"):
            block = block[: -len(self.newline)]
        self.plan.edits.append((node.key_start, end, block, 1))

    def _no_alias_into(self, node: Node) -> None:
        size = len(node.path)
        inside = {n.epath for n in self.body.nodes if n.path[:size] == node.path and n.anchor}
        for other in self.body.nodes:
            if other.kind == "alias" and other.target in inside and other.path[:size] != node.path:
                shown = document.format_path(node.path, self.body.documents)
                raise InputError(
                    f"cannot replace {shown!r}: the alias at line {other.line} refers to an "
                    "anchor in it"
                )


_MISSING = object()


def apply(text: str, edits: list[tuple[int, int, str, int]]) -> str:
    """Splice non-overlapping edits; at one position, lower `order` first."""
    out = []
    pos = 0
    for start, end, new, _ in sorted(edits, key=lambda e: (e[0], e[3])):
        if start < pos:
            raise InputError("overlapping edits (a bug)")
        out.append(text[pos:start])
        out.append(new)
        pos = end
    out.append(text[pos:])
    return "".join(out)
