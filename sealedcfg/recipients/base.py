"""The recipient interface: one class per kind of holder (FORMAT.md §5.3, §5.4).

A recipient is one stanza of a header: it parses and renders its fields, says
what the canonical encoding binds (§5.4), wraps and unwraps the data key, and
describes itself for `recipients list`, `ls`, `diff` and review.  The kinds are
registered in one table (`table.py`); nothing outside it branches on a kind.

Unwrapping takes the user's key sources through the `Keys` protocol (met by
`engine.keys.KeySource`), so this layer reads no environment itself and never
a path the repository names.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from sealedcfg.base.encoding import b64d, lp_all
from sealedcfg.base.secret import Secret
from sealedcfg.errors import InputError
from sealedcfg.format import crypto
from sealedcfg.format.kdf import Argon2Params

#: A recipient's label: a short name a reviewer reads (`alice`, `ci-prod`).
LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")


class Keys(Protocol):
    """What the user made available (engine.keys.KeySource)."""

    def raw_keys(self) -> list[Secret]: ...

    def found_keys(self, wanted: set[bytes]) -> list[Secret]:
        """Keys from the user's key directory whose id is in WANTED."""
        ...

    def has_passphrase(self) -> bool: ...

    def can_prompt(self) -> bool: ...

    def get_passphrase(self, *, confirm: bool = False) -> Secret: ...

    def age_identities(self) -> list[Any]:
        """Parsed age identities (recipients.age.Identity), from the user's sources."""
        ...

    def kms_keys(self) -> list[str]:
        """The KMS keys (ARN or alias, as written) the user trusts for opening."""
        ...


@dataclass(frozen=True)
class Options:
    """Choices a writer makes for every recipient it wraps for (rotate, add)."""

    new_passphrase: Secret | None = None
    kdf: Argon2Params | None = None


@dataclass
class Attempt:
    """What trying one kind's stanzas gave: the data key, or the ids tried.

    `offered` is true when the user supplied something of this kind (a key, an
    identity, a passphrase) that did not match: with nothing else to try, that is
    an OpenError rather than "no key"."""

    data_key: bytes | None = None
    tried: list[str] = field(default_factory=list)
    offered: bool = False
    writer_unknown: bool = False  # opened by a kind anyone could have wrapped for


@dataclass(frozen=True)
class Target:
    """A recipient to wrap for, before it has a stanza: its kind, id and label.

    `ident` is what `Recipient.ident` returns for the stanza it becomes: a key id,
    an age or SSH public key, a KMS key ARN or alias, or "" for a passphrase."""

    kind: str
    ident: str
    label: str | None = None


class Recipient(ABC):
    """One stanza kind.  Subclasses are frozen dataclasses with `wrapped` and `label`."""

    kind: ClassVar[str]
    #: Opening tries kinds in this order: cheap local unwraps first, network
    #: and key derivation last (FORMAT.md §5.4).
    order: ClassVar[int]
    #: Whether only a holder of this kind's secret can wrap a data key for it.  An
    #: age recipient is a public key: anyone who reads a file can write one for it.
    authenticates_writer: ClassVar[bool] = True
    #: At most this many stanzas of the kind in one header (None: only the total).
    max_stanzas: ClassVar[int | None] = None

    wrapped: bytes
    label: str | None

    # ------------------------------------------------------------ format

    @classmethod
    @abstractmethod
    def decode(cls, raw: Mapping[str, Any], label: str | None, name: str) -> Recipient:
        """The stanza from its parsed fields (strings; quoted ones as ("quoted", s)).

        Sizes and ranges are checked here, before any key work; a bad field is an
        InputError or one of KeyError/TypeError/ValueError (a malformed header)."""

    @classmethod
    def raw_work(cls, raw: Mapping[str, Any]) -> int:
        """Key-derivation work (Argon2id m·t) the raw stanza may cost; 0 for most kinds."""
        del raw
        return 0

    def work(self) -> int:
        return 0

    @classmethod
    def target_work(cls, options: Options) -> int:
        """The work a new stanza of this kind would add to the header budget."""
        del options
        return 0

    @abstractmethod
    def fields(self) -> list[tuple[str, str]]:
        """The `name: value` lines after `type` and `label`, before `wrapped`."""

    @abstractmethod
    def bound(self) -> list[bytes]:
        """The canonical fields after the kind, before `wrapped` (FORMAT.md §5.4)."""

    def canonical(self, *, with_wrapped: bool = True) -> bytes:
        """canon(R): the kind, its fields, then `wrapped` and the label (if any).

        Without `wrapped` (the wrap AAD) the label is left out too, so a label can be
        changed by a key holder without re-wrapping; the MAC covers it either way."""
        fields = [self.kind.encode(), *self.bound()]
        if with_wrapped:
            fields.append(self.wrapped)
            if self.label is not None:
                fields.append(b"label:" + self.label.encode())
        return lp_all(fields)

    # ------------------------------------------------------------ identity

    @abstractmethod
    def ident(self) -> str:
        """Who this is, public: a key id, a public key, a KMS key; "" for a passphrase."""

    def details(self) -> str:
        """Public parameters worth showing (Argon2id's), or ""."""
        return ""

    def describe(self) -> str:
        """One line for messages and review: kind, id or parameters, and the label."""
        text = " ".join(part for part in (self.kind, self.ident(), self.details()) if part)
        return f"{text} ({quote_label(self.label)})" if self.label is not None else text

    def target(self) -> Target:
        return Target(self.kind, self.ident(), self.label)

    # ------------------------------------------------------------ crypto

    @classmethod
    @abstractmethod
    def open(cls, stanzas: Sequence[Recipient], keys: Keys, file_id: bytes) -> Attempt:
        """Try the user's keys of this kind against STANZAS (all of this kind).

        crypto.AuthError when a key that names a stanza fails to unwrap it."""

    @classmethod
    @abstractmethod
    def wrap(
        cls, target: Target, keys: Keys, data_key: bytes, file_id: bytes, options: Options
    ) -> Recipient:
        """A new stanza wrapping DATA_KEY for TARGET (NoKeyError if a secret it
        needs is not available)."""

    def rewrap(
        self,
        keys: Keys,
        data_key: bytes,
        file_id: bytes,
        options: Options,
        *,
        old_file_id: bytes = b"",
    ) -> Recipient:
        """This recipient again, for a new data key (or a fresh wrap of the same one).

        OLD_FILE_ID is the file id this stanza was wrapped under."""
        del old_file_id
        return self.wrap(self.target(), keys, data_key, file_id, options)

    @classmethod
    def given(cls, keys: Keys, so_far: Sequence[Target]) -> list[Target]:
        """Recipients for a file sealed without a creation rule, from what the user
        gave of this kind (SO_FAR: the earlier kinds' targets)."""
        del keys, so_far
        return []

    @classmethod
    def holds(cls, target: Target, keys: Keys) -> bool:
        """The user has what opens a stanza for TARGET (without using it)."""
        del target, keys
        return False

    @classmethod
    def hints(cls, stanzas: Sequence[Recipient]) -> tuple[str, ...]:
        """Where the user could put a key that opens one of STANZAS, for "no key" errors."""
        del stanzas
        return ()

    @classmethod
    def parse_target(cls, ident: str, label: str | None, origin: str) -> Target:
        """A target from what a user or the rules file wrote; InputError if malformed."""
        return Target(cls.kind, ident, label)


# ---------------------------------------------------------------- shared helpers


def key_dir_hint(kid: str) -> tuple[str, ...]:
    return (f"or put key {kid} in your key directory (found there by its id)",)


def quote_label(label: str | None) -> str:
    """A label for display: ASCII-escaped JSON, so it cannot forge lines or hide."""
    import json

    return json.dumps(label, ensure_ascii=True)


def text_field(raw: Mapping[str, Any], name: str) -> str:
    value = raw[name]
    if not isinstance(value, str):
        raise TypeError(name)
    return value


def quoted_field(raw: Mapping[str, Any], name: str) -> str:
    value = raw[name]
    if not (isinstance(value, tuple) and value[0] == "quoted"):
        raise TypeError(name)
    return str(value[1])


def b64_field(raw: Mapping[str, Any], name: str, size: int | None = None) -> bytes:
    value = b64d(text_field(raw, name))
    if size is not None and len(value) != size:
        raise ValueError(name)
    return value


def check_fields(raw: Mapping[str, Any], names: set[str], name: str) -> None:
    """Unknown fields make the header non-canonical (render would differ): reject early."""
    extra = set(raw) - names - {"type", "label", "wrapped"}
    if extra:
        raise InputError(f"{name}: malformed sealedcfg header")


WRAP_SIZE = crypto.NONCE_SIZE + crypto.KEY_SIZE + crypto.TAG_SIZE


def wrap_aad(file_id: bytes, stanza: Recipient) -> bytes:
    return lp_all([b"sealedcfg wrap", file_id, stanza.canonical(with_wrapped=False)])


def aead_wrap(kek: bytes, data_key: bytes, file_id: bytes, stanza: Recipient) -> bytes:
    """nonce ‖ AES-256-GCM(KEK, DK, wrap_AAD): the symmetric kinds' `wrapped` (§5.4)."""
    nonce = crypto.random_bytes(crypto.NONCE_SIZE)
    return nonce + crypto.aead_seal(kek, nonce, data_key, wrap_aad(file_id, stanza))


def aead_unwrap(kek: bytes, file_id: bytes, stanza: Recipient) -> bytes:
    """Raise crypto.AuthError unless KEK opens STANZA."""
    nonce, sealed = stanza.wrapped[: crypto.NONCE_SIZE], stanza.wrapped[crypto.NONCE_SIZE :]
    return crypto.aead_open(kek, nonce, sealed, wrap_aad(file_id, stanza))
