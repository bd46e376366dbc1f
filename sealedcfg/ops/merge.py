"""Three-way merge of sealed files per key (the git merge driver), in memory.

The decision is made on *facts*: for every node path, its kind, tag, anchor
and opened value (type, metadata and plaintext for a token).  A path changed
on one side takes that side's fact; changed on both sides to different facts
is a conflict on that path.  The text is then merged line by line, with two
differences from `git merge-file`: tokens of equal values are first made
textually equal (so re-sealing or a rotation is no change), and edits that
only touch each other (adjacent keys) do not conflict.  The merged text must
then hold exactly the merged facts, or nothing is written.  Plaintext lives
only in memory; the one file written is sealed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from difflib import SequenceMatcher
from typing import NamedTuple

from sealedcfg import git
from sealedcfg.base.encoding import KeyPath
from sealedcfg.base.fileio import read_bytes, write_atomic
from sealedcfg.engine import access, sealing
from sealedcfg.engine.keys import KeySource
from sealedcfg.errors import InputError, OpenError, VerifyFailed
from sealedcfg.format import crypto, envelope
from sealedcfg.format import token as tokens
from sealedcfg.format.envelope import Header
from sealedcfg.yamltext import document


class MergeConflict(VerifyFailed):
    """Exit 1, as git expects from a driver that leaves a conflict."""


class Fact(NamedTuple):
    """What a node is, for comparing versions (diff, log, merge).

    A named tuple, not a frozen dataclass: `diff` builds one per node of each
    side, up to 250,000 each for a hostile file, at a fifth of the cost."""

    kind: str
    tag: str
    anchor: str
    sealed: bool = False
    vtype: str = ""
    meta: tuple[tuple[str, str], ...] = ()
    content: str = ""  # plaintext: never shown

    def __repr__(self) -> str:
        return (
            f"Fact(kind={self.kind!r}, tag={self.tag!r}, anchor={self.anchor!r}, "
            f"sealed={self.sealed!r}, vtype={self.vtype!r}, meta={self.meta!r})"
        )


@dataclass
class Side:
    profile: sealing.Profile
    header: Header
    data_key: bytes
    facts: dict[KeyPath, Fact]


def open_fact(node: document.Node, text: str, data_key: bytes, file_id: bytes) -> Fact:
    """The node's fact; crypto.AuthError if its token does not open here."""
    tag, anchor = node.tag or "", node.anchor or ""
    if sealing.is_token(node):
        content = sealing.open_token(data_key, file_id, node)  # parses a valid token
        tok = tokens.parse(node.value)
        return Fact(node.kind, tag, anchor, True, tok.vtype, tok.meta, content)
    if node.kind == "scalar":
        return Fact(node.kind, tag, anchor, content=text[node.start : node.end])
    return Fact(node.kind, tag, anchor, content=node.value)


def load_side(data: bytes, name: str, keys: KeySource, place: str | None = None) -> Side:
    """Parse and fully verify one input (commitment, MAC, every token)."""
    profile = sealing.read_profile(data, name, place)
    if profile.header is None:
        raise InputError(f"{name}: not a sealed file (no sealedcfg header); refusing to merge")
    header = profile.header
    data_key = access.open_data_key(header, keys, name)
    try:
        sealing.open_checked(profile, data_key)
        text = profile.body.text
        facts = {n.path: open_fact(n, text, data_key, header.file_id) for n in profile.body.nodes}
    except crypto.AuthError:
        raise OpenError(name) from None
    return Side(profile, header, data_key, facts)


def merge_facts(
    base: dict[KeyPath, Fact], ours: dict[KeyPath, Fact], theirs: dict[KeyPath, Fact]
) -> tuple[dict[KeyPath, Fact], list[KeyPath]]:
    result: dict[KeyPath, Fact] = {}
    conflicts: list[KeyPath] = []
    for path in sorted({*base, *ours, *theirs}, key=_sort_key):
        b, o, t = base.get(path), ours.get(path), theirs.get(path)
        if o == t or t == b:
            pick = o
        elif o == b:
            pick = t
        else:
            conflicts.append(path)
            continue
        if pick is not None:
            result[path] = pick
    return result, conflicts


def _sort_key(path: KeyPath) -> tuple[tuple[int, str], ...]:
    return tuple((0, f"{s:020d}") if isinstance(s, int) else (1, s) for s in path)


def _normalise(side: Side, ref: Side) -> str:
    """SIDE's body text with each token whose fact equals REF's replaced by REF's token."""
    text, ref_text = side.profile.body.text, ref.profile.body.text
    ref_nodes = {n.path: n for n in ref.profile.body.nodes}
    edits = []
    for n in side.profile.body.nodes:
        r = ref_nodes.get(n.path)
        if r is None or n.kind != "scalar" or r.kind != "scalar":
            continue
        if (
            side.facts[n.path] == ref.facts[n.path]
            and text[n.start : n.end] != ref_text[r.start : r.end]
        ):
            edits.append((n.start, n.end, ref_text[r.start : r.end]))
    return document.splice(text, edits)


def _edits(a: list[str], b: list[str]) -> list[tuple[int, int, list[str]]]:
    ops = SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
    return [(i1, i2, b[j1:j2]) for tag, i1, i2, j1, j2 in ops if tag != "equal"]


def merge_lines(base: list[str], ours: list[str], theirs: list[str]) -> list[str] | None:
    """Apply both sides' line edits to BASE; None when two edits overlap.

    Unlike diff3, edits that merely touch (one ends where the other starts) and
    insertions at the same place (ours first) are both kept: facts are checked
    afterwards, so a wrong placement cannot go unnoticed.
    """
    edits = sorted(
        [(*e, 0) for e in _edits(base, ours)] + [(*e, 1) for e in _edits(base, theirs)],
        key=lambda e: (e[0], e[1], e[3]),
    )
    out: list[str] = []
    pos = 0
    last: tuple[int, int, list[str]] | None = None
    for start, end, lines, _side in edits:
        if last is not None and (start, end, lines) == last:
            continue  # the same edit on both sides
        if start < pos:
            return None
        out += base[pos:start] + lines
        pos = end
        last = (start, end, lines)
    return out + base[pos:]


def merge_bytes(
    base: bytes,
    ours: bytes,
    theirs: bytes,
    name: str,
    keys: KeySource,
    place: str | None = None,
) -> bytes:
    """The merged sealed file; MergeConflict naming paths (never values) otherwise."""
    b = load_side(base, f"{name} (base)", keys, place)
    o = load_side(ours, f"{name} (ours)", keys, place)
    t = load_side(theirs, f"{name} (theirs)", keys, place)
    expected, conflicts = merge_facts(b.facts, o.facts, t.facts)
    documents = max(s.profile.body.documents for s in (b, o, t))
    if conflicts:
        shown = _paths(conflicts, documents)
        raise MergeConflict(f"merge conflict in {name}: changed on both sides: {shown}")
    target = _target(b, o, t, name)
    # Equal values get equal token text (ours first, then base), so that only
    # real changes remain as line edits.
    b = _with_text(b, _normalise(b, o), name)
    t = _with_text(t, _normalise(t, o), name)
    base_text, theirs_text = b.profile.body.text, _normalise(t, b)
    lines = merge_lines(
        base_text.splitlines(keepends=True),
        o.profile.body.text.splitlines(keepends=True),
        theirs_text.splitlines(keepends=True),
    )
    if lines is None:  # two edits on one line (a flow mapping): merge value by value
        lines = merge_lines(
            _atoms(b.profile.body),
            _atoms(o.profile.body),
            _atoms(_with_text(t, theirs_text, name).profile.body),
        )
    if lines is None:
        raise MergeConflict(f"merge conflict in {name}: overlapping edits outside values")
    try:
        merged = document.parse("".join(lines), name)
    except InputError:  # e.g. the same new key inserted at two places
        raise MergeConflict(f"merge conflict in {name}: the merged text is not valid") from None
    return _seal_merged(merged, expected, target, [o, t, b], o.profile, name, documents)


def _atoms(body: document.Body) -> list[str]:
    """The text cut at line ends and around every scalar: a value is a unit of its own."""
    text, pos, out = body.text, 0, []
    for node in sorted((n for n in body.nodes if n.kind == "scalar"), key=lambda n: n.start):
        if node.start < pos:
            continue
        out += text[pos : node.start].splitlines(keepends=True)
        out.append(text[node.start : node.end])
        pos = node.end
    return out + text[pos:].splitlines(keepends=True)


def _with_text(side: Side, text: str, name: str) -> Side:
    return replace(side, profile=replace(side.profile, body=document.parse(text, name)))


def _paths(paths: list[KeyPath], documents: int) -> str:
    shown = ", ".join(document.format_path(p, documents) for p in paths[:10])
    return shown + (f" and {len(paths) - 10} more" if len(paths) > 10 else "")


def _target(b: Side, o: Side, t: Side, name: str) -> Side:
    """Whose header (recipients, data key) the result keeps: the side that changed it."""

    def ident(h: Header) -> Header:
        return replace(h, mac=b"")

    ob, tb = ident(o.header) != ident(b.header), ident(t.header) != ident(b.header)
    if ob and tb and ident(o.header) != ident(t.header):
        raise MergeConflict(f"merge conflict in {name}: keys or recipients changed on both sides")
    return t if tb and not ob else o


def _seal_merged(
    merged: document.Body,
    expected: dict[KeyPath, Fact],
    target: Side,
    sides: list[Side],
    ours: sealing.Profile,
    name: str,
    documents: int,
) -> bytes:
    text = merged.text
    fid, dk = target.header.file_id, target.data_key
    edits = []
    got: dict[KeyPath, Fact] = {}
    for n in merged.nodes:
        fact = None
        for i, side in enumerate([target, *sides]):
            try:
                fact = open_fact(n, text, side.data_key, side.header.file_id)
            except crypto.AuthError:
                continue
            if i and fact.sealed:  # a token from a side with another data key: re-seal
                tok = sealing.seal_node(dk, fid, n, fact.content, fact.meta, fact.vtype)
                edits.append((n.start, n.end, tok))
            break
        if fact is not None:
            got[n.path] = fact
    if got != expected:
        bad = sorted(
            {*got, *expected} - {p for p in got if got[p] == expected.get(p)}, key=_sort_key
        )
        shown = ", ".join(document.format_path(p, documents) for p in bad[:10])
        raise MergeConflict(f"merge conflict in {name}: cannot place the changes of {shown}")
    body = document.parse(document.splice(text, edits), name)
    try:
        plain = sealing.opened_body(name, body, target.header, dk)
    except crypto.AuthError:
        raise OpenError(name) from None
    header = sealing.finish_header(target.header, dk, plain, name, sealed=body)
    out = ours.to_bytes(body.text, header)
    check = sealing.read_profile(out, name)  # the result must open as a whole
    try:
        sealing.open_body(check, dk)
    except crypto.AuthError:
        raise OpenError(name) from None
    return out


def merge_driver(
    base: str | os.PathLike[str],
    ours: str | os.PathLike[str],
    theirs: str | os.PathLike[str],
    pathname: str | None,
    keys: KeySource,
) -> None:
    """git's merge driver contract: write the result to OURS, or raise leaving it untouched."""
    name = pathname or str(ours)
    sides = read_bytes(base), read_bytes(ours), read_bytes(theirs)
    if not any(envelope.is_sealed(side) for side in sides):
        # A plain file the attributes' pattern also matches (config/*.yaml): git's
        # own text merge, as if no driver were set.  No value is sealed, so there is
        # nothing to authenticate.
        merged, conflicts = git.merge_file(ours, base, theirs)
        write_atomic(ours, merged)
        if conflicts:
            raise MergeConflict(f"merge conflict in {name} (a plain file: git's text merge)")
        return
    # git gives the repository path (%P); the three inputs are temporary files.
    place = pathname.replace(os.sep, "/") if pathname else None
    write_atomic(ours, merge_bytes(*sides, name, keys, place))
