"""Per-key history of a sealed file from git, without a key.

Each commit that touched the file is compared with the next older one by node
records (token text for sealed values): which keys were added, changed or
removed.  A re-seal of an unchanged value shows as changed; that is the price
of needing no key, and it is rare because unchanged values keep their tokens.

Header changes are listed as events (headerview): recipients added or removed,
the plaintext rule, the format version.  A data-key rotation re-seals every
value, so it is one event, and a value whose token changed only with it (same
type and metadata) is not listed as changed: without a key the two cannot be
told apart, and the event says every sealed value was re-sealed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from sealedcfg import git as gitio
from sealedcfg.base.encoding import KeyPath
from sealedcfg.engine import sealing
from sealedcfg.errors import InputError
from sealedcfg.format.envelope import Header
from sealedcfg.ops import diffing
from sealedcfg.ops.headerview import Event, events, rotated
from sealedcfg.ops.merge import Fact
from sealedcfg.yamltext import document, paths


@dataclass(frozen=True)
class Entry:
    commit: str
    author: str
    date: str
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    header: list[Event] = field(default_factory=list)

    @property
    def short(self) -> str:
        return self.commit[:9]

    def lines(self) -> list[str]:
        out = [f"{self.short} {self.date} {self.author}"]
        out += [f"  ! {e.line()}" for e in self.header]
        out += [f"  + {p}" for p in self.added]
        out += [f"  ~ {p}" for p in self.changed]
        out += [f"  - {p}" for p in self.removed]
        return out

    def as_dict(self) -> dict[str, object]:
        return {
            "commit": self.commit,
            "author": self.author,
            "date": self.date,
            "added": self.added,
            "changed": self.changed,
            "removed": self.removed,
            "header": [e.as_dict() for e in self.header],
        }


def _matches(shown: str, prefix: str | None) -> bool:
    """Is SHOWN the dotted PREFIX or below it (`db` matches `db.password`)?"""
    if prefix is None:
        return True
    return shown == prefix or shown.startswith(prefix + ".") or shown.startswith(prefix + ":")


def _header(data: bytes, name: str) -> Header | None:
    # diffing.facts read the same bytes first: a version that does not parse stopped there
    return sealing.read_profile(data, name).header if data else None


def _reseal_only(a: Fact, b: Fact) -> bool:
    """Both sealed, same kind/tag/anchor, and the token's type and metadata unchanged."""
    return (
        a.sealed
        and b.sealed
        and (a.kind, a.tag, a.anchor) == (b.kind, b.tag, b.anchor)
        and a.content.rpartition(";")[0] == b.content.rpartition(";")[0]
    )


def key_log(file: str | os.PathLike[str], dotted: str | None = None) -> list[Entry]:
    """History of FILE, newest first; with DOTTED only commits touching that path."""
    if dotted is not None:
        paths.split(dotted)  # refuse a malformed path before walking history
    top, rel = gitio.repo_path(file)
    commits = gitio.log_follow(rel, top)
    if not commits:
        raise InputError(f"{file}: no committed history")
    # git log lists newest first; each version is compared with the next older one.
    olders = [*commits[1:], None]
    entries = (_entry(c, older, rel, top, dotted) for c, older in zip(commits, olders, strict=True))
    return [e for e in entries if e is not None]


def _entry(
    commit: gitio.Commit, older: gitio.Commit | None, rel: str, top: Path, dotted: str | None
) -> Entry | None:
    """What COMMIT changed against OLDER (under DOTTED); None when it touched nothing there."""
    new = gitio.blob(commit.sha, commit.path, top) or b""
    old = (gitio.blob(older.sha, older.path, top) or b"") if older else b""
    name = f"{rel}@{commit.sha[:9]}"
    a, docs_a = diffing.facts(old, name + "^", None)
    b, docs_b = diffing.facts(new, name, None)
    documents = max(docs_a, docs_b, 1)
    head_a, head_b = _header(old, name + "^"), _header(new, name)
    folded: list[KeyPath] = []
    if rotated(head_a, head_b):  # one event, not every value changed
        folded = [p for p, fa in a.items() if p in b and _reseal_only(fa, b[p])]
        b = {**b, **{p: a[p] for p in folded}}
    entry = Entry(commit.sha, commit.author, commit.date, header=events(head_a, head_b))
    lists = {"+": entry.added, "~": entry.changed, "-": entry.removed}
    for change in diffing.compare(a, b, documents, show=False):
        if _matches(change.path, dotted):
            lists[change.op].append(change.path)
    if dotted is None or entry.added or entry.changed or entry.removed:
        return entry
    touched = any(_matches(document.format_path(p, documents), dotted) for p in folded)
    return entry if touched else None
