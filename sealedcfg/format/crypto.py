"""The primitives and the per-value construction (FORMAT.md §3, §4).

HKDF is computed from SHA-256 directly (RFC 2104's HMAC over hashlib) rather
than with cryptography's HKDF object or `hmac.digest`: the output is identical
(tests check RFC 4231 and RFC 5869 vectors against both), and OpenSSL 3's
one-shot HMAC fetches its algorithm on every call, which costs more than the
hashing when every sealed value derives its own key (opening 10^5 values).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import struct
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from sealedcfg.base.encoding import KeyPath, encode_path, lp, lp_all

_U32 = struct.Struct(">I").pack

FORMAT_VERSION = 1
_VERSION = str(FORMAT_VERSION).encode()
KEY_SIZE = 32
SALT_SIZE = 16
NONCE_SIZE = 12
TAG_SIZE = 16

INFO_VALUE = b"sealedcfg v1 value key"
INFO_COMMIT = b"sealedcfg v1 key commitment"
INFO_MAC = b"sealedcfg v1 mac key"
INFO_WRAP = b"sealedcfg v1 key wrap"
INFO_KEY_ID = b"sealedcfg v1 key id"
_INFO_VALUE_1 = INFO_VALUE + b"\x01"  # HKDF-Expand's first block


class AuthError(Exception):
    """Internal: an AEAD or MAC check failed.  The API turns it into OpenError."""


_BLOCK = 64  # SHA-256's block size
_IPAD = bytes(x ^ 0x36 for x in range(256))  # translate tables: XOR of every byte
_OPAD = bytes(x ^ 0x5C for x in range(256))
_ZEROS = bytes(_BLOCK)
_sha256 = hashlib.sha256


def hmac_sha256(key: bytes, data: bytes) -> bytes:
    """RFC 2104 HMAC-SHA256."""
    if len(key) > _BLOCK:
        key = _sha256(key).digest()
    block = key + _ZEROS[len(key) :]
    inner = _sha256(block.translate(_IPAD) + data).digest()
    return _sha256(block.translate(_OPAD) + inner).digest()


def hkdf_sha256(ikm: bytes, salt: bytes, info: bytes, length: int = 32) -> bytes:
    """RFC 5869 HKDF-SHA256 (extract then expand), for length <= 32."""
    if not 0 < length <= 32:
        raise ValueError("length must be 1..32")
    prk = hmac_sha256(salt or _ZEROS[:32], ikm)
    return hmac_sha256(prk, info + b"\x01")[:length]


def random_bytes(n: int) -> bytes:
    return secrets.token_bytes(n)


def aead_seal(key: bytes, nonce: bytes, plaintext: bytes, aad: bytes) -> bytes:
    return AESGCM(key).encrypt(nonce, plaintext, aad)


def aead_open(key: bytes, nonce: bytes, ciphertext: bytes, aad: bytes) -> bytes:
    try:
        return AESGCM(key).decrypt(nonce, ciphertext, aad)
    except InvalidTag:
        raise AuthError from None


@lru_cache(maxsize=64)
def _aad_head(file_id: bytes) -> bytes:
    return lp_all([b"sealedcfg value", _VERSION, file_id, b"", b"", b""])[: -3 * 4]


def value_aad(file_id: bytes, path: KeyPath | bytes, vtype: str, meta: bytes) -> bytes:
    """AAD of one value: binds it to its format version, file, full path, type, metadata.

    lp_all([b"sealedcfg value", b"1", file_id, encode_path(path), type, meta]),
    built from a per-file head; `path` may come already encoded (`Node.epath`).
    """
    epath = path if isinstance(path, bytes) else encode_path(path)
    return _aad_head(file_id) + lp(epath) + lp(vtype.encode("ascii")) + lp(meta)


def seal_value(
    data_key: bytes,
    plaintext: bytes,
    aad: bytes,
    *,
    _salt: bytes | None = None,
    _nonce: bytes | None = None,
) -> tuple[bytes, bytes, bytes]:
    """Encrypt one value; returns (salt, nonce, ciphertext||tag).

    `_salt`/`_nonce` are the private seam for test vectors (fernet's
    `_encrypt_from_parts`); callers never pass them.
    """
    salt = _salt if _salt is not None else random_bytes(SALT_SIZE)
    nonce = _nonce if _nonce is not None else random_bytes(NONCE_SIZE)
    if len(salt) != SALT_SIZE or len(nonce) != NONCE_SIZE:
        raise ValueError("bad salt or nonce size")
    # A fresh subkey per value: a random 96-bit nonce under one key is safe
    # only up to ~2^32 messages; per-value keys remove that budget entirely.
    subkey = hkdf_sha256(data_key, salt, INFO_VALUE)
    return salt, nonce, aead_seal(subkey, nonce, plaintext, aad)


def open_value(data_key: bytes, salt: bytes, nonce: bytes, ct: bytes, aad: bytes) -> bytes:
    subkey = hkdf_sha256(data_key, salt, INFO_VALUE)
    return aead_open(subkey, nonce, ct, aad)


class ValueOpener:
    """Opens the values of one file: `open_value` with the data key and the
    file's AAD head bound once, and the HKDF written out, since it runs once
    per sealed value (10^5 in a large file) and each call layer costs there."""

    __slots__ = ("_head", "_key")

    def __init__(self, data_key: bytes, file_id: bytes) -> None:
        self._key = data_key
        self._head = _aad_head(file_id)

    def open(self, payload: bytes, epath: bytes, vtype: str, meta: bytes) -> bytes:
        """The plaintext of a token's payload (salt, nonce, ciphertext||tag) at
        encoded path `epath`; AuthError on any failure."""
        sha, ipad, opad = _sha256, _IPAD, _OPAD
        block = payload[:SALT_SIZE] + _ZEROS[SALT_SIZE:]  # HKDF extract: HMAC(salt, key)
        prk = sha(block.translate(opad) + sha(block.translate(ipad) + self._key).digest())
        block = prk.digest() + _ZEROS[32:]  # expand, one block: HMAC(prk, info || 1)
        subkey = sha(block.translate(opad) + sha(block.translate(ipad) + _INFO_VALUE_1).digest())
        raw = vtype.encode("ascii")
        aad = b"".join(
            (self._head, _U32(len(epath)), epath, _U32(len(raw)), raw, _U32(len(meta)), meta)
        )
        try:
            return AESGCM(subkey.digest()).decrypt(
                payload[SALT_SIZE : SALT_SIZE + NONCE_SIZE], payload[SALT_SIZE + NONCE_SIZE :], aad
            )
        except InvalidTag:
            raise AuthError from None


def key_commitment(data_key: bytes, file_id: bytes) -> bytes:
    return hkdf_sha256(data_key, file_id, INFO_COMMIT)


def mac_key(data_key: bytes, file_id: bytes) -> bytes:
    return hkdf_sha256(data_key, file_id, INFO_MAC)


def equal(a: bytes, b: bytes) -> bool:
    return hmac.compare_digest(a, b)
