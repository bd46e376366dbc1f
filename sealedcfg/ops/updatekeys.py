"""`updatekeys`: make each sealed file's recipients equal to its creation rule's.

The rules file is attacker-writable, so a change is shown in full (every
recipient added or removed, with its public id and label) and written only
once the user confirms it; a rule that lists no recipient the user can open
with is refused (it would lock the user out, or hand the file to strangers).
Removing a recipient rotates the data key, as `recipients remove` does: the
removed holder knew it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from sealedcfg.base.display import printable
from sealedcfg.base.fileio import locked, read_bytes, write_atomic
from sealedcfg.engine import rules, sealing
from sealedcfg.engine.access import open_locked, with_header
from sealedcfg.engine.keys import KeySource
from sealedcfg.errors import InputError, NoKeyError, OpenError, UsageError
from sealedcfg.format import crypto, envelope
from sealedcfg.format.envelope import Header
from sealedcfg.recipients import table
from sealedcfg.recipients.base import Options, Recipient, Target, quote_label

#: Files looked at when updatekeys walks the repository for files its rules match.
MAX_WALK = 100_000


@dataclass
class Change:
    path: str
    rule: str  # the rule's pattern as written
    target: list[Target]  # the rule's recipients, in its order
    added: list[Target] = field(default_factory=list)
    removed: list[Recipient] = field(default_factory=list)
    relabeled: list[tuple[Recipient, str | None]] = field(default_factory=list)

    @property
    def pending(self) -> bool:
        return bool(self.added or self.removed or self.relabeled)

    def lines(self) -> list[str]:
        out = [f"{printable(str(self.path))}: (rule {self.rule!r})"]
        out += [f"  + {_target(t)}" for t in self.added]
        out += [f"  - {r.describe()}" for r in self.removed]
        out += [f"  ~ {r.describe()} label -> {quote_label(lb)}" for r, lb in self.relabeled]
        if self.removed:
            out.append("    (the data key is rotated: a removed holder knew it)")
        return out


def _target(t: Target) -> str:
    text = " ".join(part for part in (t.kind, t.ident) if part)
    return f"{text} ({quote_label(t.label)})" if t.label is not None else text


def _key(kind: str, ident: str) -> tuple[str, str]:
    return (kind, ident)


def plan_file(path: str | os.PathLike[str], ruleset: rules.Rules | None = None) -> Change:
    """What updatekeys would change in PATH (no key needed; only the header is parsed)."""
    name = str(path)
    ruleset = ruleset or rules.load(rules.find_rules_file(os.path.dirname(os.path.abspath(name))))
    rule = ruleset.match(name) if ruleset else None
    if rule is None or not rule.recipients:
        raise InputError(
            f"{name}: no creation rule with recipients matches this file",
            hints=(f"add one to {rules.RULES_NAME} (see README, Team setup)",),
        )
    _, header_text = envelope.split(sealing.decode(read_bytes(path), name)[1])
    if header_text is None:
        raise InputError(f"{name}: not a sealed file (no sealedcfg header)")
    return plan(name, rule, table.parse_header(header_text, name))


def plan(name: str, rule: rules.CreationRule, header: Header) -> Change:
    current = table.recipients(header)
    wanted = {_key(t.kind, t.ident): t for t in rule.recipients}
    have = {_key(r.kind, r.ident()) for r in current}
    change = Change(name, rule.source, list(rule.recipients))
    change.added = [t for k, t in wanted.items() if k not in have]
    for r in current:
        t = wanted.get(_key(r.kind, r.ident()))
        if t is None:
            change.removed.append(r)
        elif t.label != r.label:
            change.relabeled.append((r, t.label))
    return change


def matching_files(start: str | os.PathLike[str] | None = None) -> list[Path]:
    """Sealed files under the rules file's directory that a rule with recipients matches."""
    file = rules.find_rules_file(start)
    ruleset = rules.load(file) if file else None
    if ruleset is None:
        raise InputError(
            f"no {rules.RULES_NAME} found from here up to the repository root",
            hints=("name the files, or run where the rules file applies",),
        )
    out = []
    for path in _walk(ruleset.root):
        rule = ruleset.match(path)
        if rule is not None and rule.recipients and _is_sealed(path):
            out.append(Path(os.path.relpath(path)) if path.is_relative_to(Path.cwd()) else path)
    return out


def _walk(root: Path) -> Iterator[Path]:
    seen = 0
    for directory, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d != ".git")
        for name in sorted(files):
            seen += 1
            if seen > MAX_WALK:
                raise InputError(
                    f"{root}: more than {MAX_WALK:,} files to look at; name the files instead"
                )
            yield Path(directory) / name


def _is_sealed(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            data = fh.read(64 << 20)
    except OSError:
        return False
    return b"\nsealedcfg:" in data or data.startswith(b"sealedcfg:")


def check_holds(change: Change, keys: KeySource) -> None:
    """Refuse a rule that lists no recipient the user can open with."""
    if not any(table.kind(t.kind, change.path).holds(t, keys) for t in change.target):
        raise NoKeyError(
            f"{change.path}: the rule {change.rule!r} lists no recipient you can open with; "
            "nothing written",
            hints=(
                "updating would lock you out (or hand the file to the rule's recipients only)",
                "check the rules file; give your key, identity or passphrase if it is listed",
            ),
        )


def rewritten(
    change: Change,
    rule: rules.CreationRule,
    keys: KeySource,
    opened_file: tuple[sealing.Profile, bytes, Header],
) -> bytes:
    """The file's new bytes with the rule's recipients (after `check_holds`),
    from the file as `access.opened` read it under its lock."""
    name = change.path
    profile, data_key, header = opened_file
    fresh = plan(name, rule, header)  # the file under the lock is the one changed
    if (fresh.added, fresh.removed, fresh.relabeled) != (
        change.added,
        change.removed,
        change.relabeled,
    ):
        raise InputError(f"{name}: changed since the plan was shown; run updatekeys again")
    labels = {_key(t.kind, t.ident): t.label for t in change.target}
    removed = {id(r) for r in change.removed}
    keep = [
        replace(r, label=labels[_key(r.kind, r.ident())])  # type: ignore[type-var]
        for r in table.recipients(header)
        if id(r) not in removed and _key(r.kind, r.ident()) in labels
    ]
    table.check_budget(
        [
            *table.budget_of(keep),
            *((t.kind, table.kind(t.kind, name).target_work(Options())) for t in change.added),
        ],
        name,
    )
    try:
        if change.removed:
            from sealedcfg.ops.rotation import rotate_for

            return rotate_for(
                profile, data_key, replace(header, recipients=tuple(keep)), keys, change.added
            )
        added = [
            table.kind(t.kind, name).wrap(t, keys, data_key, header.file_id, Options())
            for t in change.added
        ]
        return with_header(profile, replace(header, recipients=(*keep, *added)), data_key)
    except crypto.AuthError:
        raise OpenError(name) from None


def apply_all(
    changes: Sequence[Change], rule_of: dict[str, rules.CreationRule], keys: KeySource
) -> None:
    """All or nothing: every file is locked and rewritten in memory before the
    first is written, so a file that fails (a key that does not open it, a
    budget) leaves every file as it was.  Locks are taken in one order (real
    paths sorted), so two runs over the same files cannot hold one each."""
    by_real = {os.path.realpath(c.path): c for c in reversed(changes)}  # one per file
    _open_files_for(len(by_real))
    with contextlib.ExitStack() as stack:
        outs = []
        for real in sorted(by_real):
            change = by_real[real]
            data = stack.enter_context(locked(change.path))  # held until all are written
            # The parse lives only while this file is rewritten: the bytes are what stay.
            rule, opened_file = rule_of[change.path], open_locked(change.path, data, keys)
            outs.append((change.path, rewritten(change, rule, keys, opened_file)))
            del opened_file
        for name, out in outs:
            write_atomic(name, out)


def _open_files_for(locks: int) -> None:
    """Room for one open lock per file (the soft limit is often 1,024); refused
    before anything is read when the hard limit leaves none."""
    import resource

    need = locks + 64  # the interpreter's own, git's pipes
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < need:
        if hard != resource.RLIM_INFINITY and hard < need:
            raise UsageError(
                f"{locks} files are more than one update can hold open (limit {hard}); "
                "nothing written",
                hints=("give fewer FILE arguments per run",),
            )
        resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))


def updatekeys(
    files: Sequence[str | os.PathLike[str]],
    keys: KeySource,
    *,
    confirm: Callable[[str], bool] | None,
    show: Callable[[str], None],
) -> list[Change]:
    """Plan every file, show the changes, ask once (CONFIRM; None: already confirmed,
    --yes), then write.  Returns the changes written."""
    paths = [Path(f) for f in files] or matching_files()
    # One file named twice (`prod.yaml ./prod.yaml`) is one change, shown once.
    first: dict[str, Path] = {}
    for p in paths:
        first.setdefault(os.path.realpath(p), p)
    paths = list(first.values())
    found: dict[Path | None, rules.Rules | None] = {}  # one parse per rules file
    plans: list[Change] = []
    rule_of: dict[str, rules.CreationRule] = {}
    for p in paths:
        where = rules.find_rules_file(os.path.dirname(os.path.abspath(p)))
        if where not in found:
            found[where] = rules.load(where) if where else None
        change = plan_file(p, found[where])
        plans.append(change)
        ruleset = found[where]
        assert ruleset is not None  # plan_file found a rule
        rule = ruleset.match(p)
        assert rule is not None  # plan_file found it
        rule_of[change.path] = rule
    pending = [c for c in plans if c.pending]
    for c in plans:
        if not c.pending:
            show(f"{printable(str(c.path))}: recipients already match the rule")
    if not pending:
        return []
    for c in pending:
        check_holds(c, keys)
        for line in c.lines():
            show(line)
    if confirm is not None and not confirm(f"update {len(pending)} file(s)?"):
        raise UsageError("not confirmed; nothing written")
    apply_all(pending, rule_of, keys)
    return pending
