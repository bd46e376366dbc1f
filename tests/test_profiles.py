"""Profiles: `--profile NAME`, SEALEDCFG_PROFILE, `extends` chains, and their attacks.

The attacker writes any repository file (profiles, the rules file, links) but
holds no key: every test that tampers expects a refusal, never a merged view
holding the attacker's choice.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import sealedcfg
from sealedcfg import api
from sealedcfg.cli.main import make_app
from sealedcfg.engine.keys import KeySource
from sealedcfg.errors import ExitCode, InputError, OpenError
from sealedcfg.format import kdf

from .conftest import FAST, FAST_TEXT, write

runner = CliRunner()

BASE = "db:\n  host: base.host\n  port: 5432\n  password: base-pw\nlog: info\nshared: base\n"
MID = "extends: base\ndb:\n  host: mid.host\nlog: debug\nregion: eu\n"
PROD = "extends: mid\ndb:\n  password: prod-pw\nregion: eu-west\nshared: prod\n"
MERGED = {
    "db": {"host": "mid.host", "port": 5432, "password": "prod-pw"},
    "log": "debug",
    "shared": "prod",
    "region": "eu-west",
}


def git_repo(root: Path) -> Path:
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    (root / "config").mkdir()
    write(root / ".sealedcfg.yaml", "profiles:\n  dir: config\n")
    return root


def seal(path: Path, text: str, keys: KeySource, plain: str | None = None) -> Path:
    api.encrypt_file(write(path, text), keys, plain=plain, kdf=FAST)
    return path


@pytest.fixture
def repo(tmp_path: Path, keys: KeySource, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = git_repo(tmp_path / "repo")
    for name, text in (("base", BASE), ("mid", MID), ("prod", PROD)):
        seal(root / "config" / f"{name}.yaml", text, keys)
    monkeypatch.chdir(root)
    return root


def cli(*args: str, key: str, cwd: Path, env: dict[str, str] | None = None) -> Any:
    full = {k: v for k, v in os.environ.items() if not k.startswith("SEALEDCFG_")}
    full.update({"SEALEDCFG_KEY": key, "SEALEDCFG_ARGON2": FAST_TEXT, **(env or {})})
    return subprocess.run(
        [sys.executable, "-m", "sealedcfg", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=full,
        stdin=subprocess.DEVNULL,
        timeout=60,
        check=False,
    )


# ---------------------------------------------------------------- layering


def test_three_levels_with_an_override_at_each(repo: Path, keys: KeySource) -> None:
    assert api.load(profile="prod", keys=keys) == MERGED
    assert api.load("config/prod.yaml", keys=keys) == MERGED  # the file's meaning, however named
    assert api.load(profile="mid", keys=keys)["db"]["password"] == "base-pw"
    assert api.load(profile="base", keys=keys)["log"] == "info"
    assert api.get("config/prod.yaml", "db.host", keys) == "mid.host"
    assert api.get("config/prod.yaml", "db.port", keys) == 5432
    with pytest.raises(InputError, match="no key 'extends'"):
        api.get("config/prod.yaml", "extends", keys)


def test_a_mapping_is_replaced_by_a_scalar_and_lists_are_replaced(
    tmp_path: Path, keys: KeySource
) -> None:
    root = git_repo(tmp_path / "r")
    seal(root / "config" / "a.yaml", "x:\n  y: 1\nl: [1, 2, 3]\n", keys)
    seal(root / "config" / "b.yaml", "extends: a\nx: flat\nl: [9]\n", keys)
    assert api.load(root / "config" / "b.yaml", keys=keys) == {"x": "flat", "l": [9]}


def test_cli_profile_everywhere_runner_and_subprocess(
    repo: Path, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEALEDCFG_KEY", key)
    app = make_app()
    got = runner.invoke(app, ["get", "--profile", "prod", "db.password"])
    assert (got.exit_code, got.stdout) == (0, "prod-pw\n"), got.output
    got = runner.invoke(app, ["export", "--profile=prod", "-f", "json"])
    assert json.loads(got.stdout) == MERGED
    got = runner.invoke(app, ["ls", "--profile", "prod", "--resolved"])
    assert got.exit_code == 0, got.output
    lines = dict(line.split(None, 1) for line in got.stdout.splitlines())
    assert lines["db.host"] == "config/mid.yaml  (overrides config/base.yaml)"
    assert lines["db.port"] == "config/base.yaml"
    assert lines["db.password"] == "config/prod.yaml  (overrides config/base.yaml)"
    assert lines["region"] == "config/prod.yaml  (overrides config/mid.yaml)"
    assert lines["shared"] == "config/prod.yaml  (overrides config/base.yaml)"
    got = runner.invoke(app, ["ls", "--profile", "prod"])  # the file's own keys, key-less
    assert "extends" in got.stdout
    assert "db.port" not in got.stdout

    proc = cli("get", "db.host", key=key, cwd=repo / "config", env={"SEALEDCFG_PROFILE": "prod"})
    assert (proc.returncode, proc.stdout) == (0, "mid.host\n"), proc.stderr
    proc = cli(
        "get", "config/base.yaml", "db.host", key=key, cwd=repo, env={"SEALEDCFG_PROFILE": "prod"}
    )  # a FILE given: the variable is not used
    assert proc.stdout == "base.host\n", proc.stderr
    script = 'printf %s "$DB_PASSWORD/$LOG"'
    proc = cli("exec", "--profile", "prod", "--", "sh", "-c", script, key=key, cwd=repo)
    assert (proc.returncode, proc.stdout) == (0, "prod-pw/debug"), proc.stderr
    # later files and profiles win, in command-line order
    proc = cli(
        "exec",
        "--profile",
        "prod",
        "--profile",
        "base",
        "--",
        "sh",
        "-c",
        script,
        key=key,
        cwd=repo,
    )
    assert proc.stdout == "base-pw/info", proc.stderr
    proc = cli("decrypt", "--profile", "prod", key=key, cwd=repo)
    assert proc.stdout == PROD  # decrypt shows the file itself


def test_profile_errors_are_one_line(repo: Path, key: str) -> None:
    proc = cli("get", "--profile", "nope", "a", key=key, cwd=repo)
    assert proc.returncode == ExitCode.INPUT
    assert proc.stderr.startswith("sealedcfg: error: no profile 'nope': config/nope.yaml")
    proc = cli("get", "--profile", "../etc/passwd", "a", key=key, cwd=repo)
    assert proc.returncode == ExitCode.INPUT
    assert "is not a profile name" in proc.stderr
    proc = cli("get", "--profile", "prod", "config/prod.yaml", "db", key=key, cwd=repo)
    assert proc.returncode == ExitCode.USAGE
    assert "not both" in proc.stderr
    proc = cli("keygen", "--profile", "prod", key=key, cwd=repo)
    assert proc.returncode == ExitCode.USAGE
    (repo / ".sealedcfg.yaml").write_text("creation_rules: []\n")
    proc = cli("get", "--profile", "prod", "a", key=key, cwd=repo)
    assert proc.returncode == ExitCode.INPUT
    assert "with a 'profiles:' section" in proc.stderr
    for out in (proc.stdout, proc.stderr):
        assert "Traceback" not in out


def test_extends_cycle_is_refused_naming_the_chain(tmp_path: Path, keys: KeySource) -> None:
    root = git_repo(tmp_path / "r")
    seal(root / "config" / "a.yaml", "extends: b\nx: 1\n", keys)
    seal(root / "config" / "b.yaml", "extends: c\ny: 1\n", keys)
    seal(root / "config" / "c.yaml", "extends: a\nz: 1\n", keys)
    seal(root / "config" / "self.yaml", "extends: self\nz: 1\n", keys)
    a = root / "config" / "a.yaml"
    with pytest.raises(InputError) as info:
        api.load(a, keys=keys)
    assert info.value.message == f"extends cycle: {a} -> {a.parent / 'b.yaml'} -> " + (
        f"{a.parent / 'c.yaml'} -> {a}"
    )
    with pytest.raises(InputError, match="extends cycle"):
        api.load(root / "config" / "self.yaml", keys=keys)


def test_extends_a_missing_profile(tmp_path: Path, key: str, keys: KeySource) -> None:
    root = git_repo(tmp_path / "r")
    seal(root / "config" / "prod.yaml", "extends: base\nx: 1\n", keys)
    proc = cli("export", "--profile", "prod", key=key, cwd=root)
    assert proc.returncode == ExitCode.INPUT
    assert proc.stderr == (
        "sealedcfg: error: config/prod.yaml: extends 'base', but config/base.yaml does not exist\n"
    )
    assert proc.stdout == ""


def test_one_derivation_for_a_chain_sealed_together(tmp_path: Path) -> None:
    root = git_repo(tmp_path / "r")
    writer = KeySource(passphrase="correct horse battery staple", env={})
    for name, text in (("base", BASE), ("mid", MID), ("prod", PROD)):
        write(root / "config" / f"{name}.yaml", text)
    for name in ("base", "mid", "prod"):  # one process, one passphrase: one salt
        api.encrypt_file(root / "config" / f"{name}.yaml", writer, kdf=FAST)
    kdf._cache.clear()
    kdf._proven.clear()
    before = kdf.DERIVATIONS
    reader = KeySource(passphrase="correct horse battery staple", env={})
    assert api.load(root / "config" / "prod.yaml", keys=reader) == MERGED
    assert kdf.DERIVATIONS - before == 1


def _new_process() -> None:
    """What a new process knows of salts and derived keys: nothing."""
    kdf._cache.clear()
    kdf._proven.clear()


def _salt(path: Path) -> str:
    return next(ln.split(": ")[1] for ln in path.read_text().splitlines() if "salt:" in ln)


def test_one_derivation_for_profiles_sealed_at_different_times(tmp_path: Path) -> None:
    """A new file takes the passphrase salt of a sealed neighbour once the passphrase
    opens it, so profiles sealed one by one still open together with one derivation."""
    root = git_repo(tmp_path / "r")
    phrase = "correct horse battery staple"
    for name, text in (("base", BASE), ("mid", MID), ("prod", PROD)):
        _new_process()
        before = kdf.DERIVATIONS
        path = write(root / "config" / f"{name}.yaml", text)
        api.encrypt_file(path, KeySource(passphrase=phrase, env={}), kdf=FAST)
        assert kdf.DERIVATIONS - before == 1  # the neighbour's salt costs no more
    salts = {_salt(root / "config" / f"{n}.yaml") for n in ("base", "mid", "prod")}
    assert len(salts) == 1
    _new_process()
    before = kdf.DERIVATIONS
    reader = KeySource(passphrase=phrase, env={})
    assert api.load(root / "config" / "prod.yaml", keys=reader) == MERGED
    assert kdf.DERIVATIONS - before == 1


def test_a_neighbour_salt_is_taken_only_when_the_passphrase_opens_it(tmp_path: Path) -> None:
    """A stanza someone wrote without the passphrase (a chosen salt, a copied salt
    with a forged wrap), or one under another passphrase: a fresh salt, not theirs."""
    root = git_repo(tmp_path / "r")
    other = write(root / "config" / "a-other.yaml", "x: 1\n")
    api.encrypt_file(other, KeySource(passphrase="another passphrase here", env={}), kdf=FAST)
    forged = root / "config" / "b-forged.yaml"
    text = other.read_text()
    forged.write_text(text.replace(_salt(other), "AAAAAAAAAAAAAAAAAAAAAA"))
    _new_process()
    before = kdf.DERIVATIONS
    mine = write(root / "config" / "c-mine.yaml", "y: 2\n")
    api.encrypt_file(mine, KeySource(passphrase="correct horse battery staple", env={}), kdf=FAST)
    assert kdf.DERIVATIONS - before == 2  # one try of a neighbour's stanza, then our own
    assert _salt(mine) not in (_salt(other), "AAAAAAAAAAAAAAAAAAAAAA")


def test_neighbour_salt_through_the_cli(tmp_path: Path) -> None:
    """Two `encrypt` processes, one passphrase: one salt in both files."""
    root = git_repo(tmp_path / "r")
    env = {"SEALEDCFG_PASSPHRASE": "correct horse battery staple"}
    key = api.keygen()  # a key too: the passphrase stanza is one of two
    for name in ("one", "two"):
        path = write(root / "config" / f"{name}.yaml", f"{name}: 1\n")
        proc = cli("encrypt", str(path), key=key, cwd=root, env=env)
        assert proc.returncode == 0, proc.stderr
    assert _salt(root / "config" / "one.yaml") == _salt(root / "config" / "two.yaml")


def test_hostile_neighbours_cost_one_header_of_parsing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """32 neighbours with a 200 KiB header each (dense YAML, about 0.5 s apiece to
    parse) are read for one header's worth at most, not 32: sealing a new file
    beside them stays bounded."""
    from sealedcfg.recipients import table

    root = git_repo(tmp_path / "r")
    hostile = "a: 1\nsealedcfg:\n  version: 1\n  a: [" + "a," * (100 << 10) + "a]\n"
    for i in range(32):
        write(root / "config" / f"n{i:02d}.yaml", hostile)
    parsed: list[int] = []
    real = table.parse_header

    def counting(text: str, name: str, first_line: int = 1) -> Any:
        parsed.append(len(text))
        return real(text, name, first_line)

    monkeypatch.setattr(table, "parse_header", counting)  # counts, then parses
    _new_process()
    before = kdf.DERIVATIONS
    mine = write(root / "config" / "z-mine.yaml", "y: 2\n")
    api.encrypt_file(mine, KeySource(passphrase="correct horse battery staple", env={}), kdf=FAST)
    assert kdf.DERIVATIONS - before == 1
    assert parsed
    assert sum(parsed) <= 256 << 10


# ---------------------------------------------------------------- attacks


def test_attack_change_the_extends_target(repo: Path, keys: KeySource) -> None:
    """A sealed `extends` is a token bound to its path: swapping in another file's
    token, or retyping it, makes the file refuse to open."""
    prod = repo / "config" / "prod.yaml"
    mid_token = _line(repo / "config" / "mid.yaml", "extends:")
    prod.write_text(prod.read_text().replace(_line(prod, "extends:"), mid_token))
    with pytest.raises(OpenError):
        api.load(prod, keys=keys)


def test_attack_plaintext_extends_is_covered_by_the_mac(tmp_path: Path, keys: KeySource) -> None:
    """Left readable by the plain rule, `extends` is authenticated by the file MAC."""
    root = git_repo(tmp_path / "r")
    seal(root / "config" / "base.yaml", "x: base\n", keys)
    seal(root / "config" / "other.yaml", "x: other\ninjected: yes\n", keys)
    prod = seal(root / "config" / "prod.yaml", "extends: base\ny: 1\n", keys, plain="^extends$")
    assert "extends: base\n" in prod.read_text()
    assert api.load(prod, keys=keys) == {"x": "base", "y": 1}
    prod.write_text(prod.read_text().replace("extends: base", "extends: other"))
    with pytest.raises(OpenError):
        api.load(prod, keys=keys)


def test_attack_add_an_extends(tmp_path: Path, keys: KeySource) -> None:
    root = git_repo(tmp_path / "r")
    seal(root / "config" / "evil.yaml", "db:\n  host: attacker.example\n", keys)
    for plain in (None, "^extends$"):
        prod = seal(root / "config" / "prod.yaml", "db:\n  host: real\n", keys, plain=plain)
        prod.write_text("extends: evil\n" + prod.read_text())
        with pytest.raises(OpenError):
            api.load(prod, keys=keys)
        prod.unlink()


def test_attack_replace_the_parent_file(repo: Path, keys: KeySource) -> None:
    """A parent must open *at its place*: another sealed profile copied over it is refused."""
    seal(repo / "config" / "evil.yaml", "db:\n  host: attacker.example\n", keys)
    (repo / "config" / "mid.yaml").write_bytes((repo / "config" / "evil.yaml").read_bytes())
    with pytest.raises(InputError, match=r"sealed for 'config/evil\.yaml'"):
        api.load(repo / "config" / "prod.yaml", keys=keys)


def test_attack_parent_as_a_symlink(repo: Path, keys: KeySource) -> None:
    mid = repo / "config" / "mid.yaml"
    os.rename(mid, repo / "mid-real.yaml")
    mid.symlink_to(repo / "mid-real.yaml")
    with pytest.raises(InputError, match="symbolic link"):
        api.load(repo / "config" / "prod.yaml", keys=keys)


@pytest.mark.parametrize("directory", ["../outside", "/etc", "config/../..", "a:b", ""])
def test_attack_profiles_dir_outside_the_repository(
    repo: Path, keys: KeySource, directory: str
) -> None:
    (repo / ".sealedcfg.yaml").write_text(f"profiles:\n  dir: {json.dumps(directory)}\n")
    with pytest.raises(InputError) as info:
        api.load(profile="prod", keys=keys)
    assert "profiles.dir" in info.value.message


def test_attack_profiles_dir_through_a_symlink(repo: Path, tmp_path: Path, keys: KeySource) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    seal(outside / "prod.yaml", "db:\n  host: attacker.example\n", keys)
    (repo / "linked").symlink_to(outside)
    (repo / ".sealedcfg.yaml").write_text("profiles:\n  dir: linked\n")
    with pytest.raises(InputError, match="is a symbolic link"):
        api.load(profile="prod", keys=keys)
    (repo / ".sealedcfg.yaml").write_text("profiles:\n  dir: config\n")
    prod = repo / "config" / "prod.yaml"
    prod.unlink()
    prod.symlink_to(outside / "prod.yaml")
    with pytest.raises(InputError, match="is a symbolic link"):
        api.load(profile="prod", keys=keys)


def test_load_profile_from_the_package(repo: Path, key: str) -> None:
    assert sealedcfg.load(profile="prod", key=key)["db"]["host"] == "mid.host"
    with pytest.raises(Exception, match="exactly one"):
        sealedcfg.load("config/prod.yaml", profile="prod", key=key)


def _line(path: Path, start: str) -> str:
    return next(ln for ln in path.read_text().splitlines() if ln.startswith(start))


def test_profile_in_subcommands_and_writers(repo: Path, key: str) -> None:
    proc = cli("set", "--profile", "base", "db.user", "app", key=key, cwd=repo)
    assert proc.returncode == 0, proc.stderr
    proc = cli("get", "--profile", "prod", "db.user", key=key, cwd=repo)
    assert proc.stdout == "app\n", proc.stderr  # base's new key, seen through the chain
    proc = cli("recipients", "list", "--profile", "prod", key=key, cwd=repo)
    assert (proc.returncode, "config/prod.yaml" in proc.stdout) == (0, True), proc.stderr
    proc = cli("history", "--profile", "prod", "db.password", key=key, cwd=repo)
    assert proc.returncode == 0, proc.stderr
