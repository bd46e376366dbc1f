"""Opening a sops-encrypted file for import: data key, values, then the MAC.

Order matters: the data key comes from the file's age or PGP stanza
(sopskeys.py), every value is decrypted with its path as associated data,
the MAC is recomputed over the decrypted tree and compared with the file's
(sopscrypt.py).  Only then is a Source returned; a value that does not
authenticate, a missing or wrong MAC, all give the one OpenError, and
nothing is written.  The plaintext stays in memory.
"""

from __future__ import annotations

import math
from typing import Any

from sealedcfg.errors import InputError, OpenError
from sealedcfg.ops.importing import render, sopscrypt, sopsfile, sopskeys
from sealedcfg.ops.importing.sopscrypt import Branch, Comment, GoTime, Opaque
from sealedcfg.ops.importing.tree import Source

_JSON_INT_LIMIT = 1e21  # Go's json.Marshal writes an integral float64 below this as an integer


def open_source(text: str, kind: str, name: str, keys: sopskeys.SopsKeys) -> Source:
    sops_file = sopsfile.load(text, kind, name)
    meta = sops_file.meta
    try:
        rules = sopscrypt.Rules.from_metadata(meta, name)
        sopscrypt.lastmodified_aad(str(meta.get("lastmodified") or ""))
    except ValueError as exc:
        raise InputError(f"{name}: malformed sops metadata ({exc})") from None
    key = sopskeys.data_key(meta, keys, name)
    try:
        opened, unauthenticated = sopscrypt.decrypt_tree(sops_file.branches, meta, key, rules)
    except sopscrypt.SopsAuthError:
        raise OpenError(name) from None
    except ValueError as exc:
        raise InputError(f"{name}: {exc}") from None
    if unauthenticated:  # what is imported is what a key holder sealed, or nothing
        raise InputError(
            f"{name}: {unauthenticated} plaintext value(s) are outside the sops MAC "
            "(mac_only_encrypted): anyone could have changed them",
            hints=("encrypt them, or re-encrypt the file without mac_only_encrypted, then import",),
        )
    comments: render.Comments = {}
    data = _mapping(opened[0], (), comments, kind, name)
    return Source(name, kind, data, comments, sops=True)


def _mapping(
    branch: Branch, path: tuple[Any, ...], comments: render.Comments, kind: str, name: str
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    pending: list[str] = []
    for key, value in branch:
        if isinstance(key, Comment):
            pending.append(_comment(key.text, name))
            continue
        if key in out:
            raise InputError(f"{name}: the key {key!r} appears twice in one mapping")
        if pending:
            comments[(*path, key)] = pending
            pending = []
        out[key] = _value(value, (*path, key), comments, kind, name)
    if pending:
        comments[(*path, render.TAIL)] = pending
    return out


def _comment(text: str, name: str) -> str:
    try:
        return render.comment_text(text)
    except InputError:
        raise InputError(
            f"{name}: a comment holds a line break or a control character",
            hints=("sops does not authenticate comments: remove it from the source",),
        ) from None


def _value(
    value: Any, path: tuple[Any, ...], comments: render.Comments, kind: str, name: str
) -> Any:
    if isinstance(value, Branch):
        return _mapping(value, path, comments, kind, name)
    if isinstance(value, list):
        out: list[Any] = []
        pending: list[str] = []
        for item in value:
            if isinstance(item, Comment):
                pending.append(_comment(item.text, name))
                continue
            if pending:
                comments[(*path, len(out))] = pending
                pending = []
            out.append(_value(item, (*path, len(out)), comments, kind, name))
        if pending:
            comments[(*path, render.TAIL)] = pending
        return out
    if isinstance(value, Opaque):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            raise InputError(f"{name}: a binary value that is not UTF-8 text") from None
    if isinstance(value, GoTime):
        return value.text
    if (
        kind == "json"
        and isinstance(value, float)
        and math.isfinite(value)
        and value.is_integer()
        and abs(value) < _JSON_INT_LIMIT
    ):
        return int(value)  # what a JSON reader of `sops -d`'s output gets
    if isinstance(value, float):
        return float(value)
    return value
