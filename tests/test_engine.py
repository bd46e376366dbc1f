"""Seal and open: byte-exact round trips, tokens kept, recipients, load()."""

from __future__ import annotations

from pathlib import Path

import pytest

from sealedcfg import api
from sealedcfg.engine.keys import KeySource
from sealedcfg.errors import InputError, NoKeyError, OpenError
from sealedcfg.format import kdf
from sealedcfg.ops import values

from .conftest import FAST, FIXTURES, visible, write

EDGE = sorted((FIXTURES / "edge").glob("*.yaml")) + sorted((FIXTURES / "profiles").glob("*.yaml"))


@pytest.mark.parametrize("src", EDGE, ids=lambda p: p.name)
def test_fixture_round_trip_is_byte_exact(src: Path, work: Path, keys: KeySource) -> None:
    original = src.read_bytes()
    target = write(work / src.name, original)
    result = api.encrypt_file(target, keys)
    sealed = target.read_bytes()
    assert result.sealed > 0
    assert sealed != original
    assert api.decrypt_file(target, keys) == original
    assert api.verify_file(target, keys).ok


def test_no_plaintext_value_left(work: Path, keys: KeySource) -> None:
    target = write(work / "p.yaml", "db:\n  password: hunter2-very-secret\n  port: 5432\n")
    api.encrypt_file(target, keys)
    text = target.read_text()
    assert "hunter2-very-secret" not in visible(text)
    assert "5432" not in visible(text)
    assert "password: sealedcfg;v1;str;;" in text
    assert "port: sealedcfg;v1;int;;" in text


def test_plain_rule_keeps_matching_paths(work: Path, keys: KeySource) -> None:
    target = write(work / "p.yaml", "db:\n  host: db.internal\n  password: pw-123456\n")
    api.encrypt_file(target, keys, plain=r"(^|\.)host$")
    text = target.read_text()
    assert "host: db.internal" in text
    assert "pw-123456" not in visible(text)
    assert 'plain: "(^|\\\\.)host$"' in text
    assert api.verify_file(target, keys).ok


def test_encrypt_twice_does_not_double_encrypt(work: Path, keys: KeySource) -> None:
    target = write(work / "p.yaml", "a: 1\nb: two\n")
    api.encrypt_file(target, keys)
    sealed = target.read_bytes()
    again = api.encrypt_file(target, keys)
    assert (again.sealed, again.written) == (0, False)
    assert target.read_bytes() == sealed


def test_encrypt_seals_only_new_values_and_keeps_tokens(work: Path, keys: KeySource) -> None:
    target = write(work / "p.yaml", "a: 1\nb: two\n")
    api.encrypt_file(target, keys)
    before = target.read_text().splitlines()
    body = [ln for ln in before if ln.startswith(("a:", "b:"))]
    text = target.read_text().replace("b: ", "c:\n  d: new-value\nb: ", 1)
    target.write_text(text)
    planted = target.read_bytes()
    with pytest.raises(InputError, match=r"not sealed by a key holder: c\.d"):
        api.encrypt_file(target, keys)  # who wrote c.d? only --adopt vouches for it
    assert target.read_bytes() == planted
    result = api.encrypt_file(target, keys, adopt=True)
    assert result.adopted == ["c.d"]
    assert result.sealed == 1
    after = target.read_text()
    for line in body:
        assert line in after  # unchanged tokens kept byte for byte
    assert "new-value" not in after
    assert api.decrypt_file(target, keys) == b"a: 1\nc:\n  d: new-value\nb: two\n"


def test_encrypt_refuses_new_values_when_other_things_changed(work: Path, keys: KeySource) -> None:
    target = write(work / "p.yaml", "a: 1\nhost: x\n")
    api.encrypt_file(target, keys, plain="host")
    text = target.read_text().replace("host: x", "host: evil") + ""
    target.write_text(text.replace("a: ", "n: new\na: ", 1))
    before = target.read_bytes()
    with pytest.raises(OpenError):
        api.encrypt_file(target, keys, adopt=True)
    assert target.read_bytes() == before


def test_passphrase_and_key_recipients_both_open(work: Path, key: str) -> None:
    both = KeySource(key=key, passphrase="pass phrase one", env={})
    target = write(work / "p.yaml", "a: secret\n")
    api.encrypt_file(target, both, kdf=FAST)
    assert "type: passphrase" in target.read_text()
    assert "type: key" in target.read_text()
    assert api.decrypt_file(target, KeySource(key=key, env={})) == b"a: secret\n"
    only_pass = KeySource(passphrase="pass phrase one", env={})
    assert api.decrypt_file(target, only_pass) == b"a: secret\n"


def test_one_argon2_derivation_per_file_open(work: Path) -> None:
    target = write(work / "p.yaml", "".join(f"k{i}: value-{i}\n" for i in range(200)))
    api.encrypt_file(target, KeySource(passphrase="pp one two", env={}), kdf=FAST)
    kdf._cache.clear()
    before = kdf.DERIVATIONS
    api.decrypt_file(target, KeySource(passphrase="pp one two", env={}))
    assert kdf.DERIVATIONS - before == 1
    api.verify_file(target, KeySource(passphrase="pp one two", env={}))
    assert kdf.DERIVATIONS - before == 1  # same salt and parameters: cached


def test_wrong_key_and_wrong_passphrase_are_one_error(work: Path, keys: KeySource) -> None:
    target = write(work / "p.yaml", "a: secret\n")
    api.encrypt_file(target, keys)
    with pytest.raises(OpenError) as wrong_key:
        api.decrypt_file(target, KeySource(key=api.keygen(), env={}))
    target2 = write(work / "q.yaml", "a: secret\n")
    api.encrypt_file(target2, KeySource(passphrase="right one", env={}), kdf=FAST)
    with pytest.raises(OpenError) as wrong_pass:
        api.decrypt_file(target2, KeySource(passphrase="wrong one", env={}))
    assert "wrong key, or the file was modified" in wrong_key.value.message
    assert wrong_key.value.message.replace("p.yaml", "q.yaml") == wrong_pass.value.message


@pytest.mark.parametrize("value", ["", "   ", "\t\n"])
def test_empty_passphrase_refused(work: Path, value: str) -> None:
    target = write(work / "p.yaml", "a: secret\n")
    with pytest.raises(InputError, match="empty"):
        api.encrypt_file(target, KeySource(passphrase=value, env={}), kdf=FAST)
    assert target.read_text() == "a: secret\n"


def test_no_key_available(work: Path, keys: KeySource) -> None:
    target = write(work / "p.yaml", "a: secret\n")
    api.encrypt_file(target, keys)
    nokeys = KeySource(env={}, prompt=None)
    nokeys.can_prompt = lambda: False  # type: ignore[method-assign]
    with pytest.raises(NoKeyError) as exc:
        api.decrypt_file(target, nokeys)
    assert any("SEALEDCFG_KEY" in h for h in exc.value.hints)


def test_load_returns_typed_values(work: Path, key: str) -> None:
    target = write(
        work / "p.yaml",
        "a: 1\nb: '1'\nc: true\nd: ~\ne: 1.5\nf: [x, {g: 2024-01-01}]\nh: !Ref name\n",
    )
    api.encrypt_file(target, KeySource(key=key, env={}))
    data = api.load(target, key=key)
    assert data["a"] == 1
    assert data["b"] == "1"
    assert data["c"] is True
    assert data["d"] is None
    assert data["e"] == 1.5
    assert str(data["f"][1]["g"]) == "2024-01-01"
    assert data["h"] == "name"


def test_env_key_sources(work: Path, key: str, tmp_path: Path) -> None:
    target = write(work / "p.yaml", "a: secret\n")
    api.encrypt_file(target, KeySource(key=key, env={}))
    assert api.decrypt_file(target, KeySource(env={"SEALEDCFG_KEY": key})) == b"a: secret\n"
    keyfile = tmp_path / "k.key"
    api.write_key_file(keyfile, key)
    assert oct(keyfile.stat().st_mode & 0o777) == "0o600"
    env = {"SEALEDCFG_KEY_FILE": str(keyfile)}
    assert api.decrypt_file(target, KeySource(env=env)) == b"a: secret\n"
    assert api.decrypt_file(target, KeySource(key_file=str(keyfile), env={})) == b"a: secret\n"


def test_bad_key_text_never_echoed(work: Path) -> None:
    with pytest.raises(InputError) as exc:
        KeySource(env={"SEALEDCFG_KEY": "not-a-key-but-a-secret-value"}).raw_keys()
    assert "not-a-key-but-a-secret-value" not in str(exc.value)


def test_set_value_changes_one_line_and_mac(work: Path, keys: KeySource) -> None:
    lines = "".join(f"k{i}: value-{i}\n" for i in range(50))
    target = write(work / "p.yaml", lines)
    api.encrypt_file(target, keys)
    before = target.read_text().splitlines()
    values.set_value(target, "k7", "changed", keys)
    after = target.read_text().splitlines()
    changed = [i for i, (x, y) in enumerate(zip(before, after, strict=True)) if x != y]
    assert [before[i].split(":")[0] for i in changed] == ["k7", "  mac"]
    assert api.load(target, keys=keys)["k7"] == "changed"


def test_passphrase_prompt_asks_twice_when_creating(work: Path) -> None:
    asked: list[str] = []

    def prompt(answers: list[str]) -> KeySource:
        replies = iter(answers)

        def ask(text: str) -> str:
            asked.append(text)
            return next(replies)

        return KeySource(env={}, prompt=ask)

    target = write(work / "p.yaml", "a: secret\n")
    with pytest.raises(InputError, match="differ"):
        api.encrypt_file(target, prompt(["one passphrase", "another"]), kdf=FAST)
    assert target.read_text() == "a: secret\n"
    api.encrypt_file(target, prompt(["one passphrase", "one passphrase"]), kdf=FAST)
    assert asked[-2:] == ["Passphrase: ", "Passphrase (again): "]
    asked.clear()
    assert api.decrypt_file(target, prompt(["one passphrase"])) == b"a: secret\n"
    assert asked == ["Passphrase: "]  # opening asks once


@pytest.mark.parametrize("version", [(1, 1), (1, 2)])
def test_value_types_match_ruamel_resolution(version: tuple[int, int]) -> None:
    from ruamel.yaml.nodes import ScalarNode
    from ruamel.yaml.resolver import VersionedResolver

    from sealedcfg.yamltext.model import _table

    samples = [
        "yes",
        "No",
        "on",
        "0o14",
        "014",
        "0x1F",
        "1_000",
        "+1",
        "-2",
        "1.5",
        "1e3",
        ".inf",
        "-.Inf",
        ".NaN",
        "~",
        "",
        "null",
        "Null",
        "true",
        "False",
        "abc",
        "2024-01-01",
        "2001-12-14t21:59:43.10-05:00",
        "=",
        "<<",
        "1:20",
        "12:30:00",
        "2024-02-30",
    ]
    reference = VersionedResolver(version=version)
    for value in samples:
        expected = str(reference.resolve(ScalarNode, value, (True, False)))
        if value == "2024-02-30":  # no such day: a string, as Go's yaml.v3 reads it
            expected = "tag:yaml.org,2002:str"
        assert _table(version)(value) == expected, value


@pytest.mark.parametrize("src", EDGE[:8], ids=lambda p: p.name)
def test_compact_mac_records_give_the_same_mac(src: Path, work: Path, keys: KeySource) -> None:
    """seal_new holds each value's node and token records as one compact entry;
    its MAC must be compute_mac's over the records themselves, in any order."""
    from sealedcfg.base.encoding import lp_all
    from sealedcfg.engine import sealing
    from sealedcfg.format import envelope
    from sealedcfg.yamltext import document, model

    sealed = write(work / "s.yaml", "a: 1\n")
    api.encrypt_file(sealed, keys)
    header = sealing.read_profile(sealed.read_bytes(), "s.yaml").header
    assert header is not None
    body = document.parse(src.read_text(encoding="utf-8"), src.name)
    store = sealing._RecordStore()
    tokens = []
    for i, node in enumerate(body.scalars()):  # tokens with and without metadata
        meta = f"note={i}" if i % 3 else ""
        store.token(node.epath, model.value_type(node), meta)
        tokens.append(
            lp_all((b"token", node.epath, model.value_type(node).encode(), meta.encode()))
        )
    records = model.node_records(body.nodes)
    assert model.node_records(body.nodes, out=store) == []
    docs = model.doc_records(body.versions)
    data_key = bytes(range(32))
    expected = envelope.compute_mac(data_key, header, [*reversed(records), *docs, *tokens])
    assert store.mac(data_key, header, docs) == expected


def test_set_one_value_after_tokens_of_every_length(work: Path, keys: KeySource) -> None:
    """`set` of a sealed value finds its place in the opened text from the
    tokens before it (no second parse): quoted, block, flow, tagged and
    non-ASCII values before it, and after it."""
    from sealedcfg.lifecycle import store

    text = (
        'a: "caf\u00e9 \u2603 \U0001f511"\n'
        "b: |\n  multi\n  line \u00e9\n"
        "c: [x, 'y', {z: 1}]\n"
        "d: !!binary aGk=\n"
        "e: &anchor target\n"
        "f: *anchor\n"
        "g: >-\n  folded\n  tail\n"
    )
    target = write(work / "p.yaml", text)
    api.encrypt_file(target, keys)
    assert store.set_value(target, "e", "new target \u00e9", keys)
    text = text.replace("target", "new target \u00e9")
    assert api.decrypt_file(target, keys) == text.encode()
    assert store.set_value(target, "g", "last", keys)  # a block scalar becomes a plain one
    text = text.replace(">-\n  folded\n  tail", "last")
    assert api.decrypt_file(target, keys) == text.encode()
    assert store.set_value(target, "a", "first", keys)
    assert (
        api.decrypt_file(target, keys)
        == text.replace('"caf\u00e9 \u2603 \U0001f511"', "first").encode()
    )
    assert api.verify_file(target, keys).ok
