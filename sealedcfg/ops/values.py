"""One value at a time: set, get, unset, ls.  Each is one locked read-modify-write.

Setting a value needs only the MAC to hold (it authenticates every token), and
decrypts nothing but the old value it replaces; only tokens that a structural
edit moved to another path are opened and sealed again.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sealedcfg.base.fileio import read_bytes, write_atomic
from sealedcfg.engine import sealing
from sealedcfg.engine.access import model_of, opened, read_header, seal_new_text
from sealedcfg.engine.keys import KeySource
from sealedcfg.engine.place import place_of
from sealedcfg.errors import InputError, OpenError
from sealedcfg.format import crypto
from sealedcfg.format import token as tokens
from sealedcfg.format.envelope import Header
from sealedcfg.format.kdf import Argon2Params
from sealedcfg.yamltext import document, paths, scalars, textops
from sealedcfg.yamltext.document import Body, Node

NEW_FILE_MODE = 0o644  # sealed text is safe to share; it is meant for a repository


@dataclass(slots=True)
class Entry:
    """One line of `ls`: a path and what is known about it without a key.

    Not frozen: `ls` builds one per node, up to 250,000 of them for a hostile
    file, and a frozen dataclass costs four times as much to build."""

    path: str
    kind: str  # "sealed" | "plain" | "alias" | "empty" | "map" | "seq"
    type: str | None
    line: int
    meta: dict[str, str]


def _reseal_and_write(profile: sealing.Profile, data_key: bytes, new_text: str, path: Path) -> None:
    """Seal what an edit made plaintext (or moved), recompute the MAC, write."""
    header = profile.header
    assert header is not None
    # The sealed file's parse and the MAC's records are not needed again: freed
    # before the new text is parsed (memory: a large file is held once).
    profile.body.nodes = []
    sealing.release(profile)
    try:
        rule = sealing.compile_rule(header.plain)
        sealed_text, final = sealing.reseal_text(profile, data_key, new_text, rule)
    except crypto.AuthError:
        raise OpenError(str(path)) from None
    write_atomic(path, profile.to_bytes(sealed_text, final))


def _missing_path(body: Body, dotted: str) -> tuple[Node | None, list[str]]:
    """The deepest existing node on `dotted`'s way, and the keys still to create."""
    node, path, rest = paths.walk(body, dotted)
    empty = node is not None and node.plain and node.value == "" and node.tag is None
    if rest and node is not None and node.kind in ("scalar", "alias") and not empty:
        raise paths.not_a_mapping(body, dotted, path)  # `key:` with no value may grow keys
    return node, rest


def set_value(
    path: str | os.PathLike[str],
    dotted: str,
    value: str,
    keys: KeySource,
    *,
    vtype: str | None = None,
    kdf: Argon2Params | None = None,
) -> bool:
    """Set (or create) the value at `dotted`; return whether the file changed.

    Only that value's line(s) and the MAC line change.  A missing file is
    created (its recipients from the creation rules or the given keys).
    """
    target = Path(path)
    source = scalars.render(value, vtype)
    if not target.exists() and not target.is_symlink():
        return _create(target, dotted, source, keys, kdf)
    with opened(target, keys, keep_body=False) as (profile, data_key, header):
        body = profile.body
        parent, missing = _missing_path(body, dotted)
        if missing:
            new_text = textops.insert(body, parent, missing, source, profile.newline)
        else:
            assert parent is not None
            node = parent
            if node.kind != "scalar":
                raise InputError(f"{target}: {dotted!r} holds a mapping or list, not a value")
            if sealing.is_token(node):
                try:
                    old = sealing.open_token(data_key, header.file_id, node)
                except crypto.AuthError:
                    raise OpenError(str(target)) from None
            else:
                old = body.text[node.start : node.end]
            if old == source:
                return False
            if node.start == node.end and not body.text[node.start - 1 : node.start].isspace():
                source = " " + source  # an empty value sits right after `key:` or a tag
            new_text = document.splice(body.text, [(node.start, node.end, source)])
        _reseal_and_write(profile, data_key, new_text, target)
    return True


def _create(
    target: Path, dotted: str, source: str, keys: KeySource, kdf: Argon2Params | None
) -> bool:
    doc, parts = paths.split(dotted)
    if doc:
        raise InputError(f"bad path {dotted!r}: a new file has one document")
    if not target.parent.is_dir():
        raise InputError(f"{target.parent}: no such directory")
    text = textops.insert(document.parse("", str(target)), None, parts, source, "\n")
    write_atomic(target, seal_new_text(str(target), text, keys, kdf=kdf), mode=NEW_FILE_MODE)
    return True


def unset(path: str | os.PathLike[str], dotted: str, keys: KeySource) -> None:
    """Remove the key or list item at `dotted` (and everything below it)."""
    target = Path(path)
    with opened(target, keys, keep_body=False) as (profile, data_key, _header):
        node = paths.resolve(profile.body, dotted)
        parent = textops.find_parent(profile.body, node.path)
        if parent is None:
            raise InputError(f"bad path {dotted!r}: cannot remove a whole document")
        _no_alias_into(profile.body, node, dotted)
        _reseal_and_write(profile, data_key, textops.delete(profile.body, node, parent), target)


def _no_alias_into(body: Body, node: Node, dotted: str) -> None:
    """Refuse to remove an anchored node that an alias outside it still names."""
    size = len(node.path)
    inside = {n.epath for n in body.nodes if n.path[:size] == node.path and n.anchor}
    for other in body.nodes:
        if other.kind == "alias" and other.target in inside and other.path[:size] != node.path:
            raise InputError(
                f"cannot remove {dotted!r}: the alias at line {other.line} refers to an anchor "
                "in it",
                hints=("remove or replace the alias first",),
            )


def get(path: str | os.PathLike[str], dotted: str, keys: KeySource) -> Any:
    """The typed value (or subtree) at `dotted`; in a profile that extends another,
    in the merged view (ops/layering.py)."""
    from sealedcfg.ops import layering

    # Read and parsed once, for the key-less path check and for opening: a
    # hostile file of 250,000 nodes costs a second or more per parse.
    profile = sealing.read_profile(read_bytes(path), str(path), place_of(path))
    if extends_declared(profile.body):
        doc, parts = paths.split(dotted)
        if doc:
            raise InputError(f"bad path {dotted!r}: a layered profile has one document")
        view = layering.open_view(path, keys, text_keys=True)
        return layering.lookup(view.documents[0], parts, dotted)
    node = paths.resolve(profile.body, dotted)  # fails early, with suggestions, key-less
    if len(node.path) > 1 and node.path[1] == sealing.HISTORY_KEY:
        raise InputError(f"{path}: {dotted!r} is kept history; see: sealedcfg history")
    built = model_of(profile, keys)
    # The node's own value, found by its path in the authenticated parse: keys
    # are matched as written (`true`, `0x10`, `""`), whatever their type.
    return built.by_path[node.epath]


def extends_declared(body: Body) -> bool:
    """A top-level `extends` key (sealed or not): the file may layer on another."""
    from sealedcfg.ops.layering import EXTENDS

    return any(len(n.path) == 2 and n.path[1] == EXTENDS for n in body.nodes)


def header_of(path: str | os.PathLike[str]) -> Header | None:
    """The file's header alone (who can open it), its body not parsed; None if unsealed."""
    return read_header(read_bytes(path), str(path))


def ls(path: str | os.PathLike[str]) -> list[Entry]:
    """Every path with sealed/plain marks and metadata, never a value; no key."""
    profile = sealing.read_profile(read_bytes(path), str(path))
    docs = profile.body.documents
    out: list[Entry] = []
    append, format_path, is_token = out.append, document.format_path, sealing.is_token
    for node in profile.body.nodes:
        if len(node.path) == 1:
            continue
        vtype, meta = None, {}
        if is_token(node):
            try:
                tok = tokens.parse(node.value)
                kind, vtype, meta = "sealed", tok.vtype, dict(tok.meta)
            except tokens.TokenError:
                kind = "malformed"
        elif node.kind == "scalar":
            kind = "empty" if not sealing.sealable(node) else "plain"
        else:
            kind = node.kind
        append(Entry(format_path(node.path, docs), kind, vtype, node.line, meta))
    return out
