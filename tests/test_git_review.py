"""Reviewers see access changes: header facts in the textconv view, header events in `log`."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from sealedcfg import api
from sealedcfg.base.encoding import b64e
from sealedcfg.cli.main import app
from sealedcfg.engine.keys import KeySource, parse_key
from sealedcfg.ops import values
from sealedcfg.recipients.key import key_id

from .conftest import FAST
from .test_git_support import Repo, repo_fixture  # noqa: F401

PROD = "config/prod.yaml"
runner = CliRunner()


def kid(key: str) -> str:
    return b64e(key_id(parse_key(key, "k")))


def added_removed(diff: str) -> tuple[list[str], list[str]]:
    lines = diff.splitlines()
    plus = [ln[1:] for ln in lines if ln.startswith("+") and not ln.startswith("+++")]
    minus = [ln[1:] for ln in lines if ln.startswith("-") and not ln.startswith("---")]
    return plus, minus


def test_textconv_shows_header_facts_with_and_without_key(repo: Repo) -> None:
    for env in (repo.env, repo.with_key()):
        out = repo.sc("git", "textconv", PROD, env=env).stdout
        trailer = out[out.index("# sealedcfg header") :].splitlines()
        assert trailer[1:] == [
            "# version: 1",
            f"# recipient: key {kid(repo.key)}",
            "# plain: none",
            '# bind: "config/prod.yaml"',
            f"# file id: {_file_id(repo)}",
        ]


def _file_id(repo: Repo) -> str:
    return (repo.root / PROD).read_text().split("file_id: ")[1].split()[0]


def test_git_diff_shows_a_recipient_added_with_and_without_key(repo: Repo) -> None:
    repo.sc("git", "setup")
    repo.commit("initial")
    second = api.keygen()
    key_file = repo.root.parent / "second.key"  # outside the repository
    api.write_key_file(key_file, second)
    proc = repo.sc("recipients", "add", PROD, "--add-key-file", str(key_file), env=repo.with_key())
    assert proc.returncode == 0, proc.stderr
    plus, minus = added_removed(repo.git("diff", PROD).stdout)  # no key
    assert f"# recipient: key {kid(second)}" in plus
    assert f"# recipient: key {kid(repo.key)}" not in plus + minus  # unchanged
    plus, minus = added_removed(repo.git("diff", PROD, env=repo.with_key()).stdout)
    assert plus == [f"# recipient: key {kid(second)}"]  # with a key: nothing else changed
    assert minus == []
    # and removing it (which rotates the data key) shows the removal and a new file id
    repo.commit("add a recipient")
    proc = repo.sc("recipients", "remove", PROD, "--key-id", kid(second), env=repo.with_key())
    assert proc.returncode == 0, proc.stderr
    plus, minus = added_removed(repo.git("diff", PROD, env=repo.with_key()).stdout)
    assert f"# recipient: key {kid(second)}" in minus
    assert [ln.split(":")[0] for ln in plus] == ["# file id"]


def test_textconv_header_strings_cannot_forge_lines(repo: Repo) -> None:
    """The view needs no key, so it shows a forged header too: its strings stay one line."""
    prof = repo.root / "config" / "odd.yaml"
    prof.write_text("a: 1\n")
    keys = KeySource(key=repo.key, passphrase="a team passphrase", env={})
    api.encrypt_file(prof, keys, kdf=FAST)
    rule = "x\n# recipient: key AAAAAAAAAAA\u202e"
    forged = prof.read_text().replace("  plain: null", f"  plain: {json.dumps(rule)}")
    prof.write_text(forged)
    out = repo.sc("git", "textconv", "config/odd.yaml").stdout
    trailer = out[out.index("# sealedcfg header") :].splitlines()
    assert "# recipient: key AAAAAAAAAAA" not in trailer
    assert '# plain: "x\\n# recipient: key AAAAAAAAAAA\\u202e"' in trailer
    assert "# recipient: passphrase (argon2id m=19456 t=2 p=1)" in trailer
    assert trailer.count(f"# recipient: key {kid(repo.key)}") == 1
    # with the key it is refused (the MAC covers the rule): shown sealed, facts still there
    shown = repo.sc("git", "textconv", "config/odd.yaml", env=repo.with_key())
    assert shown.returncode == 0
    assert "sealedcfg: warning: " in shown.stderr
    assert '# plain: "x\\n# recipient: key AAAAAAAAAAA\\u202e"' in shown.stdout


def test_log_marks_a_rotation_as_one_event(repo: Repo) -> None:
    repo.commit("create")
    proc = repo.sc("rotate", PROD, env=repo.with_key())
    assert proc.returncode == 0, proc.stderr
    repo.commit("rotate the data key")
    out = repo.sc("log", PROD)
    assert out.returncode == 0, out.stderr
    assert _entry_lines(out.stdout, 0)[1:] == ["  ! data key rotated: every sealed value re-sealed"]
    entries = json.loads(repo.sc("log", PROD, "--json").stdout)
    assert entries[0]["changed"] == []
    assert entries[0]["header"] == [
        {"event": "data key rotated", "detail": "every sealed value re-sealed"}
    ]
    created = entries[1]
    assert {"event": "recipient added", "detail": f"key {kid(repo.key)}"} in created["header"]
    assert "db.password" in created["added"]
    # a path filter keeps the rotation commit for a sealed path, as one event
    only = json.loads(repo.sc("log", PROD, "db.password", "--json").stdout)
    assert [e["changed"] for e in only] == [[], []]
    assert only[0]["header"][0]["event"] == "data key rotated"


def _entry_lines(stdout: str, index: int) -> list[str]:
    """The lines of the INDEX-th entry of `sealedcfg log` text output."""
    entries: list[list[str]] = []
    for line in stdout.splitlines():
        if not line.startswith("  "):
            entries.append([])
        entries[-1].append(line)
    return entries[index]


def test_log_rotation_keeps_real_changes_and_lists_header_events(repo: Repo) -> None:
    prof = repo.root / PROD
    repo.commit("create")
    second = api.keygen()
    key_file = repo.root.parent / "second.key"
    api.write_key_file(key_file, second)
    proc = repo.sc("recipients", "add", PROD, "--add-key-file", str(key_file), env=repo.with_key())
    assert proc.returncode == 0, proc.stderr
    repo.commit("add a recipient")
    proc = repo.sc("rotate", PROD, "--key-file", str(key_file), env=repo.with_key())
    assert proc.returncode == 0, proc.stderr
    values.set_value(prof, "db.password", "pw-rotated", repo.keys)  # a real change with it
    values.set_value(prof, "db.added", "new", repo.keys)
    repo.commit("rotate and change")
    proc = repo.sc("recipients", "remove", PROD, "--key-id", kid(second), env=repo.with_key())
    assert proc.returncode == 0, proc.stderr
    repo.commit("remove the recipient")
    api.decrypt_file(prof, repo.keys, in_place=True)
    repo.commit("oops: committed in plaintext")
    entries = json.loads(repo.sc("log", PROD, "--json").stdout)
    events = [[(h["event"], h["detail"]) for h in e["header"]] for e in entries]
    assert events[0] == [("header removed", "the file is no longer sealed")]
    assert events[1] == [
        ("recipient removed", f"key {kid(second)}"),
        ("data key rotated", "every sealed value re-sealed"),
    ]
    assert entries[1]["changed"] == []
    assert events[2] == [("data key rotated", "every sealed value re-sealed")]
    # the rotation hides re-seals, not a new key; a changed token stays hidden with it
    assert entries[2]["added"] == ["db.added"]
    assert events[3] == [("recipient added", f"key {kid(second)}")]
    assert entries[3]["changed"] == []


def test_log_through_the_runner(repo: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    repo.commit("create")
    repo.sc("rotate", PROD, env=repo.with_key())
    repo.commit("rotate")
    monkeypatch.chdir(repo.root)
    result = runner.invoke(app, ["log", PROD])
    assert result.exit_code == 0, result.output
    assert _entry_lines(result.stdout, 0)[1:] == [
        "  ! data key rotated: every sealed value re-sealed"
    ]
    result = runner.invoke(app, ["git", "textconv", PROD])
    assert result.exit_code == 0
    assert f"# recipient: key {kid(repo.key)}" in result.stdout


def test_log_rewrap_only_is_one_event(repo: Repo) -> None:
    repo.commit("create")
    proc = repo.sc("rotate", PROD, "--rewrap-only", env=repo.with_key())
    assert proc.returncode == 0, proc.stderr
    repo.commit("rewrap")
    entry = json.loads(repo.sc("log", PROD, "--json").stdout)[0]
    assert entry["header"] == [{"event": "recipients re-wrapped", "detail": "same data key"}]
    assert (entry["added"], entry["changed"], entry["removed"]) == ([], [], [])
