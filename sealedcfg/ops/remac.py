"""`sealedcfg git remac FILE`: finish a merge that git made without the driver.

Without the merge driver, two branches that changed different keys of a
sealed file merge line by line, and only the header conflicts (the `mac:`
line, and the recipients when one side changed them).  A MAC must never be
computed over text nobody sealed, so remac trusts neither the work-tree file
nor its markers.  It takes the three versions git recorded in the index
(stage 1 base, 2 ours, 3 theirs; local state that a repository cannot
commit), authenticates each on its own at this path, and merges them per key
as the driver does (ops/merge.py): that gives the header and MAC of the
authentic merge.  The work-tree text outside the header is then kept only if
it opens under that header — every token under its data key, at its path,
with the file id, and the MAC over what the text means.  A swapped token,
an edited plaintext value, a key moved or retyped, a conflict outside the
header: refused, nothing written.  When the driver did run but failed (no key
then), git left ours in the work tree: the driver's merge is written instead.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from pathlib import Path

from sealedcfg import git as gitio
from sealedcfg.base.fileio import locked, write_atomic
from sealedcfg.engine import access, sealing
from sealedcfg.engine.keys import KeySource
from sealedcfg.errors import InputError
from sealedcfg.format import crypto, envelope
from sealedcfg.ops import merge

_MARKER = ("<" * 7, "=" * 7, ">" * 7, "|" * 7)


@dataclass(frozen=True)
class Remac:
    name: str
    changed: bool  # False: the work-tree file already was the authenticated merge


def _stages(rel: str, top: Path, name: str) -> tuple[bytes, bytes, bytes]:
    stages = gitio.unmerged_stages(rel, top)
    if not stages:
        raise InputError(
            f"{name}: git records no conflict for this file (no merge in progress here)",
            hints=("remac repairs only a file that git left conflicted in a merge or rebase",),
        )
    if set(stages) != {1, 2, 3}:
        raise InputError(
            f"{name}: not a conflict between two versions of one file "
            f"(git has stage(s) {', '.join(map(str, sorted(stages)))} of 1 base, 2 ours, 3 theirs)",
            hints=("resolve it by hand, then `sealedcfg verify` it",),
        )
    base, ours, theirs = (gitio.object_bytes(stages[i], top) for i in (1, 2, 3))
    return base, ours, theirs


def _body_prefix(text: str, name: str) -> str:
    """The work-tree text before its header; refused when a marker stands there."""
    lines = text.splitlines(keepends=True)
    first = next((i for i, ln in enumerate(lines) if ln.startswith(_MARKER)), len(lines))
    before = "".join(lines[:first])
    start = envelope.header_start(before)
    if start is None:
        line = f" at line {first + 1}" if first < len(lines) else ""
        raise merge.MergeConflict(
            f"{name}: git left a conflict outside the sealedcfg header{line}",
            hints=(
                "both sides changed the same lines: resolve them by hand (or set up the "
                "per-key driver with `sealedcfg git setup` and re-merge with "
                "`git checkout -m FILE`)",
            ),
        )
    return before[:start]


def remac(file: str | Path, keys: KeySource) -> Remac:
    """Give FILE the header of the authenticated per-key merge of its index stages."""
    top, rel = gitio.repo_path(file)
    name = str(file)
    base, ours, theirs = _stages(rel, top, name)
    # Each side must open at this path with the user's key; a conflict on a
    # value or on the header raises MergeConflict (exit 1) as the driver does.
    merged = merge.merge_bytes(base, ours, theirs, rel, keys, rel)
    _, merged_text = sealing.decode(merged, name)
    header_text = envelope.split(merged_text)[1]
    assert header_text is not None  # merge_bytes returns a sealed file
    with locked(file) as data:
        if data == ours:
            # The driver ran and failed (no key then): git left OURS as it was,
            # with no line merge to keep.  The driver's result is what it wanted.
            out = merged
        else:
            bom, text = sealing.decode(data, name)
            candidate = _body_prefix(text, name) + header_text
            out = (codecs.BOM_UTF8 if bom else b"") + candidate.encode("utf-8")
        _check(out, name, rel, keys)
        if out == data:
            return Remac(name, False)
        write_atomic(file, out)
    return Remac(name, True)


def _check(data: bytes, name: str, place: str, keys: KeySource) -> None:
    """The candidate opens in full under the merged header, or nothing is written."""
    try:
        profile = sealing.read_profile(data, name, place)
    except InputError as exc:
        raise merge.MergeConflict(f"{name}: the merged text is not valid: {exc.message}") from None
    assert profile.header is not None
    data_key = access.open_data_key(profile.header, keys, name)
    try:
        sealing.open_checked(profile, data_key)
    except crypto.AuthError:
        raise merge.MergeConflict(
            f"{name}: the text outside the header is not the per-key merge of the two "
            "sides (a value, key or type differs from both); nothing written",
            hints=(
                "set up the per-key driver (`sealedcfg git setup`) and re-merge with "
                "`git checkout -m FILE`, or resolve by hand",
            ),
        ) from None
