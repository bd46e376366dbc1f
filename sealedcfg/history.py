"""Per-key history of a sealed file from git, without a key.

Each commit that touched the file is compared with the next older one by node
records (token text for sealed values): which keys were added, changed or
removed.  A re-seal of an unchanged value shows as changed; that is the price
of needing no key, and it is rare because unchanged values keep their tokens.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from sealedcfg import diffing, gitio, paths
from sealedcfg.errors import InputError


@dataclass(frozen=True)
class Entry:
    commit: str
    author: str
    date: str
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    @property
    def short(self) -> str:
        return self.commit[:9]

    def lines(self) -> list[str]:
        out = [f"{self.short} {self.date} {self.author}"]
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
        }


def _matches(shown: str, prefix: str | None) -> bool:
    """Is SHOWN the dotted PREFIX or below it (`db` matches `db.password`)?"""
    if prefix is None:
        return True
    return shown == prefix or shown.startswith(prefix + ".") or shown.startswith(prefix + ":")


def key_log(file: str | os.PathLike[str], dotted: str | None = None) -> list[Entry]:
    """History of FILE, newest first; with DOTTED only commits touching that path."""
    if dotted is not None:
        paths.split(dotted)  # refuse a malformed path before walking history
    top, rel = gitio.repo_path(file)
    commits = gitio.log_follow(rel, top)
    if not commits:
        raise InputError(f"{file}: no committed history")
    entries = []
    # git log lists newest first; each version is compared with the next older one.
    for i, commit in enumerate(commits):
        new = gitio.blob(commit.sha, commit.path, top) or b""
        older = commits[i + 1] if i + 1 < len(commits) else None
        old = (gitio.blob(older.sha, older.path, top) or b"") if older else b""
        name = f"{rel}@{commit.sha[:9]}"
        a, docs_a = diffing.facts(old, name + "^", None)
        b, docs_b = diffing.facts(new, name, None)
        entry = Entry(commit.sha, commit.author, commit.date)
        for change in diffing.compare(a, b, max(docs_a, docs_b, 1), show=False):
            if not _matches(change.path, dotted):
                continue
            {"+": entry.added, "~": entry.changed, "-": entry.removed}[change.op].append(
                change.path
            )
        if dotted is None or entry.added or entry.changed or entry.removed:
            entries.append(entry)
    return entries
