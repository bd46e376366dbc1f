"""Rotation and recipients: a new data key, re-wrapping, adding and removing holders.

Recipients are symmetric (a passphrase or a raw key), so wrapping a data key
for a recipient needs that recipient's secret: rotating keeps only the holders
whose secret is available, and says which are missing rather than drop them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

from sealedcfg.base.encoding import KeyPath, b64d, b64e
from sealedcfg.base.fileio import read_bytes, write_atomic
from sealedcfg.base.secret import Secret
from sealedcfg.engine import sealing
from sealedcfg.engine.access import opened, with_header
from sealedcfg.engine.keys import KeySource, dir_keys
from sealedcfg.engine.place import place_of
from sealedcfg.errors import InputError, NoKeyError, OpenError
from sealedcfg.format import crypto, envelope
from sealedcfg.format.envelope import Header, Recipient
from sealedcfg.format.kdf import Argon2Params


@dataclass(frozen=True)
class RecipientInfo:
    type: str
    id: str | None
    argon2: str | None

    @classmethod
    def of(cls, r: Recipient) -> RecipientInfo:
        if r.kind == "passphrase":
            assert r.params is not None
            return cls(r.kind, None, f"m={r.params.m},t={r.params.t},p={r.params.p}")
        return cls(r.kind, b64e(r.key_id), None)


def list_recipients(path: str | os.PathLike[str]) -> list[RecipientInfo]:
    profile = sealing.read_profile(read_bytes(path), str(path))
    if profile.header is None:
        raise InputError(f"{path}: not a sealed file (no sealedcfg header)")
    return [RecipientInfo.of(r) for r in profile.header.recipients]


def _rewrap(
    header: Header,
    keys: KeySource,
    data_key: bytes,
    file_id: bytes,
    *,
    new_passphrase: Secret | None = None,
    kdf: Argon2Params | None = None,
) -> tuple[Recipient, ...]:
    """Wrap `data_key` again for every recipient of `header` (fresh salts, nonces)."""
    raw = {envelope.key_id(k): k for k in keys.raw_keys()}
    missing = {r.key_id for r in header.recipients if r.kind == "key"} - set(raw)
    raw.update((envelope.key_id(k), k) for k in dir_keys(missing, envelope.key_id))
    out = []
    for stanza in header.recipients:
        if stanza.kind == "key":
            key = raw.get(stanza.key_id)
            if key is None:
                raise NoKeyError(
                    f"cannot re-wrap for key {b64e(stanza.key_id)}: that key is not available",
                    hints=("provide it too (e.g. SEALEDCFG_KEY_FILE), or remove that recipient",),
                )
            out.append(envelope.wrap_for_key(key, data_key, file_id))
        else:
            assert stanza.params is not None
            passphrase = new_passphrase or _known_passphrase(header, stanza, keys)
            out.append(
                envelope.wrap_for_passphrase(passphrase, data_key, file_id, kdf or stanza.params)
            )
    return tuple(out)


def _known_passphrase(header: Header, stanza: Recipient, keys: KeySource) -> Secret:
    passphrase = keys.get_passphrase()
    try:
        envelope.unwrap_with_passphrase(passphrase, replace(header, recipients=(stanza,)))
    except crypto.AuthError:
        raise OpenError("a passphrase recipient (the passphrase given does not open it)") from None
    return passphrase


def _rotate_profile(
    profile: sealing.Profile,
    data_key: bytes,
    recipients_of: Header,
    keys: KeySource,
    *,
    new_passphrase: Secret | None,
    kdf: Argon2Params | None,
) -> bytes:
    """The file re-sealed under a new data key and file id, for `recipients_of`'s holders."""
    assert profile.header is not None
    previous: dict[KeyPath, tuple[str, str, str]] = {}
    plain_body = sealing.open_tokens(profile, data_key, previous)  # callers used opened()
    new_key = crypto.random_bytes(crypto.KEY_SIZE)
    file_id = crypto.random_bytes(16)
    header = replace(
        profile.header,
        file_id=file_id,
        commit=crypto.key_commitment(new_key, file_id),
        recipients=_rewrap(
            recipients_of, keys, new_key, file_id, new_passphrase=new_passphrase, kdf=kdf
        ),
        mac=b"",
    )
    # Every value sealed again under the new key, each keeping its metadata.
    body, plain = sealing.reseal_plain(
        profile.name, header, new_key, plain_body, previous, keep_tokens=False
    )
    final = sealing.finish_header(header, new_key, plain, profile.name, sealed=body)
    return profile.to_bytes(body.text, final)


def rebind(path: str | os.PathLike[str], keys: KeySource) -> tuple[str, str]:
    """Bind a sealed file to the path it now has: (old place, new place).

    Needs a key and authenticates the whole file first, so only a key holder
    can say that a file belongs where it now is.
    """
    new = place_of(path)
    with opened(path, keys, check_place=False) as (profile, data_key, header):
        if header.bind != new:
            write_atomic(path, with_header(profile, replace(header, bind=new), data_key))
        return header.bind, new


def rotate(
    path: str | os.PathLike[str],
    keys: KeySource,
    *,
    rewrap_only: bool = False,
    new_passphrase: Secret | None = None,
    kdf: Argon2Params | None = None,
) -> None:
    """A new data key and every value re-sealed; or, `rewrap_only`, a new header only."""
    name = str(path)
    with opened(path, keys) as (profile, data_key, header):
        try:
            if rewrap_only:
                recipients = _rewrap(
                    header, keys, data_key, header.file_id, new_passphrase=new_passphrase, kdf=kdf
                )
                out = with_header(profile, replace(header, recipients=recipients), data_key)
            else:
                out = _rotate_profile(
                    profile, data_key, header, keys, new_passphrase=new_passphrase, kdf=kdf
                )
        except crypto.AuthError:
            raise OpenError(name) from None
        write_atomic(path, out)


def add_recipient(
    path: str | os.PathLike[str],
    keys: KeySource,
    *,
    key: Secret | None = None,
    passphrase: Secret | None = None,
    kdf: Argon2Params | None = None,
) -> None:
    """Wrap the file's data key for one more holder: a raw key or a passphrase."""
    if (key is None) == (passphrase is None):
        raise InputError("give exactly one new recipient: a key or a passphrase")
    name = str(path)
    with opened(path, keys) as (profile, data_key, header):
        if key is not None:
            if any(r.kind == "key" and r.key_id == envelope.key_id(key) for r in header.recipients):
                raise InputError(f"{name}: that key is already a recipient")
            envelope.check_budget(
                [(r.kind, None, None) for r in header.recipients] + [("key", None, None)], name
            )
            stanza = envelope.wrap_for_key(key, data_key, header.file_id)
        else:
            assert passphrase is not None
            params = kdf or Argon2Params()
            envelope.check_budget(
                [
                    *(
                        (r.kind, r.params.m, r.params.t) if r.params else (r.kind, None, None)
                        for r in header.recipients
                    ),
                    ("passphrase", params.m, params.t),
                ],
                name,
            )
            stanza = envelope.wrap_for_passphrase(passphrase, data_key, header.file_id, params)
        new = replace(header, recipients=(*header.recipients, stanza))
        write_atomic(path, with_header(profile, new, data_key))


def remove_recipient(
    path: str | os.PathLike[str],
    keys: KeySource,
    *,
    key_id: str | None = None,
    passphrase: bool = False,
    rotate_key: bool = True,
) -> int:
    """Drop a key (by id) or every passphrase recipient; rotate the data key by default.

    Without rotation the removed holder, who knew the data key, can still read
    every value sealed so far and any sealed later: hence the default.
    Returns how many recipients were removed.
    """
    if (key_id is None) == (not passphrase):
        raise InputError("name one recipient to remove: --key-id ID or --passphrase")
    name = str(path)
    with opened(path, keys) as (profile, data_key, header):
        if key_id is not None:
            try:
                wanted = b64d(key_id)
            except ValueError:
                raise InputError(f"{key_id!r} is not a key id (see: recipients list)") from None
            keep = tuple(
                r for r in header.recipients if not (r.kind == "key" and r.key_id == wanted)
            )
        else:
            keep = tuple(r for r in header.recipients if r.kind != "passphrase")
        removed = len(header.recipients) - len(keep)
        if removed == 0:
            raise InputError(f"{name}: no such recipient")
        if not keep:
            raise InputError(f"{name}: cannot remove the last recipient")
        remaining = replace(header, recipients=keep)
        try:
            if rotate_key:
                out = _rotate_profile(
                    profile, data_key, remaining, keys, new_passphrase=None, kdf=None
                )
            else:
                out = with_header(profile, remaining, data_key)
        except crypto.AuthError:
            raise OpenError(name) from None
        write_atomic(path, out)
    return removed


def key_from_file(path: str | os.PathLike[str]) -> Secret:
    """A key the user names (never one inside a repository: keys.read_user_file)."""
    from sealedcfg.engine import keys

    return keys.key_from_file(path)
