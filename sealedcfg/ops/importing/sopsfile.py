"""sops' three text stores read into its tree (getsops/sops: stores/yaml, json, dotenv).

Each store gives the document as sops sees it: ordered items, comments as
items where sops keeps them (YAML and dotenv), scalar types as Go decodes
them (every JSON number is a float64; a YAML timestamp stays a string), and
the `sops` metadata, still untrusted: nothing here is authenticated.
"""

from __future__ import annotations

import bisect
import json
import re
from dataclasses import dataclass
from typing import Any

from sealedcfg.errors import InputError
from sealedcfg.ops.importing.sopscrypt import Branch, Comment
from sealedcfg.yamltext import document, model
from sealedcfg.yamltext.document import Body, Node

METADATA_KEY = "sops"
_DOTENV_PREFIX = "sops_"
_FLAT = re.compile(r"(__map_|__list_)")
_TRAILING_COMMENT = re.compile(r"[ \t]+#([^\r\n]*)")
MAX_COMMENT_SCAN = 20_000_000  # node visits to place comments; a hostile file stops here


@dataclass
class SopsFile:
    kind: str  # "yaml" | "json" | "dotenv"
    branches: list[Branch]
    meta: dict[str, Any]


class JsonNumber(float):
    """A JSON number: Go reads it as a float64; written back it may read as an int."""


def is_sops(data: Any, kind: str) -> bool:
    """Whether a parsed source holds sops metadata (decides the import path)."""
    if kind == "dotenv":
        return isinstance(data, dict) and any(
            k in data for k in ("sops_mac", "sops_lastmodified", "sops_version")
        )
    meta = data.get(METADATA_KEY) if isinstance(data, dict) else None
    return isinstance(meta, dict) and any(k in meta for k in ("mac", "lastmodified", "version"))


def load(text: str, kind: str, name: str) -> SopsFile:
    if kind == "json":
        return _load_json(text, name)
    if kind == "dotenv":
        return _load_dotenv(text, name)
    return _load_yaml(text, name)


def _split_meta(branch: Branch, name: str) -> tuple[Branch, dict[str, Any]]:
    meta = None
    out = Branch()
    for key, value in branch:
        if key == METADATA_KEY:
            meta = value
        else:
            out.append((key, value))
    if not isinstance(meta, Branch):
        raise InputError(f"{name}: no sops metadata (not a sops-encrypted file)")
    return out, _plain(meta)


def _plain(value: Any) -> Any:
    """Metadata as plain Python values (later keys win, as in Go's Unmarshal)."""
    if isinstance(value, Branch):
        return {k: _plain(v) for k, v in value if isinstance(k, str)}
    if isinstance(value, list):
        return [_plain(v) for v in value if not isinstance(v, Comment)]
    return value


# ---------------------------------------------------------------- JSON


def _load_json(text: str, name: str) -> SopsFile:
    def constant(word: str) -> Any:
        raise InputError(f"{name}: not JSON ({word} is not a JSON value)")

    try:
        data = json.loads(
            text,
            object_pairs_hook=Branch,
            parse_float=JsonNumber,
            parse_int=JsonNumber,
            parse_constant=constant,
        )
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{name}: not valid JSON (line {exc.lineno}, column {exc.colno})"
        ) from None
    except RecursionError:
        raise InputError(f"{name}: JSON nested too deeply") from None
    if not isinstance(data, Branch):
        raise InputError(f"{name}: the top level of a sops JSON file must be an object")
    branch, meta = _split_meta(data, name)
    return SopsFile("json", [branch], meta)


# ---------------------------------------------------------------- dotenv


def _load_dotenv(text: str, name: str) -> SopsFile:
    """stores/dotenv: one `KEY=VALUE` per line, split at the first `=`, `\\n` a newline."""
    branch = Branch()
    flat: dict[str, Any] = {}
    for number, line in enumerate(text.split("\n"), 1):
        if not line:
            continue
        if line.startswith("#"):
            branch.append((Comment(line[1:]), None))
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise InputError(f"{name}: line {number}: not a KEY=VALUE line")
        value = value.replace("\\n", "\n")
        if key.startswith(_DOTENV_PREFIX):
            flat[key[len(_DOTENV_PREFIX) :]] = value
        else:
            branch.append((key, value))
    meta = _unflatten(flat, name)
    if isinstance(meta.get("shamir_threshold"), str) and meta["shamir_threshold"].isdigit():
        meta["shamir_threshold"] = int(meta["shamir_threshold"])
    return SopsFile("dotenv", [branch], meta)


def _unflatten(flat: dict[str, Any], name: str) -> dict[str, Any]:
    """stores/flatten.go Unflatten: `pgp__list_0__map_enc` -> {"pgp": [{"enc": ...}]}."""
    out: dict[str, Any] = {}
    for key, value in flat.items():
        parts = _FLAT.split(key)
        steps: list[str | int] = [parts[0]]
        for sep, seg in zip(parts[1::2], parts[2::2], strict=True):
            if sep == "__list_":
                if not seg.isdigit() or int(seg) > 1000:
                    raise InputError(f"{name}: malformed sops metadata key {key!r}")
                steps.append(int(seg))
            else:
                steps.append(seg)
        current: Any = out
        for step, nxt in zip(steps, [*steps[1:], None], strict=True):
            container: Any = [] if isinstance(nxt, int) else {}
            if isinstance(step, int):
                if not isinstance(current, list):
                    raise InputError(f"{name}: malformed sops metadata key {key!r}")
                while len(current) <= step:
                    current.append(None)
                if nxt is None:
                    current[step] = value
                elif current[step] is None:
                    current[step] = container
                current = current[step]
            else:
                if not isinstance(current, dict):
                    raise InputError(f"{name}: malformed sops metadata key {key!r}")
                if nxt is None:
                    current[step] = value
                else:
                    current = current.setdefault(step, container)
    return out


# ---------------------------------------------------------------- YAML


def _col(text: str, pos: int) -> int:
    return pos - (text.rfind("\n", 0, pos) + 1)


def _item_pos(text: str, node: Node) -> int:
    """Where a node's item starts: its key, or its list dash."""
    if node.key_start >= 0:
        return node.key_start
    line = text.rfind("\n", 0, node.start) + 1
    dash = text.rfind("-", line, node.start)
    return dash if dash >= 0 else node.start


def _load_yaml(text: str, name: str) -> SopsFile:
    body = document.parse(text, name)
    if body.documents != 1:
        raise InputError(
            f"{name}: a sops YAML file with {body.documents} documents is not supported "
            "(one document per file)"
        )
    # document.parse refuses a top level that is not a mapping
    builder = _YamlTree(body, name)
    branch, meta = _split_meta(builder.build(body.nodes[0]), name)
    return SopsFile("yaml", [branch], meta)


class _YamlTree:
    """yaml.v3 as sops' YAML store reads it: values, and comments placed by column."""

    def __init__(self, body: Body, name: str) -> None:
        self.body = body
        self.text = body.text
        self.name = name
        self.children: dict[tuple[Any, ...], list[Node]] = {}
        self.by_epath = {n.epath: n for n in body.nodes if n.anchor}
        for node in body.nodes[1:]:
            self.children.setdefault(node.path[:-1], []).append(node)
        self.items = sorted((_item_pos(self.text, n), n) for n in body.nodes[1:])
        self.positions = [p for p, _ in self.items]
        self.comments: dict[tuple[Any, ...], list[tuple[int, str]]] = {}
        self._place_comments()

    def _covered_lines(self) -> list[tuple[int, int]]:
        spans = []
        for node in self.body.nodes:
            if node.kind == "scalar" and "\n" in self.text[node.start : node.end]:
                spans.append((node.start, max(node.end, node.raw_end)))
        return spans

    def _place_comments(self) -> None:
        text = self.text
        spans = self._covered_lines()
        starts = [s for s, _ in spans]
        budget = MAX_COMMENT_SCAN
        pos = 0
        for line in text.splitlines(keepends=True):
            stripped = line.lstrip(" \t")
            at = pos + len(line) - len(stripped)
            pos += len(line)
            if not stripped.startswith("#"):
                continue
            i = bisect.bisect_right(starts, at) - 1
            if i >= 0 and spans[i][0] < at < spans[i][1]:
                continue  # inside a multi-line scalar
            owner, budget = self._owner(at, _col(text, at), budget)
            comment = stripped[1:].rstrip("\r\n")
            self.comments.setdefault(owner, []).append((at, comment))
        for node in self.body.nodes:  # `key: value # note`: sops puts it before the item
            if node.kind != "scalar" or "\n" in text[node.start : node.end]:
                continue
            end = text.find("\n", node.end)
            match = _TRAILING_COMMENT.match(text, node.end, len(text) if end < 0 else end)
            if match and node.style != "|" and node.style != ">":
                item = _item_pos(text, node)
                self.comments.setdefault(node.path[:-1], []).append((item, match.group(1)))

    def _owner(self, at: int, col: int, budget: int) -> tuple[tuple[Any, ...], int]:
        """The collection a comment line belongs to: that of the nearest item at its column."""
        index = bisect.bisect_right(self.positions, at)
        # the next item at this column, else the previous one
        for order in (range(index, len(self.items)), range(index - 1, -1, -1)):
            for i in order:
                budget -= 1
                pos, node = self.items[i]
                c = _col(self.text, pos)
                if c <= col:
                    if c == col:
                        return node.path[:-1], budget
                    break
                if budget <= 0:
                    raise InputError(f"{self.name}: too many comments to place")
        return (0,), budget

    def build(self, node: Node) -> Any:
        if node.kind == "alias":  # document.parse refuses an alias with no anchor before it
            return self.build(self.by_epath[node.target])
        if node.kind == "scalar":
            return self._scalar(node)
        children = self.children.get(node.path, [])
        entries: list[tuple[int, Any]] = [(_item_pos(self.text, c), c) for c in children]
        entries += [(at, Comment(c)) for at, c in self.comments.get(node.path, [])]
        entries.sort(key=lambda e: (e[0], not isinstance(e[1], Comment)))
        if node.kind == "map":
            branch = Branch()
            for _, entry in entries:
                if isinstance(entry, Comment):
                    branch.append((entry, None))
                else:
                    branch.append((entry.path[-1], self.build(entry)))
            return branch
        return [e if isinstance(e, Comment) else self.build(e) for _, e in entries]

    def _scalar(self, node: Node) -> Any:
        version = model.version_of(node)
        tag = model.resolved_tag(node.value, node.plain, node.tag, version)
        if tag == model.CORE + "timestamp":
            return node.value  # yaml.v3 decodes an untagged timestamp as a string
        where = f"{self.name}: line {node.line}"
        return model.scalar(node.value, node.plain, node.tag, version, where)
