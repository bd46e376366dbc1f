"""Metadata and kept history, written through the engine (FORMAT.md §9).

Every change here is one locked read-modify-write (`access.opened`): the file
is authenticated, edited as text, re-sealed by `sealing.reseal` (new values,
moved tokens), then the values that carry lifecycle metadata are sealed with
it by `sealing.seal_node`, and the MAC is recomputed once.

History of the value at `a.b` lives in the same document under the reserved
top-level key `sealedcfg_history`, as a flow list keyed by the value's dotted
path: `sealedcfg_history: {a.b: [<newest>, <older>, ...]}`.  Each entry is an
ordinary token, so its AAD binds it to *that* history slot: it cannot be moved
over the current value, into another value's history or to another index
without failing to open, and the MAC covers deletions.  Only entries that
carry `superseded` (which no other code path writes) are ever restored, so a
plaintext entry an attacker added (which a later re-seal would adopt) is not.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

from sealedcfg.base.encoding import KeyPath
from sealedcfg.base.fileio import read_bytes, write_atomic
from sealedcfg.base.pattern import Pattern
from sealedcfg.engine import sealing
from sealedcfg.engine.access import opened
from sealedcfg.engine.keys import KeySource
from sealedcfg.errors import InputError, OpenError
from sealedcfg.format import crypto
from sealedcfg.format import token as tokens
from sealedcfg.format.kdf import Argon2Params
from sealedcfg.lifecycle import meta as m
from sealedcfg.yamltext import document, paths, scalars, textops
from sealedcfg.yamltext.document import Body, Node

HISTORY_KEY = sealing.HISTORY_KEY
MAX_KEEP = 10
_PLACEHOLDER = "x"  # stands where a history entry goes until its token is spliced in


def is_history(path: KeyPath) -> bool:
    return len(path) > 1 and path[1] == HISTORY_KEY


def history_name(path: KeyPath) -> str:
    """The key of a value's history: its dotted path without the document prefix."""
    return document.format_path((0, *path[1:]), 1)


@dataclass(frozen=True)
class Version:
    """One version of a value: 0 is current, 1 the newest kept one.  Never the value."""

    version: int
    meta: dict[str, str]
    line: int


@dataclass
class Outcome:
    """What a change did; `old_value` is for a provider's revoke only, never shown."""

    file: str
    path: str
    meta: dict[str, str]
    changed: bool = True
    old_value: str | None = field(default=None, repr=False)
    new_value: str | None = field(default=None, repr=False)


@dataclass
class _Want:
    source: str
    vtype: str | None  # None: the type the re-seal gave the spliced source
    meta: m.Meta


def _meta_of(node: Node) -> dict[str, str]:
    if not sealing.is_token(node):
        return {}
    try:
        return dict(tokens.parse(node.value).meta)
    except tokens.TokenError:
        return {}


def _vtype(node: Node) -> str:
    return tokens.parse(node.value).vtype


def _history_nodes(body: Body, path: KeyPath) -> list[Node]:
    prefix = (path[0], HISTORY_KEY, history_name(path))
    found = [n for n in body.nodes if len(n.path) == 4 and n.path[:3] == prefix]
    return sorted(found, key=lambda n: int(n.path[3]))


def _value_node(body: Body, dotted: str, header_plain: str | None, name: str) -> Node:
    node = paths.resolve(body, dotted)
    if is_history(node.path):
        raise InputError(f"{name}: {dotted!r} is kept history, not a value")
    if node.kind != "scalar":
        raise InputError(f"{name}: {dotted!r} holds a mapping, list or alias, not a value")
    if sealing.rule_matches(sealing.compile_rule(header_plain), node):
        raise InputError(
            f"{name}: {dotted!r} is plaintext by rule; only sealed values carry metadata"
        )
    return node


def _open(data_key: bytes, file_id: bytes, node: Node, name: str) -> str:
    try:
        return sealing.open_token(data_key, file_id, node)
    except crypto.AuthError:
        raise OpenError(name) from None


def _commit(
    profile: sealing.Profile,
    data_key: bytes,
    new_text: str,
    wants: Mapping[KeyPath, _Want],
    target: Path,
) -> None:
    """Re-seal the edited text, seal `wants` with their metadata, write once."""
    header = profile.header
    assert header is not None
    try:
        rule = sealing.compile_rule(header.plain)
        body, plain = sealing.reseal(profile, data_key, new_text, rule)
        index = {n.path: n for n in body.nodes}
        plain_index = {n.path: n for n in plain.nodes}
        replacements, sources = [], []
        for path, want in wants.items():
            node = index[path]
            vtype = want.vtype or _vtype(node)
            token = sealing.seal_node(data_key, header.file_id, node, want.source, want.meta, vtype)
            replacements.append((node, token))
            spot = plain_index[path]  # a placeholder in the plaintext: its real source
            sources.append((spot.start, spot.end, want.source))
        body = sealing.splice_tokens(profile.name, body, replacements)
    except crypto.AuthError:
        raise OpenError(str(target)) from None
    opened = document.parse(document.splice(plain.text, sources), profile.name)
    final = sealing.finish_header(header, data_key, opened, profile.name, sealed=body)
    write_atomic(target, profile.to_bytes(body.text, final))


def _source_type(source: str, node: Node) -> str:
    """The type YAML gives `source` written where `node` is (its tag and %YAML version)."""
    tiny = document.parse(f"v: {source}\n", "<value>")
    probe = next(n for n in tiny.nodes if n.path == (0, "v"))
    return sealing.value_type(replace(probe, tag=node.tag, version=node.version))


def _replace_one(
    profile: sealing.Profile,
    data_key: bytes,
    node: Node,
    source: str,
    vtype: str,
    items: m.Meta,
    target: Path,
) -> None:
    """Seal `source` with `items` over one non-empty scalar's span: nothing moves, so no
    re-seal is needed, and no parse is held but the one read (`sealing.seal_one`)."""
    header = profile.header
    assert header is not None
    assert profile.opened is not None  # authenticated by access.opened
    token = sealing.seal_node(data_key, header.file_id, node, source, items, vtype)
    sealed_text, final = sealing.seal_one(profile, data_key, node, token, source)
    write_atomic(target, profile.to_bytes(sealed_text, final))


def _with_history(text: str, name: str, path: KeyPath, entries: int, newline: str) -> str:
    """`text` with the history slot of `path` holding `entries` placeholders (0: removed)."""
    body = document.parse(text, name)
    index = {n.path: n for n in body.nodes}
    key = history_name(path)
    holder = index.get((path[0], HISTORY_KEY))
    slot = index.get((path[0], HISTORY_KEY, key))
    if slot is not None:
        assert holder is not None
        only = sum(1 for p in index if len(p) == 3 and p[:2] == holder.path) == 1
        victim, parent = (holder, index[(path[0],)]) if only else (slot, holder)
        text = textops.delete(body, victim, parent)
        body = document.parse(text, name)
        index = {n.path: n for n in body.nodes}
        holder = index.get((path[0], HISTORY_KEY))
    if entries == 0:
        return text
    value = "[" + ", ".join([_PLACEHOLDER] * entries) + "]"
    if holder is not None and holder.kind == "map":
        return textops.insert(body, holder, [key], value, newline)
    root = index.get((path[0],))
    if root is None or root.kind != "map":
        raise InputError(f"{name}: document {path[0]} has no mapping to keep history in")
    return textops.insert(body, root, [HISTORY_KEY, key], value, newline)


# ---------------------------------------------------------------- set and meta


def set_value(
    file: str | os.PathLike[str],
    dotted: str,
    value: str,
    keys: KeySource,
    *,
    vtype: str | None = None,
    kdf: Argon2Params | None = None,
    changes: Mapping[str, str] | None = None,
    now: date | None = None,
) -> bool:
    """`sealedcfg set` with lifecycle metadata: `created` on a new value, `rotated`
    when a value changes, given `changes` applied; existing metadata kept."""
    target = Path(file)
    now = now or m.today()
    changes = dict(changes or {})
    if not target.exists() and not target.is_symlink():
        return _set_in_new_file(target, dotted, value, keys, vtype, kdf, changes, now)
    from sealedcfg.ops import values

    source = scalars.render(value, vtype)
    with opened(target, keys, keep_body=False) as (profile, data_key, header):
        body = profile.body
        parent, missing = values._missing_path(body, dotted)
        rule = sealing.compile_rule(header.plain)
        if missing:
            new_text = textops.insert(body, parent, missing, source, profile.newline)
            items = {m.CREATED: now.isoformat(), **changes}
            base = parent.path if parent is not None else (paths.split(dotted)[0] or 0,)
            path: KeyPath = (*base, *missing)
        else:
            assert parent is not None
            node = parent
            _check_settable(node, target, dotted)
            path = node.path
            if sealing.is_token(node):
                old_source = _open(data_key, header.file_id, node, str(target))
            else:
                old_source = body.text[node.start : node.end]
            changed = _changed_meta(node, old_source, source, changes, now)
            if changed is None:
                return False
            items = changed
            if node.start < node.end and not _plain_by_rule(rule, path):
                vtype_now = _source_type(source, node)
                _replace_one(profile, data_key, node, source, vtype_now, m.normalise(items), target)
                return True
            spliced = source
            if node.start == node.end and not body.text[node.start - 1 : node.start].isspace():
                spliced = " " + source  # an empty value sits right after `key:` or a tag
            new_text = document.splice(body.text, [(node.start, node.end, spliced)])
        if _plain_by_rule(rule, path):
            if changes:
                raise _plain_has_no_meta(target, dotted)
            wants = {}
        else:
            wants = {path: _Want(source, None, m.normalise(items))}
        _commit(profile, data_key, new_text, wants, target)
    return True


def _set_in_new_file(
    target: Path,
    dotted: str,
    value: str,
    keys: KeySource,
    vtype: str | None,
    kdf: Argon2Params | None,
    changes: dict[str, str],
    now: date,
) -> bool:
    """`set` that creates the file (rules decide its header); then its metadata."""
    from sealedcfg.ops import values

    values.set_value(target, dotted, value, keys, vtype=vtype, kdf=kdf)
    created = sealing.read_profile(target.read_bytes(), str(target))
    assert created.header is not None
    node = paths.resolve(created.body, dotted)
    if _plain_by_rule(sealing.compile_rule(created.header.plain), node.path):
        if changes:  # nothing half-written: the file this call created goes again
            target.unlink()
            raise _plain_has_no_meta(target, dotted)
        return True
    change_meta(target, dotted, {m.CREATED: now.isoformat(), **changes}, keys)
    return True


def _plain_has_no_meta(target: Path, dotted: str) -> InputError:
    return InputError(
        f"{target}: {dotted!r} is plaintext by rule; only sealed values carry metadata"
    )


def _check_settable(node: Node, target: Path, dotted: str) -> None:
    if node.kind != "scalar":
        raise InputError(f"{target}: {dotted!r} holds a mapping or list, not a value")
    if is_history(node.path):
        raise InputError(f"{target}: {dotted!r} is kept history, not a value")


def _changed_meta(
    node: Node, old_source: str, source: str, changes: Mapping[str, str], now: date
) -> dict[str, str] | None:
    """The metadata a value at NODE gets when set to SOURCE; None when nothing changes."""
    old_meta = _meta_of(node)
    items = m.apply_changes(old_meta, changes)
    if old_source == source and items == old_meta:
        return None
    if old_source != source and sealing.is_token(node):
        items[m.ROTATED] = now.isoformat()
    elif old_source != source:  # a plaintext value sealed for the first time
        items.setdefault(m.CREATED, now.isoformat())
    return items


def _plain_by_rule(rule: Pattern | None, path: KeyPath) -> bool:
    if rule is None or is_history(path):
        return False
    return rule.search(document.format_path(path))


def change_meta(
    file: str | os.PathLike[str], dotted: str, changes: Mapping[str, str], keys: KeySource
) -> Outcome:
    """Change metadata alone: the value is opened and sealed again with the new items."""
    target = Path(file)
    with opened(target, keys, keep_body=False) as (profile, data_key, header):
        node = _value_node(profile.body, dotted, header.plain, str(target))
        if not sealing.is_token(node):
            raise InputError(f"{target}: {dotted!r} is not sealed; seal it with sealedcfg encrypt")
        old = _meta_of(node)
        items = m.apply_changes(old, changes)
        items = dict(m.normalise(items))
        if items == old:
            return Outcome(str(target), dotted, old, changed=False)
        source = _open(data_key, header.file_id, node, str(target))
        _replace_one(profile, data_key, node, source, _vtype(node), m.normalise(items), target)
    return Outcome(str(target), dotted, items)


# ---------------------------------------------------------------- history


def versions(file: str | os.PathLike[str], dotted: str) -> list[Version]:
    """The current version and the kept ones, newest first: metadata only, no key."""
    profile = sealing.read_profile(read_bytes(file), str(file))
    if profile.header is None:
        raise InputError(f"{file}: not a sealed file (no sealedcfg header)")
    node = _value_node(profile.body, dotted, profile.header.plain, str(file))
    out = [Version(0, _meta_of(node), node.line)]
    for i, entry in enumerate(_history_nodes(profile.body, node.path), start=1):
        out.append(Version(i, _meta_of(entry), entry.line))
    return out


def _decoded(source: str) -> str:
    """A scalar's value from its source text (what a provider sees as the old secret)."""
    from sealedcfg.yamltext import model

    built = model.build(document.parse(f"v: {source}\n", "<value>"), "<value>")
    value = built.documents[0]["v"]
    return "" if value is None else str(value)


def rotate(
    file: str | os.PathLike[str],
    dotted: str,
    new_value: str,
    keys: KeySource,
    *,
    changes: Mapping[str, str] | None = None,
    keep: int = 1,
    now: date | None = None,
) -> Outcome:
    """Seal `new_value` at `dotted`; the previous value becomes history entry 1."""
    if not 0 <= keep <= MAX_KEEP:
        raise InputError(f"history to keep must be 0 to {MAX_KEEP}")
    target = Path(file)
    today = (now or m.today()).isoformat()
    with opened(target, keys) as (profile, data_key, header):
        name = str(target)
        node = _value_node(profile.body, dotted, header.plain, name)
        if not sealing.is_token(node):
            raise InputError(f"{name}: {dotted!r} is not sealed; seal it with sealedcfg encrypt")
        old_source = _open(data_key, header.file_id, node, name)
        old_meta = _meta_of(node)
        kept = _history_nodes(profile.body, node.path)[: max(keep - 1, 0)]
        entries = [
            (old_source, _vtype(node), {**old_meta, m.SUPERSEDED: today}),
            *[(_open(data_key, header.file_id, h, name), _vtype(h), _meta_of(h)) for h in kept],
        ][:keep]
        items = dict(m.normalise(m.apply_changes({**old_meta, m.ROTATED: today}, changes or {})))
        source = scalars.render(new_value, "str")
        _rewrite(profile, data_key, node, (source, "str", items), entries, target)
    return Outcome(name, dotted, items, old_value=_decoded(old_source), new_value=new_value)


def rollback(
    file: str | os.PathLike[str], dotted: str, keys: KeySource, *, now: date | None = None
) -> Outcome:
    """Swap the current value with the newest kept one (so a second rollback undoes it)."""
    target = Path(file)
    with opened(target, keys) as (profile, data_key, header):
        name = str(target)
        node = _value_node(profile.body, dotted, header.plain, name)
        history = _history_nodes(profile.body, node.path)
        if not history:
            raise InputError(f"{name}: {dotted!r} has no kept history to roll back to")
        newest = history[0]
        newest_meta = _meta_of(newest)
        if not sealing.is_token(newest) or m.SUPERSEDED not in newest_meta:
            raise InputError(
                f"{name}: the kept history of {dotted!r} was not written by rotate-secret; "
                "refusing to restore it",
                hints=("inspect it with: sealedcfg history", "remove it with: sealedcfg unset"),
            )
        if not sealing.is_token(node):
            raise InputError(f"{name}: {dotted!r} is not sealed; seal it with sealedcfg encrypt")
        today = (now or m.today()).isoformat()
        current = (
            _open(data_key, header.file_id, node, name),
            _vtype(node),
            {**_meta_of(node), m.SUPERSEDED: today},
        )
        restored_meta = {k: v for k, v in newest_meta.items() if k != m.SUPERSEDED}
        restored = (_open(data_key, header.file_id, newest, name), _vtype(newest), restored_meta)
        rest = [
            (_open(data_key, header.file_id, h, name), _vtype(h), _meta_of(h)) for h in history[1:]
        ]
        _rewrite(profile, data_key, node, restored, [current, *rest], target)
    return Outcome(name, dotted, restored_meta, old_value=_decoded(current[0]))


def _rewrite(
    profile: sealing.Profile,
    data_key: bytes,
    node: Node,
    current: tuple[str, str, dict[str, str]],
    entries: list[tuple[str, str, dict[str, str]]],
    target: Path,
) -> None:
    """The value at `node` and its whole history slot, sealed in one write.

    Sources are never spliced as plaintext: placeholders take their places,
    and the tokens sealed with metadata replace them.
    """
    text = document.splice(profile.body.text, [(node.start, node.end, _PLACEHOLDER)])
    text = _with_history(text, profile.name, node.path, len(entries), profile.newline)
    wants = {node.path: _Want(current[0], current[1], m.normalise(current[2]))}
    slot = (node.path[0], HISTORY_KEY, history_name(node.path))
    for i, (source, vtype, items) in enumerate(entries):
        wants[(*slot, i)] = _Want(source, vtype, m.normalise(items))
    _commit(profile, data_key, text, wants, target)


def current_value(
    file: str | os.PathLike[str], dotted: str, keys: KeySource, *, reveal: bool
) -> str | None:
    """Authenticate the file and check `dotted` can rotate; its value only if `reveal`.

    Run before a provider mints anything, so a wrong key or a bad path never
    leaves a freshly issued secret unrecorded.
    """
    target = Path(file)
    with opened(target, keys) as (profile, data_key, header):
        node = _value_node(profile.body, dotted, header.plain, str(target))
        if not sealing.is_token(node):
            raise InputError(f"{target}: {dotted!r} is not sealed; seal it with sealedcfg encrypt")
        if not reveal:
            return None
        return _decoded(_open(data_key, header.file_id, node, str(target)))
