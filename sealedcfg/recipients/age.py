"""`age`: an age X25519 or SSH ed25519 public key (FORMAT.md §5.3, §5.4).

`wrapped` is a standard age v1 message (binary) whose payload is the 32-byte
data key, so any age implementation holding the identity decrypts it
(`age -d -i KEYFILE`).  The stanza names its recipient, so an identity is
matched to its stanza without trial decryption.  The wrap is bound to its file
by the header: the key commitment ties the data key to the file id, and the
MAC covers the stanza (recipient and message), so a stanza moved from another
file gives a data key that fails the commitment.

Identities come only from the user's sources (engine.keys.KeySource):
SEALEDCFG_AGE_KEY, SEALEDCFG_AGE_KEY_FILE, else `$XDG_CONFIG_HOME/sealedcfg/age/keys.txt`.
pyrage is imported only when an age stanza is wrapped or unwrapped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from sealedcfg.errors import InputError
from sealedcfg.format import crypto
from sealedcfg.format.envelope import quoted
from sealedcfg.recipients.base import (
    Attempt,
    Keys,
    Options,
    Recipient,
    Target,
    b64_field,
    quoted_field,
)

AGE_MAGIC = b"age-encryption.org/v1\n"
#: An age message for one recipient is about 200-400 bytes; refuse anything far larger.
MAX_WRAPPED = 2048
_BECH32 = "[02-9ac-hj-np-z]"
_X25519 = re.compile(f"age1{_BECH32}{{58}}")
_SSH = re.compile(r"ssh-ed25519 (AAAAC3NzaC1lZDI1NTE5AAAAI[A-Za-z0-9+/]{43})(?:[ \t][^\r\n]*)?")
_SECRET = re.compile(f"AGE-SECRET-KEY-1{_BECH32.upper()}{{58}}")


def _pyrage() -> Any:
    import pyrage

    return pyrage


class Identity:
    """An age or SSH ed25519 identity with its public key; never shows the secret."""

    __slots__ = ("_secret", "given", "origin", "public")

    def __init__(self, secret: Any, public: str, origin: str, given: bool) -> None:
        self._secret = secret
        self.public = public
        self.origin = origin
        self.given = given  # named by the user (env), not found in the default place

    def decrypt(self, message: bytes) -> bytes:
        return bytes(_pyrage().decrypt(message, [self._secret]))

    def __repr__(self) -> str:
        return f"Identity({self.public})"

    __str__ = __repr__


def parse_identities(text: str, origin: str, *, given: bool) -> list[Identity]:
    """Identities from an identity file's text: `AGE-SECRET-KEY-1…` lines (with `#`
    comments, as age-keygen writes them), or one unencrypted OpenSSH ed25519 key."""
    if "-----BEGIN OPENSSH PRIVATE KEY-----" in text:
        return [_ssh_identity(text, origin, given)]
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if not _SECRET.fullmatch(line):
            raise InputError(f"{origin}: line {number} is not an age identity (AGE-SECRET-KEY-1…)")
        try:
            secret = _pyrage().x25519.Identity.from_str(line)
        except Exception:  # pyrage.IdentityError: a bad checksum
            raise InputError(f"{origin}: line {number} is not a valid age identity") from None
        out.append(Identity(secret, str(secret.to_public()), origin, given))
    if not out:
        raise InputError(f"{origin} holds no age identity")
    return out


def _ssh_identity(text: str, origin: str, given: bool) -> Identity:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    try:
        key = serialization.load_ssh_private_key(text.encode(), password=None)
    except (ValueError, TypeError):
        raise InputError(
            f"{origin} is not an unencrypted OpenSSH private key",
            hints=("a passphrase-protected SSH key cannot be used; use an age identity",),
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise InputError(f"{origin}: only ed25519 SSH keys can be age identities")
    public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    try:
        secret = _pyrage().ssh.Identity.from_buffer(text.encode())
    except Exception:  # pyrage.IdentityError
        raise InputError(f"{origin} is not a usable SSH identity") from None
    return Identity(secret, public.decode("ascii"), origin, given)


def normalize_recipient(text: str, origin: str) -> str:
    """`age1…`, or `ssh-ed25519 AAAA…` without its comment; InputError otherwise.

    The text is not echoed: a secret key pasted by mistake must not reach a log."""
    text = text.strip()
    if _X25519.fullmatch(text):
        return text
    if m := _SSH.fullmatch(text):
        return f"ssh-ed25519 {m.group(1)}"
    raise InputError(
        f"{origin}: not an age recipient (age1… public key, or ssh-ed25519 public key)",
        hints=("`age-keygen -y KEYFILE` or `sealedcfg keygen --age` prints a public key",),
    )


def _recipient(text: str, origin: str) -> Any:
    pyrage = _pyrage()
    try:
        if text.startswith("age1"):
            return pyrage.x25519.Recipient.from_str(text)
        return pyrage.ssh.Recipient.from_str(text)
    except Exception:  # pyrage.RecipientError: a bad checksum or point
        raise InputError(f"{origin}: not a valid age recipient (bad checksum or key)") from None


@dataclass(frozen=True, slots=True)
class AgeRecipient(Recipient):
    kind: ClassVar[str] = "age"
    order: ClassVar[int] = 10
    authenticates_writer: ClassVar[bool] = False

    recipient: str  # "age1…" or "ssh-ed25519 AAAA…"
    wrapped: bytes = b""
    label: str | None = None

    @classmethod
    def decode(cls, raw: Mapping[str, Any], label: str | None, name: str) -> AgeRecipient:
        recipient = quoted_field(raw, "recipient")
        if normalize_recipient(recipient, name) != recipient:
            raise ValueError("recipient")
        wrapped = b64_field(raw, "wrapped")
        if len(wrapped) > MAX_WRAPPED or not wrapped.startswith(AGE_MAGIC):
            raise ValueError("wrapped")
        return cls(recipient, wrapped, label)

    def fields(self) -> list[tuple[str, str]]:
        return [("recipient", quoted(self.recipient))]

    def bound(self) -> list[bytes]:
        return [self.recipient.encode()]

    def ident(self) -> str:
        return self.recipient

    @classmethod
    def open(cls, stanzas: Sequence[Recipient], keys: Keys, file_id: bytes) -> Attempt:
        """Each identity against the stanza that names its public key (no trial decryption)."""
        del file_id  # bound by the commitment and the MAC, checked by the caller
        identities: list[Identity] = keys.age_identities()
        attempt = Attempt(
            tried=[i.public for i in identities], offered=any(i.given for i in identities)
        )
        mine = {i.public: i for i in identities}
        for stanza in stanzas:
            assert isinstance(stanza, AgeRecipient)
            identity = mine.get(stanza.recipient)
            if identity is None:
                continue
            try:
                data_key = identity.decrypt(stanza.wrapped)
            except Exception:  # pyrage.DecryptError: a wrap that is not for this identity
                raise crypto.AuthError from None
            if len(data_key) != crypto.KEY_SIZE:
                raise crypto.AuthError
            attempt.data_key = data_key
            return attempt
        return attempt

    @classmethod
    def given(cls, keys: Keys, so_far: Sequence[Target]) -> list[Target]:
        """Identities given; else, with nothing else given, the default identity file's."""
        identities = keys.age_identities()
        given = [i for i in identities if i.given] or ([] if so_far else identities)
        return [Target(cls.kind, i.public) for i in given]

    @classmethod
    def holds(cls, target: Target, keys: Keys) -> bool:
        return any(i.public == target.ident for i in keys.age_identities())

    @classmethod
    def wrap(
        cls, target: Target, keys: Keys, data_key: bytes, file_id: bytes, options: Options
    ) -> AgeRecipient:
        del keys, file_id, options  # a public key is all it takes
        recipient = normalize_recipient(target.ident, "age recipient")
        message = bytes(_pyrage().encrypt(data_key, [_recipient(recipient, "age recipient")]))
        return cls(recipient, message, target.label)

    @classmethod
    def parse_target(cls, ident: str, label: str | None, origin: str) -> Target:
        recipient = normalize_recipient(ident, origin)
        _recipient(recipient, origin)
        return Target(cls.kind, recipient, label)
