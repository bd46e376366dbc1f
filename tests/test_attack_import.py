"""Attacks on `sealedcfg import` by someone who can write the repository but holds no key:
each test builds the hostile file with real tools (gpg, age) and runs the real CLI."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sealedcfg import api
from sealedcfg.engine.keys import KeySource
from sealedcfg.errors import ExitCode

from .subproc import cli, one_error_line
from .test_import_sops import (
    LASTMODIFIED,
    PGP_KEY,
    SOPS,
    _enc,
    _env,
    build_sops,
    needs_age,
    needs_gpg,
)

VICTIM_FP = "FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4"  # sops' functional-test key


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A temporary directory with a path short enough for gpg-agent's sockets."""
    path = Path(tempfile.mkdtemp(prefix="t", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def attacker_gpg(short_tmp: Path) -> Iterator[list[str]]:
    """An empty GNUPGHOME: the attacker has no key at all."""
    home = short_tmp / "attacker"
    home.mkdir(mode=0o700)
    yield ["gpg", "--batch", "--quiet", "--homedir", str(home)]
    subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], check=False)


def _forged_json(data_key: bytes, pgp_enc: str, values: dict[str, str]) -> str:
    mac = hashlib.sha512(b"".join(v.encode() for v in values.values())).hexdigest().upper()
    doc: dict[str, Any] = {k: _enc(data_key, v.encode(), "str", k + ":") for k, v in values.items()}
    doc["sops"] = {
        "pgp": [{"created_at": LASTMODIFIED, "enc": pgp_enc, "fp": VICTIM_FP}],
        "lastmodified": LASTMODIFIED,
        "mac": _enc(data_key, mac.encode(), "str", LASTMODIFIED),
        "version": "3.9.0",
    }
    return json.dumps(doc, indent=2)


@needs_gpg
def test_pgp_literal_message_is_not_a_data_key(
    tmp_path: Path,
    short_tmp: Path,
    attacker_gpg: list[str],
) -> None:
    """`gpg --decrypt` prints an unencrypted literal-data message and exits 0: a stanza
    holding one gave a data key of the attacker's choosing, and a whole forged file."""
    data_key = os.urandom(32)
    literal = subprocess.run(
        [*attacker_gpg, "--store", "--armor"], input=data_key, capture_output=True, check=True
    ).stdout.decode()
    src = tmp_path / "forged.enc.json"
    src.write_text(_forged_json(data_key, literal, {"DB_PASSWORD": "attacker-chosen"}))
    env = _env(tmp_path, TMPDIR=str(short_tmp))
    proc = cli("import", str(src), "--to", "prod.yaml", "--pgp-key", str(PGP_KEY),
               env=env, cwd=tmp_path)  # fmt: skip
    assert "cannot open" in one_error_line(proc, ExitCode.OPEN)
    assert not (tmp_path / "prod.yaml").exists()
    # the victim's own, real sops file still opens with the same key
    proc = cli("import", str(SOPS / "format.enc.json"), "--to", "prod.yaml", "--pgp-key",
               str(PGP_KEY), env=env, cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    keys = KeySource(key=env["SEALEDCFG_KEY"], env={})
    assert api.load(tmp_path / "prod.yaml", keys=keys) == {"foo": "bar"}


@needs_gpg
def test_pgp_symmetric_message_with_the_pgp_passphrase_is_not_a_data_key(
    tmp_path: Path,
    short_tmp: Path,
    attacker_gpg: list[str],
) -> None:
    """SEALEDCFG_PGP_PASSPHRASE is for the user's secret key, not for a symmetrically
    encrypted message whose passphrase someone else may know or guess."""
    data_key = os.urandom(32)
    sym = subprocess.run(
        [*attacker_gpg, "--pinentry-mode", "loopback", "--passphrase", "guessable",
         "--symmetric", "--armor"], input=data_key, capture_output=True, check=True,
    ).stdout.decode()  # fmt: skip
    src = tmp_path / "forged.enc.json"
    src.write_text(_forged_json(data_key, sym, {"TOKEN": "attacker-chosen"}))
    env = _env(tmp_path, TMPDIR=str(short_tmp), SEALEDCFG_PGP_PASSPHRASE="guessable")
    proc = cli("import", str(src), "--to", "prod.yaml", "--pgp-key", str(PGP_KEY),
               env=env, cwd=tmp_path)  # fmt: skip
    assert "cannot open" in one_error_line(proc, ExitCode.OPEN)
    assert not (tmp_path / "prod.yaml").exists()


@needs_gpg
def test_pgp_compression_bomb_is_cut_short(
    tmp_path: Path,
    short_tmp: Path,
    attacker_gpg: list[str],
) -> None:
    """A 3 KB stanza that expands to 2 GB: gpg used to run into its 60 s timeout with
    all of it in memory (per stanza, 64 allowed); now it is stopped past 32 bytes."""
    zeros = subprocess.Popen(["head", "-c", "2000000000", "/dev/zero"], stdout=subprocess.PIPE)
    bomb = subprocess.run(
        [*attacker_gpg, "--compress-algo", "bzip2", "-z", "9", "--store", "--armor"],
        stdin=zeros.stdout, capture_output=True, check=True,
    ).stdout.decode()  # fmt: skip
    zeros.wait()
    assert len(bomb) < 10_000
    src = tmp_path / "bomb.enc.json"
    src.write_text(_forged_json(os.urandom(32), bomb, {"A": "x"}))
    env = _env(tmp_path, TMPDIR=str(short_tmp))
    proc = cli("import", str(src), "--to", "prod.yaml", "--pgp-key", str(PGP_KEY),
               env=env, cwd=tmp_path, timeout=30)  # fmt: skip
    assert "cannot open" in one_error_line(proc, ExitCode.OPEN)
    assert not (tmp_path / "prod.yaml").exists()
    assert [p.name for p in short_tmp.iterdir()] == ["attacker"]  # no gpg home left


@needs_age
@pytest.mark.parametrize("char", ["\r", "\x85", "\u2028", "\u2029", "\x00", "\x1b"])
@pytest.mark.parametrize("existing", [False, True])
def test_sops_dotenv_comment_with_a_line_break(tmp_path: Path, char: str, existing: bool) -> None:
    """A dotenv line ends at LF only, and a sops comment is outside the MAC: the attacker
    adds `#x<CR>INJECTED: evil` to a genuine file.  Merged into an existing profile, it was
    written, and the profile no longer opened ('a lone CR … would mean two things')."""
    src, identity = build_sops("dotenv", tmp_path, {"TOKEN": "legit-secret", "PORT": "8080"})
    text = src.read_text().replace("\n", f"\n#x{char}INJECTED: evil\n", 1)
    src.write_text(text)
    env = _env(tmp_path)
    target = tmp_path / "prod.yaml"
    if existing:
        assert cli("set", str(target), "KEEP", "1", env=env).returncode == 0
    before = target.read_bytes() if existing else None
    proc = cli("import", str(src), "--to", str(target), "--age-identity", str(identity),
               env=env)  # fmt: skip
    assert "a comment holds" in one_error_line(proc, ExitCode.INPUT)
    assert (target.read_bytes() if existing else None) == before
    assert target.exists() == existing


@needs_age
@pytest.mark.parametrize("how", ["--age-identity", "SOPS_AGE_KEY_FILE", "keys.txt", "--pgp-key"])
def test_sops_key_file_inside_the_repository_is_refused(tmp_path: Path, how: str) -> None:
    """The attacker writes an identity of their own where the user's sops key is read from
    inside the repository: it opened a sops file the attacker sealed to it."""
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    src, identity = build_sops("json", repo, {"TOKEN": "attacker-chosen"})
    env = _env(tmp_path)
    args = ["import", str(src), "--to", "prod.yaml"]
    if how == "--age-identity":
        args += ["--age-identity", str(identity)]
    elif how == "--pgp-key":
        src = Path(shutil.copy(SOPS / "format.enc.json", repo / "pgp.enc.json"))
        args = ["import", str(src), "--to", "prod.yaml"]
        args += ["--pgp-key", str(shutil.copy(PGP_KEY, repo / "key.asc"))]
    elif how == "SOPS_AGE_KEY_FILE":
        env[how] = str(identity)
    else:
        env["XDG_CONFIG_HOME"] = str(repo / "cfg")
        (repo / "cfg" / "sops" / "age").mkdir(parents=True)
        shutil.copy(identity, repo / "cfg" / "sops" / "age" / "keys.txt")
    proc = cli(*args, env=env, cwd=repo)
    assert "keys are never read from a repository" in one_error_line(proc, ExitCode.INPUT)
    assert not (repo / "prod.yaml").exists()
