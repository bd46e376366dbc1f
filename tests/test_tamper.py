"""Every tampering is refused; every refusal after a key is involved looks the same."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sealedcfg import api
from sealedcfg.engine.keys import KeySource
from sealedcfg.errors import InputError, OpenError, SealedcfgError
from sealedcfg.format import kdf
from sealedcfg.format import token as tokens

from .conftest import FAST, write

SAMPLE = """\
# a comment
db:
  host: db.internal
  password: s3cret-pw
  user: app
servers:
  - alpha-token
  - beta-token
anchor: &a shared-value
alias: *a
tagged: !Ref bucket
"""
TOKEN = re.compile(r"sealedcfg;v1;[^\s,\]}]+")


def sealed(work: Path, keys: KeySource, name: str = "p.yaml", **kw: Any) -> Path:
    target = write(work / name, SAMPLE)
    api.encrypt_file(target, keys, plain=r"(^|\.)host$", **kw)
    return target


def token_of(text: str, key: str) -> str:
    match = re.search(rf"^\s*{re.escape(key)}: (?:&\w+ |!\w+ )?({TOKEN.pattern})", text, re.M)
    assert match, key
    return match.group(1)


def flip_field(tok: str, field: str) -> str:
    t = tokens.parse(tok)

    def flip(b: bytes, i: int = 0) -> bytes:
        return b[:i] + bytes([b[i] ^ 1]) + b[i + 1 :]

    if field == "salt":
        t = tokens.Token(t.vtype, t.meta, flip(t.salt), t.nonce, t.ciphertext)
    elif field == "nonce":
        t = tokens.Token(t.vtype, t.meta, t.salt, flip(t.nonce), t.ciphertext)
    elif field == "ciphertext":
        t = tokens.Token(t.vtype, t.meta, t.salt, t.nonce, flip(t.ciphertext))
    elif field == "tag":
        t = tokens.Token(t.vtype, t.meta, t.salt, t.nonce, flip(t.ciphertext, -1))
    elif field == "type":
        t = tokens.Token("int", t.meta, t.salt, t.nonce, t.ciphertext)
    elif field == "meta":
        t = tokens.Token(t.vtype, (("exp", "2030-01-01"),), t.salt, t.nonce, t.ciphertext)
    return t.format()


def assert_refused(target: Path, keys: KeySource, exc: type[SealedcfgError] = OpenError) -> None:
    before = target.read_bytes()
    with pytest.raises(exc) as info:
        api.decrypt_file(target, keys)
    assert not api.verify_file(target, keys).ok
    assert target.read_bytes() == before
    if exc is OpenError:
        assert info.value.message == f"cannot open {target}: wrong key, or the file was modified"


@pytest.mark.parametrize("field", ["salt", "nonce", "ciphertext", "tag", "type", "meta"])
def test_flipped_token_field(work: Path, keys: KeySource, field: str) -> None:
    target = sealed(work, keys)
    text = target.read_text()
    tok = token_of(text, "password")
    target.write_text(text.replace(tok, flip_field(tok, field)))
    assert_refused(target, keys)


def edit(fn: Callable[[str], str]) -> Callable[[Path], None]:
    def apply(target: Path) -> None:
        new = fn(target.read_text())
        assert new != target.read_text()
        target.write_text(new)

    return apply


def _swap(text: str) -> str:
    a, b = token_of(text, "password"), token_of(text, "user")
    return text.replace(a, "@@").replace(b, a).replace("@@", b)


def _move_index(text: str) -> str:
    toks = TOKEN.findall(text.split("servers:")[1].split("anchor:")[0])
    return text.replace(toks[0], "@@").replace(toks[1], toks[0]).replace("@@", toks[1])


CASES: dict[str, Callable[[str], str]] = {
    "truncated token": lambda t: t.replace(token_of(t, "password"), token_of(t, "password")[:-5]),
    "token cut to prefix": lambda t: t.replace(token_of(t, "password"), "sealedcfg;v1;str;;"),
    "tokens swapped between keys": _swap,
    "token moved to another list index": _move_index,
    "key deleted": lambda t: re.sub(r"\n  user: .*", "", t),
    "plaintext value inserted": lambda t: t.replace("db:\n", "db:\n  extra: plain\n"),
    "plaintext-by-rule value changed": lambda t: t.replace("db.internal", "evil.internal"),
    "token replaced by plaintext": lambda t: t.replace(token_of(t, "user"), "app"),
    "token quoted": lambda t: t.replace(token_of(t, "user"), f"'{token_of(t, 'user')}'"),
    "anchor renamed": lambda t: t.replace("&a ", "&z ").replace("*a", "*z"),
    "tag changed": lambda t: t.replace("!Ref", "!Sub"),
    "key renamed": lambda t: t.replace("  user:", "  usr:"),
    "mac altered": lambda t: re.sub(
        r"mac: ([A-Za-z0-9_-])", lambda m: "mac: " + ("A" if m.group(1) != "A" else "B"), t
    ),
    "commit altered": lambda t: re.sub(
        r"commit: ([A-Za-z0-9_-])", lambda m: "commit: " + ("A" if m.group(1) != "A" else "B"), t
    ),
    "file id altered": lambda t: re.sub(
        r"file_id: ([A-Za-z0-9_-])", lambda m: "file_id: " + ("A" if m.group(1) != "A" else "B"), t
    ),
    "plain rule widened": lambda t: t.replace('plain: "(^|\\\\.)host$"', 'plain: "host|user"'),
    "wrapped key altered": lambda t: re.sub(
        r"wrapped: ([A-Za-z0-9_-])", lambda m: "wrapped: " + ("A" if m.group(1) != "A" else "B"), t
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_tamper_cases(work: Path, keys: KeySource, name: str) -> None:
    target = sealed(work, keys)
    edit(CASES[name])(target)
    assert_refused(target, keys)


def test_token_copied_from_another_file_with_same_key(work: Path, keys: KeySource) -> None:
    a, b = sealed(work, keys, "a.yaml"), sealed(work, keys, "b.yaml")
    ta, tb = a.read_text(), b.read_text()
    b.write_text(tb.replace(token_of(tb, "password"), token_of(ta, "password")))
    assert_refused(b, keys)


def test_comment_change_is_layout_not_tampering(work: Path, keys: KeySource) -> None:
    target = sealed(work, keys)
    target.write_text(target.read_text().replace("# a comment", "# another comment"))
    assert api.decrypt_file(target, keys).startswith(b"# another comment")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.replace("version: 1", "version: 2"), "unsupported sealedcfg format version"),
        (lambda t: t.replace("kdf: argon2id", "kdf: pbkdf2"), "unsupported key derivation"),
        (lambda t: re.sub(r"m: \d+", "m: 1024", t), "outside the allowed range"),
        (lambda t: re.sub(r"t: \d+", "t: 1", t), "outside the allowed range"),
        (lambda t: re.sub(r"m: \d+", "m: 1073741824", t), "argon2id cost .* exceeds the limit"),
        (lambda t: re.sub(r"t: \d+", "t: 4000000", t), "argon2id cost .* exceeds the limit"),
        (lambda t: re.sub(r"p: \d+", "p: 255", t), "outside the allowed range"),
        (lambda t: t.replace("type: passphrase", "type: pgp"), "unsupported recipient type"),
        (lambda t: t.replace("  version: 1", "  version:  1"), "malformed sealedcfg header"),
        (lambda t: t + "extra: after-header\n", "malformed sealedcfg header"),
        (lambda t: t.replace('  join: ""\n', ""), "malformed sealedcfg header"),
    ],
)
def test_header_downgrades_refused_before_any_derivation(
    work: Path, change: Callable[[str], str], message: str
) -> None:
    pp = KeySource(passphrase="a passphrase", env={})
    target = write(work / "p.yaml", SAMPLE)
    api.encrypt_file(target, pp, kdf=FAST)
    target.write_text(change(target.read_text()))
    kdf._cache.clear()
    before = kdf.DERIVATIONS
    with pytest.raises(InputError, match=message):
        api.decrypt_file(target, pp)
    assert before == kdf.DERIVATIONS


def test_recipient_removed_or_reordered(work: Path, key: str) -> None:
    both = KeySource(key=key, passphrase="a passphrase", env={})
    target = write(work / "p.yaml", SAMPLE)
    api.encrypt_file(target, both, kdf=FAST)
    text = target.read_text()
    stanzas = re.findall(r"  - type: .*?wrapped: \S+\n", text, re.S)
    assert len(stanzas) == 2
    removed = text.replace(stanzas[0], "")
    target.write_text(removed)
    assert_refused(target, KeySource(passphrase="a passphrase", env={}))
    target.write_text(text.replace(stanzas[0] + stanzas[1], stanzas[1] + stanzas[0]))
    assert_refused(target, KeySource(key=key, env={}))


def test_wrong_passphrase(work: Path) -> None:
    target = write(work / "p.yaml", SAMPLE)
    api.encrypt_file(target, KeySource(passphrase="right passphrase", env={}), kdf=FAST)
    assert_refused(target, KeySource(passphrase="wrong passphrase", env={}))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"a: \xff\xfe bad\n", "not UTF-8"),
        (b"\xff\xfea\x00:\x00 \x001\x00\n\x00", "UTF-16"),
        (b"a: 1\na: 2\n", "duplicate key 'a' at line 2"),
        (b"a: 1\n<<<<<<< HEAD\nb: 2\n=======\nb: 3\n>>>>>>> other\n", "conflict markers at line 2"),
        (b"a: [1, 2\n", "not valid YAML"),
        (b"- a\n- b\n", "top level of a profile must be a mapping"),
        (b"just a string\n", "top level of a profile must be a mapping"),
        (b"? [a, b]\n: c\n", "mapping key that is a mapping or list"),
        (b"sealedcfg: mine\n", "malformed sealedcfg header"),
        (b"a: 1\nb: sealedcfg;v1;str;;AAAA\n", "a sealed value at line 2"),
    ],
)
def test_bad_input_is_refused_and_file_untouched(
    work: Path, keys: KeySource, content: bytes, message: str
) -> None:
    target = write(work / "p.yaml", content)
    with pytest.raises(InputError, match=re.escape(message)):
        api.encrypt_file(target, keys)
    assert target.read_bytes() == content


def test_yaml_error_names_line_and_column(work: Path, keys: KeySource) -> None:
    target = write(work / "p.yaml", "a: 1\nb: [x,\nc: 'unterminated\n")
    with pytest.raises(InputError, match=r"line \d+, column \d+"):
        api.encrypt_file(target, keys)


def test_no_secret_in_any_error(work: Path, keys: KeySource) -> None:
    secret = "TOPSECRET-value-42"
    target = write(work / "p.yaml", f"a: {secret}\na: dup\n")
    with pytest.raises(InputError) as exc:
        api.encrypt_file(target, keys)
    assert secret not in str(exc.value)
    target = write(work / "q.yaml", f"a: {secret}\n")
    api.encrypt_file(target, keys)
    target.write_text(target.read_text().replace("a: sealedcfg", "a: sealedcfg", 1) + "")
    with pytest.raises(OpenError) as exc2:
        api.decrypt_file(target, KeySource(key=api.keygen(), env={}))
    assert secret not in str(exc2.value)
    assert secret not in repr(exc2.value)


def test_blank_line_after_keep_chomped_value_is_tampering(work: Path, keys: KeySource) -> None:
    target = write(work / "p.yaml", "a: |+\n  x\n\n\nb: 1\n")
    api.encrypt_file(target, keys)
    assert api.decrypt_file(target, keys) == b"a: |+\n  x\n\n\nb: 1\n"
    target.write_text(target.read_text().replace("\nb: ", "\n\nb: ", 1))
    assert_refused(target, keys)
