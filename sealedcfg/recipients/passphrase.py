"""`passphrase`: Argon2id over an NFC-normalised passphrase (FORMAT.md §5.3, §5.4).

    KEK = Argon2id(NFC-UTF-8(passphrase), salt, t, m, p, 32 bytes)

The parameters come from the untrusted header and are range-checked when the
stanza is decoded, before any derivation; the header budget bounds their sum.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from sealedcfg.base import limits
from sealedcfg.base.encoding import b64e
from sealedcfg.base.secret import Secret
from sealedcfg.errors import InputError, OpenError
from sealedcfg.format import crypto
from sealedcfg.format.kdf import Argon2Params, derive, prove, reusable_salt
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
    text_field,
)


@dataclass(frozen=True, slots=True)
class PassphraseRecipient(Recipient):
    kind: ClassVar[str] = "passphrase"
    order: ClassVar[int] = 90  # a derivation costs about a second: last
    max_stanzas: ClassVar[int | None] = limits.MAX_PASSPHRASE_STANZAS

    params: Argon2Params
    salt: bytes
    wrapped: bytes = b""
    label: str | None = None

    @classmethod
    def decode(cls, raw: Mapping[str, Any], label: str | None, name: str) -> PassphraseRecipient:
        if text_field(raw, "kdf") != "argon2id":
            raise InputError(f"{name}: unsupported key derivation {raw['kdf']!r}")
        params = Argon2Params(int(raw["m"]), int(raw["t"]), int(raw["p"]))
        try:
            params.check()
        except InputError as exc:
            raise InputError(f"{name}: {exc.message}") from None
        return cls(
            params,
            b64_field(raw, "salt", crypto.SALT_SIZE),
            b64_field(raw, "wrapped", WRAP_SIZE),
            label,
        )

    @classmethod
    def raw_work(cls, raw: Mapping[str, Any]) -> int:
        m, t = _small_int(raw.get("m")), _small_int(raw.get("t"))
        return m * t if m is not None and t is not None else 0

    def work(self) -> int:
        return self.params.cost

    @classmethod
    def target_work(cls, options: Options) -> int:
        return (options.kdf or Argon2Params()).cost

    def fields(self) -> list[tuple[str, str]]:
        p = self.params
        return [
            ("kdf", "argon2id"),
            ("m", str(p.m)),
            ("t", str(p.t)),
            ("p", str(p.p)),
            ("salt", b64e(self.salt)),
        ]

    def bound(self) -> list[bytes]:
        p = self.params
        return [b"argon2id", *(str(v).encode() for v in (p.m, p.t, p.p)), self.salt]

    def ident(self) -> str:
        return ""

    def details(self) -> str:
        p = self.params
        return f"(argon2id m={p.m} t={p.t} p={p.p})"

    @classmethod
    def open(cls, stanzas: Sequence[Recipient], keys: Keys, file_id: bytes) -> Attempt:
        """Each passphrase stanza in order, the first that unwraps (none: AuthError).

        Tried only when a passphrase is available or can be asked for."""
        if not stanzas or not (keys.has_passphrase() or keys.can_prompt()):
            return Attempt()
        passphrase = keys.get_passphrase()
        return Attempt(data_key=unwrap(passphrase, stanzas, file_id), offered=True)

    @classmethod
    def given(cls, keys: Keys, so_far: Sequence[Target]) -> list[Target]:
        """A passphrase if one is given, or can be asked for while nothing else is."""
        if keys.has_passphrase() or (not so_far and keys.can_prompt()):
            return [Target(cls.kind, "")]
        return []

    @classmethod
    def holds(cls, target: Target, keys: Keys) -> bool:
        del target
        return keys.has_passphrase() or keys.can_prompt()

    @classmethod
    def wrap(
        cls, target: Target, keys: Keys, data_key: bytes, file_id: bytes, options: Options
    ) -> PassphraseRecipient:
        passphrase = options.new_passphrase or keys.get_passphrase(confirm=True)
        return cls.for_passphrase(passphrase, data_key, file_id, options.kdf, target.label)

    @classmethod
    def for_passphrase(
        cls,
        passphrase: Secret,
        data_key: bytes,
        file_id: bytes,
        params: Argon2Params | None = None,
        label: str | None = None,
    ) -> PassphraseRecipient:
        params = params or Argon2Params()
        stanza = cls(params, _salt_for(passphrase, params), label=label)
        kek = derive(passphrase.reveal(), stanza.salt, params)
        return cls(params, stanza.salt, aead_wrap(kek, data_key, file_id, stanza), label)

    def rewrap(
        self,
        keys: Keys,
        data_key: bytes,
        file_id: bytes,
        options: Options,
        *,
        old_file_id: bytes = b"",
    ) -> PassphraseRecipient:
        """A fresh salt and wrap: with the new passphrase if one is given, else with the
        passphrase available, which must open this very stanza (so a rotation never
        replaces a holder's passphrase by another one by mistake)."""
        passphrase = options.new_passphrase
        if passphrase is None:
            passphrase = keys.get_passphrase()
            try:
                unwrap(passphrase, [self], old_file_id)
            except crypto.AuthError:
                raise OpenError(
                    "a passphrase recipient (the passphrase given does not open it)"
                ) from None
        return self.for_passphrase(
            passphrase, data_key, file_id, options.kdf or self.params, self.label
        )


def _salt_for(passphrase: Secret, params: Argon2Params) -> bytes:
    """One salt per passphrase and parameters per process (kdf.reusable_salt): files
    sealed or opened together cost one derivation.  The wrap stays unique per file
    (its own nonce, the file id in its AAD)."""
    salt = reusable_salt(passphrase.reveal(), params) or crypto.random_bytes(crypto.SALT_SIZE)
    prove(passphrase.reveal(), salt, params)
    return salt


def unwrap(passphrase: Secret, stanzas: Sequence[Recipient], file_id: bytes) -> bytes:
    for stanza in stanzas:
        assert isinstance(stanza, PassphraseRecipient)
        kek = derive(passphrase.reveal(), stanza.salt, stanza.params)
        try:
            data_key = aead_unwrap(kek, file_id, stanza)
        except crypto.AuthError:
            continue
        prove(passphrase.reveal(), stanza.salt, stanza.params)  # a key holder chose it
        return data_key
    raise crypto.AuthError


def _small_int(text: Any) -> int | None:
    """A decimal field as an int, capped (a million digits cost nothing); None if not one."""
    if not isinstance(text, str) or not text.isascii() or not text.isdigit():
        return None
    return int(text) if len(text) <= 12 else 10**12
