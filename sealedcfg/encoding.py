"""Canonical byte encodings shared by the token, AAD and MAC (FORMAT.md §2)."""

from __future__ import annotations

import base64
import binascii
import re
import struct
from collections.abc import Iterable

_B64URL = re.compile(r"[A-Za-z0-9_-]*")


def b64e(data: bytes) -> str:
    """Unpadded base64url, the only base64 form sealedcfg writes or reads."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64d(text: str) -> bytes:
    """Decode unpadded base64url; reject every non-canonical spelling.

    A length of 1 mod 4 is impossible, and unused low bits of the last
    character must be zero: re-encoding must give back the same text, so no
    two strings decode to the same bytes (age's malleability rule).
    """
    if not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise ValueError("not canonical base64url")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error:
        raise ValueError("not canonical base64url") from None
    if b64e(data) != text:
        raise ValueError("not canonical base64url")
    return data


def lp(data: bytes) -> bytes:
    """Length-prefix one field: u32 big-endian length, then the bytes."""
    return struct.pack(">I", len(data)) + data


def lp_all(fields: Iterable[bytes]) -> bytes:
    """Injective encoding of a sequence: count, then each field length-prefixed."""
    items = list(fields)
    return struct.pack(">I", len(items)) + b"".join(lp(f) for f in items)


Segment = str | int
Path = tuple[Segment, ...]


def encode_path(path: Path) -> bytes:
    """Injective path encoding: a key and an index never collide ("0" vs 0).

    The first segment is the document index within the stream.
    """
    parts = []
    for seg in path:
        if isinstance(seg, int):
            parts.append(b"i" + str(seg).encode("ascii"))
        else:
            parts.append(b"k" + seg.encode("utf-8", "surrogatepass"))
    return lp_all(parts)
