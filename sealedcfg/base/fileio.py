"""Reading and atomic, locked writing of profile files.

Writes go to a temp file in the same directory, are fsynced, keep the original
mode, and replace the target with os.replace, so a crash leaves either the old
or the new file, never half of one.  Symlinked targets are refused rather than
followed: replacing a link would silently turn it into a regular file.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import math
import os
import stat
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from sealedcfg.errors import InputError, LockedError

LOCK_TIMEOUT_ENV = "SEALEDCFG_LOCK_TIMEOUT"


def _os_error(path: Path, exc: OSError) -> InputError:
    if isinstance(exc, FileNotFoundError):
        return InputError(f"{path}: no such file")
    if isinstance(exc, IsADirectoryError):
        return InputError(f"{path}: is a directory")
    if isinstance(exc, PermissionError):
        return InputError(f"{path}: permission denied")
    return InputError(f"{path}: cannot read ({os.strerror(exc.errno or errno.EIO)})")


def read_bytes(path: str | os.PathLike[str]) -> bytes:
    p = Path(path)
    if p.is_dir():
        raise InputError(f"{p}: is a directory")
    try:
        return p.read_bytes()
    except OSError as exc:
        raise _os_error(p, exc) from None


def write_stream(path: str | os.PathLike[str], data: bytes) -> None:
    """Write to an existing non-regular file (a FIFO, a device) without replacing it.

    Opened without following a link and without creating anything, then
    checked again: a path swapped for a link or a regular file meanwhile is
    refused rather than written through.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        raise InputError(f"{path}: cannot write ({exc.strerror})") from None
    try:
        if stat.S_ISREG(os.fstat(fd).st_mode):
            raise InputError(f"{path}: changed while being written; nothing was written")
        # Unbuffered: a buffered writer's last flush fails in close(), past any handler.
        view = memoryview(data)
        while view:
            try:
                view = view[os.write(fd, view) :]
            except OSError as exc:
                raise InputError(f"{path}: cannot write ({exc.strerror})") from None
    finally:
        os.close(fd)


def is_special(path: str | os.PathLike[str]) -> bool:
    """An existing path that is not a regular file (device, FIFO, socket)."""
    try:
        return not stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def refuse_symlink(path: Path) -> None:
    if path.is_symlink():
        raise InputError(
            f"{path}: is a symbolic link; refusing to replace it",
            hints=("run sealedcfg on the link's target instead",),
        )


def lock_timeout() -> float:
    """Seconds to wait for a lock: SEALEDCFG_LOCK_TIMEOUT, default 10."""
    raw = os.environ.get(LOCK_TIMEOUT_ENV, "10")
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 0):  # nan would wait for ever
        raise InputError(
            f"{LOCK_TIMEOUT_ENV} must be a number of seconds, not {raw[:40]!r}",
            hints=(f"e.g. {LOCK_TIMEOUT_ENV}=30",),
        )
    return value


@contextlib.contextmanager
def locked(path: str | os.PathLike[str], timeout: float | None = None) -> Iterator[bytes]:
    """Hold an exclusive lock on `path` for a read-modify-write; yield its bytes.

    The lock is on the file's inode; as writers replace the inode, a waiter
    re-checks after locking that the path still names the inode it locked.
    """
    p = Path(path)
    refuse_symlink(p)
    if timeout is None:
        timeout = lock_timeout()
    deadline = time.monotonic() + timeout
    while True:
        if p.is_dir():
            raise InputError(f"{p}: is a directory")
        if is_special(p):  # a FIFO would block the open; a device is no profile
            raise InputError(f"{p}: not a regular file")
        try:
            fd = os.open(p, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError as exc:
            raise _os_error(p, exc) from None
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise LockedError(
                            f"{p}: locked by another sealedcfg process",
                            hints=(f"wait for it to finish, or raise {LOCK_TIMEOUT_ENV}",),
                        ) from None
                    time.sleep(0.02)
            try:
                same = os.fstat(fd).st_ino == os.stat(p).st_ino
            except FileNotFoundError:
                same = False
            if not same:
                continue  # replaced while we waited: lock the new file
            chunks = []
            while chunk := os.read(fd, 1 << 20):
                chunks.append(chunk)
            yield b"".join(chunks)
            return
        finally:
            os.close(fd)


def write_atomic(path: str | os.PathLike[str], data: bytes, *, mode: int | None = None) -> None:
    """Replace `path` with `data` atomically, keeping its mode (0600 if new).

    Only regular files are replaced: renaming over a device or a FIFO
    (`-o /dev/null`) would destroy it, so such targets are refused.
    """
    p = Path(path)
    refuse_symlink(p)
    try:
        st = p.stat()
        if not stat.S_ISREG(st.st_mode):
            raise InputError(f"{p}: not a regular file; refusing to replace it")
        current = stat.S_IMODE(st.st_mode)
    except FileNotFoundError:
        current = 0o600
    target_mode = current if mode is None else mode
    directory = p.parent if str(p.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{p.name}.", suffix=".sealedcfg-tmp")
    except OSError as exc:  # a missing or read-only directory is bad input, not a bug
        raise InputError(f"{p}: cannot write ({exc.strerror})") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fchmod(fh.fileno(), target_mode)
            os.fsync(fh.fileno())
        os.replace(tmp, p)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # make the rename durable
        dfd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
