"""sops' value encryption and MAC, as sops computes them (getsops/sops: sops.go, aes/cipher.go).

A sops tree is an ordered list of (key, value) items per mapping; comments are
items too.  Each value that the file's rules say is encrypted is
`ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]`: AES-256-GCM under the file's data
key, with the value's path as associated data — its mapping keys joined by
`:` plus a final `:` (list indices are *not* part of it, so every item of a
list shares its key's path).  The MAC is SHA-512 over every value (not
comments, not nulls) in document order, each as sops' `ToBytes` writes it,
upper-case hex, stored encrypted with the `lastmodified` time as associated
data.  This module recomputes it over the decrypted tree; the caller compares
before anything is written.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import hashlib
import hmac
import math
import re
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from sealedcfg.base.pattern import Pattern, compile_pattern


class SopsAuthError(Exception):
    """A value or the MAC does not authenticate; the caller reports one generic error."""


@dataclass(frozen=True)
class Comment:
    text: str  # what follows the `#`


class Branch(list[tuple[Any, Any]]):
    """A sops mapping: ordered (key, value) items; a Comment key is a comment line."""


# sops.go: MACOnlyEncryptedInitialization, sha256(b"sops").
MAC_ONLY_ENCRYPTED_INIT = hashlib.sha256(b"sops").digest()
DEFAULT_UNENCRYPTED_SUFFIX = "_unencrypted"

# aes/cipher.go's pattern, anchored at the start only, as Go's FindStringSubmatch
# uses it; matched with RE2 (linear time) like Go's regexp.
_ENC_SOURCE = r"^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]"
_enc: Any = None
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})"
)
_INT = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_GO_TRUE = ("1", "t", "T", "TRUE", "true", "True")
_GO_FALSE = ("0", "f", "F", "FALSE", "false", "False")


@dataclass
class Rules:
    """Which values a sops file encrypts (sops.go shouldBeEncrypted)."""

    unencrypted_suffix: str = ""
    encrypted_suffix: str = ""
    unencrypted_regex: Pattern | None = None
    encrypted_regex: Pattern | None = None
    unencrypted_comment_regex: Pattern | None = None
    encrypted_comment_regex: Pattern | None = None
    mac_only_encrypted: bool = False

    @classmethod
    def from_metadata(cls, meta: dict[str, Any], name: str) -> Rules:
        def text(key: str) -> str:
            value = meta.get(key)
            return value if isinstance(value, str) else ""

        def regex(key: str) -> Pattern | None:
            source = text(key)
            return compile_pattern(source, f"{name}: sops {key}") if source else None

        keys = (
            "unencrypted_suffix",
            "encrypted_suffix",
            "unencrypted_regex",
            "encrypted_regex",
            "unencrypted_comment_regex",
            "encrypted_comment_regex",
        )
        if sum(1 for k in keys if text(k)) > 1:
            raise ValueError("more than one of the encryption rules in one file")
        rules = cls(
            unencrypted_suffix=text("unencrypted_suffix"),
            encrypted_suffix=text("encrypted_suffix"),
            unencrypted_regex=regex("unencrypted_regex"),
            encrypted_regex=regex("encrypted_regex"),
            unencrypted_comment_regex=regex("unencrypted_comment_regex"),
            encrypted_comment_regex=regex("encrypted_comment_regex"),
            mac_only_encrypted=meta.get("mac_only_encrypted") in (True, "true"),
        )
        if not any(text(k) for k in keys):  # stores.go ToInternal: the default rule
            rules.unencrypted_suffix = DEFAULT_UNENCRYPTED_SUFFIX
        return rules

    def encrypted(self, path: list[str], stack: list[list[str]], is_comment: bool) -> bool:
        """Does sops encrypt the value at PATH, under the comments in STACK?

        The rules are applied in sops' order, each later one overriding: the
        path rules, then a comment that leaves it in plaintext, then (deciding
        alone) a comment that encrypts it."""
        if self.encrypted_comment_regex is not None:
            return _comment_marks(self.encrypted_comment_regex, stack, is_comment)
        if self.unencrypted_comment_regex is not None and any(
            self.unencrypted_comment_regex.search(c) for cs in stack for c in cs
        ):
            return False
        return self._by_path(path)

    def _by_path(self, path: list[str]) -> bool:
        result = True
        if self.unencrypted_suffix and any(p.endswith(self.unencrypted_suffix) for p in path):
            result = False
        if self.encrypted_suffix:
            result = any(p.endswith(self.encrypted_suffix) for p in path)
        if self.unencrypted_regex is not None and any(
            self.unencrypted_regex.search(p) for p in path
        ):
            result = False
        if self.encrypted_regex is not None:
            result = any(self.encrypted_regex.search(p) for p in path)
        return result


def _comment_marks(regex: Pattern, stack: list[list[str]], is_comment: bool) -> bool:
    """Does a comment above the value match REGEX (encrypted_comment_regex)?"""
    last = len(stack) - 1
    for i, cs in enumerate(stack):
        for j, c in enumerate(cs):
            # the comment line that matches is itself left in plaintext
            if is_comment and i == last and j == len(stack[last]) - 1:
                continue
            if regex.search(c):
                return True
    return False


@dataclass
class Walk:
    """One decrypting walk over a sops tree (sops.go Tree.Decrypt)."""

    key: bytes
    rules: Rules
    digest: hashlib._Hash = field(default_factory=hashlib.sha512)
    unauthenticated: int = 0  # plaintext values mac_only_encrypted leaves out of the MAC

    def __post_init__(self) -> None:
        if self.rules.mac_only_encrypted:
            self.digest.update(MAC_ONLY_ENCRYPTED_INIT)

    def branch(self, items: Branch, path: list[str], stack: list[list[str]]) -> Branch:
        stack = [*stack, []]
        out = Branch()
        for key, value in items:
            if isinstance(key, Comment):
                stack[-1].append(key.text)
                opened = self.leaf(key, path, stack)
                out.append((opened if isinstance(opened, Comment) else Comment(str(opened)), None))
                continue
            if not isinstance(key, str):
                raise ValueError("a mapping key that is not a string")
            out.append((key, self.value(value, [*path, key], stack)))
            stack[-1] = []
        return out

    def sequence(self, items: list[Any], path: list[str], stack: list[list[str]]) -> list[Any]:
        stack = [*stack, []]
        out = []
        for item in items:
            if isinstance(item, Comment):
                stack[-1].append(item.text)
            out.append(self.value(item, path, stack))
            if not isinstance(item, Comment):
                stack[-1] = []
        return out

    def value(self, value: Any, path: list[str], stack: list[list[str]]) -> Any:
        if value is None:
            return None  # sops neither decrypts nor hashes a null
        if isinstance(value, Branch):
            return self.branch(value, path, stack)
        if isinstance(value, list):
            return self.sequence(value, path, stack)
        return self.leaf(value, path, stack)

    def leaf(self, value: Any, path: list[str], stack: list[list[str]]) -> Any:
        is_comment = isinstance(value, Comment)
        encrypted = self.rules.encrypted(path, stack, is_comment)
        out = value
        if encrypted:
            aad = (":".join(path) + ":").encode("utf-8")
            if is_comment:
                try:  # sops: a comment that does not open was never encrypted
                    out = decrypt_value(value.text, self.key, aad)
                except SopsAuthError:
                    out = value
                if not isinstance(out, Comment):
                    out = Comment(str(out))
            elif isinstance(value, str):
                out = decrypt_value(value, self.key, aad)
            else:  # a value the rules say is encrypted stands in plaintext
                raise SopsAuthError
        if (not self.rules.mac_only_encrypted or encrypted) and not isinstance(out, Comment):
            self.digest.update(to_bytes(out))
        elif not isinstance(out, Comment):
            self.unauthenticated += 1
        return out

    def mac(self) -> str:
        return self.digest.hexdigest().upper()


def _b64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (ValueError, TypeError):
        raise SopsAuthError from None


class Opaque(bytes):
    """sops' `bytes` type: raw bytes, hashed as they are."""


def decrypt_value(text: str, key: bytes, aad: bytes) -> Any:
    """aes/cipher.go Decrypt: the typed plaintext of one ENC[...] value."""
    if text == "":
        return ""  # sops leaves an empty value as it is
    global _enc
    if _enc is None:
        import re2

        _enc = re2.compile(_ENC_SOURCE)
    match = _enc.match(text)
    if match is None:
        raise SopsAuthError
    data, iv, tag = (_b64(match.group(i)) for i in (1, 2, 3))
    vtype = match.group(4)
    if not iv or len(data + tag) < 16 or not 8 <= len(iv) <= 128:
        raise SopsAuthError
    try:
        plain = AESGCM(key).decrypt(iv, data + tag, aad)
    except InvalidTag:
        raise SopsAuthError from None
    return typed(plain, vtype)


def typed(plain: bytes, vtype: str) -> Any:
    """The value of decrypted bytes by sops' type name (Go's strconv parsers)."""
    if vtype == "bytes":
        return Opaque(plain)
    try:
        text = plain.decode("utf-8")
    except UnicodeDecodeError:
        raise SopsAuthError from None
    if vtype == "str":
        return text
    if vtype == "comment":
        return Comment(text)
    if vtype in ("int", "int64"):
        if not _INT.fullmatch(text) or not -(2**63) <= int(text) < 2**63:
            raise SopsAuthError
        return int(text)
    if vtype == "float":
        return parse_go_float(text)
    if vtype == "bool":
        if text in _GO_TRUE:
            return True
        if text in _GO_FALSE:
            return False
        raise SopsAuthError
    if vtype == "time":
        return GoTime.parse(text)
    raise SopsAuthError  # an unknown type: sops refuses it too


def parse_go_float(text: str) -> float:
    lowered = text.lower().lstrip("+-")
    if lowered in ("inf", "infinity"):
        return -math.inf if text.startswith("-") else math.inf
    if lowered == "nan" and text[:1] not in "+-":
        return math.nan
    if not _FLOAT.fullmatch(text):
        raise SopsAuthError
    return float(text)


def format_go_float(value: float) -> str:
    """Go's strconv.FormatFloat(v, 'f', -1, 64): shortest digits, no exponent."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return str(format(decimal.Decimal(repr(value)).normalize(), "f"))


@dataclass(frozen=True)
class GoTime:
    """A time value (sops' `time` type), kept as RFC 3339 text."""

    text: str

    @classmethod
    def parse(cls, text: str) -> GoTime:
        if _RFC3339.fullmatch(text) is None:
            raise SopsAuthError
        return cls(text)

    def marshal(self) -> str:
        """Go's time.Time.MarshalText: RFC 3339 with nanoseconds, trailing zeros dropped."""
        match = _RFC3339.fullmatch(self.text)
        assert match is not None
        frac = (match.group(7) or "")[:10].rstrip("0")
        return normalize_rfc3339(match, frac if frac != "." else "")


def normalize_rfc3339(match: re.Match[str], frac: str = "") -> str:
    year, month, day, hour, minute, second = (match.group(i) for i in range(1, 7))
    zone = match.group(8).upper()
    if zone in ("+00:00", "-00:00"):
        zone = "Z"
    return f"{year}-{month}-{day}T{hour}:{minute}:{second}{frac}{zone}"


def lastmodified_aad(text: str) -> bytes:
    """The MAC's associated data: lastmodified as Go re-formats it (time.RFC3339)."""
    match = _RFC3339.fullmatch(text)
    if match is None:
        raise ValueError("lastmodified is not an RFC 3339 time")
    try:
        dt.date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        raise ValueError("lastmodified is not an RFC 3339 time") from None
    return normalize_rfc3339(match).encode("ascii")


def to_bytes(value: Any) -> bytes:
    """sops.go ToBytes: how each value enters the MAC."""
    if isinstance(value, bool):
        return b"True" if value else b"False"
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, int):
        return str(value).encode("ascii")
    if isinstance(value, float):
        return format_go_float(value).encode("ascii")
    if isinstance(value, bytes):
        return bytes(value)
    if isinstance(value, GoTime):
        return value.marshal().encode("ascii")
    raise ValueError(f"a value sops cannot hold ({type(value).__name__})")


def check_mac(walk: Walk, stored: Any, lastmodified: str, key: bytes) -> None:
    """Compare the MAC the walk computed with the file's; SopsAuthError if they differ."""
    if not isinstance(stored, str) or not stored:
        raise SopsAuthError  # no MAC: sops refuses it too (without --ignore-mac)
    expected = decrypt_value(stored, key, lastmodified_aad(lastmodified))
    if not isinstance(expected, str) or not hmac.compare_digest(
        expected.encode("utf-8"), walk.mac().encode("ascii")
    ):
        raise SopsAuthError


def decrypt_tree(
    branches: list[Branch], meta: dict[str, Any], key: bytes, rules: Rules
) -> tuple[list[Branch], int]:
    """Every branch decrypted, after the MAC over all of them held; and how many
    plaintext values the MAC did not cover (only with mac_only_encrypted)."""
    walk = Walk(key, rules)
    opened = [walk.branch(b, [], []) for b in branches]
    check_mac(walk, meta.get("mac"), str(meta.get("lastmodified") or ""), key)
    return opened, walk.unauthenticated
