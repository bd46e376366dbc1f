"""Attacks on `git remac` and on profiles/layering (an attacker who writes the
repository but holds no key): each test expects a refusal."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from sealedcfg import api
from sealedcfg.engine.keys import KeySource
from sealedcfg.ops import values

from .conftest import write
from .test_git_remac import PROD, _diverge, _remac
from .test_git_support import Repo, repo_fixture  # noqa: F401
from .test_profiles import cli, git_repo, seal


def test_attack_profiles_dir_into_a_nested_repository(
    tmp_path: Path, key: str, keys: KeySource
) -> None:
    """A clone the user keeps inside the work tree is another repository: its
    `config/prod.yaml` is bound to `config/prod.yaml` there, so pointing
    profiles.dir at it must not make `--profile prod` read it."""
    root = git_repo(tmp_path / "repo")
    seal(root / "config" / "prod.yaml", "db: this-repo\n", keys)
    other = root / "vendor" / "other"
    subprocess.run(["git", "init", "-q", str(other)], check=True)
    (other / "config").mkdir()
    seal(other / "config" / "prod.yaml", "db: other-repo\n", keys)
    assert api.load(other / "config" / "prod.yaml", keys=keys) == {"db": "other-repo"}
    # the attacker edits the rules file only
    write(root / ".sealedcfg.yaml", "profiles:\n  dir: vendor/other/config\n")
    proc = cli("get", "--profile", "prod", "db", key=key, cwd=root)
    assert "other-repo" not in proc.stdout
    assert proc.returncode == 3, proc.stderr
    assert "another repository" in proc.stderr


@pytest.mark.parametrize("how", ["option", "env"])
def test_attack_profiles_dir_that_reads_as_an_option(
    tmp_path: Path, key: str, keys: KeySource, how: str
) -> None:
    """`profiles.dir: -oleak` made `--profile prod` the word `-oleak/prod.yaml`,
    which export read as `-o leak/prod.yaml`: the other files' plaintext went to
    a work-tree path the attacker chose, and nothing was printed."""
    root = git_repo(tmp_path / "repo")
    seal(root / "config" / "common.yaml", "db: common-secret\n", keys)
    (root / "-oleak").mkdir()
    write(root / "-oleak" / "prod.yaml", "not: sealed\n")
    (root / "leak").mkdir()
    write(root / ".sealedcfg.yaml", "profiles:\n  dir: -oleak\n")
    if how == "option":
        proc = cli("export", "config/common.yaml", "--profile", "prod", key=key, cwd=root)
    else:
        env = {"SEALEDCFG_PROFILE": "prod"}
        proc = cli("export", "-f", "dotenv", key=key, cwd=root, env=env)
    assert not (root / "leak" / "prod.yaml").exists()
    assert proc.returncode == 3, proc.stderr
    # the profile itself was read (and refused: it is no sealed file)
    assert proc.stderr.startswith("sealedcfg: error: -oleak/prod.yaml: not a sealed"), proc.stderr
    assert "common-secret" not in proc.stdout + proc.stderr


@pytest.mark.parametrize("directory", ['"con\\0fig"', '"con\\nfig"', '"con\\tfig"'])
def test_attack_profiles_dir_with_control_characters(
    tmp_path: Path, key: str, directory: str
) -> None:
    root = git_repo(tmp_path / "repo")
    write(root / ".sealedcfg.yaml", f"profiles:\n  dir: {directory}\n")
    proc = cli("get", "--profile", "prod", "db", key=key, cwd=root)
    assert proc.returncode == 3, proc.stderr
    assert proc.stderr.startswith("sealedcfg: error: "), proc.stderr
    assert "must be a relative path" in proc.stderr
    assert "Traceback" not in proc.stderr


# ---------------------------------------------------------------- git remac


def test_attack_remac_when_theirs_deleted_the_file(repo: Repo) -> None:
    prof = repo.root / PROD
    repo.commit("initial")
    repo.git("checkout", "-q", "-b", "feature")
    repo.git("rm", "-q", PROD)
    repo.commit("delete")
    repo.git("checkout", "-q", "main")
    values.set_value(prof, "db.password", "pw-two", repo.keys)
    repo.commit("edit")
    repo.git("merge", "--no-edit", "feature", check=False)
    before = prof.read_bytes()
    code, err = _remac(repo)
    assert code == 3, err
    assert "stage(s) 1, 2 of 1 base" in err
    assert prof.read_bytes() == before


def test_attack_remac_with_crlf_checkout_attribute(repo: Repo) -> None:
    prof = _diverge(repo, feature=[("stripe.api_key", "sk-two")], main=[("db.password", "pw-two")])
    # .gitattributes (attacker-written) changes how git checks the merge out
    (repo.root / ".gitattributes").write_text(f"{PROD} text eol=crlf\n")
    repo.commit("attrs")
    repo.git("merge", "--no-edit", "feature", check=False)
    code, err = _remac(repo)
    assert code == 0, err
    assert api.verify_file(prof, repo.keys).ok
    data = api.load(prof, keys=repo.keys)
    assert (data["db"]["password"], data["stripe"]["api_key"]) == ("pw-two", "sk-two")


def test_attack_remac_theirs_is_a_symlink(repo: Repo) -> None:
    prof = repo.root / PROD
    repo.commit("initial")
    repo.git("checkout", "-q", "-b", "feature")
    prof.unlink()
    prof.symlink_to("/etc/passwd")
    repo.commit("link")
    repo.git("checkout", "-q", "main")
    values.set_value(prof, "db.password", "pw-two", repo.keys)
    repo.commit("edit")
    repo.git("merge", "--no-edit", "feature", check=False)
    before = prof.read_bytes()
    code, err = _remac(repo)
    assert code == 3, err
    assert err.startswith("sealedcfg: error: config/prod.yaml: not a conflict between two"), err
    assert prof.read_bytes() == before


def test_export_output_into_a_missing_directory_is_bad_input(
    tmp_path: Path, key: str, keys: KeySource
) -> None:
    root = git_repo(tmp_path / "repo")
    seal(root / "config" / "common.yaml", "db: common-secret\n", keys)
    proc = cli("export", "config/common.yaml", "-o", "nodir/x.env", key=key, cwd=root)
    assert proc.returncode == 3, proc.stderr
    assert (
        proc.stderr == "sealedcfg: error: nodir/x.env: cannot write (No such file or directory)\n"
    )
