"""Everyday editing: set/get/unset/ls, edit with a scripted editor, rotate, recipients."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sealedcfg import api
from sealedcfg.base.encoding import b64e
from sealedcfg.engine.keys import KeySource, key_dir, parse_key
from sealedcfg.errors import InputError, OpenError
from sealedcfg.ops import editor, rotation
from sealedcfg.recipients.key import key_id

from .conftest import FAST, visible, write
from .subproc import cli

SECRET = "hunter2-Very-Secret"


def sealed(tmp_path: Path, keys: KeySource, text: str = "", name: str = "p.yaml") -> Path:
    target = write(tmp_path / name, text or f"db:\n  user: app\n  password: {SECRET}\nport: 5432\n")
    api.encrypt_file(target, keys)
    return target


def changed_lines(before: str, after: str) -> list[str]:
    a, b = before.splitlines(), after.splitlines()
    assert len(a) == len(b)
    return [x.split(":")[0].strip() for x, y in zip(a, b, strict=True) if x != y]


def fake_editor(tmp_path: Path, body: str, name: str = "ed.sh") -> str:
    script = tmp_path / name
    script.write_text("#!/bin/sh\n" + body + "\n")
    script.chmod(0o755)
    return str(script)


# ---------------------------------------------------------------- set/get/unset/ls


def test_set_get_unset_ls(tmp_path: Path, keys: KeySource) -> None:
    target = sealed(tmp_path, keys)
    assert api.set_value(target, "db.password", "new-pass", keys)
    assert not api.set_value(target, "db.password", "new-pass", keys)  # same value: no write
    api.set_value(target, "stripe.api_key", "sk_test_x", keys)
    api.set_value(target, "replicas", "6", keys, vtype="int")
    api.set_value(target, "flag", "yes", keys)  # a string in 1.2 and quoted for 1.1
    assert api.get(target, "db.password", keys) == "new-pass"
    assert api.get(target, "replicas", keys) == 6
    assert api.get(target, "flag", keys) == "yes"
    assert api.get(target, "stripe", keys) == {"api_key": "sk_test_x"}
    api.unset(target, "db.user", keys)
    entries = {e.path: e for e in api.ls(target)}
    assert entries["db.password"].kind == "sealed"
    assert entries["replicas"].type == "int"
    assert "db.user" not in entries
    assert "new-pass" not in visible(target.read_text())
    assert api.verify_file(target, keys).ok


def test_unset_list_item_reseals_moved_tokens(tmp_path: Path, keys: KeySource) -> None:
    target = sealed(tmp_path, keys, "servers:\n  - a-token\n  - b-token\n  - c-token\n")
    api.unset(target, "servers.0", keys)
    assert api.get(target, "servers", keys) == ["b-token", "c-token"]
    assert api.decrypt_file(target, keys) == b"servers:\n  - b-token\n  - c-token\n"


def test_set_in_large_file_changes_one_line_in_git_diff(tmp_path: Path, keys: KeySource) -> None:
    text = "".join(
        f"svc{i}:\n" + "".join(f"  k{j}: v-{i}-{j}\n" for j in range(10)) for i in range(100)
    )
    repo = tmp_path / "repo"
    repo.mkdir()
    target = sealed(repo, keys, text)
    git = ["git", "-C", str(repo)]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "p.yaml"], check=True)
    subprocess.run(
        [*git, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x"], check=True
    )
    api.set_value(target, "svc42.k7", "changed", keys)
    diff = subprocess.run(
        [*git, "diff", "-U0", "--no-color"], capture_output=True, text=True, check=True
    ).stdout
    removed = [ln for ln in diff.splitlines() if ln.startswith("-") and not ln.startswith("---")]
    added = [ln for ln in diff.splitlines() if ln.startswith("+") and not ln.startswith("+++")]
    assert [ln.split(":")[0] for ln in removed] == ["-  k7", "-  mac"]
    assert [ln.split(":")[0] for ln in added] == ["+  k7", "+  mac"]


@pytest.mark.parametrize(
    ("dotted", "value", "vtype", "message"),
    [
        ("db.user.x", "v", None, "is a value, not a mapping"),
        ("list.5", "v", None, "out of range"),
        ("port", "abc", "int", "not an integer"),
        ("port", "abc", "bool", "not a boolean"),
        ("port", "1", "complex", "unknown type"),
    ],
)
def test_set_bad_input(
    tmp_path: Path, keys: KeySource, dotted: str, value: str, vtype: str | None, message: str
) -> None:
    target = sealed(tmp_path, keys, "db:\n  user: app\nlist: [a]\nport: 1\n")
    before = target.read_bytes()
    with pytest.raises(InputError, match=message):
        api.set_value(target, dotted, value, keys, vtype=vtype)
    assert target.read_bytes() == before


def test_get_missing_path_names_nearest_without_values(tmp_path: Path, keys: KeySource) -> None:
    target = sealed(tmp_path, keys)
    with pytest.raises(InputError) as exc:
        api.get(target, "db.pasword", keys)
    assert "db.password" in exc.value.hints[0]
    assert SECRET not in str(exc.value) + "".join(exc.value.hints)


def test_concurrent_set_processes_lose_no_update(tmp_path: Path, key: str) -> None:
    keys = KeySource(key=key, env={})
    target = sealed(tmp_path, keys, "a: 0\nb: 0\n")
    env = {**os.environ, "SEALEDCFG_KEY": key}
    for round_ in range(4):
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "sealedcfg", "set", str(target), name, f"{name}{round_}"],
                env=env,
                stderr=subprocess.PIPE,
            )
            for name in ("a", "b")
        ]
        for p in procs:
            _, err = p.communicate(timeout=60)
            assert p.returncode == 0, err
        assert api.get(target, "a", keys) == f"a{round_}"
        assert api.get(target, "b", keys) == f"b{round_}"


# ---------------------------------------------------------------- edit


def test_edit_unchanged_writes_nothing(
    tmp_path: Path, keys: KeySource, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = sealed(tmp_path, keys)
    before = target.read_bytes()
    monkeypatch.setenv("EDITOR", fake_editor(tmp_path, "exit 0"))
    assert not editor.edit_file(target, keys, interactive=False)
    assert target.read_bytes() == before


def test_edit_changed_value_reseals_only_it(
    tmp_path: Path, keys: KeySource, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = sealed(tmp_path, keys)
    before = target.read_text()
    seen = tmp_path / "seen"
    script = (
        f'cp "$1" {seen}; ls -ld "$(dirname "$1")" >> {seen}.mode; '
        f'sed -i "s/{SECRET}/rotated-pw/" "$1"'
    )
    monkeypatch.setenv("EDITOR", fake_editor(tmp_path, script))
    assert editor.edit_file(target, keys, interactive=False)
    assert changed_lines(before, target.read_text()) == ["password", "mac"]
    assert api.get(target, "db.password", keys) == "rotated-pw"
    assert SECRET in seen.read_text()  # the editor saw the plaintext...
    assert (tmp_path / "seen.mode").read_text().startswith("drwx------")
    assert not list(Path("/dev/shm").glob(f"{editor.PREFIX}{os.getpid()}-*"))  # ...now gone


def test_edit_adds_key_sealed_by_rules(
    tmp_path: Path, keys: KeySource, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = sealed(tmp_path, keys)
    monkeypatch.setenv("EDITOR", fake_editor(tmp_path, 'printf "api_key: brand-new\\n" >> "$1"'))
    editor.edit_file(target, keys, interactive=False)
    assert "brand-new" not in visible(target.read_text())
    assert api.get(target, "api_key", keys) == "brand-new"


@pytest.mark.parametrize(
    ("script", "message"),
    [
        ('printf "a: [broken\\n" > "$1"', "not valid YAML"),
        ("exit 3", "exited with status 3"),
        ('printf "\\377\\376" > "$1"', "not UTF-8"),
    ],
)
def test_edit_failures_leave_file_untouched(
    tmp_path: Path, keys: KeySource, monkeypatch: pytest.MonkeyPatch, script: str, message: str
) -> None:
    target = sealed(tmp_path, keys)
    before = target.read_bytes()
    monkeypatch.setenv("EDITOR", fake_editor(tmp_path, script))
    with pytest.raises(InputError, match=message):
        editor.edit_file(target, keys, interactive=False)
    assert target.read_bytes() == before


def test_editor_not_found_and_fallback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDITOR", "no-such-editor-xyz --wait")
    with pytest.raises(InputError, match="not found"):
        editor.editor_command(lambda _: None)
    monkeypatch.delenv("EDITOR")
    monkeypatch.delenv("VISUAL", raising=False)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    fake_editor(bindir, "exit 0", "vi")
    monkeypatch.setenv("PATH", str(bindir))
    notes: list[str] = []
    assert editor.editor_command(notes.append) == ["vi"]
    assert "using vi" in notes[0]


def test_vim_runs_without_swap_undo_backup_viminfo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    fake_editor(bindir, "exit 0", "vim")
    monkeypatch.setenv("PATH", str(bindir))
    monkeypatch.setenv("VISUAL", "vim -p")
    argv = editor.editor_command(lambda _: None)
    assert argv[:4] == ["vim", "-n", "-i", "NONE"]
    assert "noundofile" in argv[5]
    assert argv[-1] == "-p"


def test_stale_temp_dirs_are_swept(tmp_path: Path) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = tmp_path / f"{editor.PREFIX}{dead.pid}-abc"
    stale.mkdir()
    (stale / "p.yaml").write_text("secret")
    live = tmp_path / f"{editor.PREFIX}{os.getpid()}-abc"
    live.mkdir()
    assert editor.sweep_stale(tmp_path) == 1
    assert not stale.exists()
    assert live.exists()


def edit_in_background(target: Path, key: str, editor: str, ready: Path) -> subprocess.Popen[str]:
    """`sealedcfg edit TARGET` as a process, once EDITOR has written its file's path to READY."""
    env = {**os.environ, "SEALEDCFG_KEY": key, "EDITOR": editor}
    proc = subprocess.Popen(
        [sys.executable, "-m", "sealedcfg", "edit", str(target)],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while not ready.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return proc


def test_sigterm_during_edit_cleans_up(tmp_path: Path, key: str) -> None:
    keys = KeySource(key=key, env={})
    target = sealed(tmp_path, keys)
    before = target.read_bytes()
    ready = tmp_path / "ready"
    ed = fake_editor(tmp_path, f'echo "$1" > {ready}; sleep 30')
    proc = edit_in_background(target, key, ed, ready)
    temp_file = Path(ready.read_text().strip())
    assert temp_file.exists()
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 128 + signal.SIGTERM
    assert "terminated" in err
    assert not temp_file.exists()
    assert not temp_file.parent.exists()
    assert target.read_bytes() == before


def test_edit_new_file_from_rule(
    tmp_path: Path, keys: KeySource, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the rule names the key by id; it is found in the user's key directory
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "home"))
    tmp_path = tmp_path / "repo"
    (tmp_path / ".git").mkdir(parents=True)
    api.write_key_file(key_dir(), key)
    kid = b64e(key_id(parse_key(key, "k")))
    (tmp_path / ".sealedcfg.yaml").write_text(
        "creation_rules:\n  - path: 'config/*.yaml'\n    plain: 'host$'\n"
        f"    recipients:\n      - key_id: {kid}\n"
    )
    (tmp_path / "config").mkdir()
    monkeypatch.setenv("EDITOR", fake_editor(tmp_path, 'printf "host: h\\npw: p1\\n" > "$1"'))
    target = tmp_path / "config" / "new.yaml"
    # The rule's plaintext pattern comes from the repository: used once approved.
    with pytest.raises(InputError, match="not approved"):
        editor.edit_file(target, KeySource(env={}), interactive=False)
    assert not target.exists()
    monkeypatch.chdir(tmp_path)
    from typer.testing import CliRunner

    from sealedcfg.cli.main import make_app

    approved = CliRunner().invoke(make_app(), ["approve", "--yes"])
    assert approved.exit_code == 0, approved.output
    assert editor.edit_file(target, KeySource(env={}), interactive=False)
    assert "host: h" in target.read_text()
    assert "p1" not in visible(target.read_text())
    assert api.decrypt_file(target, keys) == b"host: h\npw: p1\n"
    with pytest.raises(InputError, match="no such file"):
        editor.edit_file(tmp_path / "elsewhere.yaml", keys, interactive=False)


# ---------------------------------------------------------------- rotate, recipients


def test_rotate_reseals_everything_and_rewrap_only_touches_header(
    tmp_path: Path, keys: KeySource
) -> None:
    target = sealed(tmp_path, keys)
    plain = api.decrypt_file(target, keys)
    before = target.read_text()
    rotation.rotate(target, keys)
    after = target.read_text()
    assert api.decrypt_file(target, keys) == plain
    assert {"user", "password", "port", "file_id", "wrapped", "commit", "mac"} <= set(
        changed_lines(before, after)
    )
    rotation.rotate(target, keys, rewrap_only=True)
    assert set(changed_lines(after, target.read_text())) == {"wrapped", "mac"}


def test_passphrase_change_with_rewrap(tmp_path: Path) -> None:
    old = KeySource(passphrase="old passphrase", env={})
    target = write(tmp_path / "p.yaml", "a: 1\n")
    api.encrypt_file(target, old, kdf=FAST)
    new_secret = KeySource(passphrase="new passphrase", env={}).get_passphrase()
    rotation.rotate(target, old, rewrap_only=True, new_passphrase=new_secret)
    assert api.decrypt_file(target, KeySource(passphrase="new passphrase", env={})) == b"a: 1\n"
    with pytest.raises(OpenError):
        api.decrypt_file(target, KeySource(passphrase="old passphrase", env={}))


def test_recipient_remove_rotates_and_locks_out(tmp_path: Path) -> None:
    a, b = api.keygen(), api.keygen()
    ka, kb = KeySource(key=a, env={}), KeySource(key=b, env={})
    target = sealed(tmp_path, ka)
    rotation.add_recipient(target, ka, key=parse_key(b, "b"))
    assert api.decrypt_file(target, kb) == api.decrypt_file(target, ka)
    b_id = [r.id for r in rotation.list_recipients(target) if r.type == "key"][1]
    assert rotation.remove_recipient(target, ka, key_id=b_id) == 1
    with pytest.raises(OpenError):
        api.decrypt_file(target, kb)
    assert SECRET.encode() in api.decrypt_file(target, ka)
    with pytest.raises(InputError, match="last recipient"):
        rotation.remove_recipient(target, ka, key_id=rotation.list_recipients(target)[0].id)


def test_add_passphrase_recipient(tmp_path: Path, keys: KeySource) -> None:
    target = sealed(tmp_path, keys)
    pp = KeySource(passphrase="team passphrase", env={})
    rotation.add_recipient(target, keys, passphrase=pp.get_passphrase(), kdf=FAST)
    assert SECRET.encode() in api.decrypt_file(target, pp)


# ---------------------------------------------------------------- init and rules, via the CLI


def test_init_then_set_new_file_needs_no_flags(tmp_path: Path) -> None:
    home = tmp_path / "home"
    tmp_path = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    proc = cli("init", "--plain", r"(^|\.)host$", cwd=tmp_path, home=home)
    assert proc.returncode == 0, proc.stderr
    assert "next steps" in proc.stdout
    assert "*.key" in (tmp_path / ".gitignore").read_text()
    keys = list((home / ".config" / "sealedcfg" / "keys").glob("*.key"))
    assert len(keys) == 1
    assert oct(keys[0].stat().st_mode & 0o777) == "0o600"
    rules = (tmp_path / ".sealedcfg.yaml").read_text()
    assert f'key_id: "{keys[0].stem}"' in rules
    assert "key_file" not in rules
    assert str(home) not in rules
    (tmp_path / "config" / "sub").mkdir(parents=True)
    proc = cli("set", "config/prod.yaml", "db.password", SECRET, cwd=tmp_path, home=home)
    assert proc.returncode == 0, proc.stderr
    # the rules file is found from a subdirectory too
    sub = cli("set", "../prod.yaml", "db.host", "h1", cwd=tmp_path / "config" / "sub", home=home)
    assert sub.returncode == 0, sub.stderr
    text = (tmp_path / "config" / "prod.yaml").read_text()
    assert SECRET not in visible(text)
    assert "host: h1" in text
    got = cli("get", "config/prod.yaml", "db.password", cwd=tmp_path, home=home)
    assert got.stdout == SECRET + "\n"
    assert cli("init", cwd=tmp_path, home=home).returncode == 3  # exists: refuses


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ("creation_rules: [\n", "not valid YAML"),
        ("creation_rules:\n  - path: x\n    colour: blue\n", "unknown field 'colour'"),
        ("rules: []\n", "unknown field 'rules'"),
        ("creation_rules:\n  - plain: x\n", "exactly one of 'path' or 'path_regex'"),
    ],
)
def test_bad_rules_file(tmp_path: Path, rules: str, message: str) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".sealedcfg.yaml").write_text(rules)
    proc = cli(
        "set",
        "new.yaml",
        "a",
        "1",
        cwd=tmp_path,
        home=tmp_path / "home",
        env={"SEALEDCFG_KEY": api.keygen()},
    )
    assert proc.returncode == 3
    assert message in proc.stderr
    assert not (tmp_path / "new.yaml").exists()


def test_ctrl_c_while_editing_belongs_to_the_editor(tmp_path: Path, key: str) -> None:
    keys = KeySource(key=key, env={})
    target = sealed(tmp_path, keys)
    ready = tmp_path / "ready"
    ed = fake_editor(
        tmp_path, f'echo "$1" > {ready}; sleep 1; sed -i "s/{SECRET}/after-ctrl-c/" "$1"'
    )
    proc = edit_in_background(target, key, ed, ready)
    time.sleep(0.2)
    proc.send_signal(signal.SIGINT)  # as a terminal would, to sealedcfg
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert api.get(target, "db.password", keys) == "after-ctrl-c"
    assert not Path(ready.read_text().strip()).exists()


def test_invalid_yaml_on_a_terminal_reopens_the_editor(
    tmp_path: Path, keys: KeySource, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = sealed(tmp_path, keys)
    count = tmp_path / "count"
    script = (
        f"n=$(cat {count} 2>/dev/null || echo 0); echo $((n+1)) > {count}; "
        f'if [ "$n" = 0 ]; then printf "a: [broken\\n" > "$1"; '
        f'else printf "fixed: value\\n" > "$1"; fi'
    )
    monkeypatch.setenv("EDITOR", fake_editor(tmp_path, script))
    answers = iter(["y"])
    monkeypatch.setattr("builtins.input", lambda _prompt="": next(answers))
    notes: list[str] = []
    assert editor.edit_file(target, keys, interactive=True, warn=notes.append)
    assert count.read_text().strip() == "2"
    assert any("not valid YAML" in n and "line" in n for n in notes)
    assert api.get(target, "fixed", keys) == "value"


def test_invalid_yaml_on_a_terminal_can_abort(
    tmp_path: Path, keys: KeySource, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = sealed(tmp_path, keys)
    before = target.read_bytes()
    monkeypatch.setenv("EDITOR", fake_editor(tmp_path, 'printf "a: [broken\\n" > "$1"'))
    monkeypatch.setattr("builtins.input", lambda _prompt="": "n")
    with pytest.raises(InputError, match="unchanged"):
        editor.edit_file(target, keys, interactive=True, warn=lambda _: None)
    assert target.read_bytes() == before


def test_set_an_empty_value(tmp_path: Path, keys: KeySource) -> None:
    target = sealed(tmp_path, keys, "a:\nb: !Ref\nc: 1\nd:\n")
    for path, value in (("a", "one"), ("b", "two"), ("d", "four")):
        api.set_value(target, path, value, keys)
    assert api.decrypt_file(target, keys) == b"a: one\nb: !Ref two\nc: 1\nd: four\n"


@pytest.mark.parametrize(
    ("text", "path", "expected"),
    [
        ("l:\n  - a:\n      x: 1\n  - b\n", "l.0.a", "l:\n  - {}\n  - b\n"),
        ("l:\n  - a: 1\n  - b\n", "l.0.a", "l:\n  - {}\n  - b\n"),
        ("l:\n  - a: 1\n    c: 2\n  - b\n", "l.0.a", "l:\n  - c: 2\n  - b\n"),
        ("l:\r\n  - a:\r\n      x: 1\r\n  - b\r\n", "l.0.a", "l:\r\n  - {}\r\n  - b\r\n"),
        ("m:\n  k:\n    x: 1\n  j: 2\n", "m.k", "m:\n  j: 2\n"),
    ],
)
def test_unset_keeps_the_yaml_valid(
    tmp_path: Path, keys: KeySource, text: str, path: str, expected: str
) -> None:
    target = sealed(tmp_path, keys, text)
    api.unset(target, path, keys)
    assert api.decrypt_file(target, keys) == expected.encode()


def test_unset_tagged_list_item(tmp_path: Path, keys: KeySource) -> None:
    target = sealed(tmp_path, keys, "r:\n  - !Sub a-${X}\n  - &b !Ref b\n  - c\n")
    api.unset(target, "r.1", keys)
    api.unset(target, "r.0", keys)
    assert api.decrypt_file(target, keys) == b"r:\n  - c\n"
