"""`sealedcfg git remac`: a merge made without the driver, and attacks on remac.

Every repository here is real (git merge without `git setup`, so git's own
line merge leaves the `mac:` line conflicted), and remac runs as a
subprocess; one case goes through typer's runner.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sealedcfg import api
from sealedcfg.cli.main import make_app
from sealedcfg.ops import values

from .test_git_support import BASE, Repo, repo_fixture  # noqa: F401

PROD = "config/prod.yaml"
TOKEN = re.compile(r"sealedcfg;v1;[^\s]+")


def _diverge(
    r: Repo,
    feature: list[tuple[str, str]],
    main: list[tuple[str, str]],
    path: str = PROD,
) -> Path:
    """Commit, edit on `feature` then on `main`, and merge without the driver."""
    prof = r.root / path
    r.commit("initial")
    for branch, edits in (("feature", feature), ("main", main)):
        r.git("checkout", "-q", *(["-b"] if branch == "feature" else []), branch)
        for dotted, value in edits:
            values.set_value(prof, dotted, value, r.keys)
        r.commit(f"edit on {branch}")
    return prof


def _merge(r: Repo, branch: str = "feature") -> str:
    proc = r.git("merge", "--no-edit", branch, check=False)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    return proc.stdout


def _mac_only_conflict(r: Repo) -> Path:
    prof = _diverge(r, feature=[("stripe.api_key", "sk-two")], main=[("db.password", "pw-two")])
    _merge(r)
    return prof


def _remac(r: Repo, path: str = PROD) -> tuple[int, str]:
    proc = r.sc("git", "remac", path, env=r.with_key())
    return proc.returncode, proc.stderr


def test_without_the_driver_only_the_mac_conflicts_and_remac_repairs_it(repo: Repo) -> None:
    prof = _mac_only_conflict(repo)
    text = prof.read_text()
    marker = text.splitlines().index(next(ln for ln in text.splitlines() if ln.startswith("<<<")))
    # every marker is in the header; the error names the first marker's line on disk
    assert text.index("<<<<<<<") > text.index("\nsealedcfg:")
    proc = repo.sc("decrypt", PROD, env=repo.with_key())
    assert proc.returncode == 3
    assert f"unresolved git conflict markers at line {marker + 1}\n" in proc.stderr
    assert "sealedcfg git remac FILE" in proc.stderr
    code, err = _remac(repo)
    assert code == 0, err
    assert "git add config/prod.yaml" in err
    assert api.verify_file(prof, repo.keys).ok
    data = api.load(prof, keys=repo.keys)
    assert data["db"]["password"] == "pw-two"
    assert data["stripe"]["api_key"] == "sk-two"
    assert "<<<<<<<" not in prof.read_text()
    # the body is git's merged text, byte for byte; only the header changed
    assert prof.read_text().split("\nsealedcfg:")[0] == text.split("\nsealedcfg:")[0]
    repo.git("add", PROD)
    repo.git("commit", "-q", "--no-edit")
    # running it again outside a merge is refused
    code, err = _remac(repo)
    assert code == 3
    assert "no merge in progress" in err


def test_remac_through_the_runner(repo: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    prof = _mac_only_conflict(repo)
    monkeypatch.chdir(repo.root)
    monkeypatch.setenv("SEALEDCFG_KEY", repo.key)
    for name in ("HOME", "PATH", "GIT_CONFIG_NOSYSTEM", "SEALEDCFG_ARGON2"):
        monkeypatch.setenv(name, repo.env[name])
    result = CliRunner().invoke(make_app(), ["git", "remac", PROD])
    assert result.exit_code == 0, result.output
    assert api.verify_file(prof, repo.keys).ok


def test_a_side_that_already_picked_one_mac_is_repaired_too(repo: Repo) -> None:
    """The user took one side's `mac:` line by hand: still unmerged in the index."""
    prof = _mac_only_conflict(repo)
    text = prof.read_text()
    kept = re.sub(r"<<<<<<< HEAD\n(.*?)=======\n.*?>>>>>>> feature\n", r"\1", text, flags=re.S)
    prof.write_text(kept)
    assert repo.sc("verify", PROD, env=repo.with_key()).returncode != 0  # the wrong MAC
    code, err = _remac(repo)
    assert code == 0, err
    assert api.verify_file(prof, repo.keys).ok


def test_header_only_conflict_from_a_recipient_added_on_one_side(repo: Repo) -> None:
    prof = repo.root / PROD
    repo.commit("initial")
    second = api.keygen()
    key_file = repo.root.parent / "second.key"
    api.write_key_file(key_file, second)
    repo.git("checkout", "-q", "-b", "feature")
    proc = repo.sc("recipients", "add", PROD, "--add-key-file", str(key_file), env=repo.with_key())
    assert proc.returncode == 0, proc.stderr
    repo.commit("add a recipient")
    repo.git("checkout", "-q", "main")
    values.set_value(prof, "db.user", "u-main", repo.keys)
    repo.commit("edit on main")
    _merge(repo)
    code, err = _remac(repo)
    assert code == 0, err
    data = api.load(prof, keys=api.KeySource(key=second, env={}))  # the new recipient opens it
    assert data["db"]["user"] == "u-main"


def test_same_key_changed_on_both_sides_is_refused(repo: Repo) -> None:
    prof = _diverge(repo, feature=[("db.password", "pw-f")], main=[("db.password", "pw-m")])
    _merge(repo)
    before = prof.read_bytes()
    code, err = _remac(repo)
    assert code == 1
    assert "db.password" in err
    assert "pw-f" not in err
    assert "pw-m" not in err
    assert prof.read_bytes() == before


def test_remac_needs_the_key(repo: Repo) -> None:
    prof = _mac_only_conflict(repo)
    before = prof.read_bytes()
    proc = repo.sc("git", "remac", PROD)
    assert proc.returncode == 5, proc.stderr
    assert prof.read_bytes() == before


def test_remac_outside_a_repository_or_of_a_missing_file(repo: Repo, tmp_path: Path) -> None:
    proc = repo.sc("git", "remac", "config/nope.yaml", env=repo.with_key())
    assert proc.returncode == 3
    assert proc.stderr.startswith("sealedcfg: error: ")
    assert "Traceback" not in proc.stderr


# ---------------------------------------------------------------- attacks


def test_attack_committed_markers_around_the_mac_outside_a_merge(repo: Repo) -> None:
    """A commit holding conflict markers around the mac, with tokens swapped:
    git records no conflict, so remac has no authentic sides and refuses."""
    prof = repo.root / PROD
    text = prof.read_text()
    tokens = TOKEN.findall(text)
    forged = text.replace(tokens[1], "@@").replace(tokens[2], tokens[1]).replace("@@", tokens[2])
    forged = re.sub(
        r"(  mac: .*\n)", r"<<<<<<< HEAD\n\1=======\n  mac: AAAA\n>>>>>>> feature\n", forged
    )
    prof.write_text(forged)
    repo.commit("a 'conflicted' file")
    code, err = _remac(repo)
    assert code == 3
    assert "no merge in progress" in err
    assert prof.read_text() == forged


def test_attack_swapped_tokens_in_the_work_tree_during_a_merge(repo: Repo) -> None:
    prof = _mac_only_conflict(repo)
    text = prof.read_text()
    pw = re.search(r"password: (\S+)", text)
    user = re.search(r"user: (\S+)", text)
    assert pw
    assert user
    a, b = pw.group(1), user.group(1)
    swapped = text.replace(a, "@@").replace(b, a).replace("@@", b)
    prof.write_text(swapped)
    code, err = _remac(repo)
    assert code == 1, err
    assert "not the per-key merge" in err
    assert prof.read_text() == swapped


def test_attack_token_from_an_older_version_in_the_work_tree(repo: Repo) -> None:
    """An authentic token of the same path, from history (the old password)."""
    old = TOKEN.search((repo.root / PROD).read_text().split("password: ")[1])
    assert old
    prof = _mac_only_conflict(repo)
    text = prof.read_text()
    replayed = re.sub(r"password: \S+", f"password: {old.group()}", text)
    prof.write_text(replayed)
    code, err = _remac(repo)
    assert code == 1, err
    assert prof.read_text() == replayed


def _plain_host_repo(repo: Repo) -> Path:
    """A profile whose host and port stay plaintext by its rule."""
    app = repo.root / "config" / "app.yaml"
    app.write_text("db:\n  password: pw-one\n  host: db.internal\n  port: 5432\n  user: u\n")
    api.encrypt_file(app, repo.keys, plain=r"(^|\.)(host|port)$")
    return app


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("host: db.internal", "host: evil.example"),  # a plaintext value changed
        ("port: 5432", "port: '5432'"),  # same characters, another type
        ("  user:", "  usr:"),  # a key renamed (its token no longer at its path)
        ("port: 5432\n", "port: 5432\n  extra: added\n"),  # a value nobody sealed
        ("  port: 5432\n", ""),  # a value removed
    ],
)
def test_attack_meaning_changed_in_the_work_tree(repo: Repo, old: str, new: str) -> None:
    app = _plain_host_repo(repo)
    rel = "config/app.yaml"
    _diverge(repo, feature=[("db.password", "pw-f")], main=[("db.user", "u-m")], path=rel)
    _merge(repo)
    text = app.read_text()
    assert text.index("<<<<<<<") > text.index("\nsealedcfg:")  # only the header conflicts
    assert old in text
    app.write_text(text.replace(old, new, 1))
    code, err = _remac(repo, rel)
    assert code == 1, err
    assert app.read_text() == text.replace(old, new, 1)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("host: db.internal", "host: evil.example"),  # plaintext changed without a key
        ("port: 5432\n", "port: 5432\n  extra: added\n"),  # a new value nobody sealed
    ],
)
def test_attack_forged_side_in_the_branch_is_refused(repo: Repo, old: str, new: str) -> None:
    """The attacker's branch edits the file without a key and changes the `mac:`
    line so that git conflicts there, inviting a remac: that side does not
    open on its own, so nothing is written."""
    app = _plain_host_repo(repo)
    rel = "config/app.yaml"
    repo.commit("initial")
    repo.git("checkout", "-q", "-b", "feature")
    forged = app.read_text().replace(old, new, 1)
    app.write_text(re.sub(r"mac: \S+", "mac: " + "A" * 43, forged))
    repo.commit("attacker: no key")
    repo.git("checkout", "-q", "main")
    values.set_value(app, "db.password", "pw-main", repo.keys)
    repo.commit("edit on main")
    _merge(repo)
    before = app.read_bytes()
    code, err = _remac(repo, rel)
    assert code == 4, err
    assert "cannot open config/app.yaml (theirs)" in err
    assert app.read_bytes() == before


def test_attack_another_files_authentic_content_as_theirs(repo: Repo) -> None:
    """staging.yaml (sealed with the same key) copied over prod.yaml on a branch."""
    staging = repo.root / "config" / "staging.yaml"
    staging.write_text(BASE)
    api.encrypt_file(staging, repo.keys)
    values.set_value(staging, "db.password", "staging-pw", repo.keys)
    repo.commit("initial")
    repo.git("checkout", "-q", "-b", "feature")
    shutil.copy(staging, repo.root / PROD)
    repo.commit("attacker: staging over prod")
    repo.git("checkout", "-q", "main")
    values.set_value(repo.root / PROD, "db.user", "u-main", repo.keys)
    repo.commit("edit on main")
    proc = repo.git("merge", "--no-edit", "feature", check=False)
    assert proc.returncode == 1
    before = (repo.root / PROD).read_bytes()
    code, err = _remac(repo)
    assert code != 0
    assert err.startswith("sealedcfg: error: ")
    assert (repo.root / PROD).read_bytes() == before


# ---------------------------------------------------------------- error lines


def test_header_errors_name_the_line_in_the_file(repo: Repo, tmp_path: Path) -> None:
    prof = repo.root / PROD
    lines = prof.read_text().splitlines(keepends=True)
    mac = next(i for i, ln in enumerate(lines) if ln.startswith("  mac:"))
    lines[mac] = "  mac: [unclosed\n"
    prof.write_text("".join(lines))
    proc = repo.sc("verify", "--no-decrypt", PROD)
    assert proc.returncode == 1
    # the parser stops at the end of the text: the line after the last one
    assert f"(line {len(lines) + 1}, column 1)" in proc.stdout + proc.stderr
    lines[mac] = "  mac: x\n  - bad\n"
    prof.write_text("".join(lines))
    proc = repo.sc("decrypt", PROD, env=repo.with_key())
    assert f"(line {mac + 2}, column" in proc.stderr, proc.stderr


def test_after_the_driver_failed_for_lack_of_a_key(repo: Repo) -> None:
    """With the driver set up but no key at merge time, git keeps ours as it was:
    remac (with the key) writes the per-key merge."""
    assert repo.sc("git", "setup").returncode == 0
    prof = _diverge(repo, feature=[("stripe.api_key", "sk-two")], main=[("db.password", "pw-two")])
    ours = prof.read_bytes()
    proc = repo.git("merge", "--no-edit", "feature", check=False)  # no key in the env
    assert proc.returncode == 1
    assert prof.read_bytes() == ours
    code, err = _remac(repo)
    assert code == 0, err
    data = api.load(prof, keys=repo.keys)
    assert (data["db"]["password"], data["stripe"]["api_key"]) == ("pw-two", "sk-two")
