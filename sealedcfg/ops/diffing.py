"""Key-level diff of two versions of a profile, and the git textconv filter.

Without a key, two versions are compared by their node records: a sealed value
whose token changed counts as changed (a re-seal of the same value included).
With a key both sides are verified and compared by opened value, so only real
changes show.  Values are masked unless asked for, and then need a key.
"""

from __future__ import annotations

import contextlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from sealedcfg import git
from sealedcfg.base.encoding import KeyPath
from sealedcfg.base.fileio import read_bytes
from sealedcfg.engine import access, sealing
from sealedcfg.engine.keys import NO_KEY_HINTS, KeySource
from sealedcfg.errors import InputError, NoKeyError, OpenError, UsageError
from sealedcfg.format import crypto
from sealedcfg.ops.merge import Fact, open_fact
from sealedcfg.yamltext import document

MASK = "***"
OPS = {"+": "added", "-": "removed", "~": "changed"}


@dataclass(slots=True)  # not frozen: one per changed path, 250,000 for a hostile file
class Change:
    op: str  # "+" | "-" | "~"
    path: str
    old: str | None
    new: str | None

    def line(self) -> str:
        if self.op == "~":
            return f"~ {self.path}: {self.old} -> {self.new}"
        return f"{self.op} {self.path}: {self.new if self.op == '+' else self.old}"

    def as_dict(self) -> dict[str, str | None]:
        return {"op": OPS[self.op], "path": self.path, "old": self.old, "new": self.new}


def no_prompt(_: str) -> str:
    """A prompt that never asks: textconv and merge run under git, maybe without a user."""
    raise NoKeyError("no key or passphrase available", hints=NO_KEY_HINTS)


def facts(data: bytes, name: str, keys: KeySource | None) -> tuple[dict[KeyPath, Fact], int]:
    """Each node's fact; opened (and verified) when KEYS opens the file, else as written."""
    data_key = None
    if keys is not None:
        # Whether a key opens it, from the header alone: a caller that gets
        # NoKeyError retries without keys, and must not have parsed the body.
        with contextlib.suppress(InputError):  # read_profile says what is wrong
            early = access.read_header(data, name)
            if early is not None:
                data_key = access.open_data_key(early, keys, name)
    profile = sealing.read_profile(data, name)
    text, header = profile.body.text, profile.header
    if data_key is None and header is not None and keys is not None:
        data_key = access.open_data_key(header, keys, name)
    try:
        if data_key is not None and header is not None:
            sealing.open_checked(profile, data_key)
            out = {n.path: open_fact(n, text, data_key, header.file_id) for n in profile.body.nodes}
        else:
            out = {n.path: _as_written(n, text) for n in profile.body.nodes}
    except crypto.AuthError:
        raise OpenError(name) from None
    return out, profile.body.documents


def _as_written(node: document.Node, text: str) -> Fact:
    content = text[node.start : node.end] if node.kind == "scalar" else node.value
    return Fact(
        node.kind, node.tag or "", node.anchor or "", sealing.is_token(node), "", (), content
    )


def compare(
    old: dict[KeyPath, Fact], new: dict[KeyPath, Fact], documents: int, *, show: bool
) -> list[Change]:
    """Changed leaves; a collection only when it is empty or its own kind/tag/anchor changed."""
    changes = []
    # Paths with a child, each side: one set, not a scan of every path per
    # added or removed collection (quadratic: 120,000 empty lists never ended).
    old_parents = {p[:-1] for p in old}
    new_parents = {p[:-1] for p in new}
    # Only what differs is sorted, and in document order (new, then what old
    # alone has): mostly sorted already, which the sort runs through in one pass.
    differ = [p for p, b in new.items() if len(p) > 1 and old.get(p) != b]
    differ += [p for p in old if len(p) > 1 and p not in new]
    for path in sorted(differ, key=_sort_key):
        a, b = old.get(path), new.get(path)
        if a is not None and b is not None:
            op = "~"
        elif b is not None:
            op = "+"
            if path in new_parents:
                continue
        else:
            op = "-"
            if path in old_parents:
                continue
        changes.append(
            Change(op, document.format_path(path, documents), _shown(a, show), _shown(b, show))
        )
    return changes


def _sort_key(path: KeyPath) -> tuple[tuple[int, int | str], ...]:
    # Indices (never negative) before keys at each level; an int is only ever
    # compared with an int, since the tag before it differs from a key's.
    return tuple([(0, s) if type(s) is int else (1, s) for s in path])


def _shown(fact: Fact | None, show: bool) -> str | None:
    if fact is None:
        return None
    if not show:
        return MASK
    if fact.kind in ("map", "seq"):
        return "{}" if fact.kind == "map" else "[]"
    if fact.kind == "alias":
        return f"*{fact.content}"
    # Multi-line sources (block scalars) stay on one output line.
    return json.dumps(fact.content) if "\n" in fact.content else fact.content


def diff_bytes(
    old: bytes, new: bytes, names: tuple[str, str], keys: KeySource, *, show: bool
) -> list[Change]:
    """Key-level changes from OLD to NEW.  With `show`, a key is required."""
    # One side at a time, its parse dropped once its facts are built: a hostile
    # file's parse is a hundred MB or more.  Old is read again, as written, only
    # if it opened and new does not (both sides are compared the same way).
    keyed: KeySource | None = keys
    try:
        a, docs_a = facts(old, names[0], keyed)
    except NoKeyError:
        if show:
            raise
        keyed = None
        a, docs_a = facts(old, names[0], None)
    try:
        b, docs_b = facts(new, names[1], keyed)
    except NoKeyError:
        if show:
            raise
        b, docs_b = facts(new, names[1], None)
        a, docs_a = facts(old, names[0], None)
    return compare(a, b, max(docs_a, docs_b, 1), show=show)


def diff_files(files: list[Path], rev: str | None, keys: KeySource, *, show: bool) -> list[Change]:
    """`sealedcfg diff`: OLD NEW, or FILE against its committed version at REV (HEAD)."""
    if len(files) == 2 and rev is None:
        old, new = read_bytes(files[0]), read_bytes(files[1])
        names = (str(files[0]), str(files[1]))
    elif len(files) == 1:
        new = read_bytes(files[0])
        top, rel = git.repo_path(files[0])
        sha = git.resolve_rev(rev or "HEAD", top)
        old = git.blob(sha, rel, top) or b""
        names = (f"{rel}@{rev or 'HEAD'}", str(files[0]))
    else:
        raise UsageError("give FILE [--rev REV] or OLD NEW")
    if not show:  # a key helps but is not needed: never prompt for one
        keys.prompt = no_prompt
    return diff_bytes(old, new, names, keys, show=show)


def textconv_file(path: Path, keys: KeySource) -> bytes:
    return textconv(read_bytes(path), str(path), keys)


def textconv(data: bytes, name: str, keys: KeySource) -> bytes:
    """What `git diff` shows for a sealed file: plaintext if a key opens it, else the file;
    then the header's facts as comment lines (headerview), so recipient, rule and
    version changes read as plain lines in a diff, with or without a key.

    Never fails for lack of a key (git would abort the whole diff); a file that
    does not open with the key given is shown as it is, with a warning.
    """
    from sealedcfg.ops import headerview

    try:
        profile = sealing.read_profile(data, name)
    except InputError:
        return data
    if profile.header is None:
        return data
    try:
        shown = profile.to_bytes(access.open_profile(profile, keys).text, None)
    except NoKeyError:
        shown = data
    except (OpenError, InputError) as exc:  # git would abort the whole diff on an error
        print(f"sealedcfg: warning: {exc.message}; showing it sealed", file=sys.stderr)
        shown = data
    newline = profile.newline.encode()
    if shown and not shown.endswith(b"\n"):
        shown += newline
    return shown + headerview.trailer(profile.header, profile.newline).encode()
