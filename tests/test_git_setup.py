"""`sealedcfg git setup`: drivers that run whatever PATH git has, and coverage
of every sealed file and creation rule, checked with git itself."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sealedcfg import api
from sealedcfg.cli.main import make_app
from sealedcfg.engine import rules
from sealedcfg.ops import gitsetup, values

from .test_git_support import Repo, repo_fixture  # noqa: F401

PROD = "config/prod.yaml"
GIT = shutil.which("git")
# PATH as a GUI client or a hook may have it: git and sh, no sealedcfg.
BARE_PATH = os.pathsep.join(dict.fromkeys([str(Path(GIT or "/usr/bin/git").parent), "/bin"]))


def _bare_env(repo: Repo, *, key: bool = False) -> dict[str, str]:
    env = {**(repo.with_key() if key else repo.env), "PATH": BARE_PATH}
    assert shutil.which("sealedcfg", path=BARE_PATH) is None
    return env


def _setup_with(python: str, repo: Repo, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [python, "-P", "-m", "sealedcfg", "git", "setup", *args],  # -P: see below
        cwd=repo.root,
        env=_bare_env(repo),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def _attrs(repo: Repo, *paths: str) -> dict[str, tuple[str, str]]:
    out = repo.git("check-attr", "-z", "diff", "merge", "--", *paths).stdout.split("\0")
    got: dict[str, dict[str, str]] = {}
    for i in range(0, len(out) - 2, 3):
        got.setdefault(out[i], {})[out[i + 1]] = out[i + 2]
    return {p: (got[p]["diff"], got[p]["merge"]) for p in paths}


SET = ("sealedcfg", "sealedcfg")


def test_drivers_work_without_sealedcfg_on_path(repo: Repo) -> None:
    proc = _setup_with(sys.executable, repo)
    assert proc.returncode == 0, proc.stderr
    repo.commit("initial")
    prof = repo.root / PROD
    values.set_value(prof, "db.password", "pw-two", repo.keys)
    diff = repo.git("diff", env=_bare_env(repo, key=True))
    assert "+  password: pw-two" in diff.stdout, diff.stderr
    repo.git("checkout", "-q", "--", PROD)
    repo.git("checkout", "-q", "-b", "feature")
    values.set_value(prof, "stripe.api_key", "sk-two", repo.keys)
    repo.commit("feature")
    repo.git("checkout", "-q", "main")
    values.set_value(prof, "db.password", "pw-two", repo.keys)
    repo.commit("main")
    merged = repo.git("merge", "--no-edit", "feature", env=_bare_env(repo, key=True), check=False)
    assert merged.returncode == 0, merged.stdout + merged.stderr
    data = api.load(prof, keys=repo.keys)
    assert (data["db"]["password"], data["stripe"]["api_key"]) == ("pw-two", "sk-two")


def test_a_committed_sealedcfg_package_does_not_run(repo: Repo) -> None:
    """`python -m sealedcfg` from the work tree would import the repository's own
    `sealedcfg/` first; setup's `-P` keeps it off sys.path."""
    evil = repo.root / "sealedcfg"
    evil.mkdir()
    (evil / "__init__.py").write_text("")
    (evil / "__main__.py").write_text(
        "import pathlib; pathlib.Path('PWNED').write_text('ran'); print('db: forged')\n"
    )
    assert _setup_with(sys.executable, repo).returncode == 0
    repo.commit("initial, with a package named sealedcfg")
    values.set_value(repo.root / PROD, "db.password", "pw-two", repo.keys)
    diff = repo.git("diff", "--", PROD, env=_bare_env(repo, key=True)).stdout
    assert not (repo.root / "PWNED").exists()
    assert "+  password: pw-two" in diff
    assert "forged" not in diff


def _relocatable_venv(where: Path) -> Path:
    """A venv at WHERE using this test run's packages: bin/python and site-packages
    linked to the real ones, so it can be moved like a user's venv."""
    base = Path(sys.base_prefix) / "bin" / Path(sys.executable).name
    site = Path(sysconfig.get_paths()["purelib"])
    lib = where / site.relative_to(sys.prefix)
    (where / "bin").mkdir(parents=True)
    lib.parent.mkdir(parents=True)
    (where / "pyvenv.cfg").write_text(f"home = {base.resolve().parent}\n")
    (where / "bin" / "python").symlink_to(base.resolve())
    lib.symlink_to(site)
    return where / "bin" / "python"


def test_a_path_with_spaces_quotes_and_dollars_then_the_venv_moves(
    repo: Repo, tmp_path: Path
) -> None:
    python = _relocatable_venv(tmp_path / 'it\'s a "venv" $HOME `x`')
    proc = _setup_with(str(python), repo)
    assert proc.returncode == 0, proc.stderr
    assert (
        str(python)
        in subprocess.run(
            [sys.executable, "-c", "import shlex,sys; print(shlex.split(sys.stdin.read())[0])"],
            input=repo.git("config", "--get", "diff.sealedcfg.textconv").stdout,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    repo.commit("initial")
    values.set_value(repo.root / PROD, "db.password", "pw-two", repo.keys)
    assert "+  password: pw-two" in repo.git("diff", env=_bare_env(repo, key=True)).stdout
    # the venv moves: git cannot run the driver, and --check says why
    (tmp_path / 'it\'s a "venv" $HOME `x`').rename(tmp_path / "moved")
    failed = repo.git("diff", env=_bare_env(repo, key=True), check=False)
    assert failed.returncode != 0
    check = _setup_with(sys.executable, repo, "--check")
    assert check.returncode == 1
    assert "which does not exist (a moved venv?)" in check.stderr
    assert _setup_with(sys.executable, repo).returncode == 0
    assert _setup_with(sys.executable, repo, "--check").returncode == 0
    assert "+  password: pw-two" in repo.git("diff", env=_bare_env(repo, key=True)).stdout


def test_check_reports_a_bare_sealedcfg_from_older_setups(repo: Repo) -> None:
    assert repo.sc("git", "setup").returncode == 0
    repo.git("config", "diff.sealedcfg.textconv", "sealedcfg git textconv")
    check = repo.sc("git", "setup", "--check")
    assert check.returncode == 1
    assert "runs 'sealedcfg' from PATH" in check.stderr
    assert repo.sc("git", "setup").returncode == 0
    assert repo.sc("git", "setup", "--check").returncode == 0


def _seal(repo: Repo, rel: str) -> None:
    path = repo.root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("token: abc\n")
    api.encrypt_file(path, repo.keys)


ODD = [
    "my dir/odd name.yaml",
    "st*ar.yaml",
    "q[1]?.yml",
    'say "hi".yaml',
    "back\\slash.yaml",
    "#hash.yaml",
    "!bang.yaml",
    "trailing .yaml ",
    "ünï/cødé.yaml",
    "deploy/prod.conf",  # sealed whatever its name
]


def test_every_sealed_file_is_covered_whatever_its_name(repo: Repo) -> None:
    for rel in ODD:
        _seal(repo, rel)
    repo.commit("odd names")
    _seal(repo, "new/untracked.yaml")  # not added yet, not ignored
    (repo.root / "plain.yaml").write_text("a: 1\n")
    repo.commit("a plain file")
    proc = repo.sc("git", "setup")
    assert proc.returncode == 0, proc.stderr
    sealed = [*ODD, "new/untracked.yaml", PROD]
    assert _attrs(repo, *sealed) == dict.fromkeys(sealed, SET)
    # exact paths: a neighbour with a glob-like name is not swept in
    assert _attrs(repo, "stXar.yaml", "q1X.yml", "plain.yaml")["stXar.yaml"] != SET
    attrs = (repo.root / ".gitattributes").read_text()
    assert repo.sc("git", "setup", "--check").returncode == 0
    assert repo.sc("git", "setup").returncode == 0
    assert (repo.root / ".gitattributes").read_text() == attrs


def test_an_override_in_a_subdirectory_is_reported(repo: Repo) -> None:
    _seal(repo, "sub/app.yaml")
    (repo.root / "sub" / ".gitattributes").write_text("*.yaml -diff -merge\n")
    repo.commit("override")
    proc = repo.sc("git", "setup")
    assert proc.returncode == 1
    assert "problem: sub/app.yaml: still not diff=sealedcfg merge=sealedcfg" in proc.stderr
    assert repo.sc("git", "setup", "--check").returncode == 1


def _glob_rules(root: Path, *more: str) -> None:
    """Rules with a recursive glob, a space in a name, the rules `more` and a regex,
    and a nested rules file in svc/ whose paths are relative to svc/."""
    rules = [
        "  - path: 'secrets/**/*.yaml'\n",
        "  - path: 'team a/*.yaml'\n",
        *more,
        "  - path_regex: '^regex/.*[.]yaml$'\n",
    ]
    (root / ".sealedcfg.yaml").write_text("creation_rules:\n" + "".join(rules))
    (root / "svc").mkdir()
    (root / "svc" / ".sealedcfg.yaml").write_text("creation_rules:\n  - path: 'env/*.yml'\n")


def test_rule_globs_regexes_and_nested_rules_files(repo: Repo) -> None:
    _glob_rules(repo.root)
    repo.commit("rules")
    proc = repo.sc("git", "setup")
    assert proc.returncode == 0, proc.stderr
    assert "note: .sealedcfg.yaml: the rule '^regex/.*[.]yaml$' cannot be written" in proc.stderr
    paths = ["secrets/a/b/c.yaml", "secrets/c.yaml", "team a/x.yaml", "svc/env/p.yml"]
    assert _attrs(repo, *paths) == dict.fromkeys(paths, SET)
    others = ["x/secrets/c.yaml", "team a/sub/x.yaml", "env/p.yml", "regex/r.yaml"]
    assert all(v != SET for v in _attrs(repo, *others).values())


GLOBS = ["*.yaml", "config/*.yaml", "**/*.yml", "a/**/b.yaml", "a/**", "c/[ab]?.yaml", "d/[!x]*"]
PATHS = [
    "x.yaml",
    "sub/x.yaml",
    "config/p.yaml",
    "config/s/p.yaml",
    "q.yml",
    "a/b/c/q.yml",
    "a/b.yaml",
    "a/x/y/b.yaml",
    "ab/b.yaml",
    "c/ax.yaml",
    "c/cx.yaml",
    "c/a/.yaml",
    "d/yes",
    "d/xno",
    "d/e/f",
]


@pytest.mark.parametrize("glob", GLOBS)
def test_rule_glob_patterns_match_what_the_rule_matches(repo: Repo, glob: str) -> None:
    """What git routes to the drivers is exactly what the rule would seal."""
    pattern = gitsetup.gitattributes_glob(glob, "")
    assert pattern is not None
    (repo.root / ".gitattributes").write_text(f"{pattern} diff=sealedcfg merge=sealedcfg\n")
    by_git = {p for p, v in _attrs(repo, *PATHS).items() if v == SET}
    by_rule = {p for p in PATHS if rules.glob_to_regex(glob).fullmatch(p)}
    assert by_git == by_rule


def test_a_pattern_with_spaces_and_quotes_is_written_as_git_reads_it(repo: Repo) -> None:
    """`--pattern 'my dir/*.yaml'` covers that directory's files: written bare it
    would be the pattern `my` with an attribute `dir/*.yaml`."""
    glob = 'my dir/"q" *.yaml'
    proc = _setup_with(sys.executable, repo, "--pattern", glob, "--pattern", "two\nlines")
    assert proc.returncode == 0, proc.stderr
    inside, outside = 'my dir/"q" a.yaml', "my/a.yaml"
    got = _attrs(repo, inside, outside, "two", "lines")
    assert got[inside] == SET
    for other in (outside, "two", "lines"):
        assert got[other] != SET
    lines = (repo.root / ".gitattributes").read_text().splitlines()
    assert all(line.endswith("diff=sealedcfg merge=sealedcfg") for line in lines if line)


def test_a_pattern_starting_with_a_hash_is_a_pattern_not_a_comment(repo: Repo) -> None:
    """`--pattern '#drafts/*.yaml'` written bare is a comment line: nothing covered."""
    proc = _setup_with(sys.executable, repo, "--pattern", "#drafts/*.yaml")
    assert proc.returncode == 0, proc.stderr
    assert _attrs(repo, "#drafts/a.yaml")["#drafts/a.yaml"] == SET


def test_setup_through_the_runner(repo: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(repo.root)
    for name in ("HOME", "GIT_CONFIG_NOSYSTEM"):
        monkeypatch.setenv(name, repo.env[name])
    runner = CliRunner()
    assert runner.invoke(make_app(), ["git", "setup", "--check"]).exit_code == 1
    result = runner.invoke(make_app(), ["git", "setup"])
    assert result.exit_code == 0, result.output
    assert runner.invoke(make_app(), ["git", "setup", "--check"]).exit_code == 0
