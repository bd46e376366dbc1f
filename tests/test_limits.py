"""Bounded work on hostile input: the header budget, rule matching, YAML structure limits."""

from __future__ import annotations

from pathlib import Path

import pytest

from sealedcfg import api, kdf, limits, rotation
from sealedcfg.errors import ExitCode, InputError
from sealedcfg.keys import KeySource, Secret

from .conftest import FAST, write
from .subproc import cli, one_error_line

# ---------------------------------------------------------------- header budget


def test_recipients_add_stops_at_the_passphrase_limit(tmp_path: Path) -> None:
    phrase = KeySource(passphrase="correct horse battery staple", env={})
    path = write(tmp_path / "p.yaml", "a: 1\n")
    api.encrypt_file(path, phrase, kdf=FAST)
    for _ in range(limits.MAX_PASSPHRASE_STANZAS - 1):
        rotation.add_recipient(path, phrase, passphrase=Secret(b"another one here"), kdf=FAST)
    before = path.read_bytes()
    derivations = kdf.DERIVATIONS
    with pytest.raises(InputError, match="passphrase recipients exceeds the limit of 4"):
        rotation.add_recipient(path, phrase, passphrase=Secret(b"one too many"), kdf=FAST)
    assert derivations == kdf.DERIVATIONS  # refused before deriving the new stanza's key
    assert path.read_bytes() == before


def test_hostile_header_is_refused_by_every_command_without_derivation(tmp_path: Path) -> None:
    phrase = "correct horse battery staple"
    path = write(tmp_path / "p.yaml", "a: 1\n")
    api.encrypt_file(path, KeySource(passphrase=phrase, env={}), kdf=FAST)
    text = path.read_text()
    stanza = text[text.index("  - type: passphrase") : text.index("  commit: ")]
    hostile = stanza.replace("    m: 19456\n    t: 2\n", "    m: 131072\n    t: 8\n")
    path.write_text(text.replace(stanza, hostile * 3))
    before = path.read_bytes()
    env = {"SEALEDCFG_PASSPHRASE": phrase}
    for args in (["decrypt", str(path)], ["ls", str(path)], ["set", str(path), "a", "2"]):
        line = one_error_line(cli(*args, env=env))
        assert "argon2id cost" in line
        assert "exceeds the limit" in line
    proc = cli("verify", str(path), env=env)  # verify reports per file, on stdout
    assert proc.returncode == ExitCode.FINDINGS
    assert "argon2id cost" in proc.stdout
    assert "exceeds the limit" in proc.stdout
    assert path.read_bytes() == before
