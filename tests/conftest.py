from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from sealedcfg import api
from sealedcfg.engine.keys import KeySource
from sealedcfg.format.kdf import FLOOR_M, FLOOR_P, FLOOR_T, Argon2Params

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
CORPUS = ROOT.parent / "shared" / "corpus" / "yaml"
# The KDF's minimum allowed parameters: fast tests, never weaker than users get.
FAST = Argon2Params(FLOOR_M, FLOOR_T, FLOOR_P)
FAST_TEXT = f"m={FLOOR_M},t={FLOOR_T},p={FLOOR_P}"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    for name in list(os.environ):
        if name.startswith("SEALEDCFG_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("SEALEDCFG_ARGON2", FAST_TEXT)
    # The audit trail of every test (and its subprocesses) stays out of the real home.
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("state")))


@pytest.fixture
def key() -> str:
    return api.keygen()


@pytest.fixture
def env_key(key: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """`key`, also where commands run in this process find it (SEALEDCFG_KEY)."""
    monkeypatch.setenv("SEALEDCFG_KEY", key)
    return key


@pytest.fixture
def keys(key: str) -> KeySource:
    return KeySource(key=key, env={})


@pytest.fixture
def pass_keys() -> KeySource:
    return KeySource(passphrase="correct horse battery staple", env={})


@pytest.fixture
def work(tmp_path: Path) -> Path:
    return tmp_path


def copy_fixture(rel: str, dest: Path) -> Path:
    target = dest / Path(rel).name
    shutil.copyfile(FIXTURES / rel, target)
    return target


def write(path: Path, text: str | bytes) -> Path:
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


# The stripe provider of the rotate-secret tests: scripts/mint.sh reads the old
# value, scripts/revoke.sh is a list of one.
STRIPE_PROVIDER = """  stripe:
    mint: ./scripts/mint.sh
    revoke: [./scripts/revoke.sh]
    old_value: true
    expires: 90d
"""


def rules_repo(root: Path, rules: str | None, scripts: dict[str, str] | None = None) -> Path:
    """A repository at `root` as the rules file search sees it (a `.git` where the
    search stops), with config/ and, if given, the rules file and executable scripts/."""
    (root / ".git").mkdir(parents=True)
    (root / "config").mkdir()
    if scripts is not None:
        (root / "scripts").mkdir()
        for name, text in scripts.items():
            write(root / "scripts" / name, text).chmod(0o755)
    if rules is not None:
        write(root / ".sealedcfg.yaml", rules)
    return root


def sealed(path: Path, text: str, **options: Any) -> str:
    """Write `text` to `path` and seal it with a new key (options go to encrypt_file);
    return the key, as SEALEDCFG_KEY takes it."""
    key = api.keygen()
    api.encrypt_file(write(path, text), KeySource(key=key, env={}), **options)
    return key


_TOKEN_OR_B64 = re.compile(r"sealedcfg;v1;[^\s,\[\]{}]*|[A-Za-z0-9_-]{20,}")


def visible(text: str) -> str:
    """The text of a sealed file with every token and base64 field blanked.

    A plaintext check (`SECRET not in visible(text)`) must not fail because
    random base64 happens to contain the secret's characters (`p1` appears in
    about 2% of tokens), so those runs are removed before looking.
    """
    return _TOKEN_OR_B64.sub("", text)
