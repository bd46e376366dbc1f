"""`key`: a raw 256-bit key, found by its id (FORMAT.md §5.3, §5.4).

KEK    = HKDF(RK, "", "sealedcfg v1 key wrap", 32)
key id = HKDF(RK, "", "sealedcfg v1 key id", 8)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from sealedcfg.base.encoding import b64d, b64e
from sealedcfg.base.secret import Secret
from sealedcfg.errors import InputError, NoKeyError
from sealedcfg.format import crypto
from sealedcfg.recipients.base import (
    WRAP_SIZE,
    Attempt,
    Keys,
    Options,
    Recipient,
    Target,
    aead_unwrap,
    aead_wrap,
    b64_field,
)

ID_SIZE = 8


def key_id(raw: Secret) -> bytes:
    return crypto.hkdf_sha256(raw.reveal(), b"", crypto.INFO_KEY_ID, ID_SIZE)


def _kek(raw: Secret) -> bytes:
    return crypto.hkdf_sha256(raw.reveal(), b"", crypto.INFO_WRAP)


def ids(raw: Sequence[Secret]) -> list[str]:
    return [b64e(key_id(k)) for k in raw]


def available(keys: Keys, wanted: set[bytes]) -> dict[bytes, Secret]:
    """Every raw key the user has for WANTED ids: given ones, then the key directory's."""
    given = {key_id(k): k for k in keys.raw_keys()}
    out = {kid: k for kid, k in given.items() if kid in wanted}
    missing = wanted - set(out)
    if missing:
        out.update((key_id(k), k) for k in keys.found_keys(missing))
    return out


@dataclass(frozen=True, slots=True)
class KeyRecipient(Recipient):
    kind: ClassVar[str] = "key"
    order: ClassVar[int] = 0

    key_id: bytes
    wrapped: bytes = b""
    label: str | None = None

    @classmethod
    def decode(cls, raw: Mapping[str, Any], label: str | None, name: str) -> KeyRecipient:
        return cls(b64_field(raw, "id", ID_SIZE), b64_field(raw, "wrapped", WRAP_SIZE), label)

    def fields(self) -> list[tuple[str, str]]:
        return [("id", b64e(self.key_id))]

    def bound(self) -> list[bytes]:
        return [self.key_id]

    def ident(self) -> str:
        return b64e(self.key_id)

    @classmethod
    def open(cls, stanzas: Sequence[Recipient], keys: Keys, file_id: bytes) -> Attempt:
        """Given keys first, then the key directory's keys for the ids not yet tried;
        a key is tried only against the stanza with its id (no derivation)."""
        by_id = {r.key_id: r for r in stanzas if isinstance(r, KeyRecipient)}
        given = keys.raw_keys()
        attempt = Attempt(tried=ids(given), offered=bool(given))
        if _unwrap_first(given, by_id, file_id, attempt) or not by_id:
            return attempt
        found = keys.found_keys(set(by_id) - {key_id(k) for k in given})
        attempt.tried += ids(found)
        _unwrap_first(found, by_id, file_id, attempt)
        return attempt

    @classmethod
    def given(cls, keys: Keys, so_far: Sequence[Target]) -> list[Target]:
        del so_far
        return [Target(cls.kind, kid) for kid in ids(keys.raw_keys())]

    @classmethod
    def holds(cls, target: Target, keys: Keys) -> bool:
        kid = b64d(target.ident)
        return kid in available(keys, {kid})

    @classmethod
    def hints(cls, stanzas: Sequence[Recipient]) -> tuple[str, ...]:
        from sealedcfg.recipients.base import key_dir_hint

        return key_dir_hint(stanzas[0].ident()) if stanzas else ()

    @classmethod
    def for_key(
        cls, raw: Secret, data_key: bytes, file_id: bytes, label: str | None = None
    ) -> KeyRecipient:
        stanza = cls(key_id(raw), label=label)
        return cls(stanza.key_id, aead_wrap(_kek(raw), data_key, file_id, stanza), label)

    @classmethod
    def wrap(
        cls, target: Target, keys: Keys, data_key: bytes, file_id: bytes, options: Options
    ) -> KeyRecipient:
        kid = b64d(target.ident)
        raw = available(keys, {kid}).get(kid)
        if raw is None:
            raise NoKeyError(
                f"cannot wrap for key {target.ident}: that key is not available",
                hints=(
                    "put it in your key directory (found there by its id), or give it "
                    "with SEALEDCFG_KEY / SEALEDCFG_KEY_FILE / --key-file",
                ),
            )
        return cls.for_key(raw, data_key, file_id, target.label)

    @classmethod
    def parse_target(cls, ident: str, label: str | None, origin: str) -> Target:
        try:
            if len(b64d(ident)) == ID_SIZE:
                return Target(cls.kind, ident, label)
        except ValueError:
            pass
        raise InputError(
            f"{origin}: {ident!r} is not a key id (11 characters of base64url)",
            hints=("`sealedcfg recipients list FILE` shows the ids of a file's keys",),
        )


def _unwrap_first(
    raw_keys: Sequence[Secret], by_id: dict[bytes, KeyRecipient], file_id: bytes, attempt: Attempt
) -> bool:
    """Unwrap with the first key that names a stanza (AuthError if it then fails)."""
    for raw in raw_keys:
        kid = key_id(raw)
        for stanza_id, stanza in by_id.items():
            if crypto.equal(stanza_id, kid):
                attempt.data_key = aead_unwrap(_kek(raw), file_id, stanza)
                return True
    return False
