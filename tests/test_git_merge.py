"""The per-key merge driver, through a plain `git merge` and directly."""

from __future__ import annotations

from pathlib import Path

import pytest

from sealedcfg import api
from sealedcfg.errors import NoKeyError
from sealedcfg.ops import merge, values

from .test_git_support import Repo, repo_fixture  # noqa: F401

PROD = "config/prod.yaml"


def _setup(r: Repo) -> Path:
    assert r.sc("git", "setup").returncode == 0
    r.commit("initial")
    return r.root / PROD


def _branches(
    r: Repo, prof: Path, feature: list[tuple[str, str | None]], main: list[tuple[str, str | None]]
) -> None:
    """Edit on branch `feature`, then on `main`; None as value removes the key."""
    for branch, edits in (("feature", feature), ("main", main)):
        r.git("checkout", "-q", *(["-b"] if branch == "feature" else []), branch)
        for dotted, value in edits:
            if value is None:
                values.unset(prof, dotted, r.keys)
            else:
                values.set_value(prof, dotted, value, r.keys)
        r.commit(f"edit on {branch}")


def test_different_keys_merge_cleanly(repo: Repo) -> None:
    prof = _setup(repo)
    _branches(
        repo,
        prof,
        # adjacent lines on both sides: password (main) and user (feature)
        feature=[("db.user", "new-user"), ("stripe.old_key", None), ("db.timeout", "30")],
        main=[("db.password", "pw-two"), ("tail", "changed"), ("extra", "added-on-main")],
    )
    proc = repo.git("merge", "-q", "--no-edit", "feature", env=repo.with_key(), check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert api.verify_file(prof, repo.keys).ok
    data = api.load(prof, keys=repo.keys)
    assert data["db"] == {
        "host": "db.internal",
        "password": "pw-two",
        "user": "new-user",
        "port": 5432,
        "timeout": 30,
    }
    assert data["stripe"] == {"api_key": "sk-one"}
    assert data["tail"] == "changed"
    assert data["extra"] == "added-on-main"
    assert "<<<<<<<" not in prof.read_text()


def test_same_key_both_sides_conflicts_naming_the_key(repo: Repo) -> None:
    prof = _setup(repo)
    _branches(
        repo,
        prof,
        feature=[("db.password", "pw-feature"), ("db.user", "u2")],
        main=[("db.password", "pw-main")],
    )
    ours = prof.read_bytes()
    proc = repo.git("merge", "--no-edit", "feature", env=repo.with_key(), check=False)
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "db.password" in out
    assert "pw-feature" not in out
    assert "pw-main" not in out
    assert prof.read_bytes() == ours  # ours untouched; git records the conflict
    assert "config/prod.yaml" in repo.git("diff", "--name-only", "--diff-filter=U").stdout


def test_same_change_on_both_sides_is_no_conflict(repo: Repo) -> None:
    prof = _setup(repo)
    _branches(
        repo,
        prof,
        feature=[("db.password", "same"), ("db.port", "1")],
        main=[("db.password", "same")],
    )
    proc = repo.git("merge", "-q", "--no-edit", "feature", env=repo.with_key(), check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = api.load(prof, keys=repo.keys)
    assert data["db"]["password"] == "same"
    assert data["db"]["port"] == 1


def test_merge_without_key_refuses_and_git_conflicts(repo: Repo) -> None:
    prof = _setup(repo)
    _branches(repo, prof, feature=[("db.user", "u2")], main=[("db.password", "p2")])
    ours = prof.read_bytes()
    proc = repo.git("merge", "--no-edit", "feature", check=False)
    assert proc.returncode != 0
    assert "no key" in proc.stdout + proc.stderr
    assert prof.read_bytes() == ours


def test_rotation_on_theirs_reseals_under_one_key(repo: Repo, tmp_path: Path) -> None:
    """THEIRS re-encrypted with a new data key: equal values are no change."""
    prof = repo.root / PROD
    base = prof.read_bytes()
    values.set_value(prof, "db.password", "pw-ours", repo.keys)
    ours = prof.read_bytes()
    prof.write_bytes(base)
    api.decrypt_file(prof, repo.keys, in_place=True)
    api.encrypt_file(prof, repo.keys)  # a fresh data key and file id
    values.set_value(prof, "db.user", "u-theirs", repo.keys)
    theirs = prof.read_bytes()
    out = merge.merge_bytes(base, ours, theirs, PROD, repo.keys)
    result = prof  # a sealed file opens only at the path it is bound to
    result.write_bytes(out)
    assert api.verify_file(result, repo.keys).ok
    data = api.load(result, keys=repo.keys)
    assert data["db"]["password"] == "pw-ours"
    assert data["db"]["user"] == "u-theirs"


def test_driver_refuses_unsealed_and_no_key(repo: Repo, tmp_path: Path) -> None:
    prof = repo.root / PROD
    sealed = prof.read_bytes()
    plain = tmp_path / "plain.yaml"
    plain.write_text("a: 1\n")
    with pytest.raises(Exception, match="not a sealed file"):
        merge.merge_bytes(sealed, plain.read_bytes(), sealed, PROD, repo.keys)
    from sealedcfg.engine.keys import KeySource
    from sealedcfg.ops.diffing import no_prompt

    with pytest.raises(NoKeyError):
        merge.merge_bytes(sealed, sealed, sealed, PROD, KeySource(env={}, prompt=no_prompt))


def test_merge_lines_keeps_touching_edits() -> None:
    base = ["a\n", "b\n", "c\n"]
    assert merge.merge_lines(base, ["A\n", "b\n", "c\n"], ["a\n", "B\n", "c\n"]) == [
        "A\n",
        "B\n",
        "c\n",
    ]
    assert merge.merge_lines(base, ["X\n", "c\n"], ["a\n", "Y\n", "c\n"]) is None


def test_plain_files_under_the_driver_merge_as_text(repo: Repo) -> None:
    """config/*.yaml also matches plain files: they merge as git would without a driver."""
    _setup(repo)
    plain = repo.root / "config" / "app.yaml"
    plain.write_text("a: 1\nb: 2\nc: 3\nd: 4\ne: 5\n")
    repo.commit("plain file")
    repo.git("checkout", "-q", "-b", "feature")
    plain.write_text("a: 10\nb: 2\nc: 3\nd: 4\ne: 5\n")
    repo.commit("feature edits a")
    repo.git("checkout", "-q", "main")
    plain.write_text("a: 1\nb: 2\nc: 3\nd: 4\ne: 50\n")
    repo.commit("main edits e")
    proc = repo.git("merge", "--no-edit", "feature", check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert plain.read_text() == "a: 10\nb: 2\nc: 3\nd: 4\ne: 50\n"
    # the same line on both sides: git's conflict markers, and the merge stops
    repo.git("checkout", "-q", "-b", "other", "HEAD~2")
    plain.write_text("a: 99\nb: 2\nc: 3\nd: 4\ne: 5\n")
    repo.commit("other edits a")
    repo.git("checkout", "-q", "main")
    proc = repo.git("merge", "--no-edit", "other", check=False)
    assert proc.returncode != 0
    text = plain.read_text()
    assert "<<<<<<< " in text
    assert "a: 99" in text
