"""The value token: one line, safe as a plain YAML scalar anywhere (FORMAT.md §4).

    sealedcfg;v1;<type>;<meta>;<payload>

Knows no YAML and no keys: parse and format only.  `;` separates fields
because it is neither a YAML indicator nor a flow indicator, so a token stays
a plain scalar in block and flow context alike.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from sealedcfg.base.encoding import b64d, b64e, lp_all
from sealedcfg.format.crypto import NONCE_SIZE, SALT_SIZE, TAG_SIZE

PREFIX = "sealedcfg;"
VERSION = "v1"
TYPES = frozenset({"str", "int", "float", "bool", "null", "timestamp", "binary"})
_META_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")
_META_VALUE = re.compile(r"[A-Za-z0-9_.\-]{1,64}")
_MIN_PAYLOAD = SALT_SIZE + NONCE_SIZE + TAG_SIZE
_CT_START = SALT_SIZE + NONCE_SIZE
_NAME = PREFIX[:-1]


class TokenError(ValueError):
    """A string that starts like a token but does not follow the grammar."""


class Token(NamedTuple):
    """A parsed token.  A NamedTuple: opening 10^5 values builds 10^5 of them."""

    vtype: str
    meta: tuple[tuple[str, str], ...]
    salt: bytes
    nonce: bytes
    ciphertext: bytes  # includes the 16-byte GCM tag

    def __repr__(self) -> str:  # short, and never the ciphertext
        return f"Token(vtype={self.vtype!r}, meta={self.meta!r})"

    def meta_bytes(self) -> bytes:
        return encode_meta(self.meta)

    def format(self) -> str:
        meta = "+".join(f"{k}={v}" for k, v in self.meta)
        payload = b64e(self.salt + self.nonce + self.ciphertext)
        return f"{PREFIX}{VERSION};{self.vtype};{meta};{payload}"


def looks_like_token(value: str) -> bool:
    return value.startswith(PREFIX)


_NO_META = lp_all([])


def encode_meta(meta: tuple[tuple[str, str], ...]) -> bytes:
    if not meta:
        return _NO_META
    return lp_all([f"{k}={v}".encode("ascii") for k, v in meta])


def check_meta(meta: tuple[tuple[str, str], ...]) -> None:
    names = [k for k, _ in meta]
    if names != sorted(set(names)):
        raise TokenError("metadata names must be unique and sorted")
    for k, v in meta:
        if not _META_NAME.fullmatch(k) or not _META_VALUE.fullmatch(v):
            raise TokenError("bad metadata item")


def parse(text: str) -> Token:
    """Parse a token; raise TokenError on any deviation from the grammar."""
    vtype, _, meta, payload = fields(text)
    salt, nonce, ciphertext = payload[:SALT_SIZE], payload[SALT_SIZE:_CT_START], payload[_CT_START:]
    return Token(vtype, meta, salt, nonce, ciphertext)


def fields(text: str) -> tuple[str, str, tuple[tuple[str, str], ...], bytes]:
    """(type, metadata as written, metadata, payload) of a token: the grammar,
    checked whole (`parse` and the opening of every value use it); TokenError
    on any deviation.  The payload is salt, nonce, then ciphertext and tag."""
    parts = text.split(";")
    if len(parts) != 5 or parts[0] != _NAME:
        raise TokenError("not a sealedcfg token")
    _, version, vtype, meta_text, payload_text = parts
    if version != VERSION:
        raise TokenError("unsupported token version")
    if vtype not in TYPES:
        raise TokenError("unknown value type")
    meta = _parse_meta(meta_text) if meta_text else ()
    try:
        payload = b64d(payload_text)
    except ValueError:
        raise TokenError("payload is not canonical base64url") from None
    if len(payload) < _MIN_PAYLOAD:
        raise TokenError("payload too short")
    return vtype, meta_text, meta, payload


def _parse_meta(meta_text: str) -> tuple[tuple[str, str], ...]:
    items = []
    for item in meta_text.split("+"):
        k, sep, v = item.partition("=")
        if not sep:
            raise TokenError("bad metadata item")
        items.append((k, v))
    meta = tuple(items)
    check_meta(meta)
    return meta
