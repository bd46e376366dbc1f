"""The trust model for keys: only the user's own sources, never a path the repository names.

The attacker can write every file of the repository (a key file, the rules
file, a profile sealed with their own key) but holds none of the victim's
keys.  These tests play that attack in real git repositories, through typer's
runner and as a subprocess.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from sealedcfg import api
from sealedcfg.base.encoding import b64e
from sealedcfg.cli.main import app
from sealedcfg.engine.keys import KeySource, parse_key
from sealedcfg.errors import ExitCode, NoKeyError
from sealedcfg.recipients.key import key_id

from .conftest import write
from .subproc import cli, git

runner = CliRunner()
EVIL_VALUE = "attacker-chosen-value"


def kid(key: str) -> str:
    return b64e(key_id(parse_key(key, "k")))


@pytest.fixture
def attacked(tmp_path: Path) -> tuple[Path, Path, str]:
    """(victim's clone, victim's empty home, the attacker's key) after the attack is pushed."""
    origin = tmp_path / "attacker"
    (origin / "config").mkdir(parents=True)
    git(origin, "init", "-q", "-b", "main")
    evil = api.keygen()
    (origin / "evil.key").write_text(evil + "\n")
    prof = write(origin / "config" / "prod.yaml", f"db:\n  password: {EVIL_VALUE}\n")
    api.encrypt_file(prof, KeySource(key=evil, env={}))
    (origin / ".sealedcfg.yaml").write_text(
        "creation_rules:\n  - path: 'config/*.yaml'\n    recipients:\n"
        f"      - key_id: {kid(evil)}\n        key_file: evil.key\n"
    )
    git(origin, "add", "-A")
    git(origin, "commit", "-q", "-m", "innocent-looking change")
    victim = tmp_path / "victim"
    git(tmp_path, "clone", "-q", str(origin), str(victim))
    home = tmp_path / "victim-home"
    home.mkdir()
    return victim, home, evil


def test_repository_key_is_never_read_subprocess(attacked: tuple[Path, Path, str]) -> None:
    victim, home, evil = attacked
    assert (victim / "evil.key").read_text().strip() == evil  # the key sits right there
    for command in (["verify", "config/prod.yaml"], ["decrypt", "config/prod.yaml"]):
        proc = cli(*command, cwd=victim, home=home)
        assert proc.returncode == ExitCode.NO_KEY, proc.stderr
        assert EVIL_VALUE not in proc.stdout + proc.stderr
        assert f"it opens with: key {kid(evil)}" in proc.stderr
    for command in (["get", "config/prod.yaml", "db.password"], ["export", "config/prod.yaml"]):
        proc = cli(*command, cwd=victim, home=home)
        assert proc.returncode == ExitCode.NO_KEY
        assert EVIL_VALUE not in proc.stdout
    # the victim's own key does not open it either: one generic error, naming the ids
    mine = api.keygen()
    proc = cli("decrypt", "config/prod.yaml", env={"SEALEDCFG_KEY": mine}, cwd=victim, home=home)
    assert proc.returncode == ExitCode.OPEN
    assert f"hint: it opens with: key {kid(evil)}" in proc.stderr
    assert f"the keys tried have the ids: {kid(mine)}" in proc.stderr
    assert mine not in proc.stderr
    assert evil not in proc.stderr


def test_repository_key_is_never_read_runner(
    attacked: tuple[Path, Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    victim, home, _ = attacked
    monkeypatch.chdir(victim)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    result = runner.invoke(app, ["verify", "config/prod.yaml"])
    assert result.exit_code == ExitCode.NO_KEY
    assert "ok" not in result.stdout
    result = runner.invoke(app, ["decrypt", "config/prod.yaml"])
    assert result.exit_code == ExitCode.NO_KEY
    assert EVIL_VALUE not in result.stdout
    with pytest.raises(NoKeyError, match="no key to open"):
        api.load(victim / "config" / "prod.yaml", keys=KeySource(env={}))


def test_rules_file_naming_a_key_file_is_refused(attacked: tuple[Path, Path, str]) -> None:
    """A new file from that rule would have been sealed to the attacker's key."""
    victim, home, _ = attacked
    mine = api.keygen()
    proc = cli(
        "set",
        "config/new.yaml",
        "db.password",
        "s3cret",
        env={"SEALEDCFG_KEY": mine},
        cwd=victim,
        home=home,
    )
    assert proc.returncode == ExitCode.INPUT
    assert "'key_file' is not allowed (line 4)" in proc.stderr
    assert "hint: move the key to" in proc.stderr
    assert not (victim / "config" / "new.yaml").exists()


def test_rule_naming_an_unavailable_key_id_seals_nothing(attacked: tuple[Path, Path, str]) -> None:
    victim, home, evil = attacked
    (victim / ".sealedcfg.yaml").write_text(
        "creation_rules:\n  - path: 'config/*.yaml'\n"
        f"    recipients:\n      - key_id: {kid(evil)}\n"
    )
    mine = api.keygen()
    proc = cli(
        "set", "config/new.yaml", "a", "s3cret", env={"SEALEDCFG_KEY": mine}, cwd=victim, home=home
    )
    assert proc.returncode == ExitCode.NO_KEY
    assert f"needs key {kid(evil)}, which is not available" in proc.stderr
    assert not (victim / "config" / "new.yaml").exists()
    # the same key, in the repository and named by the victim, is refused outright
    proc = cli("decrypt", "config/prod.yaml", "--key-file", "evil.key", cwd=victim, home=home)
    assert proc.returncode == ExitCode.INPUT
    assert "inside the git working tree" in proc.stderr
    assert EVIL_VALUE not in proc.stdout


@pytest.mark.parametrize(
    ("option", "variable"),
    [
        ("--key-file", "SEALEDCFG_KEY_FILE"),
        ("--passphrase-file", "SEALEDCFG_PASSPHRASE_FILE"),
    ],
)
def test_key_or_passphrase_file_inside_a_repo_is_refused(
    tmp_path: Path, option: str, variable: str
) -> None:
    repo, home = tmp_path / "repo", tmp_path / "home"
    (repo / "sub").mkdir(parents=True)
    git(repo, "init", "-q")
    key = api.keygen()
    secret = key if option == "--key-file" else "a long team passphrase"
    inside = write(repo / "sub" / "k.txt", secret + "\n")
    outside = write(tmp_path / "k.txt", secret + "\n")
    prof = write(repo / "p.yaml", "a: value-one\n")
    assert cli("encrypt", "p.yaml", option, str(outside), cwd=repo, home=home).returncode == 0
    before = prof.read_bytes()
    for args, env in (
        ([option, "sub/k.txt"], {}),
        ([], {variable: str(inside)}),
        ([], {variable: "sub/k.txt"}),
    ):
        proc = cli("decrypt", "p.yaml", *args, env=env, cwd=repo, home=home)
        assert proc.returncode == ExitCode.INPUT, proc.stderr
        assert proc.stderr.startswith("sealedcfg: error: ")
        assert f"is inside the git working tree {str(repo)!r}" in proc.stderr
        assert secret not in proc.stderr
        assert "value-one" not in proc.stdout
    assert cli("set", "p.yaml", "a", "x", option, "sub/k.txt", cwd=repo, home=home).returncode == 3
    assert prof.read_bytes() == before
    # a symlink in the repository is as replaceable as a file there, wherever it points
    (repo / "link.txt").symlink_to(outside)
    assert cli("decrypt", "p.yaml", option, "link.txt", cwd=repo, home=home).returncode == 3
    # and a symlink outside pointing into the repository too
    (tmp_path / "in.txt").symlink_to(inside)
    assert (
        cli("decrypt", "p.yaml", option, str(tmp_path / "in.txt"), cwd=repo, home=home).returncode
        == 3
    )
    # from outside the repository, the file outside still works
    assert (
        cli("decrypt", "repo/p.yaml", option, "k.txt", cwd=tmp_path, home=home).stdout
        == "a: value-one\n"
    )


def test_linked_worktree_counts_as_a_working_tree(tmp_path: Path) -> None:
    """A `.git` *file* (linked worktree, submodule) marks a working tree too."""
    repo, home = tmp_path / "repo", tmp_path / "home"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    write(repo / "a.txt", "a\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "a")
    git(repo, "worktree", "add", "-q", str(tmp_path / "wt"))
    assert (tmp_path / "wt" / ".git").is_file()
    key = api.keygen()
    write(tmp_path / "wt" / "k.key", key)
    proc = cli("keygen", "-o", str(tmp_path / "wt" / "new.key"), cwd=tmp_path, home=home)
    assert proc.returncode == ExitCode.INPUT
    assert not (tmp_path / "wt" / "new.key").exists()
    prof = write(tmp_path / "p.yaml", "a: 1\n")
    proc = cli("encrypt", str(prof), "--key-file", "wt/k.key", cwd=tmp_path, home=home)
    assert proc.returncode == ExitCode.INPUT
    assert "inside the git working tree" in proc.stderr
    assert prof.read_text() == "a: 1\n"


def test_key_directory_inside_a_repo_is_refused(tmp_path: Path) -> None:
    repo = tmp_path / "dotfiles"
    repo.mkdir()
    git(repo, "init", "-q")
    key = api.keygen()
    home = repo / "home"  # the whole home directory is a repository (dotfiles)
    (home / ".config" / "sealedcfg" / "keys").mkdir(parents=True)
    write(home / ".config" / "sealedcfg" / "keys" / f"{kid(key)}.key", key + "\n")
    work = tmp_path / "work"
    work.mkdir()
    prof = write(work / "p.yaml", "a: value-one\n")
    api.encrypt_file(prof, KeySource(key=key, env={}))
    proc = cli("decrypt", "p.yaml", cwd=work, home=home)
    assert proc.returncode == ExitCode.INPUT
    assert "the key directory" in proc.stderr
    assert "inside the git working tree" in proc.stderr
    assert "hint: set XDG_CONFIG_HOME" in proc.stderr
    assert "value-one" not in proc.stdout
    # given explicitly, the key still works: the key directory is only refused when used
    assert cli("decrypt", "p.yaml", env={"SEALEDCFG_KEY": key}, cwd=work, home=home).returncode == 0


def test_keys_found_by_id_in_the_key_directory(tmp_path: Path) -> None:
    home, work = tmp_path / "home", tmp_path / "work"
    work.mkdir()
    directory = home / ".config" / "sealedcfg" / "keys"
    # keygen -o into the key directory names the file by id (creating the directory, 0700)
    proc = cli("keygen", "-o", str(directory), cwd=work, home=home)
    assert proc.returncode == 0, proc.stderr
    (written,) = directory.glob("*.key")
    key = parse_key(written.read_text(), "k")
    assert written.name == f"{b64e(key_id(key))}.key"
    assert oct(directory.stat().st_mode & 0o777) == "0o700"
    assert str(written) in proc.stderr
    prof = write(work / "p.yaml", "a: value-one\n")
    api.encrypt_file(prof, KeySource(key=key.reveal(), env={}))
    assert cli("decrypt", "p.yaml", cwd=work, home=home).stdout == "a: value-one\n"
    # under another name it is found too (by the id of what it holds)
    other = api.keygen()
    write(directory / "prod.key", other + "\n")
    prof2 = write(work / "q.yaml", "b: value-two\n")
    api.encrypt_file(prof2, KeySource(key=other, env={}))
    assert cli("decrypt", "q.yaml", cwd=work, home=home).stdout == "b: value-two\n"
    # a file named after one id that holds another key is an error, not a silent skip
    write(directory / f"{kid(other)}.key", api.keygen() + "\n")
    proc = cli("decrypt", "q.yaml", cwd=work, home=home)
    assert proc.returncode == ExitCode.INPUT
    assert "does not hold the key it is named after" in proc.stderr
    # a key-directory entry that is a symlink into a repository is refused like the file
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    write(repo / "k.key", other + "\n")
    (directory / f"{kid(other)}.key").unlink()
    (directory / f"{kid(other)}.key").symlink_to(repo / "k.key")
    (directory / "prod.key").unlink()
    proc = cli("decrypt", "q.yaml", cwd=work, home=home)
    assert proc.returncode == ExitCode.INPUT
    assert "inside the git working tree" in proc.stderr


def test_init_writes_key_ids_and_refuses_a_key_in_the_repo(tmp_path: Path) -> None:
    repo, home = tmp_path / "repo", tmp_path / "home"
    repo.mkdir()
    git(repo, "init", "-q")
    proc = cli("init", "--key-file", "team.key", cwd=repo, home=home)
    assert proc.returncode == ExitCode.INPUT
    assert "inside the git working tree" in proc.stderr
    assert not (repo / "team.key").exists()
    assert not (repo / ".sealedcfg.yaml").exists()
    outside = tmp_path / "team.key"
    proc = cli("init", "--key-file", str(outside), cwd=repo, home=home)
    assert proc.returncode == 0, proc.stderr
    key = parse_key(outside.read_text(), "k")
    rules = (repo / ".sealedcfg.yaml").read_text()
    assert f'key_id: "{b64e(key_id(key))}"' in rules
    assert "key_file" not in rules
    assert str(tmp_path) not in rules
    assert "SEALEDCFG_KEY_FILE" in proc.stdout  # says how the key will be found


def test_add_recipient_key_file_inside_repo_is_refused(tmp_path: Path) -> None:
    repo, home = tmp_path / "repo", tmp_path / "home"
    repo.mkdir()
    git(repo, "init", "-q")
    key = api.keygen()
    prof = write(repo / "p.yaml", "a: 1\n")
    api.encrypt_file(prof, KeySource(key=key, env={}))
    write(repo / "new.key", api.keygen())
    before = prof.read_bytes()
    proc = cli(
        "recipients", "add", "p.yaml", "--add-key-file", "new.key",
        env={"SEALEDCFG_KEY": key}, cwd=repo, home=home,
    )  # fmt: skip
    assert proc.returncode == ExitCode.INPUT
    assert "inside the git working tree" in proc.stderr
    assert prof.read_bytes() == before


@pytest.mark.parametrize(
    ("recipient", "message"),
    [
        ("key_file: ~/k.key", "'key_file' is not allowed"),
        ("key_id: not-an-id", "'key_id' must be a key id"),
        ("key_id: 12345", "'key_id' must be a key id"),
        ("passphrase: 'yes'", "'passphrase' must be true or false"),
        ("passphrase: false", "exactly one of 'key_id', 'age', 'kms' or 'passphrase: true'"),
    ],
)
def test_bad_rule_recipients(tmp_path: Path, recipient: str, message: str) -> None:
    repo, home = tmp_path / "repo", tmp_path / "home"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / ".sealedcfg.yaml").write_text(
        f"creation_rules:\n  - path: '*.yaml'\n    recipients:\n      - {recipient}\n"
    )
    proc = cli(
        "set", "new.yaml", "a", "1", env={"SEALEDCFG_KEY": api.keygen()}, cwd=repo, home=home
    )
    assert proc.returncode == ExitCode.INPUT
    assert message in proc.stderr
    first, *rest = proc.stderr.splitlines()
    assert first.startswith("sealedcfg: error: ")
    assert all(ln.startswith("hint: ") for ln in rest)
    assert not (repo / "new.yaml").exists()


def test_set_new_file_from_rule_finds_the_key_by_id(tmp_path: Path) -> None:
    repo, home = tmp_path / "repo", tmp_path / "home"
    (repo / "config").mkdir(parents=True)
    git(repo, "init", "-q")
    key = api.keygen()
    (home / ".config" / "sealedcfg" / "keys").mkdir(parents=True)
    write(home / ".config" / "sealedcfg" / "keys" / f"{kid(key)}.key", key + "\n")
    (repo / ".sealedcfg.yaml").write_text(
        f"creation_rules:\n  - path: 'config/*.yaml'\n    recipients:\n      - key_id: {kid(key)}\n"
    )
    proc = cli("set", "config/new.yaml", "db.password", "s3cret-value", cwd=repo, home=home)
    assert proc.returncode == 0, proc.stderr
    assert "s3cret-value" not in (repo / "config" / "new.yaml").read_text()
    assert (
        cli("get", "config/new.yaml", "db.password", cwd=repo, home=home).stdout == "s3cret-value\n"
    )
    assert api.decrypt_file(repo / "config" / "new.yaml", KeySource(key=key, env={})).startswith(
        b"db:"
    )
