"""The one data model: what a YAML loader gets from a parsed body (FORMAT.md §6.9).

Every reader (decrypt's check, `load()`, `get`, `export`, `exec`) builds values
from the same `document.parse` of the opened text, so a file that one command
accepts, every command reads the same way.  Resolution follows the document's
`%YAML` version (1.2 unless declared) with ruamel's tables; construction
mirrors PyYAML's and ruamel's safe constructors.

`meaning_records` is what the file MAC authenticates: every fact of this
model (each node's path, kind, tag, anchor, key style, scalar style class and
value, alias target, mapping key order, each document's version), and nothing
of the layout (comments, blank lines, indentation, flow or block style, quote
characters).
"""

from __future__ import annotations

import base64
import binascii
import datetime
import math
import re
import struct
from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache
from typing import Any, Protocol

from sealedcfg.base.encoding import KeyPath, lp, lp_all
from sealedcfg.errors import InputError
from sealedcfg.yamltext.document import Body, Node

_U32 = struct.Struct(">I").pack

CORE = "tag:yaml.org,2002:"
SCALAR_TYPES = ("str", "int", "float", "bool", "null", "timestamp", "binary")
_MERGE = CORE + "merge"


# ---------------------------------------------------------------- resolution


@lru_cache(maxsize=4)
def _table(version: tuple[int, int]) -> Callable[[str], str]:
    """Implicit tag resolution for plain scalars, from ruamel's table for `version`.

    The table is read once; calling ruamel's `resolve` per value costs ~14 µs,
    most of it in version look-ups and Tag objects.
    """
    from ruamel.yaml.resolver import VersionedResolver

    table = VersionedResolver(version=version).versioned_resolver
    fallback = list(table.get(None, []))
    by_first = {ch: [*rules, *fallback] for ch, rules in table.items() if ch is not None}
    default = CORE + "str"

    def resolve(value: str) -> str:
        for tag, regexp in by_first.get(value[:1], fallback):
            if regexp.match(value):
                tag = str(tag)
                # Like Go's yaml.v3: a date that does not exist (2024-02-30) is
                # a string, not a loader error.
                if tag == CORE + "timestamp" and _timestamp(value) is None:
                    return default
                return tag
        return default

    return resolve


def version_of(node: Node) -> tuple[int, int]:
    return (1, 1) if node.version == (1, 1) else (1, 2)


def resolved_tag(value: str, plain: bool, tag: str | None, version: tuple[int, int]) -> str:
    """The tag a loader gives a scalar: explicit, else implicit for plain ones."""
    if tag is not None and tag != "!":
        return tag
    if not plain or tag == "!":
        return CORE + "str"
    return _table(version)(value)


def value_type(node: Node) -> str:
    """The token type of a scalar node: its core type, `str` for anything else."""
    tag = resolved_tag(node.value, node.plain, node.tag, version_of(node))
    short = tag[len(CORE) :] if tag.startswith(CORE) else ""
    return short if short in SCALAR_TYPES else "str"


# ---------------------------------------------------------------- scalars


def _int(value: str, version: tuple[int, int]) -> int:
    number = _int_of(value, version)
    if number.bit_length() > _MAX_BITS:  # could not be printed back (export, JSON)
        raise OverflowError
    return number


def _int_of(value: str, version: tuple[int, int]) -> int:
    text = value.replace("_", "")
    sign = -1 if text[:1] == "-" else 1
    text = text.lstrip("+-")
    if text in ("", "0"):
        return 0
    if len(text) > _MAX_DIGITS:  # int() would refuse a decimal one; keep the work linear
        raise OverflowError
    if text.startswith("0b"):
        return sign * int(text[2:], 2)
    if text.startswith("0x"):
        return sign * int(text[2:], 16)
    if text.startswith("0o"):
        return sign * int(text[2:], 8)
    if version == (1, 1) and ":" in text:
        return sign * int(_sexagesimal(text, int))
    if version == (1, 1) and text[0] == "0":
        return sign * int(text, 8)
    return sign * int(text)


# Python's own bound on decimal integer text (sys.get_int_max_str_digits), so a
# value that loads can also be printed, and construction stays linear.
_MAX_DIGITS = 4300
_MAX_BITS = 14_000  # about 4,200 decimal digits


def _sexagesimal(text: str, kind: Callable[[str], Any]) -> Any:
    total: Any = kind("0")
    for part in text.split(":"):
        total = total * 60 + kind(part)
    return total


def _float(value: str, version: tuple[int, int]) -> float:
    text = value.replace("_", "").lower()
    sign = -1.0 if text[:1] == "-" else 1.0
    text = text.lstrip("+-")
    if text == ".inf":
        return sign * math.inf
    if text == ".nan":
        return math.nan
    if version == (1, 1) and ":" in text:
        if len(text) > _MAX_DIGITS:
            raise OverflowError
        return sign * float(_sexagesimal(text, float))
    return sign * float(text)


_TIMESTAMP = re.compile(
    r"(?P<year>[0-9]{4})-(?P<month>[0-9]{1,2})-(?P<day>[0-9]{1,2})"
    r"(?:(?:[Tt]|[ \t]+)(?P<hour>[0-9]{1,2}):(?P<minute>[0-9]{2}):(?P<second>[0-9]{2})"
    r"(?:\.(?P<fraction>[0-9]*))?"
    r"(?:[ \t]*(?P<tz>Z|(?P<tz_sign>[-+])(?P<tz_hour>[0-9]{1,2})(?::(?P<tz_minute>[0-9]{2}))?))?)?"
)


def _timestamp(value: str) -> datetime.date | None:
    """A date or datetime (PyYAML's construction), or None when it is no real date."""
    match = _TIMESTAMP.fullmatch(value)
    if match is None:
        return None
    g = match.groupdict()
    try:
        if g["hour"] is None:
            if len(g["month"]) != 2 or len(g["day"]) != 2:
                return None
            return datetime.date(int(g["year"]), int(g["month"]), int(g["day"]))
        fraction = int((g["fraction"] or "0")[:6].ljust(6, "0"))
        tz = None
        if g["tz"] == "Z":
            tz = datetime.UTC
        elif g["tz"]:
            offset = datetime.timedelta(hours=int(g["tz_hour"]), minutes=int(g["tz_minute"] or 0))
            tz = datetime.timezone(-offset if g["tz_sign"] == "-" else offset)
        return datetime.datetime(
            int(g["year"]),
            int(g["month"]),
            int(g["day"]),
            int(g["hour"]),
            int(g["minute"]),
            int(g["second"]),
            fraction,
            tzinfo=tz,
        )
    except (ValueError, OverflowError):
        return None


def _bool(value: str, version: tuple[int, int]) -> bool:
    return value.lower() in ("true", "yes", "on", "y")


def _binary(value: str, version: tuple[int, int]) -> bytes:
    try:
        return base64.b64decode("".join(value.split()).encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise ValueError("not base64") from None


def _date(value: str, version: tuple[int, int]) -> datetime.date:
    stamp = _timestamp(value)
    if stamp is None:
        raise ValueError("not a date")
    return stamp


_CONSTRUCT: dict[str, Callable[[str, tuple[int, int]], Any]] = {
    CORE + "str": lambda value, _: value,
    CORE + "int": _int,
    CORE + "float": _float,
    CORE + "bool": _bool,
    CORE + "null": lambda value, _: None,
    CORE + "timestamp": _date,
    CORE + "binary": _binary,
    CORE + "merge": lambda value, _: value,
    CORE + "value": lambda value, _: value,
}


def scalar(value: str, plain: bool, tag: str | None, version: tuple[int, int], where: str) -> Any:
    """The Python value of one scalar; InputError (naming `where`, never the value)."""
    resolved = resolved_tag(value, plain, tag, version)
    construct = _CONSTRUCT.get(resolved)
    if construct is None:
        if resolved in (CORE + "map", CORE + "seq", CORE + "omap", CORE + "set"):
            raise InputError(f"{where}: a collection tag on a scalar")
        return value  # an application tag (`!Ref`, `!vault`): its text, as written
    try:
        return construct(value, version)
    except OverflowError:
        raise InputError(f"{where}: the number is too large (over 4,000 digits)") from None
    except ValueError:
        kind = resolved[len(CORE) :]
        raise InputError(f"{where}: the value is not a valid {kind}") from None


def is_merge_key(node: Node) -> bool:
    if len(node.path) < 2 or not isinstance(node.path[-1], str) or node.path[-1] != "<<":
        return False
    return node.key_tag == _MERGE or (node.key_tag is None and node.key_plain)


# ---------------------------------------------------------------- construction


class Model:
    """Documents as Python values, and each node's value by encoded path."""

    def __init__(self, documents: list[Any], by_path: dict[bytes, Any]) -> None:
        self.documents = documents
        self.by_path = by_path


def build(body: Body, name: str, *, text_keys: bool = False) -> Model:
    """Construct every document of `body`.

    `text_keys` keeps mapping keys as written (`0x10` stays "0x10"), for
    variable names; otherwise keys are typed as a loader types them, and two
    keys that a loader would take for the same value are refused.
    """
    docs: list[Any] = [None] * body.documents
    objects: dict[bytes, Any] = {}
    for _ in building(body.nodes, name, docs, objects, text_keys=text_keys):
        pass
    return Model(docs, objects)


def building(
    nodes: Iterable[Node],
    name: str,
    docs: list[Any] | None,
    objects: dict[bytes, Any] | None,
    *,
    text_keys: bool = False,
) -> Iterator[Node]:
    """Construct values from `nodes` as they pass, yielding each one on.

    `docs` gets each document's value and `objects` each node's, by encoded
    path.  Without them (None), values are built and checked but only what
    may still be read is kept: anchored subtrees (for their aliases, within
    one document) and merge values; anything else is left out of its parent
    once built.  This is how sealing checks that what it seals is what every
    reader can load, without holding a second copy of the file.
    """
    index = objects is not None
    anchored: dict[bytes, Any] = objects if objects is not None else {}
    open_maps: list[tuple[KeyPath, dict[Any, Any], list[Any]]] = []  # (path, map, merge values)
    containers: list[Any] = []  # the open collections, outermost first
    hold = 0  # without `index`: depth of the subtree whose values are kept, 0 for none
    for node in nodes:
        path = node.path
        depth = len(path)
        while open_maps and len(open_maps[-1][0]) >= depth:
            _finish(open_maps.pop(), name)
        del containers[depth - 1 :]
        if depth == 1 and not index:
            anchored = {}  # anchors do not cross documents
        kind = node.kind
        value = _construct(node, anchored, name)
        merge = depth > 1 and is_merge_key(node)
        if not index:
            hold = _held(hold, node, depth, merge)
        if index or node.anchor is not None:
            anchored[node.epath] = value
        if depth == 1:
            if docs is not None:
                docs[int(path[0])] = value
        elif merge and not isinstance(containers[-1], list):
            open_maps[-1][2].append(value)
        else:
            _attach(containers[-1], node, value if index or hold else None, name, text_keys)
        if kind == "map":
            open_maps.append((path, value, []))
        if kind in _COLLECTIONS:
            containers.append(value)
        yield node
    while open_maps:
        _finish(open_maps.pop(), name)


_COLLECTIONS = ("map", "seq")


def _held(hold: int, node: Node, depth: int, merge: bool) -> int:
    """The depth of the subtree whose values are kept (0: none) once NODE is in:
    a subtree is kept from an anchored node or a merge value to its end."""
    if hold >= depth:
        hold = 0
    if not hold and (node.anchor is not None or merge):
        hold = depth
    return hold


def _construct(node: Node, anchored: dict[bytes, Any], name: str) -> Any:
    """The value NODE stands for: an empty collection to fill, an alias's target, a scalar."""
    kind = node.kind
    if kind == "map":
        return {}
    if kind == "seq":
        return []
    if kind == "alias":
        return anchored[node.target]
    where = f"{name}: line {node.line}"
    return scalar(node.value, node.plain, node.tag, version_of(node), where)


def _attach(parent: Any, node: Node, value: Any, name: str, text_keys: bool) -> None:
    """VALUE into its PARENT: appended to a sequence, under its key in a mapping."""
    if isinstance(parent, list):
        parent.append(value)
    else:
        _put(parent, node, value, name, text_keys)


def _put(parent: dict[Any, Any], node: Node, value: Any, name: str, text_keys: bool) -> None:
    key_text = str(node.path[-1])
    if text_keys:
        key: Any = key_text
    else:
        where = f"{name}: line {node.line}"
        key = scalar(key_text, node.key_plain, node.key_tag, version_of(node), where)
        try:
            clash = key in parent
        except TypeError:  # a key a loader cannot hash (bytes are fine; sets are not)
            raise InputError(f"{name}: line {node.line}: a key of an unhashable type") from None
        if clash:
            raise InputError(
                f"{name}: line {node.line}: two keys of one mapping are the same value to "
                "a YAML loader (e.g. 0x10 and 16, or true and 1)"
            )
    parent[key] = value


def _finish(entry: tuple[KeyPath, dict[Any, Any], list[Any]], name: str) -> None:
    """Apply merge keys: merged entries first, then the mapping's own (which win)."""
    _, mapping, merges = entry
    if not merges:
        return
    merged: dict[Any, Any] = {}
    for value in merges:
        sources = value if isinstance(value, list) else [value]
        for source in sources:
            if not isinstance(source, dict):
                raise InputError(f"{name}: a merge key (<<) needs a mapping or a list of them")
            for key, item in source.items():
                merged.setdefault(key, item)  # earlier sources win
    own = list(mapping.items())
    mapping.clear()
    mapping.update(merged)
    for key, item in own:
        mapping.pop(key, None)
        mapping[key] = item


# ---------------------------------------------------------------- meaning


def meaning_records(body: Body, skip: Iterable[KeyPath] = ()) -> list[bytes]:
    """One injective record per document and per node: what the file MAC covers.

    `skip` leaves out nodes (new plaintext values a re-seal will adopt), also
    from their mapping's key order.
    """
    return node_records(body.nodes, skip) + doc_records(body.versions)


def doc_records(versions: list[tuple[int, int] | None]) -> list[bytes]:
    """lp_all("doc", index, version) for each document."""
    return [lp_all((b"doc", str(i).encode(), _version_text(v))) for i, v in enumerate(versions)]


class RecordSink(Protocol):
    def append(self, record: bytes, /) -> None: ...


def node_records(
    nodes: Iterable[Node], skip: Iterable[KeyPath] = (), out: RecordSink | None = None
) -> list[bytes]:
    """lp_all("node", epath, kind, tag, anchor, keyinfo, content) for each node,
    in one pass over `nodes` in document order (they need not all be held: the
    parse may stream them).  The MAC sorts the records, so a mapping's record,
    whose content is its key order, is written when the mapping ends.

    With `out`, the records go there (one that holds them compactly) and the
    list returned is empty.
    """
    skipped = set(skip)
    records: list[bytes] = []
    out = records if out is None else out
    u32 = _U32
    seven = u32(7) + lp(b"node")
    kinds = {k: lp(k.encode()) for k in ("scalar", "alias", "map", "seq")}
    style = {True: b"p", False: b"q"}
    empty = lp(b"")
    cache: dict[str | None, bytes] = {None: empty}
    # Open mappings, innermost last: (depth, record up to its content, its keys).
    maps: list[tuple[int, bytes, list[bytes]]] = []

    def lps(text: str | None) -> bytes:  # lp(utf8(text or "")), memoised: tags repeat
        got = cache.get(text)
        if got is None:
            raw = text.encode("utf-8")  # type: ignore[union-attr]
            got = cache[text] = u32(len(raw)) + raw
        return got

    for node in nodes:
        path = node.path
        depth = len(path)
        while maps and maps[-1][0] >= depth:  # ended before this node
            _, head, keys = maps.pop()
            content = lp_all(keys)
            out.append(head + u32(len(content)) + content)
        if skipped and path in skipped:
            continue
        last = path[-1]
        if depth > 1 and type(last) is str:
            if maps and maps[-1][0] == depth - 1:
                maps[-1][2].append(last.encode("utf-8"))
            # Tags and anchors are rare: no call for the common None.
            key_tag, key_anchor = node.key_tag, node.key_anchor
            key = (
                style[node.key_plain]
                + (empty if key_tag is None else lps(key_tag))
                + (empty if key_anchor is None else lps(key_anchor))
            )
            keyinfo = u32(len(key)) + key
        else:
            keyinfo = empty
        kind, tag, anchor = node.kind, node.tag, node.anchor
        epath = u32(depth) + node.eseg  # node.epath, without its two calls
        head = b"".join(
            (
                seven,
                u32(len(epath)),
                epath,
                kinds[kind],
                empty if tag is None else lps(tag),
                empty if anchor is None else lps(anchor),
                keyinfo,
            )
        )
        if kind == "scalar":
            content = style[node.plain] + node.value.encode("utf-8")
        elif kind == "alias":
            content = node.target
        elif kind == "map":
            maps.append((depth, head, []))
            continue
        else:
            content = b""
        out.append(head + u32(len(content)) + content)
    for _, head, keys in maps:
        content = lp_all(keys)
        out.append(head + u32(len(content)) + content)
    return records


def _version_text(version: tuple[int, int] | None) -> bytes:
    return b"" if version is None else f"{version[0]}.{version[1]}".encode()
