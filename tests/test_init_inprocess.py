"""`sealedcfg init` through typer's runner, in a real git repository: the rules file,
a key in the user's key directory (never in the work tree), ignore lines; then the
profile it describes seals and opens with that key.  tests/test_cli.py and others run
init as a process."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sealedcfg import api
from sealedcfg.cli.main import app
from sealedcfg.engine.keys import KeySource, key_from_file
from sealedcfg.errors import ExitCode

from .conftest import write
from .subproc import git

runner = CliRunner()


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "config").mkdir()
    monkeypatch.chdir(root / "config")  # init writes at the work tree's root
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "userconfig"))
    return root


def test_init_writes_rules_key_and_ignore_lines(repo: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["init", "--plain", r"(^|\.)host$"])
    assert result.exit_code == 0, result.stderr
    rules = (repo / ".sealedcfg.yaml").read_text()
    assert '  - path: "config/*.yaml"' in rules
    assert '    plain: "(^|\\\\.)host$"' in rules
    (key_file,) = (tmp_path / "userconfig" / "sealedcfg" / "keys").iterdir()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert f"key_id: {key_file.stem!r}".replace("'", '"') in rules
    assert f"created key {key_file.stem} in {key_file}" in result.stdout
    assert "*.key" in (repo / ".gitignore").read_text().splitlines()
    # the rules file seals a new profile for that key; the plain rule is approved already
    prof = write(repo / "config" / "prod.yaml", "db:\n  host: h.internal\n  password: pw-0001\n")
    keys = KeySource(key_file=str(key_file), env={})
    api.encrypt_file(prof, keys)
    assert "host: h.internal" in prof.read_text()
    assert api.load(prof, keys=keys) == {"db": {"host": "h.internal", "password": "pw-0001"}}
    # twice: refused without --force, the rules untouched
    result = runner.invoke(app, ["init"])
    assert result.exit_code == ExitCode.INPUT
    assert "already exists" in result.stderr
    assert (repo / ".sealedcfg.yaml").read_text() == rules


def test_init_with_a_given_key_file_or_a_passphrase(repo: Path, tmp_path: Path) -> None:
    outside = tmp_path / "keys" / "team.key"
    result = runner.invoke(app, ["init", "--key-file", str(outside)])  # created if missing
    assert result.exit_code == 0, result.stderr
    assert "created key " in result.stdout
    kid = result.stdout.split("created key ", 1)[1].split()[0]
    assert f"SEALEDCFG_KEY_FILE={outside}" in result.stdout  # not in the key directory
    result = runner.invoke(app, ["init", "--force", "--key-file", str(outside)])  # reused
    assert result.exit_code == 0, result.stderr
    assert f"using key {kid} in {outside}" in result.stdout
    assert len(key_from_file(outside).reveal()) == 32
    inside = repo / "team.key"
    result = runner.invoke(app, ["init", "--force", "--key-file", str(inside)])
    assert result.exit_code == ExitCode.INPUT  # a key file in the work tree is refused
    assert not inside.exists()
    result = runner.invoke(app, ["init", "--force", "--passphrase", "--path", "secrets/*.yml"])
    assert result.exit_code == 0, result.stderr
    rules = (repo / ".sealedcfg.yaml").read_text()
    assert "      - passphrase: true" in rules
    assert '  - path: "secrets/*.yml"' in rules
    assert "key_id" not in rules
