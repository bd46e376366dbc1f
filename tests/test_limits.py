"""Bounded work on hostile input: the header budget, rule matching, YAML structure limits."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from sealedcfg import api, kdf, limits, rotation
from sealedcfg.errors import ExitCode, InputError
from sealedcfg.keys import KeySource, Secret

from .conftest import FAST, FAST_TEXT, write


def cli(*args: str, env: dict[str, str] | None = None, **kw: Any) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("SEALEDCFG_")}
    base["SEALEDCFG_ARGON2"] = FAST_TEXT
    base.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "sealedcfg", *args],
        capture_output=True,
        text=True,
        env=base,
        stdin=subprocess.DEVNULL,
        timeout=60,
        check=False,
        **kw,
    )


def one_error_line(proc: subprocess.CompletedProcess[str], code: int = ExitCode.INPUT) -> str:
    assert proc.returncode == code, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if not ln.startswith("hint: ")]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("sealedcfg: error: "), proc.stderr
    assert "Traceback" not in proc.stderr
    return lines[0]


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
    assert kdf.DERIVATIONS == derivations  # refused before deriving the new stanza's key
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
        assert "argon2id cost" in line and "exceeds the limit" in line
    proc = cli("verify", str(path), env=env)  # verify reports per file, on stdout
    assert proc.returncode == ExitCode.FINDINGS
    assert "argon2id cost" in proc.stdout and "exceeds the limit" in proc.stdout
    assert path.read_bytes() == before
