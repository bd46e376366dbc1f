"""Shared helpers for the git tests: temp repos, a `sealedcfg` shim on PATH."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sealedcfg import api
from sealedcfg.engine.keys import KeySource

# The CLI with the git commands registered, as cli/main.py registers them.
RUNNER = (
    "import sys; from sealedcfg.cli.main import app, run; "
    "from sealedcfg.cli import git as cli_git; "
    "cli_git.register(app); sys.exit(run(sys.argv[1:]))"
)
BASE = """\
# production profile
db:
  host: db.internal
  password: pw-one
  user: app-user
  port: 5432
stripe:
  api_key: sk-one
  old_key: sk-old
tail: last
"""


class Repo:
    def __init__(self, root: Path, key: str) -> None:
        self.root = root
        self.key = key
        self.keys = KeySource(key=key, env={})
        shim_dir = root.parent / "bin"
        shim_dir.mkdir(exist_ok=True)
        shim = shim_dir / "sealedcfg"
        shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -c "{RUNNER}" "$@"\n')
        shim.chmod(0o755)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("SEALEDCFG_", "GIT_"))}
        self.env.update(
            PATH=f"{shim_dir}{os.pathsep}{os.environ.get('PATH', '')}",
            HOME=str(root.parent),
            GIT_CONFIG_NOSYSTEM="1",
            SEALEDCFG_ARGON2="m=19456,t=2,p=1",
        )

    def with_key(self) -> dict[str, str]:
        return {**self.env, "SEALEDCFG_KEY": self.key}

    def git(
        self, *args: str, env: dict[str, str] | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        proc = self._run(["git", *args], env)
        if check and proc.returncode != 0:
            raise AssertionError(f"git {args} failed: {proc.stdout}{proc.stderr}")
        return proc

    def sc(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return self._run(["sealedcfg", *args], env)

    def _run(self, argv: list[str], env: dict[str, str] | None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            argv,
            cwd=self.root,
            env=env or self.env,
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )

    def commit(self, message: str) -> None:
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)


@pytest.fixture(name="repo")
def repo_fixture(tmp_path: Path) -> Repo:
    root = tmp_path / "repo"
    root.mkdir()
    r = Repo(root, api.keygen())
    r.git("init", "-q", "-b", "main")
    r.git("config", "user.name", "Tess Ter")
    r.git("config", "user.email", "tess@example.com")
    (root / "config").mkdir()
    prof = root / "config" / "prod.yaml"
    prof.write_text(BASE)
    api.encrypt_file(prof, r.keys)
    return r
