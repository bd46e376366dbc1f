"""YAML structure as located text spans (FORMAT.md §6).  Knows no crypto.

A profile is parsed at the event level only: each node gets its full path
(document index first, then keys and list indices) and the exact character
span of its content.  Rewriting a value is splicing text at that span, so every
byte outside it (comments, quoting, layout, anchors, tags) is kept as written.
"""

from __future__ import annotations

import gc
import re
import struct
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ruamel.yaml.error import YAMLError
from ruamel.yaml.events import (
    AliasEvent,
    DocumentEndEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
)

from sealedcfg.base import limits
from sealedcfg.base.encoding import KeyPath, Segment, encode_path_from
from sealedcfg.errors import InputError
from sealedcfg.yamltext import yamlparse

HEADER_KEY = "sealedcfg"
_U32 = struct.Struct(">I").pack
_CONFLICT = re.compile(r"^(<{7}|={7}|>{7}|\|{7})(?: |\r?$)", re.MULTILINE)
_MARKERS = ("<" * 7, "=" * 7, ">" * 7, "|" * 7)
_PROPERTY_END = frozenset(" \t\r\n,[]{}")


@dataclass(slots=True)
class Node:
    path: KeyPath
    kind: str  # "scalar" | "alias" | "map" | "seq"
    start: int  # scalar: content span, after any anchor/tag; others: node start
    end: int
    line: int  # 1-based
    tag: str | None = None
    anchor: str | None = None
    style: str | None = None  # None for plain; ' " | > otherwise
    value: str = ""  # scalar value as parsed; alias: the anchor it names
    version: tuple[int, int] | None = None  # %YAML directive of its document
    key_start: int = -1  # where its mapping key starts; -1 in a list or at the root
    raw_end: int = 0  # where the parser says the node ends (block scalars: after breaks)
    flow: bool = False  # a flow collection ({} or [])
    close: int = -1  # flow collections: index of the closing bracket
    eseg: bytes = b""  # the path's encoded segments, built incrementally while parsing
    # Its mapping key as written: plain or not, tag, anchor.  Part of the meaning:
    # `<<` merges where `"<<"` does not, `8080` is an int key where `"8080"` is not.
    key_plain: bool = True
    key_tag: str | None = None
    key_anchor: str | None = None
    target: bytes = b""  # alias: the encoded path of the node its anchor names

    @property
    def epath(self) -> bytes:
        """`encoding.encode_path(self.path)`, without re-encoding every segment."""
        return encode_path_from(len(self.path), self.eseg)

    @property
    def plain(self) -> bool:
        return not self.style


@dataclass(slots=True)
class Body:
    """A parsed body: the file without BOM and sealedcfg header."""

    text: str
    nodes: list[Node] = field(default_factory=list)
    documents: int = 0
    versions: list[tuple[int, int] | None] = field(default_factory=list)  # %YAML, per document
    # Whether a `sealedcfg:` key appended at column 0 continues the last document.
    open_block_mapping: bool = False

    def scalars(self) -> Iterable[Node]:
        return (n for n in self.nodes if n.kind == "scalar")


@dataclass(slots=True)
class _Frame:
    path: KeyPath
    is_map: bool
    node: Node
    eseg: bytes = b""
    index: int = 0
    key: str | None = None
    key_start: int = -1
    keys: set[str] = field(default_factory=set)
    key_plain: bool = True
    key_tag: str | None = None
    key_anchor: str | None = None


def check_conflict_markers(text: str, name: str, hints: tuple[str, ...] = ()) -> None:
    """Refuse git's conflict markers, naming the first one's line in TEXT (1-based)."""
    # Substring tests first: a multi-line regex over a megabyte costs ~10 ms.
    if not any(marker in text for marker in _MARKERS):
        return
    match = _CONFLICT.search(text)
    if match:
        line = text.count("\n", 0, match.start()) + 1
        raise InputError(f"{name}: unresolved git conflict markers at line {line}", hints=hints)


def parse(text: str, name: str) -> Body:
    """Parse a body; raise InputError for YAML that a profile cannot be."""
    body = Body(text)
    body.nodes = walk(text, name, list, body)
    return body


T = TypeVar("T")


def walk(
    text: str,
    name: str,
    consume: Callable[[Iterator[Node]], T],
    body: Body | None = None,
    *,
    utf8: bytes | None = None,
) -> T:
    """`consume(nodes)` over the nodes of `text` in document order, built one at
    a time, so a reader that needs no node twice holds none of them.

    `body` (when given) gets the document-level facts: count, versions, open
    root mapping.  libyaml follows YAML 1.1 where ruamel's parser follows 1.2
    (a `:` in a flow plain scalar): when libyaml refuses the text, maybe
    part-way, `consume` is called again from the start with ruamel's parser,
    the judge of what is valid YAML; so it must start from fresh state.
    `utf8`, when given, is exactly `text.encode("utf-8")`.
    """
    meta = body if body is not None else Body(text)
    enabled = gc.isenabled()
    gc.disable()  # tens of thousands of acyclic objects: no cycles to collect
    try:
        # The parsers see %YAML 1.3 as 1.2 (same length: marks hold), and stop
        # at the structure limits (limits.py) as they go.
        readable = yamlparse.yaml_versions(text, name)
        # libyaml reads UTF-8: given `text` already encoded (`utf8`), it is not
        # encoded again (a copy of a large file).
        source = utf8 if utf8 is not None and readable is text else readable
        c_next = yamlparse.c_next_event(source)
        if c_next is not None:
            check_conflict_markers(text, name)
            try:
                return consume(_nodes(text, name, meta, c_next))
            except YAMLError:  # only libyaml raises it here: ruamel's parser judges
                pass
        pure = iter(yamlparse.pure_events(readable, name))
        check_conflict_markers(text, name)
        return consume(_nodes(text, name, meta, lambda: next(pure, None)))
    finally:
        if enabled:
            gc.enable()


def _nodes(text: str, name: str, body: Body, next_event: Callable[[], Any]) -> Iterator[Node]:
    """The nodes of one parse, checked against the structure limits as they come.

    One loop over the events with the limits inline; each node is built by a
    helper of its kind.  This runs once per node of every file every command
    reads (hostile ones included).
    """
    stack: list[_Frame] = []
    cur = _Doc()
    keys_enc: dict[str, bytes] = {}  # keys repeat: encode each once
    path_bytes = 0  # memory held by paths: bounded (limits.MAX_PATH_BYTES)
    depth = count = 0
    max_depth, max_nodes, max_path = limits.MAX_DEPTH, limits.MAX_NODES, limits.MAX_PATH_BYTES
    max_chars = limits.MAX_SCALAR_CHARS
    body.versions = []
    while (ev := next_event()) is not None:
        cls = type(ev)
        if cls is ScalarEvent:
            count += 1
            if len(ev.value) > max_chars:
                line = ev.start_mark.line + 1
                raise limits.exceeded(name, "a scalar's length in characters", max_chars, line)
            if ev.style == '"' and _SURROGATE.search(ev.value):  # only escapes make one
                raise _surrogate(name, ev)
        elif cls is MappingStartEvent or cls is SequenceStartEvent:
            count += 1
            depth += 1
            if depth > max_depth:
                raise limits.exceeded(name, "the nesting depth", max_depth, ev.start_mark.line + 1)
        elif cls is MappingEndEvent or cls is SequenceEndEvent:
            depth -= 1
            frame = stack.pop()
            frame.node.close = ev.start_mark.index
            frame.node.raw_end = ev.end_mark.index
            continue
        elif cls is AliasEvent:
            count += 1
        else:  # document and stream events
            _document_event(ev, cls, cur, body)
            continue
        if count > max_nodes:
            raise limits.exceeded(
                name, "the number of YAML nodes", max_nodes, ev.start_mark.line + 1
            )
        if not stack:
            place: _Place = ((cur.index,), _doc_segment(cur.index), -1, True, None, None)
        elif stack[-1].is_map and stack[-1].key is None:  # this event is a key
            _take_key(stack[-1], ev, cls, name, len(stack) == 1)
            continue
        else:
            place = _child_place(stack[-1], keys_enc)
        path_bytes += len(place[1]) + 8 * len(place[0])
        if path_bytes > max_path:
            raise _paths_too_long(name, ev)
        if cls is ScalarEvent:
            node = _scalar_node(text, name, ev, place, cur, at_root=not stack)
            if node is None:  # the empty root of an empty document
                continue
        elif cls is AliasEvent:
            node = _alias_node(ev, place, cur.anchors, name)
        else:
            node = _collection_node(ev, cls, place, cur, name, at_root=not stack)
            stack.append(_Frame(node.path, node.kind == "map", node, node.eseg))
        yield node
    body.documents = cur.index + 1


@dataclass(slots=True)
class _Doc:
    """The document being walked."""

    index: int = -1
    version: tuple[int, int] | None = None  # its %YAML directive
    anchors: dict[str, Node] = field(default_factory=dict)  # the latest node of each anchor
    root_block_map: bool = False  # its root is a block mapping at column 0


def _document_event(ev: Any, cls: type, cur: _Doc, body: Body) -> None:
    if cls is DocumentStartEvent:
        cur.index += 1
        cur.anchors = {}  # anchors do not cross documents
        cur.version = (ev.version[0], ev.version[1]) if ev.version else None
        body.versions.append(cur.version)
        cur.root_block_map = False
    elif cls is DocumentEndEvent:
        body.open_block_mapping = cur.root_block_map and not ev.explicit


# Where a node stands: (path, encoded segments, and its mapping key as written:
# key_start, key_plain, key_tag, key_anchor).  A plain tuple: one per node.
_Place = tuple[KeyPath, bytes, int, bool, str | None, str | None]


def _child_place(top: _Frame, keys_enc: dict[str, bytes]) -> _Place:
    """The place of the next node inside `top` (its key's value, or the next item)."""
    if top.is_map:
        key = top.key
        assert key is not None
        top.key = None
        enc = keys_enc.get(key)
        if enc is None:
            raw = b"k" + key.encode("utf-8", "surrogatepass")
            enc = keys_enc[key] = _U32(len(raw)) + raw
        return (
            (*top.path, key),
            top.eseg + enc,
            top.key_start,
            top.key_plain,
            top.key_tag,
            top.key_anchor,
        )
    index = top.index
    top.index = index + 1
    raw = b"i%d" % index
    return ((*top.path, index), top.eseg + _U32(len(raw)) + raw, -1, True, None, None)


def _surrogate(name: str, ev: Any) -> InputError:
    return InputError(
        f"{name}: a lone surrogate escape (\\ud800-\\udfff) at line "
        f"{ev.start_mark.line + 1} is not a Unicode character"
    )


class NotAMapping(InputError):
    """A document's top level is not a mapping; `line` is where it starts (a rules
    file says so in its own words: engine/rules.py)."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


def _not_a_mapping(name: str, doc: int, ev: Any) -> InputError:
    line = ev.start_mark.line + 1
    return NotAMapping(
        f"{name}: the top level of a profile must be a mapping (document {doc + 1}, line {line})",
        line,
    )


def _tag(ev: Any) -> str | None:
    """`ev.tag` (ruamel's property converts its `ctag`; the C parser's is a str)."""
    ctag = ev.ctag
    return ctag if ctag is None or type(ctag) is str else str(ctag)


def _scalar_node(
    text: str,
    name: str,
    ev: Any,
    place: _Place,
    cur: _Doc,
    *,
    at_root: bool,
) -> Node | None:
    """A scalar's node, spanning its content (after any anchor and tag); None for
    the empty root of an empty document."""
    tag = ev.ctag  # `ev.tag` without its property call: a str from the C parser
    if tag is not None and type(tag) is not str:
        tag = str(tag)
    if at_root:
        if ev.value == "" and not ev.style and tag is None and ev.anchor is None:
            return None
        raise _not_a_mapping(name, cur.index, ev)
    end = ev.end_mark.index
    style = ev.style or None
    if ev.anchor is None and tag is None and style not in ("|", ">"):
        start, span_end = ev.start_mark.index, end
    else:
        try:
            start, span_end = _content_span(text, ev)
        except _TagAfterAnchor:
            raise InputError(
                f"{name}: line {ev.start_mark.line + 1}: write the anchor before the tag "
                "(&a !!int 1): a core tag is sealed with its value, the anchor stays outside"
            ) from None
    line, anchor = ev.start_mark.line + 1, ev.anchor
    node = _node(place, "scalar", start, span_end, line, tag, anchor, style, ev.value, cur.version)
    node.raw_end = end
    if ev.anchor is not None:
        cur.anchors[ev.anchor] = node
    return node


def _alias_node(ev: Any, place: _Place, anchors: dict[str, Node], name: str) -> Node:
    end = ev.end_mark.index
    line = ev.start_mark.line + 1
    node = _node(place, "alias", ev.start_mark.index, end, line, None, None, None, ev.anchor, None)
    node.raw_end = end
    node.target = _alias_target(anchors, node, name)
    return node


def _collection_node(
    ev: Any,
    cls: type,
    place: _Place,
    cur: _Doc,
    name: str,
    *,
    at_root: bool,
) -> Node:
    is_map = cls is MappingStartEvent
    if at_root:
        if not is_map:
            raise _not_a_mapping(name, cur.index, ev)
        cur.root_block_map = not ev.flow_style and ev.start_mark.column == 0
    index = ev.start_mark.index
    kind = "map" if is_map else "seq"
    line, tag, anchor = ev.start_mark.line + 1, _tag(ev), ev.anchor
    node = _node(place, kind, index, index, line, tag, anchor, None, "", cur.version)
    node.flow = bool(ev.flow_style)
    if ev.anchor is not None:
        cur.anchors[ev.anchor] = node
    return node


def _node(
    place: _Place,
    kind: str,
    start: int,
    end: int,
    line: int,
    tag: str | None,
    anchor: str | None,
    style: str | None,
    value: str,
    version: tuple[int, int] | None,
) -> Node:
    """A node at `place` (raw_end and flow are set by the caller where they apply)."""
    return Node(
        place[0],
        kind,
        start,
        end,
        line,
        tag,
        anchor,
        style,
        value,
        version,
        place[2],
        0,
        False,
        -1,
        place[1],
        place[3],
        place[4],
        place[5],
    )


def _doc_segment(doc: int) -> bytes:
    raw = b"i%d" % doc
    return _U32(len(raw)) + raw


def _take_key(top: _Frame, ev: Any, cls: type, name: str, at_root: bool) -> None:
    """Record a mapping key on its frame; the next node is its value."""
    if cls is not ScalarEvent:
        what = "an alias" if cls is AliasEvent else "a mapping or list"
        line = ev.start_mark.line + 1
        raise InputError(f"{name}: a mapping key that is {what} is not supported (line {line})")
    if ev.anchor is not None:
        # An alias to a key's anchor means the key's text to ruamel and is
        # refused by PyYAML: no single meaning to seal.
        line = ev.start_mark.line + 1
        raise InputError(f"{name}: an anchor on a mapping key is not supported (line {line})")
    value = ev.value
    if value in top.keys:
        raise InputError(f"{name}: duplicate key {value!r} at line {ev.start_mark.line + 1}")
    if at_root and value == HEADER_KEY:
        line = ev.start_mark.line + 1
        raise InputError(f"{name}: the top-level key {HEADER_KEY!r} is reserved (line {line})")
    top.keys.add(value)
    top.key = value
    top.key_start = ev.start_mark.index
    top.key_plain = not ev.style
    tag = ev.ctag
    top.key_tag = tag if tag is None or type(tag) is str else str(tag)
    top.key_anchor = ev.anchor


def _paths_too_long(name: str, ev: Any) -> InputError:
    what = "the memory of node paths in bytes (depth x key length x nodes)"
    return limits.exceeded(name, what, limits.MAX_PATH_BYTES, ev.start_mark.line + 1)


_SURROGATE = re.compile("[\ud800-\udfff]")


def _alias_target(anchors: dict[str, Node], alias: Node, name: str) -> bytes:
    """The encoded path of the node an alias refers to, as a loader resolves it.

    An anchor may be defined again further down; an alias refers to the latest
    definition before it, so the target depends on order and is recorded by path.
    """
    target = anchors.get(alias.value)
    if target is None:
        raise InputError(f"{name}: alias at line {alias.line} refers to no anchor before it")
    if alias.path[: len(target.path)] == target.path:
        raise InputError(
            f"{name}: alias at line {alias.line} is inside the node it refers to "
            "(recursive structures are not supported)"
        )
    return target.epath


# Core scalar tags travel inside the token with the value (`!!binary aGk=` is
# sealed whole), so a sealed file is a plain mapping of strings to any loader.
CORE_SCALAR_TAGS = frozenset(
    f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null", "timestamp", "binary")
)


class _TagAfterAnchor(Exception):
    pass


def _content_span(text: str, ev: Any) -> tuple[int, int]:
    """The span of a scalar's content: after anchor (and tag, unless a core one),
    block scalars trimmed.

    A block scalar's event ends after its trailing line breaks (and part of the
    next line's indentation).  With clip or strip chomping those breaks are
    layout and stay outside the span; with keep chomping (`|+`) they are part
    of the value, so all but the last one go inside, where they are sealed
    and authenticated with it.
    """
    start, end = ev.start_mark.index, ev.end_mark.index
    span_start = start
    if ev.anchor is not None or ev.tag is not None:
        start, tag_at, anchor_last = _skip_properties(text, start, end)
        span_start = start
        if ev.tag in CORE_SCALAR_TAGS and tag_at >= 0:
            if anchor_last:
                raise _TagAfterAnchor
            span_start = tag_at
    if ev.style in ("|", ">"):
        last = len(text[start:end].rstrip(" \t\r\n")) + start
        if _KEEP_HEADER.match(text, start):
            last = max(last, text.rfind("\n", last, end))
            if last > start and text[last - 1] == "\r":
                last -= 1
            return span_start, max(start, last)
        newline = min(
            (i for i in (text.find("\n", last, end), text.find("\r", last, end)) if i != -1),
            default=end,
        )
        end = newline
    return span_start, max(start, end)


_KEEP_HEADER = re.compile(r"(?:(?:!<[^>]*>|![^ \t\r\n]*)[ \t]+)?[|>][0-9]?\+")
_BLANK_LINE_AFTER = re.compile(r"\r?\n[ \t]*(?:\r?\n|[ \t]+\Z)")


def is_keep_block(source: str) -> bool:
    """Is this scalar source a keep-chomped block scalar (`|+`, `>2+`, ...)?"""
    return _KEEP_HEADER.match(source) is not None


def blank_line_after(text: str, end: int) -> bool:
    """Does a blank line follow the line that ends at `end`?

    After a sealed keep-chomped scalar that would be layout the opened text
    would read as part of the value, so such a file is refused as modified.
    """
    return _BLANK_LINE_AFTER.match(text, end) is not None


def _skip_properties(text: str, i: int, end: int) -> tuple[int, int, bool]:
    """Skip `&anchor`, `!tag` and the blanks/comments between them and the content.

    Returns (content start, tag start or -1, whether an anchor follows the tag).
    """
    n = len(text)
    tag_at, anchor_last = -1, False
    while i < end:
        while i < n and text[i] in " \t\r\n":
            i += 1
        if i < n and text[i] == "#":
            while i < n and text[i] not in "\r\n":
                i += 1
            continue
        if i < n and text[i] == "&":
            anchor_last = tag_at >= 0
            while i < n and text[i] not in _PROPERTY_END:
                i += 1
        elif i < n and text[i] == "!":
            tag_at = i
            if text.startswith("!<", i):
                i = text.index(">", i) + 1
            else:
                while i < n and text[i] not in _PROPERTY_END:
                    i += 1
        else:
            break
    return min(i, end), tag_at, anchor_last


def splice(text: str, edits: list[tuple[int, int, str]]) -> str:
    """Replace non-overlapping spans (start, end, new) in `text`."""
    out: list[str] = []
    pos = 0
    for start, end, new in sorted(edits, key=lambda e: e[0]):
        if start < pos:
            raise ValueError("overlapping edits")
        out.append(text[pos:start])
        out.append(new)
        pos = end
    out.append(text[pos:])
    return "".join(out)


def format_path(path: KeyPath, documents: int = 1) -> str:
    """Dotted display form, read back by `paths.split`.

    `.` and `\\` inside keys are backslash-escaped, as is a leading `"`; the
    empty key is `""`; multi-document streams prefix the document index
    (`1:spec.password`), and a first key that would read as one (`8080:x`)
    has its `:` escaped.
    """
    dotted = ".".join([_display(seg) for seg in path[1:]])
    if documents > 1:
        return f"{path[0]}:{dotted}"
    if dotted[:1].isdigit():  # maybe `8080:x`, which would read as a document prefix
        return _DOC_PREFIX.sub(r"\1\\:", dotted, count=1)
    return dotted


_DOC_PREFIX = re.compile(r"^(\d+):")


def _display(seg: Segment) -> str:
    if type(seg) is int:
        return str(seg)
    assert isinstance(seg, str)
    if seg == "":
        return '""'
    if "." not in seg and "\\" not in seg and seg[0] != '"':
        return seg
    shown = seg.replace("\\", "\\\\").replace(".", "\\.")
    return "\\" + shown if shown.startswith('"') else shown
