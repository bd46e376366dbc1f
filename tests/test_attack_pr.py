"""Attacks on `git remac` and on profiles/layering (an attacker who writes the
repository but holds no key): each test expects a refusal."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from sealedcfg import api
from sealedcfg.engine.keys import KeySource
from sealedcfg.errors import InputError

from .conftest import write
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
