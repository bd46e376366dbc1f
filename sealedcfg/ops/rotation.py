"""Rotation and recipients: a new data key, re-wrapping, adding and removing holders.

Wrapping for a symmetric recipient (a passphrase or a raw key) needs its
secret, for an age or KMS recipient only its public key or key reference:
rotating keeps every holder, and says which secret is missing rather than drop one.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, replace

from sealedcfg.base.encoding import KeyPath
from sealedcfg.base.fileio import read_bytes, write_atomic
from sealedcfg.base.secret import Secret
from sealedcfg.engine import sealing
from sealedcfg.engine.access import opened, with_header
from sealedcfg.engine.keys import KeySource
from sealedcfg.engine.place import place_of
from sealedcfg.errors import InputError, OpenError
from sealedcfg.format import crypto
from sealedcfg.format.envelope import Header
from sealedcfg.format.kdf import Argon2Params
from sealedcfg.recipients import table
from sealedcfg.recipients.base import Options, Recipient, Target
from sealedcfg.recipients.key import KeyRecipient
from sealedcfg.recipients.passphrase import PassphraseRecipient


@dataclass(frozen=True)
class RecipientInfo:
    type: str
    id: str | None  # key id, age or SSH public key, KMS key; None for a passphrase
    argon2: str | None
    label: str | None = None

    @classmethod
    def of(cls, r: Recipient) -> RecipientInfo:
        argon2 = r.details().strip("()").removeprefix("argon2id ").replace(" ", ",") or None
        return cls(r.kind, r.ident() or None, argon2, r.label)


def list_recipients(path: str | os.PathLike[str]) -> list[RecipientInfo]:
    profile = sealing.read_profile(read_bytes(path), str(path))
    if profile.header is None:
        raise InputError(f"{path}: not a sealed file (no sealedcfg header)")
    return [RecipientInfo.of(r) for r in table.recipients(profile.header)]


def _rewrap(
    header: Header,
    keys: KeySource,
    data_key: bytes,
    file_id: bytes,
    options: Options,
    *,
    old_file_id: bytes,
) -> tuple[Recipient, ...]:
    """Wrap `data_key` again for every recipient of `header` (fresh salts, nonces),
    with every key opening could use (keys given, the key directory, identities)."""
    return tuple(
        r.rewrap(keys, data_key, file_id, options, old_file_id=old_file_id)
        for r in table.recipients(header)
    )


def _rotate_profile(
    profile: sealing.Profile,
    data_key: bytes,
    recipients_of: Header,
    keys: KeySource,
    options: Options,
    add: Sequence[Target] = (),
) -> bytes:
    """The file re-sealed under a new data key and file id, for `recipients_of`'s holders
    and the targets ADD."""
    assert profile.header is not None
    previous: dict[KeyPath, tuple[str, str, str]] = {}
    plain_body = sealing.open_tokens(profile, data_key, previous)  # callers used opened()
    new_key = crypto.random_bytes(crypto.KEY_SIZE)
    file_id = crypto.random_bytes(16)
    header = replace(
        profile.header,
        file_id=file_id,
        commit=crypto.key_commitment(new_key, file_id),
        recipients=(
            *_rewrap(
                recipients_of, keys, new_key, file_id, options, old_file_id=profile.header.file_id
            ),
            *(
                table.kind(t.kind, profile.name).wrap(t, keys, new_key, file_id, options)
                for t in add
            ),
        ),
        mac=b"",
    )
    # Every value sealed again under the new key, each keeping its metadata.
    body, plain = sealing.reseal_plain(
        profile.name, header, new_key, plain_body, previous, keep_tokens=False
    )
    final = sealing.finish_header(header, new_key, plain, profile.name, sealed=body)
    return profile.to_bytes(body.text, final)


def rotate_for(
    profile: sealing.Profile,
    data_key: bytes,
    recipients_of: Header,
    keys: KeySource,
    add: Sequence[Target],
) -> bytes:
    """The file under a new data key for RECIPIENTS_OF's holders and the targets ADD."""
    return _rotate_profile(profile, data_key, recipients_of, keys, Options(), add)


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
            options = Options(new_passphrase=new_passphrase, kdf=kdf)
            if rewrap_only:
                recipients = _rewrap(
                    header, keys, data_key, header.file_id, options, old_file_id=header.file_id
                )
                out = with_header(profile, replace(header, recipients=recipients), data_key)
            else:
                out = _rotate_profile(profile, data_key, header, keys, options)
        except crypto.AuthError:
            raise OpenError(name) from None
        write_atomic(path, out)


def add_recipient(
    path: str | os.PathLike[str],
    keys: KeySource,
    *,
    key: Secret | None = None,
    passphrase: Secret | None = None,
    target: Target | None = None,
    label: str | None = None,
    kdf: Argon2Params | None = None,
) -> None:
    """Wrap the file's data key for one more holder: a raw key, a passphrase, or a
    target of any kind (an age public key, a KMS key)."""
    given = [x for x in (key, passphrase, target) if x is not None]
    if len(given) != 1:
        raise InputError("give exactly one new recipient: a key, a passphrase or a public key")
    name = str(path)
    options = Options(new_passphrase=passphrase, kdf=kdf)
    with opened(path, keys) as (profile, data_key, header):
        current = table.recipients(header)
        if key is not None:
            stanza: Recipient = KeyRecipient.for_key(key, data_key, header.file_id, label)
            _not_yet(current, stanza.target(), name)
            table.check_budget([*table.budget_of(current), (stanza.kind, 0)], name)
        else:
            want = target or Target(PassphraseRecipient.kind, "", label)
            cls = table.kind(want.kind, name)
            _not_yet(current, want, name)
            table.check_budget(
                [*table.budget_of(current), (want.kind, cls.target_work(options))], name
            )
            stanza = cls.wrap(want, keys, data_key, header.file_id, options)
        new = replace(header, recipients=(*header.recipients, stanza))
        write_atomic(path, with_header(profile, new, data_key))


def _not_yet(current: list[Recipient], target: Target, name: str) -> None:
    if target.ident and any((r.kind, r.ident()) == (target.kind, target.ident) for r in current):
        raise InputError(f"{name}: that {target.kind} is already a recipient")


def remove_recipient(
    path: str | os.PathLike[str],
    keys: KeySource,
    *,
    key_id: str | None = None,
    passphrase: bool = False,
    rotate_key: bool = True,
) -> int:
    """Drop a recipient (by key id, public key, KMS key or label) or every passphrase
    recipient; rotate the data key by default.

    Without rotation the removed holder, who knew the data key, can still read
    every value sealed so far and any sealed later: hence the default.
    Returns how many recipients were removed.
    """
    if (key_id is None) == (not passphrase):
        raise InputError("name one recipient to remove: --key-id ID or --passphrase")
    name = str(path)
    with opened(path, keys) as (profile, data_key, header):
        current = table.recipients(header)
        if key_id is not None:
            keep = tuple(r for r in current if key_id not in (r.ident(), r.label))
        else:
            keep = tuple(r for r in current if not isinstance(r, PassphraseRecipient))
        removed = len(header.recipients) - len(keep)
        if removed == 0:
            raise InputError(
                f"{name}: no such recipient",
                hints=(f"it has: {table.describe(header)}",),
            )
        if not keep:
            raise InputError(f"{name}: cannot remove the last recipient")
        remaining = replace(header, recipients=keep)
        try:
            if rotate_key:
                out = _rotate_profile(profile, data_key, remaining, keys, Options())
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
