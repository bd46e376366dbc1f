"""git.py, per-key history, diffing and the hook's checks, called in-process on real repositories.

The CLI tests drive these through subprocesses; here the library functions run in
the test's own process (so coverage sees them), against real git repositories in
temporary directories, with real keys.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from sealedcfg import api
from sealedcfg import git as gitio
from sealedcfg.base import limits
from sealedcfg.base.pattern import compile_pattern
from sealedcfg.engine import rules, sealing
from sealedcfg.engine.keys import KeySource
from sealedcfg.errors import InputError, NoKeyError, OpenError
from sealedcfg.format.envelope import Header
from sealedcfg.ops import check, diffing, headerview, history, rotation, values
from sealedcfg.recipients.key import KeyRecipient

from .conftest import write
from .subproc import git

PROFILE = "db:\n  host: db.internal\n  password: pw-one\n  user: app\nlist:\n  - a\n  - b\n"
NO_KEY = KeySource(env={}, prompt=diffing.no_prompt)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    for name in [n for n in os.environ if n.startswith("GIT_")]:
        monkeypatch.delenv(name)
    # git run by the library reads no config of the user's
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Tess Ter")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "t@example.com")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Tess Ter")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "t@example.com")
    git(root, "init", "-q", "-b", "main")
    return root


def commit(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


def no_git_on_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir(exist_ok=True)
    monkeypatch.setenv("PATH", str(empty))


# ---------------------------------------------------------------- git.py


def test_run_and_its_failures(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert gitio.run(["rev-parse", "--is-inside-work-tree"], repo).strip() == "true"
    with pytest.raises(InputError, match=r"^git cat-file failed: fatal: "):
        gitio.run(["cat-file", "-p", "nonexistent-rev"], repo)
    assert gitio.run(["config", "--local", "--get", "no.such"], repo, check=False) == ""
    sha = gitio.run_bytes(["hash-object", "--stdin"], repo, b"hello\n").decode().strip()
    assert sha == "ce013625030ba8dba906f756967f9e9ca394464a"  # git's id of a blob "hello\n"
    with pytest.raises(InputError, match=r"^git hash-object failed: "):
        gitio.run_bytes(["hash-object", "--no-such-option"], repo)
    no_git_on_path(monkeypatch, tmp_path)
    for call in (
        lambda: gitio.run(["status"], repo),
        lambda: gitio.run_bytes(["status"], repo),
        lambda: gitio.toplevel(repo),
    ):
        with pytest.raises(InputError, match="git is not installed"):
            call()


def test_toplevel_and_repo_path(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (repo / "config").mkdir()
    target = write(repo / "config" / "prod.yaml", "a: 1\n")
    assert gitio.toplevel(repo / "config").resolve() == repo.resolve()
    top, rel = gitio.repo_path(target)
    assert (top.resolve(), rel) == (repo.resolve(), "config/prod.yaml")
    outside = tmp_path / "outside"
    outside.mkdir()
    with pytest.raises(InputError, match=gitio.NOT_A_REPO):
        gitio.toplevel(outside)
    # a file whose directory does not exist is placed from the working directory
    monkeypatch.chdir(repo)
    with pytest.raises(InputError, match="outside the git repository"):
        gitio.repo_path(outside / "missing" / "x.yaml")


def test_revisions_blobs_and_files(repo: Path) -> None:
    write(repo / "a.yaml", "a: 1\n")
    commit(repo, "one")
    head = gitio.resolve_rev("HEAD", repo)
    assert len(head) == 40
    assert gitio.resolve_rev("main", repo) == head
    for bad in ("--all", "no-such-branch"):
        with pytest.raises(InputError, match="unknown revision"):
            gitio.resolve_rev(bad, repo)
    assert gitio.blob(head, "a.yaml", repo) == b"a: 1\n"
    assert gitio.blob(head, "b.yaml", repo) is None
    assert gitio.ls_files(repo) == ["a.yaml"]
    assert gitio.config_get("sealedcfg.test", repo) is None
    gitio.config_set("sealedcfg.test", "v 1", repo)
    assert gitio.config_get("sealedcfg.test", repo) == "v 1"


def test_log_follows_renames_and_merges(repo: Path) -> None:
    write(repo / "old.yaml", "a: 1\n")
    commit(repo, "create")
    git(repo, "mv", "old.yaml", "new.yaml")
    commit(repo, "rename")
    git(repo, "checkout", "-q", "-b", "side")
    write(repo / "other.txt", "x\n")
    commit(repo, "side change")
    git(repo, "checkout", "-q", "main")
    write(repo / "new.yaml", "a: 2\n")
    commit(repo, "edit")
    git(repo, "merge", "-q", "--no-edit", "--no-ff", "side")
    commits = gitio.log_follow("new.yaml", repo)
    assert [c.path for c in commits] == ["new.yaml", "new.yaml", "old.yaml"]
    assert all(c.author == "Tess Ter" and "T" in c.date for c in commits)


# ---------------------------------------------------------------- history


def test_key_log_lists_adds_changes_removals_per_commit(repo: Path, keys: KeySource) -> None:
    target = write(repo / "prod.yaml", PROFILE)
    api.encrypt_file(target, keys, plain=r"(^|\.)host$")
    commit(repo, "create")
    values.set_value(target, "db.password", "pw-two", keys)
    values.set_value(target, "db.port", "5432", keys)
    commit(repo, "change password, add port")
    values.unset(target, "db.user", keys)
    commit(repo, "remove user")
    entries = history.key_log(target)
    assert [(e.added, e.changed, e.removed) for e in entries] == [
        ([], [], ["db.user"]),
        (["db.port"], ["db.password"], []),
        (["db.host", "db.password", "db.user", "list.0", "list.1"], [], []),
    ]
    assert [e.header for e in entries[:2]] == [[], []]
    assert "sealed: format version 1" in [ev.line() for ev in entries[2].header]
    only = history.key_log(target, "db.password")
    assert [e.changed for e in only] == [["db.password"], []]
    assert [(e.commit, e.added) for e in history.key_log(target, "list")] == [
        (entries[2].commit, ["list.0", "list.1"])
    ]
    first = entries[2]
    assert first.lines()[0] == f"{first.commit[:9]} {first.date} Tess Ter"
    assert "  + db.host" in first.lines()
    assert first.as_dict()["added"] == first.added


def test_key_log_folds_a_rotation_into_one_event(repo: Path, keys: KeySource) -> None:
    target = write(repo / "prod.yaml", PROFILE)
    api.encrypt_file(target, keys)
    commit(repo, "create")
    rotation.rotate(target, keys)
    commit(repo, "rotate the data key")
    newest = history.key_log(target)[0]
    assert (newest.added, newest.changed, newest.removed) == ([], [], [])
    assert any("data key" in ev.line() for ev in newest.header)
    # a path filter keeps the rotation: every sealed value under it was re-sealed
    assert history.key_log(target, "db.password")[0] == newest


def test_key_log_refuses_no_history_and_a_bad_path(repo: Path, keys: KeySource) -> None:
    target = write(repo / "prod.yaml", PROFILE)
    with pytest.raises(InputError, match=r"git log failed: .* does not have any commits"):
        history.key_log(target)
    write(repo / "other.txt", "x\n")
    git(repo, "add", "other.txt")
    git(repo, "commit", "-q", "-m", "another file")
    with pytest.raises(InputError, match="no committed history"):
        history.key_log(target)
    with pytest.raises(InputError):
        history.key_log(target, "db..password")
    commit(repo, "plain, no header yet")
    [entry] = history.key_log(target)
    assert entry.header == []  # no header in this version or before it
    assert entry.added == ["db.host", "db.password", "db.user", "list.0", "list.1"]
    write(target, "a: [broken\n")
    commit(repo, "a version that is not YAML")
    with pytest.raises(InputError, match=r"prod\.yaml@[0-9a-f]{9}: not valid YAML"):
        history.key_log(target)


# ---------------------------------------------------------------- diffing


def sealed_pair(tmp_path: Path, keys: KeySource) -> tuple[bytes, bytes]:
    target = write(tmp_path / "p.yaml", PROFILE + "block: |\n  two\n  lines\nref: &r x\nal: *r\n")
    api.encrypt_file(target, keys)
    old = target.read_bytes()
    values.set_value(target, "db.password", "pw-two", keys)
    values.set_value(target, "extra", "new", keys)
    values.unset(target, "list", keys)
    return old, target.read_bytes()


def test_diff_with_and_without_a_key(tmp_path: Path, keys: KeySource) -> None:
    old, new = sealed_pair(tmp_path, keys)
    names = ("a/p.yaml", "b/p.yaml")
    shown = diffing.diff_bytes(old, new, names, keys, show=True)
    # a removed list shows as its removed items; values only with `show`
    assert [c.line() for c in shown] == [
        "~ db.password: pw-one -> pw-two",
        "+ extra: new",
        "- list.0: a",
        "- list.1: b",
    ]
    masked = diffing.diff_bytes(old, new, names, keys, show=False)
    assert [c.line() for c in masked] == [
        "~ db.password: *** -> ***",
        "+ extra: ***",
        "- list.0: ***",
        "- list.1: ***",
    ]
    # without a key: by token, and unchanged values keep their tokens
    assert diffing.diff_bytes(old, new, names, NO_KEY, show=False) == masked
    with pytest.raises(NoKeyError):
        diffing.diff_bytes(old, new, names, NO_KEY, show=True)
    assert masked[0].as_dict()["op"] in diffing.OPS.values()


def test_shown_values_of_every_kind(tmp_path: Path, keys: KeySource) -> None:
    text = "a: |\n  one\n  two\nr: &r v\nal: *r\nm: {}\ns: []\n"
    target = write(tmp_path / "q.yaml", text)
    api.encrypt_file(target, keys)
    opened, documents = diffing.facts(target.read_bytes(), "q.yaml", keys)
    gone = diffing.compare(opened, {}, documents, show=True)
    # a block scalar as its source on one line, an alias as what it names
    assert [c.line() for c in gone] == [
        '- a: "|\\n  one\\n  two"',
        "- al: *r",
        "- m: {}",
        "- r: v",
        "- s: []",
    ]
    came = diffing.compare({}, opened, documents, show=False)
    assert came[0].as_dict() == {"op": "added", "path": "a", "old": None, "new": "***"}


def test_a_tampered_side_does_not_open(tmp_path: Path, keys: KeySource) -> None:
    old, new = sealed_pair(tmp_path, keys)
    tampered = new.replace(b"user: sealedcfg;v1;", b"usr: sealedcfg;v1;")
    assert tampered != new
    with pytest.raises(OpenError):
        diffing.diff_bytes(old, tampered, ("a", "b"), keys, show=False)


def test_textconv(tmp_path: Path, keys: KeySource, capsys: pytest.CaptureFixture[str]) -> None:
    assert diffing.textconv(b"not: [yaml\n", "x.txt", keys) == b"not: [yaml\n"
    assert diffing.textconv(b"a: 1\n", "x.yaml", keys) == b"a: 1\n"  # no header
    target = write(tmp_path / "p.yaml", PROFILE)
    api.encrypt_file(target, keys)
    data = target.read_bytes()
    opened = diffing.textconv(data, "p.yaml", keys)
    assert opened.startswith(PROFILE.encode())
    assert b"# sealedcfg header" in opened
    assert diffing.textconv(data, "p.yaml", NO_KEY).startswith(data)
    other = KeySource(key=api.keygen(), env={})
    assert diffing.textconv(data, "p.yaml", other).startswith(data)
    assert "showing it sealed" in capsys.readouterr().err
    short = write(tmp_path / "short.yaml", "a: 1")  # no newline at the end
    api.encrypt_file(short, keys)
    assert diffing.textconv(short.read_bytes(), "short.yaml", keys).startswith(b"a: 1\n# ")
    with pytest.raises(NoKeyError):
        diffing.no_prompt("passphrase: ")


# ---------------------------------------------------------------- the hook's checks


STRIPE = "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc"  # split: our own hook scans this file


def test_check_profiles(keys: KeySource) -> None:
    report = check.Report()
    check.check_profile(b"a: 1\n", "p.yaml", False, report)
    [unsealed] = report.findings
    assert unsealed.rule_id == "unsealed-profile"
    report = check.Report()
    check.check_profile(b"a: 1\nsealedcfg: [\n", "p.yaml", True, report)
    [broken] = report.findings
    assert broken.rule_id == "invalid-sealed-file"
    assert not broken.message.startswith("p.yaml: ")


def test_check_files_of_every_kind(tmp_path: Path, keys: KeySource) -> None:
    target = write(tmp_path / "p.yaml", PROFILE)
    api.encrypt_file(target, keys)
    write(target, target.read_text().replace("db:\n", "db:\n  token: plain-token-value\n"))
    leaky = write(tmp_path / "app.py", f'KEY = "{STRIPE}"\n')
    big = write(tmp_path / "big.txt", "x" * (check.MAX_BYTES + 1))
    binary = write(tmp_path / "blob.bin", b"\0" * 100)
    report = check.check_files([target, leaky, big, binary], None)
    assert report.profiles == 1
    assert {f.rule_id for f in report.findings if f.path == str(target)} == {"unsealed-value"}
    assert any(f.path == str(leaky) for f in report.findings)
    assert [(s.path, s.reason) for s in report.skipped] == [
        (str(big), "larger than 1 MiB"),
        (str(binary), "binary file"),
    ]
    with pytest.raises(InputError, match="is a directory"):
        check.check_files([tmp_path], None)
    with pytest.raises(InputError, match="no such file"):
        check.check_files([tmp_path / "missing.py"], None)
    through = check.check_files([leaky / "x"], None)  # a path through a file: unreadable
    assert [s.reason for s in through.skipped] == ["unreadable: Not a directory"]


def test_a_large_sealed_profile_is_read_whole(tmp_path: Path, keys: KeySource) -> None:
    # over the scanner's limit, its header past the first chunk: still a profile
    lines = "".join(f"k{i}: {'v' * 40}\n" for i in range(check.MAX_BYTES // 40))
    target = write(tmp_path / "big.yaml", lines)
    api.encrypt_file(target, keys, plain=".")
    assert target.stat().st_size > check.MAX_BYTES
    assert check.read_for_check(target, None) == target.read_bytes()
    big = write(tmp_path / "big.txt", "x" * (check.MAX_BYTES + 1))
    assert check.read_for_check(big, None) is None
    ruleset = rules.parse("creation_rules:\n  - path: '*.txt'\n", rules.RULES_NAME, tmp_path)
    assert check.read_for_check(big, ruleset) == big.read_bytes()  # a profile by rule


def test_check_staged_and_all(repo: Path, keys: KeySource) -> None:
    with pytest.raises(InputError, match="not inside a git repository"):
        check.repo_top(repo.parent)
    assert check.check_staged(repo, None).scanned == 0  # nothing staged: nothing scanned
    target = write(repo / "prod.yaml", PROFILE)
    api.encrypt_file(target, keys)
    write(repo / "app.py", f'KEY = "{STRIPE}"\n')
    write(repo / "big.txt", "x" * (check.MAX_BYTES + 1))
    (repo / "link.py").symlink_to("app.py")
    git(repo, "add", "-A")
    # a submodule entry in the index: nothing to read
    tree = gitio.run_bytes(["mktree"], repo, b"").decode().strip()
    sub = gitio.run(["commit-tree", tree, "-m", "sub"], repo).strip()
    git(repo, "update-index", "--add", "--cacheinfo", f"160000,{sub},sub")
    staged = check.check_staged(repo, None)
    assert staged.profiles == 1
    # the staged link is its target's name, which leaks nothing
    assert [f.path for f in staged.findings] == ["app.py"]
    assert [s.path for s in staged.skipped] == ["big.txt"]
    git(repo, "rm", "-q", "--cached", "sub")
    git(repo, "commit", "-q", "-m", "files")
    everything = check.check_all(repo, None)
    assert everything.profiles == 1
    assert {f.path for f in everything.findings} == {"app.py"}  # the link is not followed
    assert [s.path for s in everything.skipped] == ["big.txt"]


def test_rules_and_allowlist_come_from_the_top(repo: Path, tmp_path: Path) -> None:
    (repo / "sub").mkdir()
    write(repo / "sub" / rules.RULES_NAME, "creation_rules:\n  - path: '*.txt'\n")
    assert check.config_root(repo / "sub").resolve() == repo.resolve()
    assert check.load_rules(repo / "sub") is None  # a subdirectory's rules file: ignored
    outside = tmp_path / "outside" / "deep"
    outside.mkdir(parents=True)
    write(tmp_path / "outside" / rules.RULES_NAME, "creation_rules:\n  - path: '*.txt'\n")
    assert check.config_root(outside) == tmp_path / "outside"
    assert check.load_rules(outside) is not None
    assert check.config_root(tmp_path) == tmp_path
    leaky = write(repo / "app.py", f'KEY = "{STRIPE}"\n')
    report = check.check_files([leaky], None, check.load_allowed(repo))
    [finding] = report.findings  # no allow file: nothing allowed
    write(repo / ".sealedcfg-allow", f"{finding.fingerprint}\n")
    assert check.check_files([leaky], None, check.load_allowed(repo)).findings == []


# ---------------------------------------------------------------- header events


def header_of(path: Path, text: str, keys: KeySource, **options: Any) -> Header:
    api.encrypt_file(write(path, text), keys, **options)
    header = sealing.read_profile(path.read_bytes(), path.name).header
    assert header is not None
    return header


def test_header_events(tmp_path: Path, keys: KeySource) -> None:
    first = header_of(tmp_path / "a.yaml", "host: h\n", keys, plain="host$")
    other = header_of(tmp_path / "b.yaml", "a: 1\n", KeySource(key=api.keygen(), env={}))
    assert headerview.events(None, None) == []
    assert headerview.events(first, None) == [
        headerview.Event("header removed", "the file is no longer sealed")
    ]
    two = replace(first, recipients=(*first.recipients, *other.recipients))
    [added] = headerview.events(first, two)
    assert added.line() == f"recipient added: {headerview.recipient(other.recipients[0])}"
    [removed] = headerview.events(two, first)
    assert removed.event == "recipient removed"
    changed = replace(first, plain="x$", bind="elsewhere.yaml", version=first.version + 1)
    assert [e.line() for e in headerview.events(first, changed)] == [
        f"format version changed: {first.version} -> {first.version + 1}",
        'plain rule changed: "host$" -> "x$"',
        'bind changed: "a.yaml" -> "elsewhere.yaml"',
    ]
    assert headerview.events(first, replace(first, commit=other.commit)) == [
        headerview.Event("data key rotated", "every sealed value re-sealed")
    ]
    stanza = first.recipients[0]
    assert isinstance(stanza, KeyRecipient)
    rewrapped = replace(first, recipients=(replace(stanza, wrapped=b"x" * 48),))
    assert [e.as_dict() for e in headerview.events(first, rewrapped)] == [
        {"event": "recipients re-wrapped", "detail": "same data key"}
    ]


# ---------------------------------------------------------------- RE2 patterns


def test_patterns_from_the_repository(tmp_path: Path) -> None:
    rule = compile_pattern(r"(^|\.)host$", "the rule")
    assert rule.search("db.host")
    assert not rule.search("db.hostname")
    assert rule.fullmatch("host")
    assert not rule.fullmatch("db.host")
    assert compile_pattern("a", "x").search("\ud800a")  # a lone surrogate: matched, no error
    with pytest.raises(InputError, match="over the limit"):
        compile_pattern("a" * (limits.MAX_RULE_CHARS + 1), "the rule")
    for bad in ("(a", r"(a)\1", "(?=a)"):
        with pytest.raises(InputError, match="not a valid RE2 regular expression") as err:
            compile_pattern(bad, "the rule")
        assert err.value.hints
