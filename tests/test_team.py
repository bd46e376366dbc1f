"""Teams: keys that find themselves, age recipients, labels (issue 10).

Played as a team would, in real git repositories and through the CLI as a
subprocess: alice seals, adds bob by his age public key, bob opens with his
identity; a stanza moved between files does not open; the Debian `age` binary
decrypts the wrap with the same identity.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sealedcfg import api
from sealedcfg.errors import ExitCode

from .conftest import FAST_TEXT

SECRET = "pw-Zq9!x"  # '!' cannot occur in base64: absent from sealed text by construction


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def sc(
    cwd: Path, home: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SEALEDCFG_", "GIT_"))}
    base.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), SEALEDCFG_ARGON2=FAST_TEXT)
    base.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "sealedcfg", *args],
        cwd=cwd,
        env=base,
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )


def one_error(proc: subprocess.CompletedProcess[str], code: int) -> str:
    assert proc.returncode == code, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if not ln.startswith("hint: ")]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("sealedcfg: error: "), proc.stderr
    assert "Traceback" not in proc.stderr
    return lines[0]


@pytest.fixture
def team(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A repository and two homes (alice, bob) outside it."""
    repo = tmp_path / "repo"
    (repo / "config").mkdir(parents=True)
    git(repo, "init", "-q")
    alice, bob = tmp_path / "alice", tmp_path / "bob"
    alice.mkdir()
    bob.mkdir()
    return repo, alice, bob


def age_identity(home: Path) -> str:
    """`sealedcfg keygen --age` into HOME's default identity file; the public key."""
    proc = sc(home, home, "keygen", "--age")
    assert proc.returncode == 0, proc.stderr
    public = proc.stdout.strip()
    assert public.startswith("age1")
    assert "AGE-SECRET-KEY" not in proc.stdout + proc.stderr
    return public


def header_field(path: Path, field: str, index: int = -1) -> str:
    lines = [ln for ln in path.read_text().splitlines() if ln.strip().startswith(f"{field}:")]
    return lines[index].split(":", 1)[1].strip()


# ---------------------------------------------------------------- keys that find themselves


def test_keygen_prints_the_id_and_names_files_in_the_key_dir_by_id(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    proc = sc(tmp_path, home, "keygen")
    assert proc.returncode == 0
    kid = api.key_id_of(proc.stdout.strip())
    assert proc.stderr.strip() == f"key id: {kid}"
    keys = home / ".config" / "sealedcfg" / "keys"
    proc = sc(tmp_path, home, "keygen", "-o", str(keys / "bob.key"))
    assert proc.returncode == 0, proc.stderr
    written = [p.name for p in keys.iterdir()]
    assert len(written) == 1
    assert written[0] != "bob.key"
    kid = written[0].removesuffix(".key")
    assert api.key_id_of((keys / written[0]).read_text().splitlines()[-1]) == kid
    assert f"wrote key {kid} to {keys / written[0]}" in proc.stderr
    assert (keys / written[0]).stat().st_mode & 0o777 == 0o600
    # elsewhere, a file name given is kept
    proc = sc(tmp_path, home, "keygen", "-o", str(tmp_path / "ci.key"))
    assert proc.returncode == 0
    assert (tmp_path / "ci.key").exists()


def test_rotate_and_remove_use_every_key_opening_uses(team: tuple[Path, Path, Path]) -> None:
    """Keys found in the key directory (under any name) re-wrap too: no --key-file needed."""
    repo, alice, _ = team
    keys = alice / ".config" / "sealedcfg" / "keys"
    keys.mkdir(parents=True)
    for name in ("alice-laptop.key", "shared-ci.key"):
        (keys / name).write_text(api.keygen() + "\n")
        (keys / name).chmod(0o600)
    a, b = (api.key_id_of((keys / n).read_text()) for n in ("alice-laptop.key", "shared-ci.key"))
    target = repo / "config" / "prod.yaml"
    target.write_text(f"pw: {SECRET}\n")
    key_a = (keys / "alice-laptop.key").read_text().strip()
    assert sc(repo, alice, "encrypt", str(target), env={"SEALEDCFG_KEY": key_a}).returncode == 0
    proc = sc(
        repo, alice, "recipients", "add", str(target), "--add-key-file", str(keys / "shared-ci.key")
    )
    assert proc.returncode == 0, proc.stderr
    for command in (["rotate", str(target)], ["rotate", "--rewrap-only", str(target)]):
        proc = sc(repo, alice, *command)
        assert proc.returncode == 0, proc.stderr
    proc = sc(repo, alice, "recipients", "remove", str(target), "--key-id", b)
    assert proc.returncode == 0, proc.stderr
    listing = sc(repo, alice, "recipients", "list", str(target)).stdout
    assert a in listing
    assert b not in listing
    assert sc(repo, alice, "decrypt", str(target)).stdout == f"pw: {SECRET}\n"


def test_errors_name_the_ids_accepted_and_tried(team: tuple[Path, Path, Path]) -> None:
    repo, alice, bob = team
    target = repo / "config" / "prod.yaml"
    target.write_text(f"pw: {SECRET}\n")
    key = api.keygen()
    assert sc(repo, alice, "encrypt", str(target), env={"SEALEDCFG_KEY": key}).returncode == 0
    other = api.keygen()
    proc = sc(repo, bob, "decrypt", str(target), env={"SEALEDCFG_KEY": other})
    one_error(proc, ExitCode.OPEN)
    assert f"hint: it opens with: key {api.key_id_of(key)}" in proc.stderr
    assert f"hint: the keys tried have the ids: {api.key_id_of(other)}" in proc.stderr
    public = age_identity(bob)
    proc = sc(repo, bob, "decrypt", str(target))
    one_error(proc, ExitCode.NO_KEY)  # the default identity file is found, not given
    assert f"the keys tried have the ids: {public}" in proc.stderr
    assert SECRET not in proc.stdout + proc.stderr
