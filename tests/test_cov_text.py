"""Edge branches of the text helpers: terminal-safe display, token checks, and
set/unset's structural edits on every layout they accept or refuse."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from sealedcfg import api
from sealedcfg.base.display import printable
from sealedcfg.engine.keys import KeySource
from sealedcfg.errors import InputError
from sealedcfg.scan import checks
from sealedcfg.yamltext import document, textops

from .conftest import write


def test_printable_escapes_what_could_rewrite_a_line() -> None:
    assert printable("a\x1b[1A\x1b[2Kb") == "a\\x1b[1A\\x1b[2Kb"
    assert printable("x\x9by") == "x\\x9by"  # C1 CSI
    assert printable("evil\u202egpj.yaml") == "evil\\u202egpj.yaml"
    assert printable("one\u2028two") == "one\\u2028two"
    assert printable("plain ünïcode/p.yaml") == "plain ünïcode/p.yaml"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def test_token_checks_reject_what_does_not_decode() -> None:
    assert not checks.github("ghp_" + "a" * 35)  # one short of 30 + 6 checksum
    # tokens of the scan corpus: one with its checksum, and the same with one letter changed
    assert checks.github("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")
    assert not checks.github("ghp_LfrzgjWFFr1KuhmzAPnnOMhxY4eidM0Bgxxf")
    assert checks.slack("xoxb-17653672481-abcdef")
    assert not checks.slack("xoxb-abcdefghijk-abcdef")
    assert not checks.pypi("pypi-A")  # 1 more than a multiple of 4: not base64
    assert not checks.pypi("pypi-é" + "A" * 20)  # not ASCII
    assert not checks.pypi("pypi-" + _b64(b"\x03\x01macaroon"))
    assert checks.pypi("pypi-" + _b64(b"\x02\x01macaroon"))
    assert not checks.discord("A.xyz.abc")
    assert not checks.discord(_b64(b"12345") + ".xyz.abc")  # too short for a bot id
    assert checks.discord(_b64(b"123456789012345678") + ".xyz.abc")


def test_jwt_checks() -> None:
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    assert not checks.jwt(_b64(b'{"typ": "JWT"}') + ".e30.sig")  # no alg
    assert not checks.jwt(_b64(b"[1]") + ".e30.sig")
    assert not checks.jwt("A.e30.sig")
    # an undecodable or missing payload is still a token
    assert checks.jwt(header + ".A.sig")
    assert checks.jwt(header)
    doc = _b64(json.dumps({"sub": "1234567890", "name": "John Doe"}).encode())
    assert not checks.jwt(f"{header}.{doc}.sig")
    real = _b64(json.dumps({"sub": "svc-billing", "exp": 1900000000}).encode())
    assert checks.jwt(f"{header}.{real}.sig")


def _after(tmp_path: Path, keys: KeySource, text: str, op: str, *args: str) -> str:
    """TEXT sealed, then set (dotted, value) or unset (dotted); the plaintext after."""
    target = write(tmp_path / "p.yaml", text)
    api.encrypt_file(target, keys)
    if op == "set":
        assert api.set_value(target, args[0], args[1], keys)
    else:
        api.unset(target, args[0], keys)
    out = tmp_path / "out.yaml"
    out.unlink(missing_ok=True)
    api.decrypt_file(target, keys, output=out)
    return out.read_text()


@pytest.mark.parametrize(
    ("text", "dotted", "after"),
    [
        ("a: {x: 1}\n", "a.y", 'a: {x: 1, "y": 2}\n'),
        ("a: {}\n", "a.y.z", 'a: {"y": {z: 2}}\n'),
        ("a:\n  b: 1", "a.c", "a:\n  b: 1\n  c: 2\n"),  # no final newline
        ("a:\nb: 1\n", "a.c.d", "a:\n  c:\n    d: 2\nb: 1\n"),  # `a:` grows a mapping
        ("a:", "a.c", "a:\n  c: 2\n"),
    ],
)
def test_set_inserts_in_place(
    tmp_path: Path, keys: KeySource, text: str, dotted: str, after: str
) -> None:
    assert _after(tmp_path, keys, text, "set", dotted, "2") == after


def test_set_creates_a_file(tmp_path: Path, keys: KeySource) -> None:
    target = tmp_path / "new.yaml"
    assert api.set_value(target, "db.password", "new-pass_word!", keys)
    api.decrypt_file(target, keys, output=tmp_path / "out.yaml")
    assert (tmp_path / "out.yaml").read_text() == "db:\n  password: new-pass_word!\n"


def test_set_refuses_a_key_under_an_empty_list_item(tmp_path: Path, keys: KeySource) -> None:
    target = write(tmp_path / "p.yaml", "l:\n  -\n  - b\n")
    api.encrypt_file(target, keys)
    before = target.read_bytes()
    with pytest.raises(InputError, match=r"^cannot add a key under a value$"):
        api.set_value(target, "l.0.x", "2", keys)
    assert target.read_bytes() == before


def test_insert_refuses_a_key_on_a_list() -> None:
    body = document.parse("l:\n- a\n", "p.yaml")
    seq = next(n for n in body.nodes if n.kind == "seq")
    with pytest.raises(InputError, match="cannot add a key to a list; add items with an index"):
        textops.insert(body, seq, ["k"], "v", "\n")


@pytest.mark.parametrize(
    ("text", "dotted", "after"),
    [
        ("a: {x: 1, y: 2}\n", "a.x", "a: {y: 2}\n"),
        ("a: {x: 1, y: 2}\n", "a.y", "a: {x: 1}\n"),
        ("x: [a , b]\n", "x.0", "x: [b]\n"),
        ("x: [[1], 2]\n", "x.0", "x: [2]\n"),
        ("x:\n- a: 1\n  b: 2\n", "x.0.a", "x:\n- b: 2\n"),
        ("x:\n- a: 1\n- b\n", "x.0.a", "x:\n- {}\n- b\n"),
        ("x:\n- a: 1", "x.0.a", "x:\n- {}"),
        # the first key of a mapping in a list in a list: both dashes stay (the
        # item's line went whole, leaving `x: {b: 2}`)
        ("x:\n- - a: 1\n    b: 2\n", "x.0.0.a", "x:\n- - b: 2\n"),
        ("x:\n- - a: 1\n", "x.0.0.a", "x:\n- - {}\n"),
        ("x: 1\ny: 2", "y", "x: 1\n"),
    ],
)
def test_unset_removes_in_place(
    tmp_path: Path, keys: KeySource, text: str, dotted: str, after: str
) -> None:
    assert _after(tmp_path, keys, text, "unset", dotted) == after


@pytest.mark.parametrize(
    ("text", "dotted", "error"),
    [
        ("x:\n- - a\n  - b\n", "x.0.0", "cannot remove this list item: it does not start its own"),
        ("x:\n  ? a\n  : 1\n", "x.a", "cannot remove this key: it does not start its own line"),
    ],
)
def test_unset_refusals(
    tmp_path: Path, keys: KeySource, text: str, dotted: str, error: str
) -> None:
    target = write(tmp_path / "p.yaml", text)
    api.encrypt_file(target, keys)
    before = target.read_bytes()
    with pytest.raises(InputError, match=error):
        api.unset(target, dotted, keys)
    assert target.read_bytes() == before
