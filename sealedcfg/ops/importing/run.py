"""`sealedcfg import SRC --to FILE`: the source read and authenticated, then one write.

A new FILE is sealed like `set` creates one (recipients and plaintext rule
from the creation rules); an existing one is opened with its key, merged
(merge.py) and re-sealed like `edit` does, keeping every untouched token.
Existing keys change only with `overwrite`.  Every check runs before the one
atomic write; on any error the file is as it was.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sealedcfg.base import fileformat
from sealedcfg.base.fileio import write_atomic
from sealedcfg.engine import sealing
from sealedcfg.engine.access import opened, seal_new_text
from sealedcfg.engine.keys import KeySource
from sealedcfg.errors import InputError, OpenError
from sealedcfg.format import crypto
from sealedcfg.format.kdf import Argon2Params
from sealedcfg.ops.importing import merge, render, source
from sealedcfg.ops.importing.sopskeys import SopsKeys
from sealedcfg.ops.importing.tree import Source
from sealedcfg.yamltext import document, model

NEW_FILE_MODE = 0o600


@dataclass(frozen=True)
class ImportResult:
    path: str
    source: str
    format: str
    sops: bool
    created: bool
    written: bool
    added: list[str] = field(default_factory=list)  # key paths, never values
    changed: list[str] = field(default_factory=list)
    unchanged: int = 0


def import_file(
    src: str | os.PathLike[str],
    to: str | os.PathLike[str],
    keys: KeySource,
    *,
    fmt: str | None = None,
    overwrite: bool = False,
    sops_keys: SopsKeys | None = None,
    kdf: Argon2Params | None = None,
) -> ImportResult:
    target = Path(to)
    fileformat.refuse_unsealable(target)
    if os.path.abspath(os.fspath(src)) == os.path.abspath(target):
        raise InputError(f"{target}: cannot import a file into itself")
    if not target.exists() and not target.is_symlink() and not target.parent.is_dir():
        raise InputError(f"{target.parent}: no such directory")
    src_data = source.read(src, fmt, sops_keys or SopsKeys())
    if not target.exists() and not target.is_symlink():
        return _create(target, src_data, keys, kdf)
    return _merge(target, src_data, keys, overwrite)


def _leaves(data: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(data, dict) and data:
        return [p for k, v in data.items() for p in _leaves(v, (*path, k))]
    return [path] if path else []


def _shown(paths: list[tuple[Any, ...]]) -> list[str]:
    return [document.format_path((0, *p)) for p in paths]


def _create(target: Path, src: Source, keys: KeySource, kdf: Argon2Params | None) -> ImportResult:
    if not src.data:
        raise InputError(f"{src.name}: nothing to import (no keys)")
    text = src.text if src.text is not None else render.document(src.data, src.comments)
    if src.text is None:
        _check_reads_back(text, str(target), src.data)
    sealed = seal_new_text(str(target), text, keys, kdf=kdf)
    write_atomic(target, sealed, mode=NEW_FILE_MODE)
    return ImportResult(
        str(target), src.name, src.kind, src.sops, True, True, _shown(_leaves(src.data))
    )


def _check_reads_back(text: str, name: str, data: dict[str, Any]) -> None:
    """The YAML written means exactly the imported values (a guard on render.py)."""
    built = model.build(document.parse(text, name), name, text_keys=True).documents
    if len(built) != 1 or not merge.same(built[0], data):
        raise InputError(f"{name}: the imported values cannot be written as YAML faithfully")


def _merge(target: Path, src: Source, keys: KeySource, overwrite: bool) -> ImportResult:
    name = str(target)
    with opened(target, keys) as (profile, data_key, header):
        assert profile.opened is not None
        plain = profile.opened
        values = model.build(plain.body, name, text_keys=True).by_path
        plan = merge.Merger(plain.body, values, src.comments, profile.newline).run(src.data)
        changed = [document.format_path(p) for p in plan.changed]
        if changed and not overwrite:
            shown = ", ".join(changed[:10]) + (" …" if len(changed) > 10 else "")
            raise InputError(
                f"{name}: {len(changed)} key(s) already hold other values: {shown}",
                hints=(f"to replace them: sealedcfg import {src.name} --to {name} --overwrite",),
            )
        added = [document.format_path(p) for p in plan.added]
        if not plan.edits:
            return ImportResult(
                name, src.name, src.kind, src.sops, False, False, [], [], plan.unchanged
            )
        new_text = merge.apply(plain.text, plan.edits)
        sealing.check_breaks(new_text, name)
        previous = dict(plain.by_path)
        try:
            body, plain_body = sealing.reseal_plain(name, header, data_key, new_text, previous)
        except crypto.AuthError:
            raise OpenError(name) from None
        merged = model.build(plain_body, name, text_keys=True)
        epaths = {n.path: n.epath for n in plain_body.nodes}
        for path in plan.added + plan.changed:
            want = _at(src.data, path[1:])
            got = merged.by_path.get(epaths.get(path, b""), _NONE)
            if not merge.same(got, want):
                raise InputError(f"{name}: the imported values cannot be merged faithfully")
        # and nothing else changed: text spliced in (a comment, say) cannot add a key
        before = model.build(plain.body, name, text_keys=True).documents
        expected = _merged(before[0] if before else None, src.data)
        if len(merged.documents) != 1 or not merge.same(merged.documents[0], expected):
            raise InputError(f"{name}: the imported values cannot be merged faithfully")
        final = sealing.finish_header(header, data_key, plain_body, name, sealed=body)
        write_atomic(target, profile.to_bytes(body.text, final))
    return ImportResult(
        name, src.name, src.kind, src.sops, False, True, added, changed, plan.unchanged
    )


def _merged(target: Any, src: dict[str, Any]) -> Any:
    """What the profile must mean after the merge (merge.Merger's rule, on values)."""
    if not isinstance(target, dict):
        return src if target is None or target == "" else target
    out = dict(target)
    for key, value in src.items():
        old = out.get(key, _NONE)
        if isinstance(old, dict) and isinstance(value, dict) and value:
            out[key] = _merged(old, value)
        else:
            out[key] = value
    return out


def _at(data: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        data = data[key]
    return data


_NONE = object()
