"""Canonical byte encodings shared by the token, AAD and MAC (FORMAT.md §2)."""

from __future__ import annotations

import base64
import binascii
import struct
from collections.abc import Iterable


def b64e(data: bytes) -> str:
    """Unpadded base64url, the only base64 form sealedcfg writes or reads."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


_URL_TO_STD = bytes.maketrans(b"-_", b"+/")
# For a text of length 2 or 3 mod 4, the last character carries 4 or 2 unused
# low bits; canonical encodings have them zero.
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_UNUSED_MASK = (0, 0, 0x0F, 0x03)
_PAD = ("", "", "==", "=")


def b64d(text: str) -> bytes:
    """Decode unpadded base64url; reject every non-canonical spelling.

    A length of 1 mod 4 is impossible, padding and foreign characters are
    refused, and unused low bits of the last character must be zero: no two
    strings decode to the same bytes (age's malleability rule).  Once `+`, `/`
    and `=` are ruled out, the strict decoder refuses every other character
    outside the alphabet (this runs once per sealed value: no regex).
    """
    rem = len(text) % 4
    if rem == 1 or not text.isascii() or "=" in text or "+" in text or "/" in text:
        raise ValueError("not canonical base64url")
    if rem and _ALPHABET.find(text[-1]) & _UNUSED_MASK[rem]:
        raise ValueError("not canonical base64url")
    try:
        raw = (text + _PAD[rem]).encode("ascii").translate(_URL_TO_STD)
        return binascii.a2b_base64(raw, strict_mode=True)
    except binascii.Error:
        raise ValueError("not canonical base64url") from None


_U32 = struct.Struct(">I").pack


def lp(data: bytes) -> bytes:
    """Length-prefix one field: u32 big-endian length, then the bytes."""
    return _U32(len(data)) + data


def lp_all(fields: Iterable[bytes]) -> bytes:
    """Injective encoding of a sequence: count, then each field length-prefixed."""
    items = fields if isinstance(fields, list) else list(fields)
    return b"".join([_U32(len(items)), *[_U32(len(f)) + f for f in items]])


Segment = str | int
KeyPath = tuple[Segment, ...]


def encode_segment(seg: Segment) -> bytes:
    """One path segment: `i` + decimal for a list index, `k` + UTF-8 for a key."""
    if isinstance(seg, int):
        return lp(b"i" + str(seg).encode("ascii"))
    return lp(b"k" + seg.encode("utf-8", "surrogatepass"))


def encode_path(path: KeyPath) -> bytes:
    """Injective path encoding: a key and an index never collide ("0" vs 0).

    The first segment is the document index within the stream.
    """
    return _U32(len(path)) + b"".join([encode_segment(s) for s in path])


def encode_path_from(count: int, segments: bytes) -> bytes:
    """`encode_path` from already encoded segments (the parser builds them incrementally)."""
    return _U32(count) + segments
