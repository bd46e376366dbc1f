"""sealedcfg.api, the front door, called in-process: sealing refusals, verify's
report, load and its file-or-profile choice, export and exec's file, the small
writers (keys, plaintext, appended variables) and their refusals."""

from __future__ import annotations

import json
import os
import re
import stat
import sys
from pathlib import Path

import pytest

from sealedcfg import api
from sealedcfg.engine.keys import KeySource
from sealedcfg.errors import InputError, NoKeyError, OpenError, UsageError

from .conftest import write

SECRET = "Api-Secret value_1!"
TOKEN = re.compile(r"sealedcfg;v1;[^\s,\[\]{}]*")


@pytest.fixture
def profile(tmp_path: Path, keys: KeySource) -> Path:
    target = write(tmp_path / "p.yaml", f"host: h.internal\npw: {SECRET}\nport: 5432\n")
    api.encrypt_file(target, keys, plain="host$")
    return target


# ---------------------------------------------------------------- encrypt


def test_encrypt_refuses_a_dotenv_file(tmp_path: Path, keys: KeySource) -> None:
    target = write(tmp_path / "prod.env", f"PW={SECRET}\n")
    with pytest.raises(InputError) as exc:
        api.encrypt_file(target, keys)
    assert exc.value.message == (
        f"{target}: .env files are not supported as sealed profiles "
        "(sealing rewrites a file as YAML)"
    )
    assert exc.value.hints == (
        f"import it into a YAML profile: sealedcfg import {target} --to {tmp_path / 'prod.yaml'}",
    )
    assert target.read_text() == f"PW={SECRET}\n"


def test_encrypt_keeps_the_plain_rule_of_a_sealed_file(profile: Path, keys: KeySource) -> None:
    before = profile.read_bytes()
    with pytest.raises(InputError, match="already sealed with plaintext rule 'host\\$'"):
        api.encrypt_file(profile, keys, plain="port$")
    assert api.encrypt_file(profile, keys, plain="host$").written is False  # the same rule
    assert profile.read_bytes() == before


def test_encrypt_of_a_modified_file_says_so(profile: Path, keys: KeySource) -> None:
    # the plaintext host was changed by someone: nothing to seal, but not authentic
    profile.write_text(profile.read_text().replace("h.internal", "evil.example"))
    tampered = profile.read_bytes()
    with pytest.raises(OpenError):
        api.encrypt_file(profile, keys)
    # a value added as well: --adopt vouches for the new value only, not for the host
    with_added = f"added: {SECRET}\n".encode() + tampered
    profile.write_bytes(with_added)
    with pytest.raises(OpenError):
        api.encrypt_file(profile, keys, adopt=True)
    assert profile.read_bytes() == with_added  # refused: nothing sealed, nothing written


# ---------------------------------------------------------------- decrypt, verify


def test_decrypt_to_an_output_file(tmp_path: Path, profile: Path, keys: KeySource) -> None:
    out = tmp_path / "plain.yaml"
    plain = api.decrypt_file(profile, keys, output=out)
    assert out.read_bytes() == plain == f"host: h.internal\npw: {SECRET}\nport: 5432\n".encode()
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


def test_verify_reports(tmp_path: Path, profile: Path, keys: KeySource) -> None:
    assert api.verify_file(profile, None, decrypt=False) == api.VerifyResult(str(profile), True)
    wrong = api.verify_file(profile, KeySource(key=api.keygen(), env={}))
    assert not wrong.ok
    assert len(wrong.problems) == 1
    assert SECRET not in wrong.problems[0]
    missing = api.verify_file(tmp_path / "none.yaml", keys)
    assert not missing.ok
    assert "no such file" in missing.problems[0]


def test_verify_lists_at_most_a_hundred_problems(tmp_path: Path, keys: KeySource) -> None:
    target = write(tmp_path / "many.yaml", "".join(f"k{i}: value-{i}\n" for i in range(130)))
    api.encrypt_file(target, keys)
    text = TOKEN.sub("sealedcfg;v1;not-a-token", target.read_text())
    target.write_text(text)
    result = api.verify_file(target, keys)
    assert not result.ok
    assert len(result.problems) == 101
    assert result.problems[0].startswith("k0 (line 1): ")
    assert result.problems[-1] == "... and 30 more problem(s)"


# ---------------------------------------------------------------- load


def test_load_needs_exactly_one_of_file_and_profile(profile: Path, key: str) -> None:
    for path, name in ((None, None), (profile, "prod")):
        with pytest.raises(UsageError, match="give a file or a profile name"):
            api.load(path, profile=name, key=key)
    assert api.load(profile, key=key) == {"host": "h.internal", "pw": SECRET, "port": 5432}


def test_load_of_several_documents(tmp_path: Path, keys: KeySource, key: str) -> None:
    target = write(tmp_path / "multi.yaml", f"a: {SECRET}\n---\nb: 2\n")
    api.encrypt_file(target, keys)
    with pytest.raises(InputError, match="holds 2 documents; use load_all"):
        api.load(target, key=key)
    assert api.load_all(target, key=key) == [{"a": SECRET}, {"b": 2}]


def test_load_of_a_passphrase_file_without_one(tmp_path: Path) -> None:
    target = write(tmp_path / "pp.yaml", f"a: {SECRET}\n")
    api.encrypt_file(target, KeySource(passphrase="a long passphrase", env={}))
    assert not sys.stdin.isatty()
    with pytest.raises(NoKeyError, match="no key or passphrase available"):
        api.load(target)  # no terminal to prompt on
    assert api.load(target, passphrase="a long passphrase") == {"a": SECRET}


# ---------------------------------------------------------------- export, exec


def test_export_refusals(profile: Path, keys: KeySource) -> None:
    for options, message in (
        ({"fmt": "xml"}, "unknown format 'xml'"),
        ({"prefix": "1BAD"}, "--prefix '1BAD'"),
        ({"fmt": "dotenv", "mask": True}, "--mask is for --format github"),
        ({"fmt": "github", "mask": True}, "--mask needs -o"),
    ):
        with pytest.raises(UsageError, match=re.escape(message)):
            api.export([profile], keys, **options)


def test_export_to_files(tmp_path: Path, profile: Path, keys: KeySource) -> None:
    out = tmp_path / "out.env"
    assert api.export([profile], keys, output=out) == api.Exported(None, "")
    assert out.read_text() == api.export([profile], keys).text  # what it would print
    assert f'PW="{SECRET}"' in out.read_text()
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    github_env = write(tmp_path / "github_env", "EARLIER=1\n")
    done = api.export([profile], keys, fmt="github", output=github_env, mask=True, only=["pw"])
    assert done.text is None
    assert done.masks == f"::add-mask::{SECRET}\n"
    text = github_env.read_text()
    assert text.startswith("EARLIER=1\nPW<<ghadelimiter_")  # appended, as the runner expects
    assert f"\n{SECRET}\n" in text
    shown = api.export([profile], keys, fmt="json", prefix="APP_")
    assert shown.text is not None
    assert json.loads(shown.text) == {"host": "h.internal", "pw": SECRET, "port": 5432}


def test_exec_with_a_file(tmp_path: Path, profile: Path, keys: KeySource) -> None:
    copy = tmp_path / "copy"
    argv = ["sh", "-c", f'cp "$1" {copy}; exit 7', "sh", "{}"]
    assert api.exec_command(argv, [profile], keys, file_value="pw") == 7
    assert copy.read_text() == SECRET
    api.exec_command(argv, [profile], keys, file_value=".")
    assert copy.read_text() == f"host: h.internal\npw: {SECRET}\nport: 5432\n"
    with pytest.raises(InputError, match="give a path without a document index"):
        api.exec_command(argv, [profile], keys, file_value="1:pw")
    with pytest.raises(UsageError, match="put \\{\\} in the command"):
        api.exec_command(["true"], [profile], keys, file_value="pw")
    with pytest.raises(UsageError, match="no command after --"):
        api.exec_command([], [profile], keys)


def test_a_document_index_in_a_path_is_refused_also_zero(tmp_path: Path, keys: KeySource) -> None:
    """`exec --doc 1 --file 0:pw` gave document 1's pw: `0:` was read as no index."""
    target = write(tmp_path / "multi.yaml", f"pw: {SECRET}-0\n---\npw: {SECRET}-1\n")
    api.encrypt_file(target, keys)
    for index in ("0", "1"):
        with pytest.raises(InputError, match=f"--file '{index}:pw': give a path without"):
            api.exec_command(["cat", "{}"], [target], keys, doc=1, file_value=f"{index}:pw")
        with pytest.raises(InputError, match=f"--only '{index}:pw': give a path without"):
            api.export([target], keys, doc=1, only=[f"{index}:pw"])


def test_file_content_of_each_kind() -> None:
    view = {"a": {"b": [1, 2]}, "n": None, "t": True, "s": "x y"}
    assert api.file_content(view, "a") == b"b:\n- 1\n- 2\n"
    assert api.file_content(view, "a.b.1") == b"2"
    assert api.file_content(view, "n") == b""
    assert api.file_content(view, "t") == b"true"
    assert api.file_content(view, "s") == b"x y"


# ---------------------------------------------------------------- recipients


def test_recipient_lines_of_an_unsealed_file(tmp_path: Path, profile: Path, key: str) -> None:
    assert api.recipient_lines(write(tmp_path / "plain.yaml", "a: 1\n")) == []
    assert api.recipient_lines(profile) == [f"recipient key {api.key_id_of(key)}"]


# ---------------------------------------------------------------- small writers


def test_write_key_file_in_the_key_directory(
    tmp_path: Path, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "home"))
    keydir = tmp_path / "home" / "sealedcfg" / "keys"
    # any name in the key directory: the file is named by the key's id
    written = api.write_key_file(keydir / "whatever.key", key)
    assert written == keydir / f"{api.key_id_of(key)}.key"
    assert stat.S_IMODE(keydir.stat().st_mode) == 0o700
    assert written.read_text().splitlines()[-1] == key
    with pytest.raises(InputError, match="cannot create \\(No such file or directory\\)"):
        api.write_key_file(tmp_path / "no" / "such" / "k.key", key)


def test_write_plain_refusals_and_devices(
    tmp_path: Path, capfdbinary: pytest.CaptureFixture[bytes]
) -> None:
    real = write(tmp_path / "real.yaml", "old\n")
    link = tmp_path / "link.yaml"
    link.symlink_to(real)
    for writer in (api.write_plain, api.append_plain):
        with pytest.raises(InputError, match="is a symbolic link; refusing"):
            writer(link, SECRET.encode())
    assert real.read_text() == "old\n"
    api.write_plain(os.devnull, b"to a device, written in place")
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)
    for writer in (api.write_plain, api.append_plain):
        writer("-", b"on stdout\n")
    assert capfdbinary.readouterr().out == b"on stdout\non stdout\n"
    with pytest.raises(InputError, match="cannot write \\(No such file or directory\\)"):
        api.append_plain(tmp_path / "no" / "such" / "env", b"A=1\n")
    appended = tmp_path / "new_env"
    api.append_plain(appended, b"A=1\n")
    api.append_plain(appended, b"B=2\n")
    assert appended.read_bytes() == b"A=1\nB=2\n"
    assert stat.S_IMODE(appended.stat().st_mode) == 0o600
