"""textconv under `git diff`, `sealedcfg diff`, `git setup`, per-key `log`, help texts."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from sealedcfg import api
from sealedcfg.cli.main import app
from sealedcfg.ops import values

from .test_git_support import Repo, repo_fixture  # noqa: F401

PROD = "config/prod.yaml"


def test_setup_is_idempotent_and_checkable(repo: Repo) -> None:
    assert repo.sc("git", "setup", "--check").returncode == 1
    first = repo.sc("git", "setup")
    assert first.returncode == 0, first.stderr
    attrs = (repo.root / ".gitattributes").read_text()
    assert "config/*.yaml diff=sealedcfg merge=sealedcfg" in attrs
    config = repo.git("config", "--local", "--list").stdout
    cmd = f"{shlex.quote(sys.executable)} -P -m sealedcfg"
    assert f"diff.sealedcfg.textconv={cmd} git textconv\n" in config
    assert "diff.sealedcfg.cachetextconv=false" in config
    assert f"merge.sealedcfg.driver={cmd} git merge-driver %O %A %B %P\n" in config
    repo.sc("git", "setup")
    assert (repo.root / ".gitattributes").read_text() == attrs
    assert repo.git("config", "--local", "--list").stdout == config
    check = repo.sc("git", "setup", "--check")
    assert check.returncode == 0, check.stderr


def test_setup_finds_sealed_files_and_patterns(repo: Repo) -> None:
    other = repo.root / "deploy" / "app.yaml"
    other.parent.mkdir()
    other.write_text("token: abc\n")
    api.encrypt_file(other, repo.keys)
    repo.commit("files")
    assert repo.sc("git", "setup").returncode == 0
    assert "/deploy/app.yaml diff=sealedcfg" in (repo.root / ".gitattributes").read_text()
    assert repo.sc("git", "setup", "--pattern", "x/*.yaml").returncode == 0
    assert "x/*.yaml merge=" in (repo.root / ".gitattributes").read_text().replace(
        "diff=sealedcfg ", ""
    )


def test_setup_uses_creation_rule_globs(repo: Repo) -> None:
    (repo.root / ".sealedcfg.yaml").write_text(
        "creation_rules:\n  - path: 'secrets/**/*.yaml'\n  - path: 'top.yaml'\n"
    )
    assert repo.sc("git", "setup").returncode == 0
    attrs = (repo.root / ".gitattributes").read_text()
    assert "/secrets/**/*.yaml diff=sealedcfg merge=sealedcfg" in attrs
    assert "/top.yaml diff=sealedcfg merge=sealedcfg" in attrs
    assert "config/*.yaml" not in attrs
    assert "/config/prod.yaml diff=sealedcfg merge=sealedcfg" in attrs  # tracked, sealed


def test_setup_outside_a_repository(repo: Repo) -> None:
    outside = repo.root.parent / "elsewhere"
    outside.mkdir()
    env = {**repo.env, "GIT_CEILING_DIRECTORIES": str(outside.parent)}
    proc = subprocess.run(
        ["sealedcfg", "git", "setup"], cwd=outside, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 3
    assert proc.stderr.startswith("sealedcfg: error: not inside a git repository")


def test_git_diff_shows_plaintext_with_key_and_tokens_without(repo: Repo) -> None:
    repo.sc("git", "setup")
    repo.commit("initial")
    values.set_value(repo.root / PROD, "db.password", "pw-two", repo.keys)
    with_key = repo.git("diff", env=repo.with_key()).stdout
    assert "-  password: pw-one" in with_key
    assert "+  password: pw-two" in with_key
    assert "mac:" not in with_key
    without = repo.git("diff").stdout
    assert "pw-two" not in without
    assert "+  password: sealedcfg;v1;str;" in without


def test_diff_against_head_masked_show_and_json(repo: Repo) -> None:
    repo.commit("initial")
    prof = repo.root / PROD
    assert repo.sc("diff", PROD).returncode == 0
    values.set_value(prof, "db.password", "pw-two", repo.keys)
    values.set_value(prof, "db.added", "x", repo.keys)
    values.unset(prof, "stripe.old_key", repo.keys)
    proc = repo.sc("diff", PROD)
    assert proc.returncode == 1
    assert proc.stdout.splitlines() == [
        "+ db.added: ***",
        "~ db.password: *** -> ***",
        "- stripe.old_key: ***",
    ]
    shown = repo.sc("diff", PROD, "--show", env=repo.with_key())
    assert "~ db.password: pw-one -> pw-two" in shown.stdout
    no_key = repo.sc("diff", PROD, "--show")
    assert no_key.returncode == 5
    assert "pw-" not in no_key.stderr
    data = json.loads(repo.sc("diff", PROD, "--json", "--rev", "HEAD").stdout)
    assert {"op": "changed", "path": "db.password", "old": "***", "new": "***"} in data


def test_diff_two_files_reseal_is_no_change_with_key(repo: Repo) -> None:
    prof = repo.root / PROD
    old = repo.root / "old.yaml"
    old.write_bytes(prof.read_bytes())
    api.decrypt_file(prof, repo.keys, in_place=True)
    api.encrypt_file(prof, repo.keys)  # every token re-sealed, same values
    assert repo.sc("diff", "old.yaml", PROD, env=repo.with_key()).returncode == 0
    keyless = repo.sc("diff", "old.yaml", PROD)
    assert keyless.returncode == 1
    assert "~ db.password: *** -> ***" in keyless.stdout


def test_textconv_unsealed_or_keyless_prints_file(repo: Repo) -> None:
    plain = repo.root / "plain.txt"
    plain.write_bytes(b"not: [yaml\n")
    assert repo.sc("git", "textconv", "plain.txt").stdout == "not: [yaml\n"
    sealed = (repo.root / PROD).read_text()
    keyless = repo.sc("git", "textconv", PROD).stdout
    assert keyless.startswith(sealed)  # the file as it is, then the header's facts
    assert keyless[len(sealed) :].startswith("# sealedcfg header")
    assert repo.sc("git", "textconv", PROD, env=repo.with_key()).stdout.startswith(
        "# production profile"
    )


def test_log_per_key(repo: Repo) -> None:
    prof = repo.root / PROD
    repo.commit("create")
    values.set_value(prof, "db.password", "pw-two", repo.keys)
    repo.commit("rotate db password")
    values.set_value(prof, "stripe.webhook", "wh", repo.keys)
    repo.commit("add webhook")
    whole = repo.sc("log", PROD)
    assert whole.returncode == 0, whole.stderr
    assert "  + stripe.webhook" in whole.stdout
    entries = json.loads(repo.sc("log", PROD, "db.password", "--json").stdout)
    assert [(e["added"], e["changed"]) for e in entries] == [
        ([], ["db.password"]),
        (["db.password"], []),
    ]
    assert all(e["author"] == "Tess Ter" for e in entries)


@pytest.mark.parametrize(
    "args", [["git", "setup"], ["git", "textconv"], ["git", "merge-driver"], ["diff"], ["log"]]
)
def test_help_has_examples(args: list[str]) -> None:
    from sealedcfg.cli import git as cli_git

    cli_git.register(app)
    cli_git.register(app)  # idempotent
    result = CliRunner().invoke(app, [*args, "--help"])
    assert result.exit_code == 0
    assert "Example" in result.output
