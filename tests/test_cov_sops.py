"""Importing sops files in the test process (api and CliRunner): each sops value type,
rule, store and key source, and each refusal, on files written here value by value
(AES-256-GCM and the MAC as sops computes them, the data key wrapped by the real `age`)
and on sops' own PGP files opened by the real `gpg`."""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from sealedcfg import api
from sealedcfg.cli.main import app
from sealedcfg.engine.keys import KeySource
from sealedcfg.errors import ExitCode, InputError, NoKeyError, OpenError
from sealedcfg.ops.importing import sopsfile
from sealedcfg.ops.importing.sopskeys import SopsKeys

from .conftest import write
from .test_import_sops import LASTMODIFIED, PGP_KEY, SOPS, _age_wrap, _enc, needs_age, needs_gpg

runner = CliRunner()
SECRET = "sops-Value_with!marks"


class Hand:
    """A sops file written value by value: the data key, a new age identity wrapping it,
    and the MAC over exactly the bytes each value is given as (sops' ToBytes)."""

    def __init__(self, tmp_path: Path, data_key_size: int = 32) -> None:
        self.tmp = tmp_path
        self.key = os.urandom(32)
        wrapped_key = self.key if data_key_size == 32 else os.urandom(data_key_size)
        self.recipient, self.wrapped, self.identity = _age_wrap(wrapped_key, tmp_path)
        self.mac = hashlib.sha512()

    def enc(self, plain: str | bytes, vtype: str, path: str, mac: str | bytes | None = None) -> str:
        raw = plain.encode() if isinstance(plain, str) else plain
        self.macs(raw if mac is None else mac)
        return _enc(self.key, raw, vtype, path)

    def macs(self, *values: str | bytes) -> None:
        for value in values:
            self.mac.update(value.encode() if isinstance(value, str) else value)

    def stanza(self) -> dict[str, str]:
        return {"recipient": self.recipient, "enc": self.wrapped}

    def meta(self, lastmodified: str = LASTMODIFIED, aad: str | None = None, **extra: Any) -> Any:
        sealed_mac = _enc(
            self.key, self.mac.hexdigest().upper().encode(), "str", aad or lastmodified
        )
        meta = {"age": [self.stanza()], "lastmodified": lastmodified, "mac": sealed_mac}
        return {**meta, "version": "3.9.0", **extra}

    def json(self, body: dict[str, Any], **meta: Any) -> Path:
        doc = {**body, "sops": self.meta(**meta)}
        return write(self.tmp / "s.enc.json", json.dumps(doc, indent=1))

    def sops_keys(self) -> SopsKeys:
        return SopsKeys(age_identity_files=(str(self.identity),), sops_defaults=False)

    def imported(self, src: Path, **kw: Any) -> dict[str, Any]:
        """The import of SRC into a new profile, read back."""
        key = api.keygen()
        target = self.tmp / "imported.yaml"
        target.unlink(missing_ok=True)
        api.import_file(src, target, KeySource(key=key, env={}), sops_keys=self.sops_keys(), **kw)
        return api.load(target, key=key)

    def refused(self, src: Path, error: type[Exception], match: str | None = None) -> str:
        target = self.tmp / "refused.yaml"
        with pytest.raises(error, match=match) as info:
            api.import_file(src, target, KeySource(key=api.keygen(), env={}),
                            sops_keys=self.sops_keys())  # fmt: skip
        assert not target.exists()
        assert SECRET not in str(info.value) + "".join(getattr(info.value, "hints", ()))
        return str(info.value)


@pytest.fixture
def hand(tmp_path: Path) -> Hand:
    return Hand(tmp_path)


# ---------------------------------------------------------------- value types


@needs_age
def _sops_block(hand: Hand, rule_line: str) -> str:
    """The `sops:` metadata of a file whose data key `hand` wrapped, with one rule line."""
    wrapped = "".join(f"            {ln}\n" for ln in hand.wrapped.strip().splitlines())
    return (
        "sops:\n    age:\n"
        f"        - recipient: {hand.recipient}\n          enc: |\n{wrapped}"
        f'    lastmodified: "{LASTMODIFIED}"\n    mac: {hand.meta()["mac"]}\n'
        f"    {rule_line}\n    version: 3.9.0\n"
    )


def test_every_sops_value_type(hand: Hand) -> None:
    when = "2024-05-06T07:08:09.120000+00:00"
    body = {
        "s": hand.enc(SECRET, "str", "s:"),
        "raw": hand.enc(b"bytes as text", "bytes", "raw:"),
        "n": hand.enc("-42", "int", "n:"),
        "big": hand.enc("9223372036854775807", "int64", "big:"),
        "half": hand.enc("1.5", "float", "half:"),
        "three": hand.enc("3", "float", "three:"),  # a JSON reader of sops -d gets 3
        "pinf": hand.enc("+Inf", "float", "pinf:"),
        "ninf": hand.enc("-inf", "float", "ninf:", mac="-Inf"),
        "nan": hand.enc("NaN", "float", "nan:"),
        "yes": hand.enc("t", "bool", "yes:", mac="True"),
        "no": hand.enc("FALSE", "bool", "no:", mac="False"),
        "when": hand.enc(when, "time", "when:", mac="2024-05-06T07:08:09.12Z"),
        "whole": hand.enc(
            "2024-05-06T07:08:09.000-02:00", "time", "whole:", mac="2024-05-06T07:08:09-02:00"
        ),
        "empty": "",
        "nothing": None,
        "list": [hand.enc("a", "str", "list:"), {"in": hand.enc("7", "int", "list:in:")}],
        "note_unencrypted": 5,
    }
    hand.macs(b"", b"5")  # the empty string and the plaintext number, in document order
    # lastmodified as sops writes it, compared as Go re-formats it (+00:00 is Z)
    src = hand.json(body, lastmodified="2026-01-02T03:04:05+00:00", aad="2026-01-02T03:04:05Z")
    got = hand.imported(src)
    assert math.isnan(got.pop("nan"))
    assert got == {
        "s": SECRET, "raw": "bytes as text", "n": -42, "big": 2**63 - 1, "half": 1.5,
        "three": 3, "pinf": math.inf, "ninf": -math.inf, "yes": True, "no": False,
        "when": when, "whole": "2024-05-06T07:08:09.000-02:00", "empty": "", "nothing": None,
        "list": ["a", {"in": 7}], "note_unencrypted": 5,
    }  # fmt: skip
    assert type(got["three"]) is int


BAD_VALUES = [
    ("12x", "int"),
    ("9223372036854775808", "int"),  # past int64
    ("yes", "bool"),
    ("1.2.3", "float"),
    ("+nan", "float"),
    ("not-a-time", "time"),
    ("x", "complex128"),  # a type sops does not have
    (b"\xff\xfe", "str"),  # not UTF-8
]


@needs_age
@pytest.mark.parametrize(("plain", "vtype"), BAD_VALUES)
def test_a_value_sops_could_not_have_written_is_refused(
    hand: Hand, plain: str | bytes, vtype: str
) -> None:
    """It authenticates (the data key's holder wrote it) but does not parse as its type:
    the one OpenError, as for tampering."""
    src = hand.json({"v": hand.enc(plain, vtype, "v:"), "w": hand.enc(SECRET, "str", "w:")})
    assert hand.refused(src, OpenError) == f"cannot open {src}: wrong key, or the file was modified"


@needs_age
def test_malformed_ciphertexts_are_refused(hand: Hand) -> None:
    good = hand.enc(SECRET, "str", "a:")
    data = good.split("data:")[1].split(",")[0]
    iv = good.split("iv:")[1].split(",")[0]
    for bad in (
        good.replace("data:", "data:!!"),  # not base64
        "ENC[AES256_GCM,data:" + data + ",iv:AAAA,tag:AAAAAAAAAAAAAAAAAAAAAA==,type:str]",
        SECRET,  # plaintext where the rules say encrypted
        good.replace(iv, "A" + iv[1:] if iv[0] != "A" else "B" + iv[1:]),  # another IV
    ):
        src = hand.json({"a": bad})
        hand.refused(src, OpenError, "cannot open")
    src = hand.json({"port": 5432})  # a number where the rules say encrypted
    hand.refused(src, OpenError, "cannot open")
    no_mac = hand.json({"a": good}, mac="")
    hand.refused(no_mac, OpenError, "cannot open")


@needs_age
def test_a_binary_value_must_be_text(hand: Hand) -> None:
    src = hand.json({"blob": hand.enc(b"\x00\xff\xfe", "bytes", "blob:")})
    assert "a binary value that is not UTF-8 text" in hand.refused(src, InputError)


@needs_age
@pytest.mark.parametrize(
    ("meta", "message"),
    [
        ({"lastmodified": "yesterday"}, "lastmodified is not an RFC 3339 time"),
        ({"lastmodified": "2026-02-30T00:00:00Z"}, "lastmodified is not an RFC 3339 time"),
        ({"encrypted_regex": "^a$", "unencrypted_suffix": "_x"}, "more than one of the"),
    ],
)
def test_malformed_metadata(hand: Hand, meta: dict[str, Any], message: str) -> None:
    src = hand.json({"a": hand.enc(SECRET, "str", "a:")}, **meta)
    assert f"malformed sops metadata ({message}" in hand.refused(src, InputError)


# ---------------------------------------------------------------- rules


@needs_age
@pytest.mark.parametrize(
    "rule",
    [{"encrypted_suffix": "_enc"}, {"unencrypted_regex": "^(host|cfg)$"},
     {"encrypted_regex": "^pw_enc$"}],
)  # fmt: skip
def test_path_rules_decide_what_is_encrypted(hand: Hand, rule: dict[str, str]) -> None:
    body = {
        "pw_enc": hand.enc(SECRET, "str", "pw_enc:"),
        "host": "db.internal",
        "cfg": {"port": 5432, "tls": True},
    }
    hand.macs("db.internal", "5432", "True")
    got = hand.imported(hand.json(body, **rule))
    assert got == {"pw_enc": SECRET, "host": "db.internal", "cfg": {"port": 5432, "tls": True}}
    # the same file under the default rule: a plaintext value is refused
    meta = json.loads((hand.tmp / "s.enc.json").read_text())["sops"]
    for name in rule:
        del meta[name]
    write(hand.tmp / "s.enc.json", json.dumps({**body, "sops": meta}))
    hand.refused(hand.tmp / "s.enc.json", OpenError)


def _yaml_with_comments(hand: Hand, rule: str, marker: str) -> Path:
    """`# {marker}` above `pw` and above one list item: the comment rules' subjects."""
    pw = hand.enc(SECRET, "str", "pw:")
    hand.macs("plain-host", "plain-item")
    item = hand.enc("secret-item", "str", "items:")
    text = (
        f"# {marker}\n"
        f"pw: {pw}\n"
        "host: plain-host\n"
        "items:\n"
        "    - plain-item\n"
        f"    # {marker}\n"
        f"    - {item}\n" + _sops_block(hand, f"{rule}: {marker}")
    )
    return write(hand.tmp / "c.enc.yaml", text)


@needs_age
@pytest.mark.parametrize("rule", ["encrypted_comment_regex", "unencrypted_comment_regex"])
def test_comment_rules(hand: Hand, rule: str) -> None:
    """encrypted_comment_regex: only values under a matching comment are encrypted;
    unencrypted_comment_regex: the values under one are not (the others are)."""
    if rule == "encrypted_comment_regex":
        src = _yaml_with_comments(hand, rule, "sops:enc")
    else:  # the other way round: the comment marks what is in plaintext
        pw = hand.enc(SECRET, "str", "pw:")
        text = (
            f"pw: {pw}\n# keep-clear\nhost: plain-host\n"
            "sops:\n    age:\n"
            f"        - recipient: {hand.recipient}\n          enc: |\n"
            + "".join(f"            {ln}\n" for ln in hand.wrapped.strip().splitlines())
        )
        hand.macs("plain-host")
        text += (
            f'    lastmodified: "{LASTMODIFIED}"\n    mac: {hand.meta()["mac"]}\n'
            f"    {rule}: keep-clear\n    version: 3.9.0\n"
        )
        src = write(hand.tmp / "c.enc.yaml", text)
    got = hand.imported(src)
    assert got["pw"] == SECRET
    assert got["host"] == "plain-host"
    if rule == "encrypted_comment_regex":
        assert got["items"] == ["plain-item", "secret-item"]


# ---------------------------------------------------------------- YAML store


@needs_age
def test_yaml_store_comments_aliases_and_timestamps(hand: Hand) -> None:
    """Comments land where sops keeps them (before their item, in lists, at the end);
    an alias is its anchor's value; an untagged timestamp stays text."""
    pw = hand.enc(SECRET, "str", "db:pw:")
    note = hand.enc(" the port", "comment", "db:", mac=b"")  # comments are not in the MAC
    hand.macs("a", "b", "a", "b", "2024-01-02", "line one\n# not a comment\n", "5432")
    text = (
        "db:\n"
        f"    pw: {pw}\n"
        "    hosts: &h\n"
        "        - a  # first host\n"
        "        # between items\n"
        "        - b\n"
        "        # after the last item\n"
        "    again: *h\n"
        "    day: 2024-01-02\n"
        "    text: |\n"
        "        line one\n"
        "        # not a comment\n"
        f"    #{note}\n"
        "    port: 5432\n"
        "    # the end of db\n"
        + _sops_block(hand, "unencrypted_regex: ^(hosts|again|day|text|port)$")
    )
    src = write(hand.tmp / "y.enc.yaml", text)
    key = api.keygen()
    target = hand.tmp / "out.yaml"
    api.import_file(src, target, KeySource(key=key, env={}), sops_keys=hand.sops_keys())
    assert api.load(target, key=key) == {
        "db": {
            "pw": SECRET, "hosts": ["a", "b"], "again": ["a", "b"], "day": "2024-01-02",
            "text": "line one\n# not a comment\n", "port": 5432,
        }
    }  # fmt: skip
    plain = api.decrypt_file(target, KeySource(key=key, env={})).decode()
    for comment in ("# first host", "# between items", "# after the last item",
                    "# the port", "# the end of db"):  # fmt: skip
        assert comment in plain, plain
    assert plain.index("# between items") < plain.index("- b")
    assert plain.index("# the port") < plain.index("port:")


# ---------------------------------------------------------------- dotenv store


def _dotenv(hand: Hand, lines: list[str], **extra: str) -> Path:
    meta = hand.meta()
    flat = {
        "age__list_0__map_recipient": hand.recipient,
        "age__list_0__map_enc": hand.wrapped.replace("\n", "\\n"),
        "lastmodified": meta["lastmodified"],
        "mac": meta["mac"],
        "version": "3.9.0",
        **extra,
    }
    lines = [*lines, *(f"sops_{k}={v}" for k, v in flat.items())]
    return write(hand.tmp / "s.enc.env", "\n".join(lines) + "\n")


@needs_age
def test_dotenv_store(hand: Hand) -> None:
    token = hand.enc(SECRET, "str", "TOKEN:")
    hand.macs("two\nlines")
    src = _dotenv(hand, ["# top", f"TOKEN={token}", "MULTI_unencrypted=two\\nlines", "# tail"],
                  shamir_threshold="1")  # fmt: skip
    got = hand.imported(src)
    assert got == {"TOKEN": SECRET, "MULTI_unencrypted": "two\nlines"}


@needs_age
@pytest.mark.parametrize(
    ("lines", "extra", "message"),
    [
        (["A=x", "A=y"], {}, "the key 'A_unencrypted' appears twice"),
        (["#bell\x07", "A=x"], {}, "a comment holds a line break or a control character"),
        (["A=x", "no equals sign"], {}, "line 2: not a KEY=VALUE line"),
        (["A=x"], {"age__list_x__map_enc": "e"}, "malformed sops metadata key"),
        (["A=x"], {"version__list_0": "v"}, "malformed sops metadata key"),
        (["A=x"], {"age__map_enc": "e"}, "malformed sops metadata key"),
    ],
)
def test_dotenv_store_refusals(
    hand: Hand, lines: list[str], extra: dict[str, str], message: str
) -> None:
    hand.macs(*(ln.partition("=")[2] for ln in lines if "=" in ln))
    lines = [ln.replace("=", "_unencrypted=", 1) if "=" in ln else ln for ln in lines]
    src = _dotenv(hand, lines, **extra)
    assert message in hand.refused(src, InputError)


# ---------------------------------------------------------------- keys


@needs_age
def test_age_identities_from_sops_places(
    hand: Hand, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SOPS_AGE_KEY, SOPS_AGE_KEY_FILE and sops' keys.txt, as sops finds them."""
    src = hand.json({"a": hand.enc(SECRET, "str", "a:")})
    identity = hand.identity.read_text()
    defaults = SopsKeys()
    monkeypatch.delenv("SOPS_AGE_KEY", raising=False)
    monkeypatch.delenv("SOPS_AGE_KEY_FILE", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    target = tmp_path / "t.yaml"
    keys = KeySource(key=api.keygen(), env={})
    with pytest.raises(NoKeyError, match=f"it opens with: age {hand.recipient}"):
        api.import_file(src, target, keys, sops_keys=defaults)
    monkeypatch.setenv("SOPS_AGE_KEY", identity)
    api.import_file(src, target, keys, sops_keys=defaults)
    monkeypatch.delenv("SOPS_AGE_KEY")
    target.unlink()
    other = tmp_path / "other"
    other.mkdir()
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(_age_wrap(os.urandom(32), other)[2]))
    with pytest.raises(OpenError):  # an identity, not this file's
        api.import_file(src, target, keys, sops_keys=defaults)
    monkeypatch.delenv("SOPS_AGE_KEY_FILE")
    keys_txt = tmp_path / "cfg" / "sops" / "age" / "keys.txt"
    keys_txt.parent.mkdir(parents=True)
    shutil.copy(hand.identity, keys_txt)
    api.import_file(src, target, keys, sops_keys=defaults)
    assert api.load(target, keys=keys) == {"a": SECRET}
    target.unlink()
    write(keys_txt, "AGE-SECRET-KEY-1NOTAKEY\n")
    with pytest.raises(InputError, match=r"^an age identity is malformed$"):
        api.import_file(src, target, keys, sops_keys=defaults)
    assert not target.exists()


@needs_age
def test_a_wrapped_data_key_of_the_wrong_size(tmp_path: Path) -> None:
    hand = Hand(tmp_path, data_key_size=16)
    src = hand.json({"a": hand.enc(SECRET, "str", "a:")})
    assert "it opens with: age" in "".join(getattr(_refusal(hand, src), "hints", ()))


def _refusal(hand: Hand, src: Path) -> Exception:
    with pytest.raises(OpenError) as info:
        hand.imported(src)
    return info.value


@needs_age
def test_key_groups_and_stanzas(hand: Hand) -> None:
    src = hand.json({"a": hand.enc(SECRET, "str", "a:")})
    doc = json.loads(src.read_text())
    meta = doc["sops"]
    stanza = meta.pop("age")[0]

    def with_meta(**changes: Any) -> Path:
        return write(src, json.dumps({**doc, "sops": {**meta, **changes}}))

    assert hand.imported(with_meta(key_groups=[{"age": [stanza]}])) == {"a": SECRET}
    message = hand.refused(with_meta(key_groups=[{"age": [stanza]}, {"age": [stanza]}]),
                           InputError)  # fmt: skip
    assert "2 key groups (Shamir secret sharing) is not supported" in message
    assert "malformed sops key stanzas (age)" in hand.refused(with_meta(age="x"), InputError)
    for enc in (None, 5, ""):
        bad = with_meta(age=[{"recipient": hand.recipient, "enc": enc}])
        assert "malformed sops key stanza" in hand.refused(bad, InputError)
    kms_only = with_meta(kms=[{"arn": "arn:aws:kms:us-east-1:111122223333:key/x", "enc": "e"}])
    with pytest.raises(NoKeyError) as info:
        hand.imported(kms_only)
    assert "it opens with: kms)" in str(info.value)
    assert "keyed by age or PGP" in info.value.hints[0]
    pgp_only = with_meta(pgp=[{"fp": "ABCD", "enc": "e"}])
    with pytest.raises(NoKeyError) as info:
        hand.imported(pgp_only)
    assert "it opens with: pgp ABCD)" in str(info.value)
    assert "--pgp-key FILE" in info.value.hints[0]


# ---------------------------------------------------------------- PGP, the real gpg


@pytest.fixture
def short_tmp(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The runtime directory gpg's private homes go to: short enough for its sockets."""
    path = Path(os.path.realpath(tempfile.mkdtemp(prefix="t", dir="/tmp")))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(path))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _pgp(*files: str) -> SopsKeys:
    return SopsKeys(pgp_key_files=files, sops_defaults=False)


@needs_gpg
def test_sops_pgp_files_in_process(tmp_path: Path, short_tmp: Path) -> None:
    result = runner.invoke(app, [
        "import", str(SOPS / "comments.enc.yaml"), "--to", str(tmp_path / "c.yaml"),
        "--pgp-key", str(PGP_KEY),
    ], env={"SEALEDCFG_KEY": (key := api.keygen())})  # fmt: skip
    assert result.exit_code == 0, result.output
    keys = KeySource(key=key, env={})
    assert (
        api.decrypt_file(tmp_path / "c.yaml", keys) == (SOPS / "comments.yaml").read_bytes() + b"\n"
    )
    assert list(short_tmp.iterdir()) == []  # the private GNUPGHOME is gone
    for name, expected in (("format.enc.json", {"foo": "bar"}),
                           ("format.enc.env", {"foo ": " bar"})):  # fmt: skip
        target = tmp_path / (name + ".yaml")
        api.import_file(SOPS / name, target, keys, sops_keys=_pgp(str(PGP_KEY)))
        assert api.load(target, keys=keys) == expected


@needs_gpg
def test_pgp_stanzas_that_are_no_data_key(
    tmp_path: Path, short_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stanzas gpg prints something for without the user's key: literal data of 32 and of
    64 bytes (stopped past 32), and a message under the PGP passphrase itself."""
    home = short_tmp / "attacker"
    home.mkdir(mode=0o700)
    gpg = ["gpg", "--batch", "--quiet", "--homedir", str(home)]
    data_key = os.urandom(32)

    def armored(*args: str, data: bytes = data_key) -> str:
        out = subprocess.run([*gpg, *args, "--armor"], input=data, capture_output=True, check=True)
        return out.stdout.decode()

    stanzas = [
        armored("--store"),
        armored("--store", data=data_key * 2),
        armored("--pinentry-mode", "loopback", "--passphrase", "guess-able", "--symmetric"),
    ]
    subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], check=False)
    shutil.rmtree(home)
    mac = hashlib.sha512(SECRET.encode()).hexdigest().upper()
    doc = {
        "TOKEN": _enc(data_key, SECRET.encode(), "str", "TOKEN:"),
        "sops": {
            "pgp": [{"fp": "F" * 40, "enc": enc} for enc in stanzas],
            "lastmodified": LASTMODIFIED,
            "mac": _enc(data_key, mac.encode(), "str", LASTMODIFIED),
            "version": "3.9.0",
        },
    }
    src = write(tmp_path / "forged.enc.json", json.dumps(doc))
    monkeypatch.setenv("SEALEDCFG_PGP_PASSPHRASE", "guess-able")
    target = tmp_path / "p.yaml"
    with pytest.raises(OpenError) as info:
        api.import_file(src, target, KeySource(key=api.keygen(), env={}),
                        sops_keys=_pgp(str(PGP_KEY)))  # fmt: skip
    assert info.value.hints == (f"it opens with: {', '.join(['pgp ' + 'F' * 40] * 3)}",)
    assert not target.exists()
    assert list(short_tmp.iterdir()) == []


@needs_gpg
def test_pgp_key_file_refusals(
    tmp_path: Path, short_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "p.yaml"
    keys = KeySource(key=api.keygen(), env={})
    junk = write(tmp_path / "junk.asc", "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nnope\n")
    with pytest.raises(InputError, match=f"^{junk}: not a PGP key gpg can import$"):
        api.import_file(SOPS / "format.enc.json", target, keys, sops_keys=_pgp(str(junk)))
    assert list(short_tmp.iterdir()) == []
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(InputError, match=r"^gpg is not installed") as info:
        api.import_file(SOPS / "format.enc.json", target, keys, sops_keys=_pgp(str(PGP_KEY)))
    assert info.value.hints == ("install it (Debian: apt-get install gnupg)",)
    assert not target.exists()


def test_gpg_home_goes_where_its_sockets_fit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sealedcfg.ops.importing import sopskeys

    fallback = tempfile.gettempdir()
    if len(fallback) > sopskeys._SOCKET_ROOM:
        fallback = "/tmp"
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / ("x" * 90)))  # not there
    assert sopskeys.gnupg_parent() == fallback
    (tmp_path / ("x" * 90)).mkdir()  # there, but too long for gpg-agent's socket paths
    assert sopskeys.gnupg_parent() == fallback
    monkeypatch.setenv("XDG_RUNTIME_DIR", "/dev/shm")
    assert sopskeys.gnupg_parent() == "/dev/shm"


# ---------------------------------------------------------------- the stores' own refusals


@pytest.mark.parametrize(
    ("text", "kind", "message"),
    [
        ('{"a": NaN, "sops": {}}', "json", "not JSON (NaN is not a JSON value)"),
        ('{"a": ', "json", "not valid JSON (line 1, column 7)"),
        ("[" * 100_000, "json", "JSON nested too deeply"),
        ("[1]", "json", "the top level of a sops JSON file must be an object"),
        ('{"a": 1}', "json", "no sops metadata (not a sops-encrypted file)"),
        ("a: 1\n---\nb: 2\n", "yaml", "a sops YAML file with 2 documents is not supported"),
    ],
)
def test_store_refusals(text: str, kind: str, message: str) -> None:
    """What the import's first read already refuses: the sops reader refuses it too."""
    with pytest.raises(InputError) as info:
        sopsfile.load(text, kind, "f")
    assert str(info.value).startswith("f: ")
    assert message in str(info.value)


def test_import_source_refusals_in_process(tmp_path: Path) -> None:
    key = api.keygen()
    keys = KeySource(key=key, env={})
    target = tmp_path / "p.yaml"
    cases = [
        (write(tmp_path / "settings", "A=1\n"), None, "cannot tell its format from the name"),
        (write(tmp_path / "x.toml", "a = 1\n"), None, "importing TOML is not supported"),
        (write(tmp_path / "x.env", b"A=\xff\n"), None, "not UTF-8 text (invalid byte at offset 2)"),
    ]
    for src, fmt, message in cases:
        with pytest.raises(InputError, match=re.escape(message)):
            api.import_file(src, target, keys, fmt=fmt)
    big = tmp_path / "big.env"
    with big.open("wb") as fh:
        fh.truncate((16 << 20) + 1)
    with pytest.raises(InputError, match="the file's size"):
        api.import_file(big, target, keys)
    assert not target.exists()
    result = runner.invoke(app, ["import", "-", "--format", "dotenv", "--to", str(target)],
                           input="FROM_STDIN=yes-1\n", env={"SEALEDCFG_KEY": key})  # fmt: skip
    assert result.exit_code == 0, result.output
    assert api.load(target, keys=keys) == {"FROM_STDIN": "yes-1"}


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("d.json", '{"a": 1, "a": 2}', "the key 'a' appears twice in one object"),
        ("n.json", '{"a": NaN}', "not JSON (NaN is not a JSON value)"),
        ("b.json", '{"a": [1,}', "not valid JSON (line 1, column 10)"),
        ("r.json", "[" * 100_000, "nesting depth"),
        ("l.json", "[1, 2]", "the top level must be a JSON object"),
        ("s.json", '{"a": "\\ud800"}', "a lone surrogate (\\ud800-\\udfff) cannot be sealed"),
        ("h.json", '{"sealedcfg_history": 1}', "a top-level key 'sealedcfg_history' is reserved"),
        ("deep.json", '{"a": ' + "[" * 70 + "]" * 70 + "}", "nesting depth"),
        ("many.json", '{"a": [' + "0," * 250_000 + "0]}", "the number of values"),
        ("m.yaml", "a: 1\n---\nb: 2\n", "holds 2 documents; import reads one"),
    ],
)
def test_plain_source_refusals(tmp_path: Path, name: str, text: str, message: str) -> None:
    src = write(tmp_path / name, text)
    target = tmp_path / "p.yaml"
    with pytest.raises(InputError) as info:
        api.import_file(src, target, KeySource(key=api.keygen(), env={}))
    assert str(info.value).startswith(f"{src}: ")
    assert message in str(info.value)
    assert not target.exists()


def test_a_sealed_file_is_not_a_source(tmp_path: Path) -> None:
    key = api.keygen()
    src = write(tmp_path / "sealed.yaml", f"pw: {SECRET}\n")
    api.encrypt_file(src, KeySource(key=key, env={}))
    result = runner.invoke(app, ["import", str(src), "--to", str(tmp_path / "p.yaml")],
                           env={"SEALEDCFG_KEY": key})  # fmt: skip
    assert result.exit_code == ExitCode.INPUT
    assert result.stderr.splitlines() == [
        f"sealedcfg: error: {src}: is already a sealed file",
        "hint: decrypt it, or copy values with: sealedcfg get / sealedcfg set",
    ]
    assert not (tmp_path / "p.yaml").exists()
