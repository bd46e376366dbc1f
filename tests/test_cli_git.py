"""`git setup|textconv|merge-driver|remac`, `diff` and `log` through typer's runner.

In-process, so coverage sees the CLI layer; tests/test_git_*.py run the same
commands as real processes and through git itself.  Each test works in a real
git repository in a temporary directory, with real keys.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sealedcfg import api
from sealedcfg.cli.main import app
from sealedcfg.engine.keys import KeySource
from sealedcfg.errors import ExitCode
from sealedcfg.ops import values

from .conftest import write
from .subproc import git
from .test_git_inprocess import commit, repo  # noqa: F401

runner = CliRunner()
PROD = "config/prod.yaml"
PROFILE = "db:\n  host: db.internal\n  password: pw-one-0001\n  user: app\nname: billing\n"


@pytest.fixture
def sealed_repo(repo: Path, monkeypatch: pytest.MonkeyPatch, key: str) -> Path:  # noqa: F811
    (repo / "config").mkdir()
    api.encrypt_file(write(repo / PROD, PROFILE), KeySource(key=key, env={}))
    commit(repo, "sealed profile")
    monkeypatch.chdir(repo)
    return repo


def test_setup_check_fix_and_up_to_date(sealed_repo: Path) -> None:
    result = runner.invoke(app, ["git", "setup", "--check"])
    assert result.exit_code == ExitCode.FINDINGS
    assert "missing: git config diff.sealedcfg.textconv: not set" in result.stderr
    assert not (sealed_repo / ".gitattributes").exists()  # --check writes nothing
    result = runner.invoke(app, ["git", "setup", "--pattern", "deploy/*.yaml"])
    assert result.exit_code == 0, result.stderr
    assert "fixed: .gitattributes: deploy/*.yaml diff=sealedcfg merge=sealedcfg" in result.stderr
    attributes = (sealed_repo / ".gitattributes").read_text()
    assert "config/*.yaml diff=sealedcfg merge=sealedcfg" in attributes
    for args in (["git", "setup"], ["git", "setup", "--check"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.stderr
        assert result.stderr == "git integration: up to date\n"
    write(sealed_repo / ".sealedcfg.yaml", "creation_rules:\n  - path_regex: '^secrets/'\n")
    result = runner.invoke(app, ["git", "setup", "--check"])
    assert "note: " in result.stderr  # a regex rule cannot be written as an attribute pattern


def test_textconv_with_and_without_a_key(sealed_repo: Path, key: str) -> None:
    result = runner.invoke(app, ["git", "textconv", PROD], env={"SEALEDCFG_KEY": key})
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith(PROFILE)
    assert "\n# recipient: key " in result.stdout
    result = runner.invoke(app, ["git", "textconv", PROD])  # no key: as it is, no prompt
    assert result.exit_code == 0, result.stderr
    assert "pw-one-0001" not in result.stdout
    assert "password: sealedcfg;v1;" in result.stdout


def test_diff_against_head_and_between_files(sealed_repo: Path, key: str) -> None:
    assert runner.invoke(app, ["diff", PROD]).exit_code == 0  # nothing changed
    keys = KeySource(key=key, env={})
    values.set_value(sealed_repo / PROD, "db.password", "pw-two-0002", keys)
    values.set_value(sealed_repo / PROD, "db.port", "5432", keys)
    values.unset(sealed_repo / PROD, "name", keys)
    result = runner.invoke(app, ["diff", PROD])
    assert result.exit_code == ExitCode.FINDINGS
    ops = sorted(line.split(":")[0] for line in result.stdout.splitlines())
    assert ops == ["+ db.port", "- name", "~ db.password"]
    assert "pw-" not in result.stdout
    env = {"SEALEDCFG_KEY": key}
    result = runner.invoke(app, ["diff", PROD, "--rev", "HEAD", "--show", "--json"], env=env)
    assert result.exit_code == ExitCode.FINDINGS
    changes = {c["path"]: c for c in json.loads(result.stdout)}
    assert changes["db.password"]["old"] == "pw-one-0001"
    assert changes["db.password"]["new"] == "pw-two-0002"
    old = write(sealed_repo / "old.yaml", git(sealed_repo, "show", f"HEAD:{PROD}"))
    result = runner.invoke(app, ["diff", str(old), PROD], env=env)
    assert result.exit_code == ExitCode.FINDINGS
    assert len(result.stdout.splitlines()) == 3


def test_log_lists_key_events_per_commit(sealed_repo: Path, key: str) -> None:
    keys = KeySource(key=key, env={})
    values.set_value(sealed_repo / PROD, "db.password", "pw-two-0002", keys)
    commit(sealed_repo, "rotate the password")
    result = runner.invoke(app, ["log", PROD])
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "  ~ db.password" in lines
    assert "  + db.host" in lines  # the first commit adds every key
    result = runner.invoke(app, ["log", PROD, "db.password", "--json"])
    entries = json.loads(result.stdout)
    assert [e["changed"] for e in entries] == [["db.password"], []]
    result = runner.invoke(app, ["log", "nodir/none.yaml"])
    assert result.exit_code == ExitCode.INPUT
    assert result.stderr == "sealedcfg: error: nodir/none.yaml: no such file\n"


def test_merge_driver_merges_per_key_or_exits_1(sealed_repo: Path, key: str) -> None:
    keys = KeySource(key=key, env={})
    prof = sealed_repo / PROD
    base = prof.read_bytes()
    values.set_value(prof, "db.user", "app-two", keys)
    ours = write(sealed_repo / "ours.tmp", prof.read_bytes())
    prof.write_bytes(base)
    values.set_value(prof, "db.password", "pw-two-0002", keys)
    theirs = write(sealed_repo / "theirs.tmp", prof.read_bytes())
    prof.write_bytes(base)
    base_file = write(sealed_repo / "base.tmp", base)
    args = ["git", "merge-driver", str(base_file), str(ours), str(theirs), PROD]
    result = runner.invoke(app, args)  # git gives no key: none is asked for
    assert result.exit_code == ExitCode.NO_KEY
    result = runner.invoke(app, args, env={"SEALEDCFG_KEY": key})
    assert result.exit_code == 0, result.stderr
    assert result.stderr == f"sealedcfg: merged {PROD} per key\n"
    write(prof, ours.read_bytes())
    assert api.load(prof, keys=keys)["db"] == {
        "host": "db.internal",
        "password": "pw-two-0002",
        "user": "app-two",
    }
    write(ours, base)
    values.set_value(prof, "db.password", "pw-three-0003", keys)  # both sides: a conflict
    write(ours, prof.read_bytes())
    result = runner.invoke(app, args, env={"SEALEDCFG_KEY": key})
    assert result.exit_code == ExitCode.FINDINGS
    assert "db.password" in result.stderr
    assert "pw-" not in result.stderr


def test_remac_finishes_a_merge_made_without_the_driver(sealed_repo: Path, key: str) -> None:
    keys = KeySource(key=key, env={})
    prof = sealed_repo / PROD
    result = runner.invoke(app, ["git", "remac", PROD], env={"SEALEDCFG_KEY": key})
    assert result.exit_code == ExitCode.INPUT  # no merge in progress
    assert "git records no conflict for this file" in result.stderr
    git(sealed_repo, "checkout", "-q", "-b", "feature")
    values.set_value(prof, "db.host", "db2.internal", keys)
    commit(sealed_repo, "feature")
    git(sealed_repo, "checkout", "-q", "main")
    values.set_value(prof, "name", "billing-two", keys)
    commit(sealed_repo, "main")
    with pytest.raises(subprocess.CalledProcessError):  # the header's mac: line conflicts
        git(sealed_repo, "merge", "-q", "--no-edit", "feature")
    result = runner.invoke(app, ["git", "remac", PROD], env={"SEALEDCFG_KEY": key})
    assert result.exit_code == 0, result.stderr
    assert f"{PROD}: merged header written; every value verified" in result.stderr
    assert f"hint: git add {PROD}" in result.stderr
    data = api.load(prof, keys=keys)
    assert data["db"]["host"] == "db2.internal"
    assert data["name"] == "billing-two"
