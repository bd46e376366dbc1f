"""Atomic writes: mode kept, symlinks refused, no temp file left behind."""

from __future__ import annotations

import contextlib
import errno
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


def test_read_bytes_refusals_name_the_path(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"missing\.yaml: no such file$"):
        fileio.read_bytes(tmp_path / "missing.yaml")
    with pytest.raises(InputError, match=r": is a directory$"):
        fileio.read_bytes(tmp_path)
    loop = tmp_path / "loop.yaml"
    loop.symlink_to(loop)  # ELOOP: neither missing nor a directory
    with pytest.raises(InputError, match=r"loop\.yaml: cannot read \(Too many levels"):
        fileio.read_bytes(loop)


def test_write_stream_refusals(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"gone: cannot write \(No such file"):
        fileio.write_stream(tmp_path / "gone", b"x")  # never created
    assert not (tmp_path / "gone").exists()
    regular = write(tmp_path / "r.yaml", "keep\n")
    with pytest.raises(InputError, match="changed while being written; nothing was written"):
        fileio.write_stream(regular, b"plain")
    assert regular.read_text() == "keep\n"


@pytest.mark.parametrize("size", [10, 1 << 17])
def test_write_stream_to_a_full_device_is_one_input_error(size: int) -> None:
    # A small write sat in the buffer and failed at close, outside the handler:
    # `decrypt -o /dev/full` was an internal error (exit 70).
    with pytest.raises(InputError, match=r"^/dev/full: cannot write \(No space left on device\)$"):
        fileio.write_stream("/dev/full", b"x" * size)


def test_decrypt_to_a_full_device_is_bad_input(tmp_path: Path, keys: KeySource) -> None:
    target = write(tmp_path / "p.yaml", "a: not-in-any-message!\n")
    api.encrypt_file(target, keys)
    with pytest.raises(InputError) as info:
        api.decrypt_file(target, keys, output="/dev/full")
    assert str(info.value) == "/dev/full: cannot write (No space left on device)"


def test_is_special(tmp_path: Path) -> None:
    assert fileio.is_special("/dev/null")
    assert not fileio.is_special(write(tmp_path / "f", "x"))
    assert not fileio.is_special(tmp_path / "missing")


@pytest.mark.parametrize("raw", ["soon", "nan", "-1", "inf"])
def test_bad_lock_timeout_refused(raw: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(fileio.LOCK_TIMEOUT_ENV, raw)
    with pytest.raises(InputError, match=f"must be a number of seconds, not '{raw}'") as info:
        fileio.lock_timeout()
    assert info.value.hints == (f"e.g. {fileio.LOCK_TIMEOUT_ENV}=30",)


def test_lock_timeout_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    assert fileio.lock_timeout() == 10.0
    monkeypatch.setenv(fileio.LOCK_TIMEOUT_ENV, "0.5")
    assert fileio.lock_timeout() == 0.5


def test_locked_refusals(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r": is a directory$"), fileio.locked(tmp_path, timeout=0):
        pass
    fifo = tmp_path / "f.fifo"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match=r"f\.fifo: not a regular file$"), fileio.locked(fifo):
        pass
    missing = tmp_path / "missing.yaml"
    with pytest.raises(InputError, match=r"missing\.yaml: no such file$"), fileio.locked(missing):
        pass


def _hold(path: Path) -> int:
    """A lock held on PATH through an open file of this process (flock is per open file)."""
    import fcntl

    fd = os.open(path, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def test_lock_held_elsewhere_times_out(tmp_path: Path) -> None:
    from sealedcfg.errors import LockedError

    target = write(tmp_path / "p.yaml", "a: 1\n")
    fd = _hold(target)
    try:
        with (
            pytest.raises(LockedError, match=r"p\.yaml: locked by another sealedcfg process"),
            fileio.locked(target, timeout=0.05),
        ):
            pass
    finally:
        os.close(fd)
    with fileio.locked(target, timeout=0) as data:  # free again once released
        assert data == b"a: 1\n"


def _open_count(path: Path) -> int:
    fds = Path("/proc/self/fd")
    n = 0
    for fd in fds.iterdir():
        with contextlib.suppress(OSError):  # an fd closed meanwhile
            n += os.readlink(fd) == str(path)
    return n


def _wait_while_locked(target: Path, change: object) -> list[object]:
    """Lock TARGET, start a waiter on it, apply CHANGE once it waits, release; its result."""
    import threading
    import time

    result: list[object] = []

    def waiter() -> None:
        try:
            with fileio.locked(target, timeout=10) as data:
                result.append(data)
        except InputError as exc:
            result.append(exc)

    fd = _hold(target)
    thread = threading.Thread(target=waiter)
    try:
        thread.start()
        deadline = time.monotonic() + 10
        while _open_count(target) < 2 and time.monotonic() < deadline:
            time.sleep(0.005)  # the waiter has opened the file it now waits to lock
        assert _open_count(target) == 2
        assert callable(change)
        change()
    finally:
        os.close(fd)
        thread.join(timeout=10)
    return result


def test_waiter_locks_the_file_that_replaced_the_one_it_waited_on(tmp_path: Path) -> None:
    target = write(tmp_path / "p.yaml", "one\n")
    got = _wait_while_locked(target, lambda: fileio.write_atomic(target, b"two\n"))
    assert got == [b"two\n"]


def test_waiter_on_a_removed_file_gets_no_such_file(tmp_path: Path) -> None:
    target = write(tmp_path / "p.yaml", "one\n")
    got = _wait_while_locked(target, target.unlink)
    assert len(got) == 1
    assert isinstance(got[0], InputError)
    assert str(got[0]) == f"{target}: no such file"


def test_write_atomic_new_file_is_0600_and_missing_dir_is_input_error(tmp_path: Path) -> None:
    fileio.write_atomic(tmp_path / "new.yaml", b"x\n")
    assert stat.S_IMODE((tmp_path / "new.yaml").stat().st_mode) == 0o600
    with pytest.raises(InputError, match=r"no-dir/p.yaml: cannot write \(No such file"):
        fileio.write_atomic(tmp_path / "no-dir" / "p.yaml", b"x\n")
    assert not (tmp_path / "no-dir").exists()


def test_write_atomic_past_the_file_size_limit_keeps_the_original(tmp_path: Path) -> None:
    # A real EFBIG from the kernel: RLIMIT_FSIZE lowered, SIGXFSZ ignored so the
    # write fails instead of killing the process.
    import resource
    import signal

    target = write(tmp_path / "p.yaml", "old\n")
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    try:
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, hard))
        with pytest.raises(OSError, match="File too large") as info:
            fileio.write_atomic(target, b"n" * 100_000)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)
    assert info.value.errno == errno.EFBIG
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.yaml"]
