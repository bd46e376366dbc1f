"""ops/editor.py in this process with real editor programs (sh scripts on PATH or in
EDITOR): which editors are hardened and how, stale temp directories, an editor that
removes its file or outlives a SIGTERM, a new file left empty.  tests/test_editing.py
and tests/test_editors_real.py hold the main paths and the real vim and nano."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from sealedcfg import api
from sealedcfg.engine.keys import KeySource
from sealedcfg.errors import InputError, Terminated
from sealedcfg.ops import editor

from .conftest import rules_repo, write

SECRET = "Editor-Secret value_5!"
# An editor's lines that SIGTERM sealedcfg (its parent) once it waits for the editor
# (Linux's /proc: the parent's main thread in wait4(editor's pid)), then linger.
TERM_PARENT_WHEN_WAITING = (
    "i=0\n"
    'while [ $i -lt 2000 ] && ! grep -q "^[0-9]* $(printf 0x%x $$) " '
    "/proc/$PPID/task/$PPID/syscall\n"
    "do sleep 0.01; i=$((i+1)); done\n"
    "kill -TERM $PPID\n"
    "sleep 30"
)


def program(bindir: Path, name: str, body: str) -> Path:
    bindir.mkdir(exist_ok=True)
    path = bindir / name
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)
    return path


@pytest.fixture
def bindir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A PATH of its own, holding the editors a test names."""
    path = tmp_path / "bin"
    path.mkdir()
    monkeypatch.setenv("PATH", f"{path}{os.pathsep}/bin{os.pathsep}/usr/bin")
    return path


@pytest.fixture
def profile(tmp_path: Path, keys: KeySource) -> Path:
    target = write(tmp_path / "p.yaml", f"pw: {SECRET}\n")
    api.encrypt_file(target, keys)
    return target


def test_a_vi_is_asked_whether_it_is_vim(bindir: Path) -> None:
    program(bindir, "vi", 'echo "VIM - Vi IMproved 9.1"')
    assert editor.editor_kind("vi") == "vim"
    program(bindir, "vi", 'echo "nvi 1.81.6"')
    assert editor.editor_kind("vi") is None
    # a `vi` that cannot run at all (no interpreter line, not a binary) is no vim
    (bindir / "vi").write_bytes(b"\x00\x01 not a program\n")
    assert editor.editor_kind("vi") is None


@pytest.mark.parametrize(
    ("name", "kind", "extra"),
    [
        ("rnano", "nano", editor._NANO_ARGS),
        ("emacs-29.1", "emacs", editor._EMACS_ARGS),
        ("nvim", "vim", editor._VIM_ARGS),
    ],
)
def test_hardened_editors_get_their_options(
    bindir: Path, monkeypatch: pytest.MonkeyPatch, name: str, kind: str, extra: list[str]
) -> None:
    program(bindir, name, "exit 0")
    assert editor.editor_kind(name) == kind
    monkeypatch.setenv("VISUAL", f"{name} --some-flag")
    notes: list[str] = []
    assert editor.editor_command(notes.append) == [name, *extra, "--some-flag"]
    assert notes == []  # a hardened editor: no warning


def test_an_unknown_editor_is_run_with_a_warning(
    bindir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    program(bindir, "myeditor", "exit 0")
    monkeypatch.setenv("VISUAL", "myeditor -w")
    notes: list[str] = []
    assert editor.editor_command(notes.append) == ["myeditor", "-w"]
    assert notes == [editor.UNKNOWN_EDITOR.format(name="myeditor")]


def test_sweep_leaves_what_is_not_a_dead_edit_of_ours(tmp_path: Path) -> None:
    odd = tmp_path / f"{editor.PREFIX}not-a-pid"
    odd.mkdir()
    assert editor.sweep_stale(tmp_path) == 0
    assert odd.exists()


@pytest.mark.skipif(os.getuid() != 0, reason="giving a directory to another user needs root")
def test_sweep_leaves_another_users_directory(tmp_path: Path) -> None:
    dead = 2**22 + 1  # above the kernel's pid limit: no such process
    theirs = tmp_path / f"{editor.PREFIX}{dead}-abc"
    theirs.mkdir()
    os.chown(theirs, 65534, 65534)
    ours = tmp_path / f"{editor.PREFIX}{dead}-def"
    ours.mkdir()
    assert editor.sweep_stale(tmp_path) == 1
    assert theirs.exists()
    assert not ours.exists()


def test_an_editor_that_removes_its_file(
    tmp_path: Path, profile: Path, keys: KeySource, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EDITOR", str(program(tmp_path / "bin", "ed", 'rm "$1"')))
    before = profile.read_bytes()
    with pytest.raises(InputError, match=r"the editor removed its file; .* is unchanged"):
        editor.edit_file(profile, keys, interactive=False, warn=lambda _: None)
    assert profile.read_bytes() == before


def test_an_editor_that_ignores_sigterm_is_killed(
    tmp_path: Path, profile: Path, keys: KeySource, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = tmp_path / "seen"
    body = f'trap "" TERM\necho "$1" > {seen}\n{TERM_PARENT_WHEN_WAITING}'
    monkeypatch.setenv("EDITOR", str(program(tmp_path / "bin", "ed", body)))
    before = profile.read_bytes()
    handler = signal.getsignal(signal.SIGTERM)
    start = time.monotonic()
    with pytest.raises(Terminated) as exc:
        editor.edit_file(profile, keys, interactive=False, warn=lambda _: None)
    assert exc.value.signum == signal.SIGTERM
    assert time.monotonic() - start < 20  # killed after its grace time, not after its sleep
    assert profile.read_bytes() == before
    temp = Path(seen.read_text().strip())
    assert not temp.parent.exists()
    assert signal.getsignal(signal.SIGTERM) == handler  # put back


def test_a_new_file_left_empty_is_not_created(
    tmp_path: Path, keys: KeySource, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    rules = (
        "creation_rules:\n  - path: 'config/*.yaml'\n    recipients:\n"
        f"      - key_id: {api.key_id_of(key)}\n"
    )
    repo = rules_repo(tmp_path / "repo", rules)
    monkeypatch.setenv("EDITOR", str(program(tmp_path / "bin", "ed", "exit 0")))
    target = repo / "config" / "new.yaml"
    assert not editor.edit_file(target, keys, interactive=False, warn=lambda _: None)
    assert not target.exists()


def test_a_missing_file_of_another_format_is_refused_before_the_editor(
    tmp_path: Path, keys: KeySource, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran = tmp_path / "ran"
    monkeypatch.setenv("EDITOR", str(program(tmp_path / "bin", "ed", f"touch {ran}")))
    with pytest.raises(InputError, match="files are not supported as sealed profiles"):
        editor.edit_file(tmp_path / "prod.env", keys, interactive=False, warn=lambda _: None)
    assert not ran.exists()
    assert not (tmp_path / "prod.env").exists()
