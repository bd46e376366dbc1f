"""`git setup` (ops/gitsetup.py) in this process on real git repositories: sealed files
with odd names, creation rules of every kind, drifted driver config, an override git
reports, unreadable .gitattributes.  tests/test_git_setup.py runs setup as a process
(drivers that work without sealedcfg on PATH) and checks the patterns with git."""

from __future__ import annotations

import os

import pytest

from sealedcfg.errors import InputError
from sealedcfg.ops import gitsetup

from .test_git_setup import ODD, PROD, SET, _attrs, _glob_rules, _seal
from .test_git_support import Repo, repo_fixture  # noqa: F401

TEXTCONV = "diff.sealedcfg.textconv"


@pytest.fixture
def here(repo: Repo, monkeypatch: pytest.MonkeyPatch) -> Repo:
    """REPO with this process's git seeing only the repository's own config."""
    for name in list(os.environ):
        if name.startswith("GIT_"):
            monkeypatch.delenv(name)
    for name in ("HOME", "GIT_CONFIG_NOSYSTEM"):
        monkeypatch.setenv(name, repo.env[name])
    return repo


def test_odd_names_rules_and_patterns(here: Repo) -> None:
    for rel in ODD:
        _seal(here, rel)
    (here.root / "link.yaml").symlink_to(here.root / PROD)  # a link is not a sealed file
    _glob_rules(here.root, "  - path: '**/*.sealed.yaml'\n", "  - path: 'x/a**b.yaml'\n")
    (here.root / "bad").mkdir()
    (here.root / "bad" / ".sealedcfg.yaml").write_text("creation_rules: [\n")
    here.commit("odd names and rules")
    report = gitsetup.setup(here.root, ["#drafts/*.yaml"], check=False)
    assert report.problems == []
    bad = f"{here.root}/bad/.sealedcfg.yaml: not valid YAML"
    assert any(n.startswith(bad) and n.endswith("its rules are not covered") for n in report.notes)
    for rule in ("'x/a**b.yaml'", "'^regex/.*[.]yaml$'"):
        assert any(f"the rule {rule} cannot be written" in n for n in report.notes), rule
    attributes = (here.root / ".gitattributes").read_text()
    assert '"/say \\"hi\\".yaml" diff=sealedcfg merge=sealedcfg' in attributes
    assert '"#drafts/*.yaml" diff=sealedcfg merge=sealedcfg' in attributes
    assert "/st\\*ar.yaml diff=sealedcfg merge=sealedcfg" in attributes
    assert "**/*.sealed.yaml diff=sealedcfg merge=sealedcfg" in attributes
    sealed = [*ODD, PROD, "secrets/a/b.yaml", "team a/t.yaml", "svc/env/e.yml", "q/r.sealed.yaml"]
    assert _attrs(here, *sealed) == dict.fromkeys(sealed, SET)
    assert _attrs(here, "stXar.yaml", "link.yaml", "x/aXb.yaml") == {
        "stXar.yaml": ("unspecified", "unspecified"),
        "link.yaml": ("unspecified", "unspecified"),
        "x/aXb.yaml": ("unspecified", "unspecified"),
    }
    again = gitsetup.setup(here.root, ["#drafts/*.yaml"], check=True)
    assert (again.changed, again.problems) == ([], [])
    assert (here.root / ".gitattributes").read_text() == attributes


def test_an_untracked_top_rules_file_counts(here: Repo) -> None:
    (here.root / ".sealedcfg.yaml").write_text("creation_rules:\n  - path: 'conf/*.yaml'\n")
    report = gitsetup.setup(here.root, None, check=True)
    assert ".gitattributes: /conf/*.yaml diff=sealedcfg merge=sealedcfg" in report.changed
    assert not (here.root / ".gitattributes").exists()  # --check writes nothing


def test_an_override_below_is_a_problem(here: Repo) -> None:
    _seal(here, "sub/app.yaml")
    (here.root / "sub" / ".gitattributes").write_text("*.yaml -diff -merge\n")
    here.commit("override")
    report = gitsetup.setup(here.root, None, check=False)
    assert report.problems == [
        "sub/app.yaml: still not diff=sealedcfg merge=sealedcfg "
        "(another .gitattributes, e.g. in its directory, overrides the top one)"
    ]
    assert ".gitattributes: /sub/app.yaml diff=sealedcfg merge=sealedcfg" in report.changed
    # --check names the file without writing
    report = gitsetup.setup(here.root, None, check=True)
    assert "sub/app.yaml: a tracked sealed file without the drivers" in report.changed


@pytest.mark.parametrize(
    ("have", "said"),
    [
        (None, "not set"),
        ("/no/such/venv/bin/python -P -m sealedcfg git textconv", "which does not exist"),
        ("sealedcfg git textconv", "runs 'sealedcfg' from PATH"),
        ("/bin/sh -c 'exit 0'", "runs another sealedcfg ('/bin/sh', this is"),
        ("'unclosed quote", "runs another sealedcfg (None, this is"),
        ("", "runs another sealedcfg (None, this is"),
    ],
)
def test_drift_of_the_driver_config_is_named(here: Repo, have: str | None, said: str) -> None:
    here.git("config", "--unset-all", TEXTCONV, check=False)
    if have is not None:
        here.git("config", TEXTCONV, have)
    report = gitsetup.setup(here.root, None, check=True)
    (line,) = [c for c in report.changed if c.startswith(f"git config {TEXTCONV}:")]
    assert said in line
    gitsetup.setup(here.root, None, check=False)
    assert here.git("config", TEXTCONV).stdout.strip().startswith(gitsetup.command())


def test_unreadable_gitattributes_is_refused(here: Repo) -> None:
    attributes = here.root / ".gitattributes"
    attributes.write_bytes(b"*.yaml diff=\xff\n")
    with pytest.raises(InputError, match=r"\.gitattributes: cannot read"):
        gitsetup.setup(here.root, None, check=False)
    assert attributes.read_bytes() == b"*.yaml diff=\xff\n"


def test_an_attributes_file_without_a_final_newline(here: Repo) -> None:
    attributes = here.root / ".gitattributes"
    attributes.write_text("*.png binary")
    gitsetup.setup(here.root, None, check=False)
    lines = attributes.read_text().splitlines()
    assert lines[0] == "*.png binary"
    assert "/config/*.yaml diff=sealedcfg merge=sealedcfg" not in lines  # no rules file:
    assert "config/*.yaml diff=sealedcfg merge=sealedcfg" in lines  # the default patterns


def test_no_interpreter_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.executable", "")  # an embedding program that sets none
    with pytest.raises(InputError, match="cannot tell which Python runs sealedcfg"):
        gitsetup.command()


@pytest.mark.parametrize(
    ("glob", "directory", "pattern"),
    [
        ("a\\b.yaml", "", None),  # a backslash escapes in git's globs only
        ("/abs.yaml", "", None),
        ("tab\there.yaml", "", None),
        ("dir/", "", None),
        ("x/a**.yaml", "", None),
        ("**/p.yaml", "", "**/p.yaml"),
        ("**/p.yaml", "svc", "/svc/**/p.yaml"),
        ("*.yaml", "s*c", "/s\\*c/*.yaml"),
        ("a b.yaml", "", '"/a b.yaml"'),
        ("ü.yaml", "", '"/\\303\\274.yaml"'),
    ],
)
def test_gitattributes_glob(glob: str, directory: str, pattern: str | None) -> None:
    assert gitsetup.gitattributes_glob(glob, directory) == pattern


def test_a_sealed_file_is_found_by_its_header(here: Repo) -> None:
    assert gitsetup.sealed_files(here.root) == [PROD]
    renamed = here.root / "deploy" / "x.conf"
    renamed.parent.mkdir()
    renamed.write_bytes((here.root / PROD).read_bytes())
    (here.root / "plain.yaml").write_text("a: 1\n")
    assert sorted(gitsetup.sealed_files(here.root)) == [PROD, "deploy/x.conf"]
