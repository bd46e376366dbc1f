"""The everyday editing commands (cli/edit.py) through typer's runner, in this process:
each command's options, its output, and its refusals (one error line, the file as it
was).  tests/test_editing.py drives the same operations through the api and as a
process."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import typer

from sealedcfg import api
from sealedcfg.cli import edit as cli_edit
from sealedcfg.engine.keys import KeySource
from sealedcfg.errors import ExitCode

from .conftest import rules_repo, visible, write
from .subproc import assert_one_error, invoke

SECRET = "Edit-Secret value_9!"
OTHER = "Other-Secret value_7!"


# The runner's commands find conftest's key in SEALEDCFG_KEY.
pytestmark = pytest.mark.usefixtures("env_key")


@pytest.fixture
def profile(tmp_path: Path, keys: KeySource) -> Path:
    target = write(
        tmp_path / "p.yaml", f"db:\n  user: app\n  password: {SECRET}\nflag: true\nnone:\n"
    )
    api.encrypt_file(target, keys)
    return target


def ok(*args: str, input: str | None = None) -> tuple[str, str]:
    proc = invoke(*args, input=input)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout, proc.stderr


# ---------------------------------------------------------------- set, get, unset


def test_set_from_stdin_with_a_type_then_get_each_shape(profile: Path, keys: KeySource) -> None:
    _, err = ok("set", str(profile), "db.password", "--stdin", input=OTHER + "\n")
    assert err == f"{profile}: db.password set\n"
    assert api.get(profile, "db.password", keys) == OTHER  # the one final newline dropped
    _, err = ok("set", str(profile), "replicas", "6", "--type", "int")
    assert api.get(profile, "replicas", keys) == 6
    _, err = ok("set", str(profile), "replicas", "6", "--type", "int")
    assert err == f"{profile}: replicas unchanged\n"
    assert OTHER not in visible(profile.read_text())
    assert ok("get", str(profile), "db.password")[0] == OTHER + "\n"
    assert ok("get", str(profile), "flag")[0] == "true\n"  # YAML's spelling, not Python's
    assert ok("get", str(profile), "none")[0] == "\n"
    assert ok("get", str(profile), "none", "--json")[0] == "null\n"
    assert ok("get", str(profile), "replicas", "--json")[0] == "6\n"
    assert json.loads(ok("get", str(profile), "db")[0]) == {"user": "app", "password": OTHER}


def test_set_refuses_two_values_and_no_value(profile: Path) -> None:
    before = profile.read_bytes()
    proc = invoke("set", str(profile), "db.password", OTHER, "--stdin", input="x\n")
    assert_one_error(proc, ExitCode.INPUT, "not both", OTHER, SECRET)
    # no argument, no --stdin, and stdin is no terminal: nothing to prompt on
    proc = invoke("set", str(profile), "db.password")
    assert_one_error(proc, ExitCode.INPUT, "no value given", SECRET)
    assert proc.stderr.splitlines()[1:] == ["hint: pass it as an argument or use --stdin"]
    assert profile.read_bytes() == before


def test_unset(profile: Path, keys: KeySource) -> None:
    _, err = ok("unset", str(profile), "db.user")
    assert err == f"{profile}: db.user removed\n"
    assert api.get(profile, "db", keys) == {"password": SECRET}


# ---------------------------------------------------------------- ls


def test_ls_of_several_files_as_text_and_json(tmp_path: Path, profile: Path, key: str) -> None:
    plain = write(tmp_path / "plain.yaml", "a: 1\n")
    out, _ = ok("ls", str(profile), str(plain))
    lines = out.splitlines()
    assert lines[0] == f"{profile}:"
    assert any(ln.startswith("sealed") and ln.endswith("db.password") for ln in lines)
    assert f"recipient key {api.key_id_of(key)}" in out
    assert f"{plain}:" in lines
    assert lines[-1].split() == ["plain", "a"]  # an unsealed file lists no recipient
    assert SECRET not in out
    listing = json.loads(ok("ls", str(profile), str(plain), "--json")[0])
    assert [e["path"] for e in listing[str(plain)]] == ["a"]
    assert {e["kind"] for e in listing[str(profile)]} >= {"sealed", "map"}


def test_ls_resolved_of_a_chain(tmp_path: Path, keys: KeySource) -> None:
    base = write(tmp_path / "base.yaml", f"db:\n  host: h\n  password: {SECRET}\n")
    child = write(tmp_path / "child.yaml", f"extends: base\ndb:\n  password: {OTHER}\n")
    for f in (base, child):
        api.encrypt_file(f, keys)
    out, _ = ok("ls", "--resolved", str(child))
    rows = [ln.split(None, 1) for ln in out.splitlines()]
    assert ["db.host", str(base)] in rows
    assert any(r[0] == "db.password" and f"(overrides {base})" in r[1] for r in rows)
    out, _ = ok("ls", "--resolved", str(child), str(base))
    assert f"{child}:" in out.splitlines()
    assert f"{base}:" in out.splitlines()
    data = json.loads(ok("ls", "--resolved", "--json", str(child))[0])
    by_path = {o["path"]: o for o in data[str(child)]}
    assert by_path["db.password"]["source"] == str(child)
    assert by_path["db.password"]["overrides"] == [str(base)]
    assert SECRET not in out + json.dumps(data)


# ---------------------------------------------------------------- edit, rebind, rotate


def editor_script(tmp_path: Path, body: str) -> str:
    script = tmp_path / "ed.sh"
    script.write_text("#!/bin/sh\n" + body + "\n")
    script.chmod(0o755)
    return str(script)


def test_edit_says_what_it_did(
    tmp_path: Path, profile: Path, keys: KeySource, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EDITOR", editor_script(tmp_path, "exit 0"))
    before = profile.read_bytes()
    _, err = ok("edit", str(profile))
    assert err.splitlines()[-1] == f"{profile}: no changes"
    assert profile.read_bytes() == before
    monkeypatch.setenv("EDITOR", editor_script(tmp_path, f'sed -i "s/{SECRET}/{OTHER}/" "$1"'))
    _, err = ok("edit", str(profile))
    assert err.splitlines()[-1] == f"{profile}: re-sealed"
    assert api.get(profile, "db.password", keys) == OTHER


def test_rebind_after_a_move(tmp_path: Path, profile: Path, keys: KeySource) -> None:
    moved = tmp_path / "moved.yaml"
    shutil.move(profile, moved)
    proc = invoke("get", str(moved), "db.password")
    assert_one_error(proc, ExitCode.INPUT, "sealed for 'p.yaml', not for 'moved.yaml'", SECRET)
    _, err = ok("rebind", str(moved))
    assert err.startswith(f"{moved}: bound to ")
    assert "(was " in err
    assert api.get(moved, "db.password", keys) == SECRET
    _, err = ok("rebind", str(moved))
    assert err.startswith(f"{moved}: already bound to ")


def test_rotate_with_json_and_rewrap_only(profile: Path, keys: KeySource) -> None:
    before = profile.read_text()
    out, _ = ok("rotate", str(profile), "--json")
    assert json.loads(out) == [{"path": str(profile), "rotated": True, "rewrapped": True}]
    assert profile.read_text() != before
    assert api.get(profile, "db.password", keys) == SECRET
    _, err = ok("rotate", "--rewrap-only", str(profile))
    assert err == f"{profile}: re-wrapped\n"


def test_rotate_to_a_new_passphrase(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    old_file = write(tmp_path / "old.pass", "old passphrase one\n")
    new_file = write(tmp_path / "new.pass", "new passphrase two\nignored second line\n")
    target = write(tmp_path / "p.yaml", f"pw: {SECRET}\n")
    api.encrypt_file(target, KeySource(passphrase="old passphrase one", env={}))
    monkeypatch.delenv("SEALEDCFG_KEY", raising=False)
    args = ("rotate", "--passphrase-file", str(old_file), str(target))
    _, err = ok(*args, "--new-passphrase-file", str(new_file))
    assert err == f"{target}: rotated\n"
    assert api.get(target, "pw", KeySource(passphrase="new passphrase two", env={})) == SECRET
    before = target.read_bytes()
    # --change-passphrase prompts, which needs a terminal
    proc = invoke(*args, "--change-passphrase")
    assert_one_error(proc, ExitCode.INPUT, "give --new-passphrase-file, or run on a terminal")
    assert target.read_bytes() == before
    # an empty passphrase file is a passphrase too short, not a crash
    empty = write(tmp_path / "empty.pass", "")
    passes = ("--passphrase-file", str(new_file), str(target), "--new-passphrase-file", str(empty))
    proc = invoke("rotate", *passes)
    assert_one_error(proc, ExitCode.INPUT, f"the passphrase from {empty} is empty")
    assert target.read_bytes() == before


# ---------------------------------------------------------------- recipients


def test_recipients_list_add_remove(tmp_path: Path, profile: Path, key: str) -> None:
    other = api.keygen()
    other_file = write(tmp_path / "other.key", other + "\n")
    pass_file = write(tmp_path / "team.pass", "a team passphrase\n")
    _, err = ok("recipients", "add", str(profile), "--add-key-file", str(other_file))
    assert err == f"{profile}: recipient added\n"
    ok("recipients", "add", str(profile), "--new-passphrase-file", str(pass_file), "--label=team")
    out, _ = ok("recipients", "list", str(profile))
    lines = out.splitlines()
    assert lines[0] == f"{profile}:"
    assert lines[1].split() == ["key", api.key_id_of(key)]
    assert lines[2].split() == ["key", api.key_id_of(other)]
    assert lines[3].split()[0] == "passphrase"
    assert lines[3].endswith('"team"')
    listing = json.loads(ok("recipients", "list", "--json", str(profile))[0])
    assert [r["type"] for r in listing[str(profile)]] == ["key", "key", "passphrase"]
    by_passphrase = KeySource(passphrase="a team passphrase", env={})
    assert api.get(profile, "db.password", by_passphrase) == SECRET
    # removed without rotating: a warning that the holder still knows the data key
    proc = invoke("recipients", "remove", str(profile), "--passphrase", "--no-rotate")
    assert proc.returncode == 0, proc.stderr
    warning, said = proc.stderr.splitlines()
    assert warning.startswith("sealedcfg: warning: --no-rotate")
    assert said == f"{profile}: recipient removed"
    _, err = ok("recipients", "remove", str(profile), "--key-id", api.key_id_of(other))
    assert err == f"{profile}: recipient removed, data key rotated\n"
    assert [
        r["id"]
        for r in json.loads(ok("recipients", "list", "--json", str(profile))[0])[str(profile)]
    ] == [api.key_id_of(key)]


def test_recipients_add_refusals(tmp_path: Path, profile: Path) -> None:
    before = profile.read_bytes()
    for args, code, text in (
        (["--label", "no spaces allowed"], ExitCode.USAGE, "--label must be a short name"),
        (["--age", "age1x", "--kms", "alias/x"], ExitCode.USAGE, "one new recipient at a time"),
        ([], ExitCode.INPUT, "give exactly one new recipient"),
    ):
        assert_one_error(invoke("recipients", "add", str(profile), *args), code, text, SECRET)
    assert profile.read_bytes() == before


def test_recipients_add_an_age_public_key(profile: Path, keys: KeySource) -> None:
    _, public = api.age_keygen()
    ok("recipients", "add", str(profile), "--age", public, "--label", "alice")
    assert f'age        {public}  "alice"' in ok("recipients", "list", str(profile))[0]
    assert api.get(profile, "db.password", keys) == SECRET


# ---------------------------------------------------------------- updatekeys, register


def test_updatekeys_without_a_terminal_needs_yes(
    tmp_path: Path, keys: KeySource, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = rules_repo(tmp_path / "repo", None)
    target = write(repo / "config" / "prod.yaml", f"pw: {SECRET}\n")
    api.encrypt_file(target, keys)  # sealed before the rules exist: updatekeys has work
    (repo / ".sealedcfg.yaml").write_text(
        "creation_rules:\n  - path: 'config/*.yaml'\n    recipients:\n"
        f"      - key_id: {api.key_id_of(key)}\n        label: ci\n"
    )
    monkeypatch.chdir(repo)
    before = target.read_bytes()
    proc = invoke("updatekeys")
    assert_one_error(proc, ExitCode.USAGE, "confirm on a terminal, or pass --yes", SECRET)
    assert f'~ key {api.key_id_of(key)} label -> "ci"' in proc.stdout  # shown, not written
    assert target.read_bytes() == before
    proc = invoke("updatekeys", "--yes", str(target))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == f"{target}: recipients updated\n"  # none removed: no rotation
    assert 'label: "ci"' in target.read_text()


def test_register_is_idempotent() -> None:
    app = typer.Typer()
    cli_edit.register(app)
    count = (len(app.registered_commands), len(app.registered_groups))
    cli_edit.register(app)
    assert (len(app.registered_commands), len(app.registered_groups)) == count
    assert count == (9, 1)
