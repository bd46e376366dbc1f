"""The JSON test vectors of FORMAT.md: one parametrized test per file.

The vectors are data (fernet's generate/verify/invalid.json, the age
testkit): another implementation can run the same cases.  Regenerate them
with `python fixtures/vectors/generate.py`.
"""

from __future__ import annotations

import base64
import hmac
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from hypothesis import given, settings
from hypothesis import strategies as st

from sealedcfg import api
from sealedcfg.base.encoding import b64d
from sealedcfg.engine import sealing
from sealedcfg.engine.keys import KeySource
from sealedcfg.errors import InputError, NoKeyError, OpenError, SealedcfgError
from sealedcfg.format import crypto, envelope, kdf
from sealedcfg.format import token as tokens
from sealedcfg.recipients import table
from sealedcfg.yamltext import document, model

VECTORS = Path(__file__).resolve().parent.parent / "fixtures" / "vectors"
ERRORS: dict[str, type[Exception]] = {
    "TokenError": tokens.TokenError,
    "AuthError": crypto.AuthError,
    "InputError": InputError,
    "OpenError": OpenError,
}


def cases(name: str) -> list[Any]:
    data = json.loads((VECTORS / name).read_text(encoding="utf-8"))
    return [pytest.param(case, id=case["desc"]) for case in data]


def _refuse_prompt(_: str) -> str:
    raise NoKeyError("no prompt in tests")


def key_source(case: dict[str, Any]) -> KeySource:
    return KeySource(key=case["key"], passphrase=case["passphrase"], env={}, prompt=_refuse_prompt)


def file_bytes(case: dict[str, Any]) -> bytes:
    if case["sealed"] is None:
        return bytes.fromhex(case["sealed_hex"])
    return str(case["sealed"]).encode("utf-8")


@pytest.mark.parametrize("case", cases("token-valid.json"))
def test_token_valid(case: dict[str, Any]) -> None:
    data_key = bytes.fromhex(case["data_key"])
    file_id = b64d(case["file_id"])
    path = tuple(case["path"])
    tok = tokens.parse(case["token"])
    assert tok.format() == case["token"]  # parse then format: the same characters
    assert (tok.vtype, tok.salt.hex(), tok.nonce.hex()) == (
        case["type"],
        case["salt"],
        case["nonce"],
    )
    assert "+".join(f"{k}={v}" for k, v in tok.meta) == case["meta"]
    aad = crypto.value_aad(file_id, path, case["type"], tok.meta_bytes())
    assert aad.hex() == case["aad"]
    salt, nonce, ct = crypto.seal_value(
        data_key,
        case["plaintext"].encode("utf-8"),
        aad,
        _salt=bytes.fromhex(case["salt"]),
        _nonce=bytes.fromhex(case["nonce"]),
    )
    assert tokens.Token(case["type"], tok.meta, salt, nonce, ct).format() == case["token"]
    opened = crypto.open_value(data_key, tok.salt, tok.nonce, tok.ciphertext, aad)
    assert opened.decode("utf-8") == case["plaintext"]


def open_token(case: dict[str, Any]) -> bytes:
    """Parse, then open in the case's context (file id, path, data key)."""
    tok = tokens.parse(case["token"])
    aad = crypto.value_aad(b64d(case["file_id"]), tuple(case["path"]), tok.vtype, tok.meta_bytes())
    return crypto.open_value(
        bytes.fromhex(case["data_key"]), tok.salt, tok.nonce, tok.ciphertext, aad
    )


@pytest.mark.parametrize("case", cases("token-invalid.json"))
def test_token_invalid(case: dict[str, Any]) -> None:
    # TokenError (a grammar error) and AuthError are unrelated classes, so a
    # grammar case that parsed, or an auth case refused by the parser, fails.
    with pytest.raises(ERRORS[case["expected"]]):
        open_token(case)


@pytest.mark.parametrize("case", cases("hkdf.json"))
def test_hkdf(case: dict[str, Any]) -> None:
    ikm, salt, info = (bytes.fromhex(case[f]) for f in ("ikm", "salt", "info"))
    length = case["length"]
    assert crypto.hkdf_sha256(ikm, salt, info, length).hex() == case["okm"]
    reference = HKDF(hashes.SHA256(), length, salt or None, info).derive(ikm)
    assert reference.hex() == case["okm"]


# RFC 4231 test cases 1, 2, 3, 4, 6 and 7 (6 and 7: a key longer than a block).
RFC4231 = [
    ("0b" * 20, b"Hi There".hex(),
     "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
    (b"Jefe".hex(), b"what do ya want for nothing?".hex(),
     "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
    ("aa" * 20, "dd" * 50, "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
    ("0102030405060708090a0b0c0d0e0f10111213141516171819", "cd" * 50,
     "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"),
    ("aa" * 131, b"Test Using Larger Than Block-Size Key - Hash Key First".hex(),
     "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
    ("aa" * 131, b"This is a test using a larger than block-size key and a larger than "
     b"block-size data. The key needs to be hashed before being used by the HMAC algorithm."
     .hex(), "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"),
]  # fmt: skip


@pytest.mark.parametrize(("key", "data", "mac"), RFC4231)
def test_hmac_sha256_rfc4231(key: str, data: str, mac: str) -> None:
    assert crypto.hmac_sha256(bytes.fromhex(key), bytes.fromhex(data)).hex() == mac
    assert hmac.digest(bytes.fromhex(key), bytes.fromhex(data), "sha256").hex() == mac


def test_hmac_sha256_matches_the_library_at_every_key_length() -> None:
    # Every key length around the block size (64) and the hash size (32).
    for size in range(0, 140):
        key, data = os.urandom(size), os.urandom(size % 97)
        assert crypto.hmac_sha256(key, data) == hmac.digest(key, data, "sha256"), size


@pytest.mark.parametrize("case", cases("header-valid.json"))
def test_header_valid(case: dict[str, Any]) -> None:
    data = file_bytes(case)
    profile = sealing.read_profile(data, "vector.yaml")
    header = profile.header
    assert header is not None
    _, header_text = envelope.split(data.decode("utf-8"))
    assert header_text is not None
    assert envelope.render(table.parse_header(header_text, "vector.yaml"), profile.newline) == (
        header_text
    )
    assert profile.to_bytes(profile.body.text, header) == data  # parse then render: same bytes
    data_key = bytes.fromhex(case["data_key"])
    assert api.open_data_key(header, key_source(case), "vector.yaml") == data_key
    assert crypto.key_commitment(data_key, header.file_id) == b64d(case["commit"])
    # The MAC covers the meaning of the plaintext (FORMAT.md §5.5), not the sealed text.
    meaning = model.meaning_records(document.parse(case["plaintext"], "vector.yaml"))
    records = meaning + sealing.token_records(profile.body)
    assert envelope.compute_mac(data_key, header, records) == b64d(case["mac"])
    for node in profile.body.nodes:
        if sealing.is_token(node):
            assert tokens.parse(node.value).format() == node.value
    assert api.decrypt_bytes(data, key_source(case)).decode("utf-8") == case["plaintext"]


@pytest.mark.parametrize("case", cases("header-invalid.json"))
def test_header_invalid(case: dict[str, Any]) -> None:
    expected = ERRORS[case["expected"]]
    before = kdf.DERIVATIONS
    with pytest.raises(SealedcfgError) as info:
        api.decrypt_bytes(file_bytes(case), key_source(case), "vector.yaml")
    assert type(info.value) is expected, info.value.message
    if expected is InputError:  # a format error is found before any key work
        after = kdf.DERIVATIONS
        assert after == before


def test_the_vectors_are_what_the_code_generates() -> None:
    """Spec, vectors and code in step: regenerating gives the committed files."""
    import importlib.util
    import json

    spec = importlib.util.spec_from_file_location("generate", VECTORS / "generate.py")
    assert spec is not None
    assert spec.loader is not None
    generate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generate)
    valid, files = generate.header_valid()
    for name, cases in (
        ("token-valid.json", generate.token_valid()),
        ("token-invalid.json", generate.token_invalid()),
        ("hkdf.json", generate.hkdf()),
        ("header-valid.json", valid),
        ("header-invalid.json", generate.header_invalid(files)),
    ):
        expected = (VECTORS / name).read_text(encoding="utf-8")
        assert json.dumps(cases, indent=2, ensure_ascii=True) + "\n" == expected, name


def _canonical_b64url(text: str) -> bytes | None:
    """The reference: the bytes of a canonical unpadded base64url text, else None."""
    if len(text) % 4 == 1 or not re.fullmatch(r"[A-Za-z0-9_-]*", text):
        return None
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    return data if base64.urlsafe_b64encode(data).rstrip(b"=").decode() == text else None


@settings(max_examples=3000, deadline=None)
@given(
    st.binary(max_size=40).map(lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode())
    | st.text(alphabet="AQgw09-_+/=\n \t\x00é.:", max_size=12)
    | st.tuples(
        st.binary(max_size=30), st.text(alphabet="A_-+/=\n é", max_size=2), st.integers(0, 40)
    ).map(
        lambda t: (lambda s: s[: t[2]] + t[1] + s[t[2] :])(base64.urlsafe_b64encode(t[0]).decode())
    )
)
def test_b64d_accepts_exactly_the_canonical_texts(text: str) -> None:
    expected = _canonical_b64url(text)
    if expected is None:
        with pytest.raises(ValueError, match="not canonical base64url"):
            b64d(text)
    else:
        assert b64d(text) == expected


def test_value_opener_is_open_value_with_its_aad() -> None:
    # The per-file opener (HKDF written out, the AAD built in one join) against
    # the plain construction, on sealed payloads and on each one-byte change.
    data_key, file_id = os.urandom(32), os.urandom(16)
    opener = crypto.ValueOpener(data_key, file_id)
    for size in (0, 1, 31, 200):
        epath, meta = os.urandom(size % 40), tokens.encode_meta((("a", "1"),) if size else ())
        aad = crypto.value_aad(file_id, epath, "str", meta)
        plain = os.urandom(size)
        payload = b"".join(crypto.seal_value(data_key, plain, aad))
        assert opener.open(payload, epath, "str", meta) == plain
        assert crypto.open_value(data_key, payload[:16], payload[16:28], payload[28:], aad) == plain
        for at in (0, 16, 28, len(payload) - 1):
            bad = payload[:at] + bytes([payload[at] ^ 1]) + payload[at + 1 :]
            with pytest.raises(crypto.AuthError):
                opener.open(bad, epath, "str", meta)
        with pytest.raises(crypto.AuthError):
            opener.open(payload, epath + b"x", "str", meta)
        with pytest.raises(crypto.AuthError):
            opener.open(payload, epath, "int", meta)
