"""`kms`: an AWS KMS key, by ARN or alias (FORMAT.md §5.3, §5.4).

`wrapped` is the CiphertextBlob of KMS Encrypt of the data key, under the
encryption context {"sealedcfg_file_id": b64url(FID)}: KMS refuses to decrypt
it for another file id, and the key commitment and MAC bind it as for every kind.

The header is attacker-writable, so the KMS key it names is a key *reference*
from the repository: a reader calls KMS only for keys the user lists in
SEALEDCFG_KMS_KEY (otherwise a crafted header naming the attacker's own key,
open to everyone, would hand the reader a data key of the attacker's choosing).

Credentials and region come the usual AWS way (environment, shared config,
instance role); the endpoint from AWS_ENDPOINT_URL_KMS / AWS_ENDPOINT_URL.
Retries and timeouts are small: a KMS that is down fails within seconds with
one line (exit 8).  One Decrypt call per stanza per process (a cache keyed by
the ciphertext blob), so opening a file twice in one process calls KMS once.
boto3 is the optional extra `sealedcfg[kms]`, imported only here, only when used.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from sealedcfg.base.encoding import b64e
from sealedcfg.errors import InputError, KeyServiceError, NoKeyError
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

ENV_KMS_KEY = "SEALEDCFG_KMS_KEY"
#: KMS ciphertext blobs of a 32-byte plaintext are about 185 bytes; AWS's maximum is 6144.
MAX_WRAPPED = 6144
_KEY = re.compile(
    r"arn:aws[a-z-]*:kms:[a-z0-9-]{1,32}:[0-9]{12}:(?:key/[0-9a-f-]{36}|alias/[A-Za-z0-9/_-]{1,250})"
    r"|alias/[A-Za-z0-9/_-]{1,250}"
    r"|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
)
#: Attempts per KMS call (the first and one retry) and its timeouts, in seconds.
MAX_ATTEMPTS = 2
CONNECT_TIMEOUT = 3
READ_TIMEOUT = 10

_CACHE: dict[tuple[str, bytes, bytes], bytes] = {}
#: Decrypt calls made by this process (for tests and the bench).
CALLS = 0


def context(file_id: bytes) -> dict[str, str]:
    return {"sealedcfg_file_id": b64e(file_id)}


def check_key(text: str, origin: str) -> str:
    text = text.strip()
    if not _KEY.fullmatch(text):
        raise InputError(
            f"{origin}: {text[:100]!r} is not a KMS key ARN, alias ARN, key id or alias/NAME"
        )
    return text


def _client(key: str) -> Any:
    try:
        import boto3
        from botocore.config import Config
    except ImportError:
        raise NoKeyError(
            "KMS recipients need boto3",
            hints=("install it with: pip install 'sealedcfg[kms]'",),
        ) from None
    region = key.split(":")[3] if key.startswith("arn:") else None
    config = Config(
        retries={"total_max_attempts": MAX_ATTEMPTS, "mode": "standard"},
        connect_timeout=CONNECT_TIMEOUT,
        read_timeout=READ_TIMEOUT,
    )
    try:
        return boto3.session.Session().client("kms", region_name=region, config=config)
    except Exception as exc:  # botocore.exceptions.NoRegionError and kin: configuration
        raise NoKeyError(
            f"cannot use KMS key {key}: {type(exc).__name__}",
            hints=("set AWS_DEFAULT_REGION (or use a key ARN, which names its region)",),
        ) from None


def _service_error(exc: Exception, key: str, action: str) -> Exception:
    """One line for what went wrong with a KMS call; the exception text names no secret."""
    from botocore import exceptions as bx

    if isinstance(exc, bx.ClientError):
        code = str(exc.response.get("Error", {}).get("Code", "error"))
        if code == "InvalidCiphertextException":
            return crypto.AuthError()  # not this file's wrap: the one OpenError
        return KeyServiceError(
            f"KMS refused to {action} with key {key} ({code})",
            hints=("check the key's policy, that it is enabled, and your AWS credentials",),
        )
    if isinstance(exc, bx.NoCredentialsError | bx.PartialCredentialsError):
        return NoKeyError(
            f"no AWS credentials to {action} with KMS key {key}",
            hints=("set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",),
        )
    if isinstance(exc, bx.BotoCoreError):
        return KeyServiceError(
            f"cannot reach KMS to {action} with key {key} ({type(exc).__name__}, "
            f"{MAX_ATTEMPTS} attempts)",
            hints=("check the network, AWS_DEFAULT_REGION and AWS_ENDPOINT_URL_KMS",),
        )
    return exc


def decrypt(key: str, blob: bytes, file_id: bytes) -> bytes:
    """The data key from KMS (cached per process by key, blob and context)."""
    global CALLS
    cache_key = (key, blob, file_id)
    if cache_key in _CACHE:
        return _CACHE[cache_key]
    client = _client(key)
    try:
        CALLS += 1
        out = client.decrypt(CiphertextBlob=blob, KeyId=key, EncryptionContext=context(file_id))
    except Exception as exc:
        raise _service_error(exc, key, "decrypt") from None
    data_key = bytes(out["Plaintext"])
    if len(data_key) != crypto.KEY_SIZE:
        raise crypto.AuthError
    _CACHE[cache_key] = data_key
    return data_key


def encrypt(key: str, data_key: bytes, file_id: bytes) -> bytes:
    client = _client(key)
    try:
        out = client.encrypt(KeyId=key, Plaintext=data_key, EncryptionContext=context(file_id))
    except Exception as exc:
        raise _service_error(exc, key, "encrypt") from None
    blob = bytes(out["CiphertextBlob"])
    _CACHE[(key, blob, file_id)] = data_key
    return blob


@dataclass(frozen=True, slots=True)
class KmsRecipient(Recipient):
    kind: ClassVar[str] = "kms"
    order: ClassVar[int] = 50  # a network call: after local keys, before a derivation
    #: Each stanza may cost a network round trip with retries.
    max_stanzas: ClassVar[int | None] = 4

    key: str  # key ARN, alias ARN, key id or alias/NAME, as the recipient was given
    wrapped: bytes = b""
    label: str | None = None

    @classmethod
    def decode(cls, raw: Mapping[str, Any], label: str | None, name: str) -> KmsRecipient:
        key = quoted_field(raw, "key")
        if not _KEY.fullmatch(key):
            raise ValueError("key")
        wrapped = b64_field(raw, "wrapped")
        if not 0 < len(wrapped) <= MAX_WRAPPED:
            raise ValueError("wrapped")
        return cls(key, wrapped, label)

    def fields(self) -> list[tuple[str, str]]:
        return [("key", quoted(self.key))]

    def bound(self) -> list[bytes]:
        return [self.key.encode()]

    def ident(self) -> str:
        return self.key

    @classmethod
    def open(cls, stanzas: Sequence[Recipient], keys: Keys, file_id: bytes) -> Attempt:
        """Only stanzas naming a KMS key the user trusts (SEALEDCFG_KMS_KEY), in order."""
        trusted = keys.kms_keys()
        attempt = Attempt(tried=list(trusted), offered=bool(trusted))
        for stanza in stanzas:
            assert isinstance(stanza, KmsRecipient)
            if stanza.key in trusted:
                attempt.data_key = decrypt(stanza.key, stanza.wrapped, file_id)
                return attempt
        return attempt

    @classmethod
    def given(cls, keys: Keys, so_far: Sequence[Target]) -> list[Target]:
        del so_far
        return [Target(cls.kind, k) for k in keys.kms_keys()]

    @classmethod
    def holds(cls, target: Target, keys: Keys) -> bool:
        return target.ident in keys.kms_keys()

    @classmethod
    def wrap(
        cls, target: Target, keys: Keys, data_key: bytes, file_id: bytes, options: Options
    ) -> KmsRecipient:
        del keys, options
        key = check_key(target.ident, "KMS key")
        return cls(key, encrypt(key, data_key, file_id), target.label)

    @classmethod
    def parse_target(cls, ident: str, label: str | None, origin: str) -> Target:
        return Target(cls.kind, check_key(ident, origin), label)
