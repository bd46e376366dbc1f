"""The header block: data key envelope, key commitment and file MAC (FORMAT.md §5).

The header is generated text with one canonical form: parsing then rendering
must give back the same characters, so the only freedom left in it is what the
MAC and the key commitment authenticate.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import struct
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from ruamel.yaml.events import (
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
)

from sealedcfg.base import limits
from sealedcfg.base.encoding import b64d, b64e, lp, lp_all
from sealedcfg.base.secret import Secret
from sealedcfg.errors import InputError
from sealedcfg.format import crypto
from sealedcfg.format.kdf import Argon2Params, derive
from sealedcfg.yamltext.yamlparse import events

_U32 = struct.Struct(">I").pack

HEADER_START = re.compile(r"(?m)^sealedcfg:")
_SEALED_MARK = re.compile(rb"(?m)^sealedcfg:\r?\n  version:")


def is_sealed(data: bytes) -> bool:
    """Whether bytes hold a sealedcfg header (its first field); no parse, no key.

    The one test of "is this a sealed file" for the hook, git setup and
    textconv; reading the header (`parse`) decides whether it is a valid one.
    """
    return _SEALED_MARK.search(data) is not None


_WRAP_SIZE = crypto.NONCE_SIZE + crypto.KEY_SIZE + crypto.TAG_SIZE


@dataclass(frozen=True, slots=True)
class Recipient:
    kind: str  # "passphrase" | "key"
    wrapped: bytes
    params: Argon2Params | None = None  # passphrase only
    salt: bytes = b""  # passphrase only
    key_id: bytes = b""  # key only

    def canonical(self, *, with_wrapped: bool = True) -> bytes:
        fields = [self.kind.encode()]
        if self.kind == "passphrase":
            assert self.params is not None
            fields += [
                b"argon2id",
                *(str(v).encode() for v in (self.params.m, self.params.t, self.params.p)),
                self.salt,
            ]
        else:
            fields.append(self.key_id)
        if with_wrapped:
            fields.append(self.wrapped)
        return lp_all(fields)

    def describe(self) -> str:
        if self.kind == "passphrase":
            assert self.params is not None
            return f"passphrase (argon2id m={self.params.m} t={self.params.t} p={self.params.p})"
        return f"key {b64e(self.key_id)}"


@dataclass(frozen=True, slots=True)
class Header:
    file_id: bytes
    recipients: tuple[Recipient, ...]
    commit: bytes
    plain: str | None = None  # the plaintext-path rule, a regex over dotted paths
    join: str = ""  # text inserted between the body and this header
    mac: bytes = b""
    version: int = crypto.FORMAT_VERSION
    # Where the file lives: its path from the repository root (FORMAT.md §5.6).
    # Authenticated, so a profile copied over another one does not open there.
    bind: str = ""

    def canonical(self) -> bytes:
        """Everything but the MAC, injectively encoded."""
        return lp_all(
            [
                b"sealedcfg header",
                str(self.version).encode(),
                self.file_id,
                self.bind.encode(),
                b"1" + self.plain.encode() if self.plain is not None else b"0",
                self.join.encode(),
                lp_all(r.canonical() for r in self.recipients),
                self.commit,
            ]
        )


# ---------------------------------------------------------------- keys


def key_id(raw: Secret) -> bytes:
    return crypto.hkdf_sha256(raw.reveal(), b"", crypto.INFO_KEY_ID, 8)


def _kek_for_key(raw: Secret) -> bytes:
    return crypto.hkdf_sha256(raw.reveal(), b"", crypto.INFO_WRAP)


def _wrap_aad(file_id: bytes, recipient: Recipient) -> bytes:
    return lp_all([b"sealedcfg wrap", file_id, recipient.canonical(with_wrapped=False)])


def _wrap(kek: bytes, data_key: bytes, file_id: bytes, stanza: Recipient) -> Recipient:
    nonce = crypto.random_bytes(crypto.NONCE_SIZE)
    sealed = crypto.aead_seal(kek, nonce, data_key, _wrap_aad(file_id, stanza))
    return replace(stanza, wrapped=nonce + sealed)


def wrap_for_key(raw: Secret, data_key: bytes, file_id: bytes) -> Recipient:
    stanza = Recipient("key", b"", key_id=key_id(raw))
    return _wrap(_kek_for_key(raw), data_key, file_id, stanza)


def wrap_for_passphrase(
    passphrase: Secret, data_key: bytes, file_id: bytes, params: Argon2Params
) -> Recipient:
    salt = crypto.random_bytes(crypto.SALT_SIZE)
    stanza = Recipient("passphrase", b"", params=params, salt=salt)
    return _wrap(derive(passphrase.reveal(), salt, params), data_key, file_id, stanza)


def unwrap(kek: bytes, file_id: bytes, stanza: Recipient) -> bytes:
    """Raise crypto.AuthError unless `kek` opens `stanza`."""
    nonce, sealed = stanza.wrapped[: crypto.NONCE_SIZE], stanza.wrapped[crypto.NONCE_SIZE :]
    return crypto.aead_open(kek, nonce, sealed, _wrap_aad(file_id, stanza))


def unwrap_with_key(raw: Secret, header: Header) -> bytes | None:
    """The data key via a raw key, or None if no stanza names this key."""
    kid = key_id(raw)
    for stanza in header.recipients:
        if stanza.kind == "key" and crypto.equal(stanza.key_id, kid):
            return unwrap(_kek_for_key(raw), header.file_id, stanza)
    return None


def unwrap_with_passphrase(passphrase: Secret, header: Header) -> bytes:
    """Try each passphrase stanza; parameters were range-checked when parsed."""
    for stanza in header.recipients:
        if stanza.kind == "passphrase":
            assert stanza.params is not None
            kek = derive(passphrase.reveal(), stanza.salt, stanza.params)
            try:
                return unwrap(kek, header.file_id, stanza)
            except crypto.AuthError:
                continue
    raise crypto.AuthError


# ---------------------------------------------------------------- MAC


def compute_mac(data_key: bytes, header: Header, records: Iterable[bytes]) -> bytes:
    """HMAC over the header and the sorted node records: order-independent.

    HMAC(mac key, lp(canonical header) || lp_all(sorted records)), fed in
    slices so that the records are never copied into one string.
    """
    ordered = sorted(records)
    mac = hmac.new(crypto.mac_key(data_key, header.file_id), digestmod=hashlib.sha256)
    mac.update(lp(header.canonical()) + _U32(len(ordered)))
    for i in range(0, len(ordered), 4096):
        mac.update(b"".join([_U32(len(r)) + r for r in ordered[i : i + 4096]]))
    return mac.digest()


def check_commitment(data_key: bytes, header: Header) -> None:
    if not crypto.equal(crypto.key_commitment(data_key, header.file_id), header.commit):
        raise crypto.AuthError


def check_mac(data_key: bytes, header: Header, records: Iterable[bytes]) -> None:
    if not crypto.equal(compute_mac(data_key, header, records), header.mac):
        raise crypto.AuthError


# ---------------------------------------------------------------- text form


def render(header: Header, newline: str = "\n") -> str:
    lines = [
        "sealedcfg:",
        f"  version: {header.version}",
        f"  file_id: {b64e(header.file_id)}",
        f"  bind: {_quoted(header.bind)}",
        f"  plain: {_quoted(header.plain)}",
        f"  join: {_quoted(header.join)}",
        "  recipients:",
    ]
    for r in header.recipients:
        lines.append(f"  - type: {r.kind}")
        if r.kind == "passphrase":
            assert r.params is not None
            lines += [
                "    kdf: argon2id",
                f"    m: {r.params.m}",
                f"    t: {r.params.t}",
                f"    p: {r.params.p}",
                f"    salt: {b64e(r.salt)}",
            ]
        else:
            lines.append(f"    id: {b64e(r.key_id)}")
        lines.append(f"    wrapped: {b64e(r.wrapped)}")
    lines += [f"  commit: {b64e(header.commit)}", f"  mac: {b64e(header.mac)}"]
    return newline.join(lines) + newline


_SURROGATE_PAIR = re.compile(r"\\u(d[89ab][0-9a-f]{2})\\u(d[c-f][0-9a-f]{2})")


def _quoted(value: str | None) -> str:
    """A YAML double-quoted ASCII string: JSON's escapes, and `\\UXXXXXXXX` for a
    character outside the BMP (YAML reads JSON's surrogate pair as two characters)."""
    if value is None:
        return "null"

    def pair(m: re.Match[str]) -> str:
        high, low = int(m.group(1), 16), int(m.group(2), 16)
        return f"\\U{0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00):08x}"

    return _SURROGATE_PAIR.sub(pair, json.dumps(value, ensure_ascii=True))


def split(text: str) -> tuple[str, str | None]:
    """(body, header text) where the header is the last `sealedcfg:` block."""
    last = None
    for last in HEADER_START.finditer(text):  # noqa: B007 - we want the last match
        pass
    if last is None:
        return text, None
    return text[: last.start()], text[last.start() :]


def _tree(text: str, name: str) -> Any:
    """Plain Python tree from YAML events; scalars stay strings (no resolution)."""
    stack: list[Any] = []
    keys: list[Any] = []
    root: Any = None
    for ev in events(text, name):
        cls = type(ev)
        if cls in (ScalarEvent, MappingStartEvent, SequenceStartEvent):
            if cls is ScalarEvent:
                node: Any = ev.value if ev.style != "" or ev.value not in ("null", "~") else None
                if ev.style in ("'", '"'):
                    node = ("quoted", ev.value)
            else:
                node = {} if cls is MappingStartEvent else []
            if not stack:
                root = node
            elif isinstance(stack[-1], dict):
                if keys[-1] is None:
                    keys[-1] = node
                    continue
                stack[-1][keys[-1]] = node
                keys[-1] = None
            else:
                stack[-1].append(node)
            if cls is not ScalarEvent:
                stack.append(node)
                keys.append(None)
        elif cls in (MappingEndEvent, SequenceEndEvent):
            stack.pop()
            keys.pop()
    return root


def check_budget(stanzas: Iterable[tuple[str, int | None, int | None]], name: str) -> None:
    """Bound what opening may cost, before any key is derived: the number of
    stanzas, of passphrase stanzas, and the Argon2id work (m*t) summed over
    the passphrase stanzas.  `stanzas` are (kind, m, t); writers check the
    same bound before adding a recipient, so no file sealedcfg writes is refused."""
    stanzas = list(stanzas)
    if len(stanzas) > limits.MAX_RECIPIENTS:
        raise limits.exceeded(name, "the number of recipients", limits.MAX_RECIPIENTS)
    passphrase = [(m, t) for kind, m, t in stanzas if kind == "passphrase"]
    if len(passphrase) > limits.MAX_PASSPHRASE_STANZAS:
        raise limits.exceeded(
            name, "the number of passphrase recipients", limits.MAX_PASSPHRASE_STANZAS
        )
    if sum(m * t for m, t in passphrase if m is not None and t is not None) > (
        limits.ARGON2_MAX_COST
    ):
        raise limits.exceeded(
            name,
            "the argon2id cost (m*t summed over passphrase recipients)",
            limits.ARGON2_MAX_COST,
        )


def _raw_budget(stanzas: Any, name: str) -> None:
    """check_budget on the parsed header text, before any stanza is decoded."""
    if not isinstance(stanzas, list):
        raise TypeError
    check_budget(
        (
            (str(r.get("type")), _small_int(r.get("m")), _small_int(r.get("t")))
            if isinstance(r, dict)
            else ("", None, None)
            for r in stanzas
        ),
        name,
    )


def _small_int(text: Any) -> int | None:
    """A decimal field as an int, capped (a million digits cost nothing); None if not one."""
    if not isinstance(text, str) or not text.isascii() or not text.isdigit():
        return None
    return int(text) if len(text) <= 12 else 10**12


def parse(text: str, name: str) -> Header:
    """Parse and validate a header block; InputError unless canonical."""
    bad = InputError(
        f"{name}: malformed sealedcfg header",
        hints=("the header is written by sealedcfg; restore it from version control",),
    )
    newline = "\r\n" if "\r\n" in text else "\n"
    try:
        tree = _tree(text, name)
        top = tree["sealedcfg"]
        version = int(top["version"])
        if version != crypto.FORMAT_VERSION:
            raise InputError(
                f"{name}: unsupported sealedcfg format version {version}",
                hints=("upgrade sealedcfg to open this file",),
            )
        plain = top["plain"]
        join = top["join"]
        recipients = []
        _raw_budget(top["recipients"], name)
        for r in top["recipients"]:
            kind = r["type"]
            if kind == "passphrase":
                if r["kdf"] != "argon2id":
                    raise InputError(f"{name}: unsupported key derivation {r['kdf']!r}")
                params = Argon2Params(int(r["m"]), int(r["t"]), int(r["p"]))
                try:
                    params.check()
                except InputError as exc:
                    raise InputError(f"{name}: {exc.message}") from None
                recipients.append(
                    Recipient(kind, b64d(r["wrapped"]), params=params, salt=b64d(r["salt"]))
                )
            elif kind == "key":
                recipients.append(Recipient(kind, b64d(r["wrapped"]), key_id=b64d(r["id"])))
            else:
                raise InputError(f"{name}: unsupported recipient type {kind!r}")
        header = Header(
            file_id=b64d(top["file_id"]),
            recipients=tuple(recipients),
            commit=b64d(top["commit"]),
            plain=plain[1] if isinstance(plain, tuple) else None,
            bind=bind[1] if isinstance(bind := top["bind"], tuple) else "\x00",
            join=join[1] if isinstance(join, tuple) else "\x00",
            mac=b64d(top["mac"]),
            version=version,
        )
    except InputError:
        raise
    except (KeyError, TypeError, ValueError, IndexError, AttributeError):
        raise bad from None
    sizes_ok = (
        len(header.file_id) == 16
        and len(header.commit) == 32
        and len(header.mac) == 32
        and header.recipients
        and all(len(r.wrapped) == _WRAP_SIZE for r in header.recipients)
        and all(
            len(r.salt) == crypto.SALT_SIZE for r in header.recipients if r.kind == "passphrase"
        )
        and all(len(r.key_id) == 8 for r in header.recipients if r.kind == "key")
    )
    if not sizes_ok or render(header, newline) != text:
        raise bad
    return header
