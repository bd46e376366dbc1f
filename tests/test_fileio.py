"""Atomic writes: mode kept, symlinks refused, no temp file left behind."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from sealedcfg import api
from sealedcfg.base import fileio
from sealedcfg.engine.keys import KeySource
from sealedcfg.errors import InputError

from .conftest import write


def test_mode_is_preserved(tmp_path: Path, keys: KeySource) -> None:
    target = write(tmp_path / "p.yaml", "a: 1\n")
    target.chmod(0o640)
    api.encrypt_file(target, keys)
    assert oct(target.stat().st_mode & 0o777) == "0o640"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.yaml"]


def test_symlink_target_refused(tmp_path: Path, keys: KeySource) -> None:
    real = write(tmp_path / "real.yaml", "a: 1\n")
    link = tmp_path / "link.yaml"
    link.symlink_to(real)
    with pytest.raises(InputError, match="symbolic link"):
        api.encrypt_file(link, keys)
    assert real.read_text() == "a: 1\n"
    assert link.is_symlink()


def test_failed_write_leaves_original_and_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = write(tmp_path / "p.yaml", "old\n")

    def boom(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="No space"):
        fileio.write_atomic(target, b"new\n")
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.yaml"]


def test_lock_rechecks_replaced_inode(tmp_path: Path) -> None:
    target = write(tmp_path / "p.yaml", "one\n")
    with fileio.locked(target) as data:
        assert data == b"one\n"
        fileio.write_atomic(target, b"two\n")
    with fileio.locked(target) as data:
        assert data == b"two\n"


def test_special_files_are_never_replaced(tmp_path: Path, keys: KeySource) -> None:
    import threading

    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="not a regular file"):
        fileio.write_atomic(fifo, b"x")
    with pytest.raises(InputError, match="not a regular file"):
        api.encrypt_file(fifo, keys)
    target = write(tmp_path / "p.yaml", "a: secret\n")
    api.encrypt_file(target, keys)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    api.decrypt_file(target, keys, output=fifo)  # `-o /dev/stdout`, `-o >(...)`
    reader.join(timeout=10)
    assert got == [b"a: secret\n"]
    assert stat.S_ISFIFO(fifo.stat().st_mode)
