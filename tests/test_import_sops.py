"""Importing sops-encrypted files: sops' own functional-test files (PGP, the real gpg) and
files built here in sops' format with the real `age` CLI wrapping the data key."""

from __future__ import annotations

import atexit
import base64
import decimal
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from typer.testing import CliRunner

from sealedcfg import api
from sealedcfg.cli.main import app
from sealedcfg.engine.keys import KeySource
from sealedcfg.errors import ExitCode, InputError, OpenError

from .conftest import FIXTURES, visible, write
from .subproc import cli, one_error_line

runner = CliRunner()
SOPS = FIXTURES / "sops"
# a key file inside a git working tree is refused: the tests give a copy outside it
_KEY_DIR = Path(tempfile.mkdtemp(prefix="sealedcfg-pgp-"))
atexit.register(shutil.rmtree, _KEY_DIR, True)
PGP_KEY = Path(shutil.copy(SOPS / "sops_functional_tests_key.asc", _KEY_DIR / "key.asc"))
LASTMODIFIED = "2026-01-02T03:04:05Z"
SECRET = "Sup3r-Secret-Value-9"

needs_gpg = pytest.mark.skipif(shutil.which("gpg") is None, reason="gpg is not installed")
needs_age = pytest.mark.skipif(
    shutil.which("age") is None or shutil.which("age-keygen") is None,
    reason="the age CLI is not installed",
)


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A temporary directory with a path short enough for gpg-agent's sockets."""
    path = Path(tempfile.mkdtemp(prefix="t", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return {"SEALEDCFG_KEY": api.keygen(), "HOME": str(home), "XDG_RUNTIME_DIR": "", **extra}


# ---------------------------------------------------------------- sops' own files, PGP


@needs_gpg
@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("format.enc.yaml", {"foo": "bar"}),
        ("format.enc.json", {"foo": "bar"}),
        ("format.enc.env", {"foo ": " bar"}),  # sops keeps `foo = bar` split at the `=`
        ("comments.enc.yaml", {"lorem": "ipsum", "dolor": "sit"}),
    ],
)
def test_sops_functional_test_files(
    tmp_path: Path, short_tmp: Path, name: str, expected: dict[str, str]
) -> None:
    env = _env(tmp_path, TMPDIR=str(short_tmp))
    gnupg = tmp_path / "user-gnupg"
    gnupg.mkdir(mode=0o700)
    env["GNUPGHOME"] = str(gnupg)  # the user's keyring: must stay untouched
    proc = cli("import", str(SOPS / name), "--to", "out.yaml", "--pgp-key", str(PGP_KEY),
               env=env, cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    keys = KeySource(key=env["SEALEDCFG_KEY"], env={})
    out = tmp_path / "out.yaml"
    assert api.load(out, keys=keys) == expected
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    if name == "comments.enc.yaml":  # comments come across where sops kept them
        assert api.decrypt_file(out, keys) == (SOPS / "comments.yaml").read_bytes() + b"\n"
    assert list(gnupg.iterdir()) == []
    assert list(short_tmp.iterdir()) == []  # the private GNUPGHOME is gone, with its agent


@needs_gpg
def test_sops_file_without_mac_is_refused(tmp_path: Path) -> None:
    proc = cli("import", str(SOPS / "no_mac.yaml"), "--to", "out.yaml", "--pgp-key",
               str(PGP_KEY), env=_env(tmp_path), cwd=tmp_path)  # fmt: skip
    assert "cannot open" in one_error_line(proc, ExitCode.OPEN)
    assert not (tmp_path / "out.yaml").exists()


@needs_gpg
@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("data:8CvE", "data:8CvF"),  # a value's ciphertext
        ("foo: ENC", "fob: ENC"),  # the value moved to another key
        ('lastmodified: "2026-05-22T20:16:23Z"', 'lastmodified: "2026-05-22T20:16:24Z"'),
        ("data:t5sI", "data:t5sJ"),  # the MAC itself
        ("sops:\n", "extra_unencrypted: added\nsops:\n"),  # a value the MAC does not cover
    ],
)
def test_tampered_sops_file_is_refused(tmp_path: Path, old: str, new: str) -> None:
    text = (SOPS / "format.enc.yaml").read_text()
    assert old in text
    src = write(tmp_path / "t.enc.yaml", text.replace(old, new, 1))
    proc = cli("import", str(src), "--to", "out.yaml", "--pgp-key", str(PGP_KEY),
               env=_env(tmp_path), cwd=tmp_path)  # fmt: skip
    assert "cannot open" in one_error_line(proc, ExitCode.OPEN)
    assert not (tmp_path / "out.yaml").exists()


def test_sops_file_whose_key_you_do_not_have(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["import", str(SOPS / "format.enc.json"), "--to", str(tmp_path / "o.yaml")],
        env={"SEALEDCFG_KEY": api.keygen(), "HOME": str(tmp_path), "SOPS_AGE_KEY": ""},
    )  # fmt: skip
    assert result.exit_code == ExitCode.NO_KEY
    assert "FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4" in result.output
    assert not (tmp_path / "o.yaml").exists()


# ---------------------------------------------------------------- sops' format, built here with age


def _go_float(value: float) -> str:
    return format(decimal.Decimal(repr(value)).normalize(), "f")


def _plain_bytes(value: Any, json_numbers: bool) -> tuple[bytes, str]:
    if isinstance(value, bool):
        return (b"True" if value else b"False"), "bool"
    if isinstance(value, int) and not json_numbers:
        return str(value).encode(), "int"
    if isinstance(value, int | float):  # Go reads every JSON number as a float64
        return _go_float(float(value)).encode(), "float"
    return value.encode(), "str"


def _enc(data_key: bytes, plain: bytes, vtype: str, aad: str) -> str:
    iv = os.urandom(32)
    sealed = AESGCM(data_key).encrypt(iv, plain, aad.encode())
    b64 = base64.b64encode
    return (
        f"ENC[AES256_GCM,data:{b64(sealed[:-16]).decode()},iv:{b64(iv).decode()},"
        f"tag:{b64(sealed[-16:]).decode()},type:{vtype}]"
    )


class SopsBuilder:
    """sops' scheme, written independently of the importer: per-value AES-256-GCM with the
    path (keys joined by ':', plus ':') as associated data, SHA-512 MAC over the values."""

    def __init__(
        self,
        data_key: bytes,
        json_numbers: bool = False,
        encrypted_regex: str | None = None,
        mac_only_encrypted: bool = False,
    ) -> None:
        self.key = data_key
        self.json_numbers = json_numbers
        self.regex = re.compile(encrypted_regex) if encrypted_regex else None
        self.mac_only = mac_only_encrypted
        self.mac = hashlib.sha512()
        if mac_only_encrypted:  # sops' MACOnlyEncryptedInitialization
            self.mac.update(hashlib.sha256(b"sops").digest())

    def _encrypted(self, path: list[str]) -> bool:
        if self.regex is not None:
            return any(self.regex.search(p) for p in path)
        return not any(p.endswith("_unencrypted") for p in path)

    def seal(self, value: Any, path: list[str]) -> Any:
        if isinstance(value, dict):
            return {k: self.seal(v, [*path, k]) for k, v in value.items()}
        if isinstance(value, list):
            return [self.seal(v, path) for v in value]  # list indices are not in the path
        if value is None:
            return None
        plain, vtype = _plain_bytes(value, self.json_numbers)
        encrypted = self._encrypted(path)
        if encrypted or not self.mac_only:
            self.mac.update(plain)
        if not encrypted or value == "":
            return value
        return _enc(self.key, plain, vtype, ":".join(path) + ":")

    def comment(self, text: str, path: list[str]) -> str:
        return "#" + _enc(self.key, text.encode(), "comment", ":".join(path) + ":")

    def sealed_mac(self) -> str:
        digest = self.mac.hexdigest().upper().encode()
        return _enc(self.key, digest, "str", LASTMODIFIED)


def _age_wrap(data_key: bytes, tmp_path: Path) -> tuple[str, str, Path]:
    identity = tmp_path / "age-key.txt"
    subprocess.run(["age-keygen", "-o", str(identity)], check=True, capture_output=True)
    recipient = next(
        ln.split(": ", 1)[1]
        for ln in identity.read_text().splitlines()
        if ln.startswith("# public key: ")
    )
    wrapped = subprocess.run(
        ["age", "-a", "-r", recipient], input=data_key, capture_output=True, check=True
    ).stdout.decode()
    return recipient, wrapped, identity


DATA = {
    "db": {
        "password": SECRET,
        "port": 5432,
        "ratio": 0.5,
        "tls": True,
        "hosts": ["a.internal", "b.internal"],
        "note_unencrypted": "visible in the sops file",
        "empty": "",
        "nothing": None,
    },
    "api": [{"name": "stripe", "token": "sk_test_x"}],
}


def _yaml_scalar(value: Any) -> str:
    return "null" if value is None else json.dumps(value)


def _yaml(
    tree: Any, indent: int, comments: dict[tuple[str, ...], str], path: tuple[str, ...]
) -> list[str]:
    pad = " " * indent
    lines = []
    for key, value in tree.items():
        if (*path, key) in comments:
            lines.append(pad + comments[(*path, key)])
        if isinstance(value, dict):
            lines += [f"{pad}{key}:", *_yaml(value, indent + 4, comments, (*path, key))]
        elif isinstance(value, list):
            lines.append(f"{pad}{key}:")
            for item in value:
                if isinstance(item, dict):
                    sub = _yaml(item, indent + 4, comments, (*path, key))
                    lines += [pad + "  - " + sub[0].lstrip(), *sub[1:]]
                else:
                    lines.append(f"{pad}  - {_yaml_scalar(item)}")
        else:
            lines.append(f"{pad}{key}: {_yaml_scalar(value)}")
    return lines


def build_sops(
    kind: str,
    tmp_path: Path,
    data: dict[str, Any] = DATA,
    pgp: Path | None = None,
    rules: dict[str, Any] | None = None,
) -> tuple[Path, Path]:
    """A sops file of KIND keyed by a new age identity (returned), or by the PGP key of
    the GNUPGHOME `pgp`."""
    data_key = os.urandom(32)
    recipient, wrapped, identity = _age_wrap(data_key, tmp_path)
    rules = rules or {"unencrypted_suffix": "_unencrypted"}
    builder = SopsBuilder(
        data_key,
        json_numbers=kind == "json",
        encrypted_regex=rules.get("encrypted_regex"),
        mac_only_encrypted=bool(rules.get("mac_only_encrypted")),
    )
    sealed = builder.seal(data, [])
    stanza: dict[str, Any] = {"age": [{"recipient": recipient, "enc": wrapped}]}
    if pgp is not None:
        fp = _fingerprint(pgp)
        enc = subprocess.run(
            ["gpg", "--batch", "--homedir", str(pgp), "--trust-model", "always", "--armor",
             "--encrypt", "-r", fp],
            input=data_key, capture_output=True, check=True,
        ).stdout.decode()  # fmt: skip
        stanza = {"pgp": [{"created_at": LASTMODIFIED, "enc": enc, "fp": fp}]}
    meta = {
        **stanza,
        "lastmodified": LASTMODIFIED,
        "mac": builder.sealed_mac(),
        **rules,
        "version": "3.9.0",
    }
    if kind == "json" or pgp is not None:
        text = json.dumps({**sealed, "sops": meta}, indent=4)
        kind = "json"
    elif kind == "dotenv":
        lines = [builder.comment(" a comment", [])]
        lines += [f"{k}={v}" for k, v in sealed.items()]
        flat = {
            "age__list_0__map_recipient": recipient,
            "age__list_0__map_enc": wrapped.replace("\n", "\\n"),
            **{k: v for k, v in meta.items() if k != "age"},
        }
        lines += [f"sops_{k}={v}" for k, v in sorted(flat.items())]
        text = "\n".join(lines) + "\n"
    else:
        comments = {("db",): builder.comment(" top comment", []),
                    ("db", "port"): builder.comment(" the port", ["db"])}  # fmt: skip
        body = _yaml(sealed, 0, comments, ())
        enc = "\n".join("            " + ln for ln in wrapped.strip().splitlines())
        body += [
            "sops:",
            "    age:",
            f"        - recipient: {recipient}",
            "          enc: |",
            enc,
            f'    lastmodified: "{LASTMODIFIED}"',
            f"    mac: {meta['mac']}",
            *(f"    {k}: {json.dumps(v)}" for k, v in rules.items()),
            "    version: 3.9.0",
        ]
        text = "\n".join(body) + "\n"
    suffix = {"json": ".json", "dotenv": ".env", "yaml": ".yaml"}[kind]
    return write(tmp_path / f"secrets.enc{suffix}", text), identity


@needs_age
@pytest.mark.parametrize("kind", ["yaml", "json"])
def test_age_sops_file_imports_what_sops_sealed(tmp_path: Path, kind: str) -> None:
    src, identity = build_sops(kind, tmp_path)
    assert SECRET not in src.read_text()
    env = _env(tmp_path)
    proc = cli("import", str(src), "--to", "prod.yaml", "--age-identity", str(identity),
               env=env, cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert SECRET not in proc.stdout + proc.stderr
    target = tmp_path / "prod.yaml"
    keys = KeySource(key=env["SEALEDCFG_KEY"], env={})
    assert api.load(target, keys=keys) == DATA
    assert SECRET not in visible(target.read_text())
    if kind == "yaml":
        plain = api.decrypt_file(target, keys).decode()
        assert plain.startswith("# top comment\ndb:\n")
        assert "  # the port\n  port: 5432\n" in plain


@needs_age
def test_age_sops_dotenv_via_sops_age_key_file(tmp_path: Path) -> None:
    src, identity = build_sops("dotenv", tmp_path, {"TOKEN": SECRET, "PORT": "8080"})
    env = _env(tmp_path, SOPS_AGE_KEY_FILE=str(identity))
    proc = cli("import", str(src), "--to", "prod.yaml", env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    keys = KeySource(key=env["SEALEDCFG_KEY"], env={})
    target = tmp_path / "prod.yaml"
    assert api.load(target, keys=keys) == {"TOKEN": SECRET, "PORT": "8080"}
    assert api.decrypt_file(target, keys).decode().startswith("# a comment\n")


@needs_age
def test_age_wrong_identity_and_tampering(tmp_path: Path) -> None:
    src, identity = build_sops("yaml", tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    _, _, wrong = _age_wrap(os.urandom(32), other)
    env = _env(tmp_path)
    proc = cli("import", str(src), "--to", "p.yaml", "--age-identity", str(wrong),
               env=env, cwd=tmp_path)  # fmt: skip
    assert "cannot open" in one_error_line(proc, ExitCode.OPEN)
    text = src.read_text()
    # swap two sealed values of one type: each opens only at its own path
    lines = text.splitlines()
    i = next(n for n, ln in enumerate(lines) if ln.lstrip().startswith('- "ENC'))
    lines[i], lines[i + 1] = lines[i + 1], lines[i]  # list items share a path: MAC catches it
    for tampered in (
        text.replace("port: ", "port_unencrypted: ", 1),
        "\n".join(lines) + "\n",
        text.replace("visible in the sops file", "changed by an attacker"),
    ):
        write(src, tampered)
        proc = cli("import", str(src), "--to", "p.yaml", "--age-identity", str(identity),
                   env=env, cwd=tmp_path)  # fmt: skip
        assert "cannot open" in one_error_line(proc, ExitCode.OPEN)
    assert not (tmp_path / "p.yaml").exists()


@needs_age
def test_sops_import_merges_into_an_existing_profile(tmp_path: Path, key: str) -> None:
    keys = KeySource(key=key, env={})
    target = tmp_path / "prod.yaml"
    api.import_file(write(tmp_path / "base.env", "KEEP=1\n"), target, keys)
    src, identity = build_sops("json", tmp_path)
    from sealedcfg.ops.importing.sopskeys import SopsKeys

    result = api.import_file(
        src,
        target,
        keys,
        sops_keys=SopsKeys(age_identity_files=(str(identity),), sops_defaults=False),
    )
    assert result.sops
    assert sorted(result.added) == ["api", "db"]
    assert api.load(target, key=key) == {"KEEP": "1", **DATA}


@needs_gpg
def test_gnupg_home_with_a_long_tmpdir(tmp_path: Path) -> None:
    long_tmp = tmp_path / ("x" * 60)
    long_tmp.mkdir()
    env = _env(tmp_path, TMPDIR=str(long_tmp))  # too long for gpg-agent's sockets: /tmp instead
    proc = cli("import", str(SOPS / "format.enc.yaml"), "--to", "out.yaml", "--pgp-key",
               str(PGP_KEY), env=env, cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert list(long_tmp.iterdir()) == []


def _fingerprint(home: Path) -> str:
    out = subprocess.run(
        ["gpg", "--batch", "--homedir", str(home), "--with-colons", "--list-secret-keys"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return next(ln.split(":")[9] for ln in out.splitlines() if ln.startswith("fpr:"))


@pytest.fixture
def protected_pgp(short_tmp: Path) -> Iterator[tuple[Path, bytes]]:
    """A GNUPGHOME with a new passphrase-protected key pair, and its secret key, armored."""
    home = short_tmp / "g"
    home.mkdir(mode=0o700)
    write(home / "gpg-agent.conf", "s2k-count 65536\n")  # no slow S2K calibration
    gpg = ["gpg", "--batch", "--homedir", str(home), "--pinentry-mode", "loopback",
           "--passphrase", "pgp pass phrase"]  # fmt: skip
    subprocess.run([*gpg, "--quick-gen-key", "Test <t@example.invalid>", "ed25519", "cert", "0"],
                   check=True, capture_output=True)  # fmt: skip
    fp = _fingerprint(home)
    subprocess.run([*gpg, "--quick-add-key", fp, "cv25519", "encr", "0"],
                   check=True, capture_output=True)  # fmt: skip
    secret = subprocess.run([*gpg, "--armor", "--export-secret-keys", fp],
                            check=True, capture_output=True).stdout  # fmt: skip
    yield home, secret
    subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], check=False)


@needs_gpg
@needs_age
def test_pgp_protected_key_wrong_key_and_no_passphrase(
    tmp_path: Path, short_tmp: Path, protected_pgp: tuple[Path, bytes]
) -> None:
    home, secret = protected_pgp
    src, _ = build_sops("json", tmp_path, pgp=home)
    key_file = write(tmp_path / "secret.asc", secret)
    env = _env(tmp_path, TMPDIR=str(short_tmp))
    args = ["import", str(src), "--to", "p.yaml", "--pgp-key"]
    proc = cli(*args, str(PGP_KEY), env=env, cwd=tmp_path)  # another key
    assert "cannot open" in one_error_line(proc, ExitCode.OPEN)
    proc = cli(*args, str(key_file), env=env, cwd=tmp_path)  # its key, no passphrase
    assert "cannot open" in one_error_line(proc, ExitCode.OPEN)
    assert not (tmp_path / "p.yaml").exists()
    env["SEALEDCFG_PGP_PASSPHRASE"] = "pgp pass phrase"
    proc = cli(*args, str(key_file), env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    keys = KeySource(key=env["SEALEDCFG_KEY"], env={})
    assert api.load(tmp_path / "p.yaml", keys=keys) == DATA
    assert sorted(p.name for p in short_tmp.iterdir()) == ["g"]  # no private home left


@needs_age
def test_encrypted_regex_plaintext_values_are_in_the_mac(tmp_path: Path, key: str) -> None:
    src, identity = build_sops("json", tmp_path, rules={"encrypted_regex": "^(password|token)$"})
    text = src.read_text()
    assert SECRET not in text
    assert '"port": 5432' in text  # left in plaintext by the rule
    sops_keys = api.SopsKeys(age_identity_files=(str(identity),), sops_defaults=False)
    keys = KeySource(key=key, env={})
    target = tmp_path / "prod.yaml"
    api.import_file(src, target, keys, sops_keys=sops_keys)
    assert api.load(target, key=key) == DATA
    target.unlink()
    write(src, text.replace('"port": 5432', '"port": 6543'))
    with pytest.raises(OpenError):
        api.import_file(src, target, keys, sops_keys=sops_keys)
    assert not target.exists()


@needs_age
def test_mac_only_encrypted(tmp_path: Path, key: str) -> None:
    keys = KeySource(key=key, env={})
    target = tmp_path / "prod.yaml"
    data = {"db": {"password": SECRET, "hosts": ["a", "b"]}, "n": 5}
    src, identity = build_sops("yaml", tmp_path, data, rules={"mac_only_encrypted": True})
    sops_keys = api.SopsKeys(age_identity_files=(str(identity),), sops_defaults=False)
    api.import_file(src, target, keys, sops_keys=sops_keys)  # every value encrypted: all in the MAC
    assert api.load(target, key=key) == data
    target.unlink()
    rules = {"encrypted_regex": "^password$", "mac_only_encrypted": True}
    (tmp_path / "2").mkdir()
    src, identity = build_sops("yaml", tmp_path / "2", data, rules=rules)
    sops_keys = api.SopsKeys(age_identity_files=(str(identity),), sops_defaults=False)
    with pytest.raises(InputError, match="outside the sops MAC"):  # `n` could be anything
        api.import_file(src, target, keys, sops_keys=sops_keys)
    assert not target.exists()
